"""Experiments: the paper's tables reproduced on held-out samples, read from the results
table; a reconstruction gallery; a small run of your own, with progress."""
from __future__ import annotations

import numpy as np
import streamlit as st

import cached
from figures import iterations_figure, matrix_figure, shapes_figure
from mic_core import reports
from mic_core.experiments import (METHODS, NOISE_IN, OUTPUT_NOISE, RESULTS, Protocol, grid,
                                  run_grid)
from mic_core.classify import decision_errors
from mic_core.persistence import default_cache_dir

OWN_RUNS = default_cache_dir() / "experiments-app.csv"

cached.init_state()
st.title("Experiments")
st.caption("Everything the paper measured, reproduced on a held-out test set: MIC with and "
           "without inversion, four baselines, two ways of choosing types, input and output "
           "noise, five seeds. The paper's numbers (METHOD §6; its test sets were not held "
           "out) stand beside ours.")

sources = {"committed results (the full grid)": RESULTS, "your runs on this machine": OWN_RUNS}
source = st.radio("Results", list(sources), horizontal=True, key="experiments_source")
try:
    table = cached.results_table(str(sources[source]))
except ValueError as exc:
    st.error(str(exc))
    st.stop()
if table.empty:
    st.info("No results here yet: run the grid (`python -m mic_core experiments`) or a small "
            "run at the bottom of this page.")
else:
    protocols = sorted(table["protocol"].unique(), key=lambda p: p != "paper")
    protocol = st.selectbox("Protocol", protocols, key="experiments_protocol",
                            help="'paper': the paper's settings (50 steps, 14 000 training "
                                 "steps, all 715 held-out letters, 2 000 MNIST digits); other "
                                 "names are runs with other settings")
    rows = table[table["protocol"] == protocol]

    st.header("The paper's summary table, with our numbers")
    summary = reports.summary_table(rows)
    st.dataframe(reports.compact_summary(rows), hide_index=True, width="stretch")
    st.caption("Ours: mean ± std over seeds on held-out samples; the paper's number in "
               "brackets. Base: no noise. Best average: the noise setting with the best mean "
               "over seeds. Best single: the best model of any noise setting and seed.")
    beaten = int(summary["mic_beats_nn"].sum()) if len(summary) else 0
    margins = ", ".join(f"{d} {s}: {m * 100:+.1f}" for d, s, m in
                        zip(summary["dataset"], summary["selection"], summary["mic_minus_nn"]))
    st.markdown(f"**MIC's best average beats the nearest neighbour (MSE) in {beaten} of "
                f"{len(summary)} settings** (the paper: 3 of 4). Margins in points: "
                f"{margins}.")

    st.header("Every system on the same four types per class")
    st.caption("Accuracy on the same held-out samples, mean ± std over seeds. MIC at its "
               "best-average noise; style memory (issue 12) trained on the experts' four "
               "types; *_full: trained on the whole training pool (one value per data set).")
    st.dataframe(reports.methods_table(rows), hide_index=True, width="stretch")

    st.header("What the inversion adds: 0 vs 50 steps")
    steps = reports.iterations_table(rows)
    base = steps[(steps["noise_in"] == 0) & (steps["noise_out"] == 0)]
    if len(base):
        st.plotly_chart(iterations_figure(base), key="iterations")
    st.dataframe(steps, hide_index=True, width="stretch")

    st.subheader("Letters: the paper's rule vs the app's free ends")
    st.caption("The same inversions decided two ways: the lowest final error (the paper), or "
               "free ends (the app: a reconstruction may leave out up to a quarter of its "
               "path at either end, at a price; made for drawings without connecting "
               "strokes).")
    st.dataframe(reports.free_ends_table(rows).round(4), hide_index=True)

    st.header("One setting in detail")
    settings = [s for s in reports.SETTINGS
                if ((rows["dataset"] == s[0]) & (rows["selection"] == s[1])).any()]
    dataset, selection = st.selectbox("Setting", settings, format_func=", ".join,
                                      key="experiments_setting")
    means = reports.noise_means(rows, dataset, selection)
    st.subheader("Noise")
    st.dataframe(means, hide_index=True)
    st.caption("Per-class accuracy, mean over seeds (rows: input noise, output noise).")
    st.dataframe(reports.per_class_table(rows, dataset, selection).round(2))
    noise_labels = [f"in {a:g}, out {b:g}" for a, b in zip(means["noise_in"],
                                                           means["noise_out"])]
    chosen = st.selectbox("Noise setting for the maps below (best average first)",
                          range(len(means)), format_func=lambda i: noise_labels[i],
                          key="experiments_noise")
    noise = (means.iloc[chosen]["noise_in"], means.iloc[chosen]["noise_out"])

    st.subheader("Loss heat map: expert × class, mean final error")
    left, right = st.columns(2)
    for column, what, place in (("type_error_matrix", "the training types", left),
                                ("error_matrix", "held-out samples", right)):
        matrix, names, share, per_seed = reports.heat_map(rows, dataset, selection, *noise,
                                                          column)
        if matrix is None:
            continue
        place.markdown(f"**On {what}**: each class's own expert has the lowest mean error in "
                       f"**{share:.0%}** of the columns (per seed, on average {per_seed:.0%}). "
                       f"Rings mark each column's lowest cell (red where it is not the "
                       f"diagonal).")
        place.plotly_chart(matrix_figure(matrix, names, names, "expert", "class",
                                         log_color=True, mark_column_minimum=True),
                           key=f"heat_{column}")

    st.subheader("Confusion matrix (MIC, summed over seeds)")
    matrix, names = reports.confusion(rows, dataset, selection, *noise)
    if matrix is not None:
        left, right = st.columns([3, 1])
        left.plotly_chart(matrix_figure(matrix, names, names, "true class", "predicted",
                                        colorscale="Blues", text_format="d"),
                          key="confusion")
        right.markdown("**Most confused pairs**")
        right.dataframe(reports.hard_pairs(matrix, names), hide_index=True)

st.header("Reconstruction gallery")
st.caption("The paper's Figures 4 and 5: an expert's four types, then unseen samples of its "
           "class and what the expert makes of them (after 50 steps) with the mixture "
           "weights it found. Shipped experts: clustered types, seed 42, input noise 0.1.")
cols = st.columns([1, 2, 1])
gallery_dataset = cols[0].radio("Data set", ["characters", "mnist"], key="gallery_dataset",
                                horizontal=True)
data = cached.dataset(gallery_dataset)
experts = cached.experts_ui(gallery_dataset, cached.default_train(gallery_dataset))
names = list(experts.class_names)
expert = cols[1].selectbox("Expert", range(len(names)), format_func=lambda i: names[i],
                           key="gallery_expert")
count = cols[2].slider("Unseen samples", 2, 6, 4, key="gallery_count")
K = experts.config.n_types
st.plotly_chart(shapes_figure(experts.types[expert], [f"type {k + 1}" for k in range(K)],
                              height=170), key="gallery_types")
own = np.flatnonzero(data.y_test == expert)[:count]
record = cached.gallery_inversion(gallery_dataset, expert, count)
finals = record.reconstructions[:, expert, -1]
weights = record.final_mixture_weights[:, expert]
winners = decision_errors(record, data.standardiser).argmin(axis=1)
st.plotly_chart(shapes_figure(data.X_test[own], [f"unseen sample {i}" for i in own],
                              height=170), key="gallery_targets")
st.plotly_chart(shapes_figure(
    finals, [f"[{', '.join(f'{w:.2f}' for w in ws)}]" + ("" if w == expert else
                                                          f" (lost to {names[w]})")
             for ws, w in zip(weights, winners)], height=190,
    target=None if data.name == "mnist" else list(data.X_test[own])),
    key="gallery_reconstructions")
st.caption("Third row: the expert's reconstruction of each sample (over the sample, in "
           "grey); its title is the mixture weights over the four types, and the winner "
           "where another expert did better.")

st.header("A small run of your own")
st.caption("One cell of the grid with a subset of held-out samples, run here (a few minutes; "
           "training takes about a minute per expert set). Rows go to your own results "
           f"table ({OWN_RUNS}); choose it above to see them in the tables.")
with st.form("small_run"):
    cols = st.columns(4)
    run_dataset = cols[0].selectbox("Data set", ["characters", "mnist"])
    run_selection = cols[1].selectbox("Types", ["clustered", "random"])
    run_seed = cols[2].number_input("Seed", 0, 10_000, 42, step=100)
    run_limit = cols[3].number_input("Held-out samples", 20, 2000, 100, step=20)
    cols = st.columns(3)
    run_noise_in = cols[0].select_slider("Input noise", list(NOISE_IN), 0.1)
    run_noise_out = cols[1].radio("Output noise", ["0", "data"], horizontal=True,
                                  format_func=lambda v: "0" if v == "0" else
                                  f"the data set's ({OUTPUT_NOISE[run_dataset]:g})")
    run_methods = cols[2].multiselect("Methods", METHODS, ["mic", "mic_0", "nn_mse"])
    launched = st.form_submit_button("Run", type="primary")
if launched:
    if not run_methods:
        st.warning("Choose at least one method.")
    else:
        jobs = grid([run_dataset], [run_selection], [int(run_seed)], [run_noise_in],
                    [run_noise_out], run_methods)
        bar = st.progress(0.0, text="Starting…")

        def report(done, total, what):
            bar.progress(done / max(total, 1), text=f"{done} of {total} jobs: {what}")
        with st.spinner("Training and inverting…"):
            ran = run_grid(jobs, Protocol(limit=int(run_limit)), run_methods,
                           results=OWN_RUNS, workers=1, progress=report)
        bar.empty()
        st.success(f"{ran} job(s) ran ({len(jobs) - ran} were already done). Choose 'your "
                   f"runs' above to see them.")
        cached.results_table.clear()
