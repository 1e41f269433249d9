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
    st.caption(
        f"For each of the {len(table)} letters: the shipped set less that letter's expert is "
        f"the base (each expert trains on its own types only, tested), and the letter's "
        f"expert is taught back from four of its training-pool samples drawn through the "
        f"canvas path. Held-out accuracy on that letter, averaged over letters: {own:.3f} taught against "
        f"{own_full:.3f} for the experts trained from data (k-means types); on the "
        f"other letters {others:.3f} against {others_full:.3f}, which moves only "
        f"through samples the taught expert takes or gives back (the old experts are bit "
        f"for bit the same). benchmarks/teach_leave_one_out.py, results/teach/.")
    st.dataframe(table, hide_index=True, use_container_width=True)
