"""Experiments: the paper's tables reproduced on held-out samples, read from the results
table; a reconstruction gallery; a small run of your own, with progress.

Built from ``*_ui`` helpers (each draws one part and returns plain values); the numbers come
from ``mic_core.reports`` and ``mic_core.experiments``, the figures from ``figures``."""
from __future__ import annotations

import streamlit as st

import cached
from figures import iterations_figure, matrix_figure, shapes_figure
from figures.learning_curve import learning_curve_figure
from mic_core import reports
from mic_core.experiments import (METHODS, NOISE_IN, OUTPUT_NOISE, RESULTS, Protocol, grid,
                                  run_grid)
from mic_core.inversion_ssl.experiments import DIGITS_COMMANDS, digits_table, same_labels_table
from mic_core.persistence import default_cache_dir
from single_ui import experiments_rows_ui as single_generator_rows_ui
from teach_ui import leave_one_out_ui

OWN_RUNS = default_cache_dir() / "experiments-app.csv"


def results_ui():
    """Which results table; returns (its path, every row), or None (said why)."""
    sources = {"committed results (the full grid)": RESULTS,
               "your runs on this machine": OWN_RUNS}
    source = st.radio("Results", list(sources), horizontal=True, key="experiments_source")
    try:
        table = cached.results_table(str(sources[source]))
    except ValueError as exc:
        st.error(str(exc))
        return None
    if table.empty:
        st.info("No results here yet: run the grid (`python -m mic_core experiments`) or a "
                "small run at the bottom of this page.")
        return None
    return sources[source], table


def protocol_ui(table):
    """Which protocol's rows the paper's tables below read; returns them (None if the
    table holds only rows of the validation-chosen protocol: the league shows those)."""
    protocols = sorted((p for p in table["protocol"].unique()
                        if not str(p).startswith(reports.VALIDATED)), key=lambda p: p != "paper")
    if not protocols:
        return None
    protocol = st.selectbox("Protocol of the tables below", protocols,
                            key="experiments_protocol",
                            help="'paper': the paper's settings (50 steps, 14 000 training "
                                 "steps, all 715 held-out letters, 2 000 MNIST digits; its "
                                 "best noise is chosen on the held-out samples, as the paper "
                                 "did); other names are runs with other settings. The "
                                 "league above shows the 'validated' protocol")
    return table[table["protocol"] == protocol]


def _readable(frame, names: dict, digits: int = 3):
    """A table for reading: columns renamed, numbers rounded, empty cells as "–"."""
    frame = frame.rename(columns=names).copy()
    for column in frame.columns:
        if frame[column].dtype.kind == "f":
            frame[column] = [("–" if v != v else f"{v:.{digits}f}") for v in frame[column]]
        elif frame[column].dtype == object:
            frame[column] = ["–" if v is None or v != v else v for v in frame[column]]
    return frame


NOISE_NAMES = {"noise_in": "input noise", "noise_out": "output noise"}


def league_ui(path, table) -> None:
    """The low-data league (issue 15): every system on the same four types per class, and
    MIC against the nearest neighbours with every choice made on validation. Static tables
    (``st.table``): the long cells wrap instead of being cut off, and nothing is blank while
    a grid loads."""
    st.header("The low-data league: four labelled samples per class")
    settings, league = cached.validated_report(str(path))
    if league.empty:
        st.info("No low-data rows in these results yet.")
        return
    st.markdown(f"**{reports.league_takeaway(league)}**")
    names = list(dict.fromkeys(league["setting"]))
    for tab, name in zip(st.tabs(names), names):
        part, strongest = reports.league_view(league, name)
        tab.caption(f"Strongest baseline here: {strongest}.")
        tab.table(part)
    st.caption("Every system learnt from the same four labelled samples per class (the "
               "experts' types: same selection, same seeds) and is scored on the same "
               "held-out samples. Accuracy: mean ± std over seeds; seeds: how many. Protocol "
               "'validated': every choice made on a validation split of the training data; "
               "'paper': the system's own settings. The last column pairs each system with "
               "the strongest baseline sample by sample (95 % bootstrap interval over "
               "held-out samples, exact sign-flip test over seeds); '–': that system's runs "
               "stored no per-sample predictions, so there is no paired comparison.")
    if not settings:
        return
    st.subheader("MIC against the nearest neighbours, every choice made on validation")
    st.markdown(f"**{reports.targets_takeaway(settings)}**")
    st.table(reports.paired_settings_table(settings).set_index("setting").T.astype(str))
    lines = []
    for setting in settings:
        verdict, name = reports.verdicts(setting), f"{setting['dataset']}, {setting['selection']}"
        if verdict["beats_nn_mse"] is not None:
            lines.append(f"- **{name}**: MIC "
                         f"{'beats' if verdict['beats_nn_mse'] else 'does not beat'} the "
                         f"nearest neighbour (MSE) with the interval above zero; it is "
                         f"{'significantly below' if verdict['below_nn_dtw'] else 'not significantly below'}"
                         f" the nearest neighbour (DTW).")
    goal = reports.targets(settings)
    lines.append(f"- **The targets (issue 15)**: MIC above the nearest neighbour (MSE) with the "
                 f"interval above zero in {goal['beats_nn_mse']} of {goal['settings']} "
                 f"settings (target: at least 3 of 4) — "
                 f"{'met' if goal['nn_mse_target_met'] else 'NOT met'}; on letters "
                 f"significantly below the nearest neighbour (DTW) in "
                 f"{len(goal['letters_below_nn_dtw'])} of {goal['letters']} selections "
                 f"(target: none) — {'met' if goal['nn_dtw_target_met'] else 'NOT met'}.")
    st.markdown("\n".join(lines))


def curve_and_paper_ui() -> None:
    """Issue 15: the learning curve (4, 8, 16 types) and the paper-faithful letters, from
    their committed JSON."""
    curve, paper = cached.issue15_results()
    if curve and curve.get("points"):
        st.subheader("Learning curve: 4, 8 and 16 types per class")
        st.markdown(f"**{reports.curve_takeaway(curve)}**")
        st.plotly_chart(learning_curve_figure(curve["points"]), key="learning_curve")
        st.table(reports.learning_curve_table(curve).set_index("setting"))
        st.caption("MIC keeps the settings chosen on validation for four types (not chosen "
                   "again for 8 or 16); the nearest neighbours search the same types; the "
                   "validated protocol's held-out samples (MNIST: its 2 000). Four types: the "
                   "validated rows of the same seeds. Seeds: how many (which ones: hover a "
                   "point). 95 % interval: paired bootstrap over held-out samples; p: exact "
                   "sign-flip test over seeds.")
    if paper and paper.get("settings"):
        st.subheader("The paper's letters, faithfully: representation or leakage?")
        st.markdown(f"**{reports.paper_takeaway(paper)}**")
        st.table(reports.paper_faithful_table(paper).set_index(["split", "selection"]).T)
        st.caption(reports.LENGTH_NOTE + " Seeds: how many are pooled; '–': no MIC run at "
                   "that output noise for every one of them.")


def summary_ui(rows) -> None:
    st.header("The paper's summary table, with our numbers")
    summary = reports.compact_summary(rows)
    if len(summary):  # settings as columns: the long cells stay readable, nothing cut off
        st.dataframe(summary.set_index("setting").T, width="stretch", height=400)
    st.caption("Ours: mean ± std over seeds on held-out samples; the paper's number in "
               "brackets. Base: no noise. Best average: the noise setting with the best mean "
               "over seeds. Best single: the best model of any noise setting and seed.")
    beaten, total, margins = reports.mic_vs_nn(reports.summary_table(rows))
    st.markdown(f"**MIC's best average beats the nearest neighbour (MSE) in {beaten} of "
                f"{total} settings** (the paper: 3 of 4). Margins in points: "
                + ", ".join(f"{d} {s}: {m:+.1f}" for d, s, m in margins) + ".")

    st.header("Every system on the same four types per class")
    st.caption("Accuracy on the same held-out samples, mean ± std over seeds. MIC at its "
               "best-average noise; style memory (issue 12) trained on the experts' four "
               "types; *_full: trained on the whole training pool (one value per data set).")
    methods = reports.methods_table(rows)
    if len(methods):
        methods.index = methods["dataset"] + ", " + methods["selection"]
        labels = {**dict(reports.LEAGUE), "mic": "MIC (best average noise, chosen on test)",
                  "forward_lstm_full": "forward LSTM, all training data",
                  "style_memory_full": "style memory, all training data"}
        table = methods.drop(columns=["dataset", "selection"]).T
        table.index = [labels.get(m, m) for m in table.index]
        st.dataframe(_readable(table, {}), width="stretch")


def iterations_ui(rows) -> None:
    st.header("What the inversion adds: 0 vs 50 steps")
    steps = reports.iterations_table(rows)
    st.markdown(f"**{reports.iterations_takeaway(steps)}**")
    base = reports.without_noise(steps)
    if len(base):
        st.plotly_chart(iterations_figure(base), key="iterations")
    st.dataframe(_readable(steps, {
        **NOISE_NAMES, "accuracy_0": "accuracy, 0 steps", "accuracy_50": "accuracy, 50 steps",
        "mean_error_0": "mean error, 0 steps", "mean_error_50": "mean error, 50 steps",
        "paper_accuracy_0": "paper, 0 steps", "paper_accuracy_50": "paper, 50 steps"}),
        hide_index=True, width="stretch")
    st.subheader("Letters: the paper's rule vs the app's free ends")
    st.caption("The same inversions decided two ways: the lowest final error (the paper), or "
               "free ends (the app: a reconstruction may leave out up to a quarter of its "
               "path at either end, at a price; made for drawings without connecting "
               "strokes).")
    st.dataframe(_readable(reports.free_ends_table(rows), NOISE_NAMES, 4), hide_index=True)


def setting_ui(rows) -> tuple[str, str, tuple[float, float]]:
    """One (dataset, selection) and one noise setting of it; returns them."""
    st.header("One setting in detail")
    settings = [s for s in reports.SETTINGS
                if ((rows["dataset"] == s[0]) & (rows["selection"] == s[1])).any()]
    dataset, selection = st.selectbox("Setting", settings, format_func=", ".join,
                                      key="experiments_setting")
    means = reports.noise_means(rows, dataset, selection)
    st.subheader("Noise")
    st.dataframe(_readable(means, {**NOISE_NAMES, "mean": "mean accuracy"}), hide_index=True)
    st.caption("Per-class accuracy, mean over seeds (rows: classes; columns: input noise, "
               "output noise).")
    per_class = reports.per_class_table(rows, dataset, selection)
    if len(per_class):  # classes as rows: all of them readable, none cut off on the right
        per_class.index = [f"in {a:g}, out {b:g}" for a, b in per_class.index]
        st.dataframe(_readable(per_class.T, {}, 2), width="stretch")
    noises = reports.noise_settings(means)
    chosen = st.selectbox("Noise setting for the maps below (best average first)",
                          range(len(noises)), key="experiments_noise",
                          format_func=lambda i: f"in {noises[i][0]:g}, out {noises[i][1]:g}")
    return dataset, selection, noises[chosen]


def heat_maps_ui(rows, dataset, selection, noise) -> None:
    st.subheader("Loss heat map: expert × class, mean final error")
    places = st.columns(2)
    for column, what, place in (("type_error_matrix", "the training types", places[0]),
                                ("error_matrix", "held-out samples", places[1])):
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


def confusion_ui(rows, dataset, selection, noise) -> None:
    st.subheader("Confusion matrix (MIC, summed over seeds)")
    matrix, names = reports.confusion(rows, dataset, selection, *noise)
    if matrix is None:
        return
    left, right = st.columns([3, 1])
    left.plotly_chart(matrix_figure(matrix, names, names, "true class", "predicted",
                                    colorscale="Blues", text_format="d"), key="confusion")
    right.markdown("**Most confused pairs**")
    right.dataframe(_readable(reports.hard_pairs(matrix, names),
                              {"confused": "confused", "share_of_errors": "share of errors"},
                              2), hide_index=True)


def gallery_ui() -> None:
    st.header("Reconstruction gallery")
    st.caption("The paper's Figures 4 and 5: an expert's four types, then unseen samples of "
               "its class and what the expert makes of them (after 50 steps) with the mixture "
               "weights it found. Shipped experts: clustered types, seed 42, input noise 0.1.")
    cols = st.columns([1, 2, 1])
    name = cols[0].radio("Data set", ["characters", "mnist"], key="gallery_dataset",
                         horizontal=True)
    data = cached.dataset(name)
    experts = cached.experts_ui(name, cached.default_train(name))
    names = list(experts.class_names)
    expert = cols[1].selectbox("Expert", range(len(names)), format_func=lambda i: names[i],
                               key="gallery_expert")
    count = cols[2].slider("Unseen samples", 2, 6, 4, key="gallery_count")
    st.plotly_chart(shapes_figure(experts.types[expert],
                                  [f"type {k + 1}" for k in range(experts.config.n_types)],
                                  height=170), key="gallery_types")
    own = reports.gallery_samples(data.y_test, expert, count)
    row = reports.gallery(cached.gallery_classification(name, expert, count), expert)
    st.plotly_chart(shapes_figure(data.X_test[own], [f"unseen sample {i}" for i in own],
                                  height=170), key="gallery_targets")
    titles = [f"[{', '.join(f'{w:.2f}' for w in ws)}]" +
              ("" if w == expert else f" (lost to {names[w]})")
              for ws, w in zip(row["mixture_weights"], row["winners"])]
    st.plotly_chart(shapes_figure(row["reconstructions"], titles, height=190,
                                  target=None if name == "mnist" else list(data.X_test[own])),
                    key="gallery_reconstructions")
    st.caption("Third row: the expert's reconstruction of each sample (over the sample, in "
               "grey); its title is the mixture weights over the four types, and the winner "
               "where another expert did better.")


def small_run_ui() -> None:
    st.header("A small run of your own")
    st.caption("One cell of the grid with a subset of held-out samples, run here (a few "
               "minutes; training takes about a minute per expert set). Rows go to your own "
               f"results table ({OWN_RUNS}); choose it above to see them in the tables.")
    with st.form("small_run"):
        cols = st.columns(4)
        dataset = cols[0].selectbox("Data set", ["characters", "mnist"])
        selection = cols[1].selectbox("Types", ["clustered", "random"])
        seed = cols[2].number_input("Seed", 0, 10_000, 42, step=100)
        limit = cols[3].number_input("Held-out samples", 20, 2000, 100, step=20)
        cols = st.columns(3)
        noise_in = cols[0].select_slider("Input noise", list(NOISE_IN), 0.1)
        noise_out = cols[1].radio("Output noise", ["0", "data"], horizontal=True,
                                  format_func=lambda v: "0" if v == "0" else
                                  f"the data set's ({OUTPUT_NOISE[dataset]:g})")
        methods = cols[2].multiselect("Methods", METHODS, ["mic", "mic_0", "nn_mse"])
        launched = st.form_submit_button("Run", type="primary")
    if not launched:
        return
    if not methods:
        st.warning("Choose at least one method.")
        return
    jobs = grid([dataset], [selection], [int(seed)], [noise_in], [noise_out], methods)
    bar = st.progress(0.0, text="Starting…")

    def report(done, total, what):
        bar.progress(done / max(total, 1), text=f"{done} of {total} jobs: {what}")
    with st.spinner("Training and inverting…"):
        ran = run_grid(jobs, Protocol(limit=int(limit)), methods, results=OWN_RUNS, workers=1,
                       progress=report)
    bar.empty()
    st.success(f"{ran} job(s) ran ({len(jobs) - ran} were already done). Choose 'your runs' "
               f"above to see them.")
    cached.results_table.clear()


def same_labels_ui(rows) -> None:
    st.header("Same four labels per class: reconstruction from a generator or from a "
              "classifier's gradient")
    st.dataframe(_readable(same_labels_table(rows), {"mean": "mean accuracy"}),
                 hide_index=True, width="stretch")
    st.caption("Letters, clustered types, all 715 held-out samples, mean over seeds. MIC: the "
               "app's experts (input noise 0.1); inversion_ssl: one network trained on the "
               "types plus every other training and unlabelled trajectory (page Inversion); "
               "supervised_small: the same network on the types alone. Commands in the "
               "README.")
    st.subheader("Digits: 50 labels (5 per class), 10 000 test images")
    st.dataframe(digits_table(), hide_index=True, width="stretch")
    st.caption("The same SmallCNN with and without the 59 950 other training images as "
               "unlabelled data; settings and the number of steps chosen on 2 000 validation "
               "images carved from the training set. The paper's Table 2: SmallCNN mean "
               "pooling 99.07 %, max pooling 98.63 %, mean over 12 networks 98.77 % ± 0.25 "
               "(50 labels, many epochs). Made by:")
    st.code(DIGITS_COMMANDS, language="bash")


cached.init_state()
st.title("Experiments")
st.caption("Everything the paper measured, reproduced on a held-out test set: MIC with and "
           "without inversion, four baselines, two ways of choosing types, input and output "
           "noise, five seeds. The paper's numbers (METHOD §6; its test sets were not held "
           "out) stand beside ours.")
found = results_ui()
if found is not None:
    league_ui(*found)
    curve_and_paper_ui()
    rows = protocol_ui(found[1])
    if rows is not None:
        summary_ui(rows)
        same_labels_ui(rows)
        iterations_ui(rows)
        single_generator_rows_ui(rows)
        dataset, selection, noise = setting_ui(rows)
        heat_maps_ui(rows, dataset, selection, noise)
        confusion_ui(rows, dataset, selection, noise)
leave_one_out_ui()
gallery_ui()
small_run_ui()
