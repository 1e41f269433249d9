"""Page helpers of teaching (UI side; the maths is in ``mic_core.teaching``): the
leave-one-out table on the Experiments page."""
from __future__ import annotations

import streamlit as st

from mic_core.teaching import leave_one_out_table


def leave_one_out_ui() -> None:
    """Leave one letter out, teach it back from four drawings: the table and its means."""
    st.subheader("Teaching a letter back from four drawings (leave one out)")
    rule = st.radio("Decision rule", ["free_ends", "plain"], horizontal=True,
                    key="teach_loo_rule", format_func=lambda r: {
                        "free_ends": "free ends (the app's)",
                        "plain": "plain final error (the paper's)"}[r])
    table = leave_one_out_table(rule=rule)
    if table is None:
        st.info("Not measured yet: nice -n 10 python benchmarks/teach_leave_one_out.py",
                icon=":material/info:")
        return
    means = table.mean(numeric_only=True)
    own, own_full = means["its accuracy, taught"], means["its accuracy, full set"]
    others, others_full = means["others' accuracy, taught"], means["others' accuracy, full set"]
    # short headers (the full names on hover) so that all nine columns fit at 1280 px
    # without a horizontal scroll (the teacher test could not see the last one)
    short = {"letter": "letter", "held-out samples": "held out",
             "its accuracy, full set": "its acc., full", "its accuracy, taught": "its acc., taught",
             "others' accuracy, full set": "others' acc., full",
             "others' accuracy, taught": "others' acc., taught",
             "others now taken by the taught expert": "others taken",
             "others no longer taken by it": "others given back",
             "teaching seconds": "teach (s)"}
    formats = {"its accuracy, full set": "%.3f", "its accuracy, taught": "%.3f",
               "others' accuracy, full set": "%.3f", "others' accuracy, taught": "%.3f",
               "teaching seconds": "%.1f"}
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        name: st.column_config.NumberColumn(label, help=name, format=formats.get(name))
        if name != "letter" else st.column_config.TextColumn(label, help=name)
        for name, label in short.items() if name in table.columns})
    # below the table: above it, the table's toolbar (shown on hover) covered its last words
    st.caption(
        f"For each of the {len(table)} letters: the shipped set less that letter's expert is "
        f"the base (each expert trains on its own types only, tested), and the letter's "
        f"expert is taught back from four of its training-pool samples drawn through the "
        f"canvas path. Held-out accuracy on that letter, averaged over letters: {own:.3f} taught against "
        f"{own_full:.3f} for the experts trained from data (k-means types); on the "
        f"other letters {others:.3f} against {others_full:.3f}, which moves only "
        f"through samples the taught expert takes or gives back (the old experts are bit "
        f"for bit the same). benchmarks/teach_leave_one_out.py, results/teach/.")
