"""Page helpers of the single generator (UI side): each ``*_ui`` draws its widgets and
figures and returns plain values; the maths is in ``mic_core.single``. Used by the Single
generator page, and callable from Compete with a few lines (``single_contest_ui``)."""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

import cached
from figures.single_generator import code_arena_figure, generations_figure, landscape_figure
from mic_core.reports import LEAGUE
from mic_core.single import CodeInversionConfig, find_generator
from mic_core.single.fit import single_fit_quality
from widgets import drawing_ui

CODE_NAMES = {"class": "class code (one-hot over classes)",
              "type": "type code (one-hot over class × type)"}


def single_options_ui() -> tuple:
    """The generator's code and capacity and how its code is inverted; returns
    (SingleTrainConfig, CodeInversionConfig)."""
    with st.sidebar:
        st.header("Single generator")
        st.radio("Code", ["class", "type"], key="single_code", horizontal=True,
                 format_func=lambda c: {"class": "class", "type": "type"}[c],
                 help="class: one-hot over the classes (the exposé); type: one-hot over all "
                      "(class, type) pairs, the sequences the experts learn")
        st.radio("Capacity", ["cells", "parameters"], key="single_capacity", horizontal=True,
                 help="cells: as many LSTM cells as all experts together (200); parameters: "
                      "as many weights as all experts together")
        st.radio("Start", ["zero", "uniform"], key="single_start", horizontal=True,
                 help="zero: the exposé's start; uniform: the experts' start")
        st.toggle("Project onto the simplex", key="single_simplex",
                  help="as the experts' mixture weights: non-negative, summing to one")
    s = st.session_state
    inversion = CodeInversionConfig(start=s["single_start"],
                                    projection="simplex" if s["single_simplex"] else "none")
    return cached.single_train_config(), inversion


CONTESTANTS = {"experts": "Experts", "single": "Single generator", "both": "Both"}


def contestants_ui() -> str:
    """Compete's choice of contestants: "experts" (MIC), "single" (the single generator) or
    "both" (their verdicts side by side); kept across page switches."""
    state = st.session_state
    if state.get("contestants") not in CONTESTANTS:  # first visit, a page switch, deselected
        state["contestants"] = state.get("_contestants", "experts")
    chosen = st.segmented_control(
        "Contestants", list(CONTESTANTS), key="contestants", format_func=CONTESTANTS.__getitem__,
        help="Who competes: the experts (one small network per class), the single generator "
             "(one network for all classes, the exposé's design), or both side by side")
    state["_contestants"] = chosen or "experts"
    return state["_contestants"]


def compete_single_ui(data, target, truth=None, with_experts: bool = True):
    """Compete's single generator: its options in the sidebar, its generator (trained on
    request if this configuration is not shipped), and its contest on ``target``. Returns
    the inversion record, or None while the generator is not trained."""
    _defaults()
    train, inversion = single_options_ui()
    st.subheader("Single generator", anchor=False)
    generator = single_generator_ui(data, train)
    if generator is None:
        return None
    return single_contest_ui(data, generator, train, inversion, target, truth, with_experts)


def _defaults() -> None:
    for key, value in {"single_code": "class", "single_capacity": "cells",
                       "single_start": "zero", "single_simplex": False,
                       "single_sample": 0}.items():
        st.session_state.setdefault(key, value)


def single_generator_ui(data, train):
    """The generator of ``train``, or None after offering to train it."""
    if find_generator(data.config, train) is None:
        minutes = {"characters": 15, "mnist": 3}[data.name] * train.hidden_size / 200 \
            * train.steps / 1000
        st.info(f"This single generator ({train.code} code, {train.hidden_size} cells, "
                f"{train.steps} training steps) is not trained yet; training it takes "
                f"roughly {max(1, round(minutes))} min on one core here.")
        if not st.button("Train it now", type="primary", key="single_train"):
            return None
    return cached.single_generator_ui(data.name, train)


def target_ui(data) -> tuple:
    """A drawing or a held-out sample; returns (target or None, true class or None)."""
    source = st.segmented_control("Input", ["Draw", "Held-out sample"],
                                  default="Held-out sample", key="single_source")
    if source == "Draw":
        return drawing_ui(data), None
    i = st.number_input("Held-out sample", 0, len(data.y_test) - 1, key="single_sample",
                        help="Index into the held-out test set",
                        width=220)  # a few digits: not the page's 1920 px
    return data.X_test[int(i)], int(data.y_test[int(i)])


def single_contest_ui(data, generator, train, inversion, target, truth=None,
                      with_experts: bool = True):
    """The single generator's inversion of ``target``: its verdicts (largest mass, class
    corners) beside the experts' winner, the animation and the exports. Returns the record."""
    target = np.ascontiguousarray(target, dtype=np.float32)
    # the first inversion of a target takes a second or more (Compete's "Both" showed an
    # empty area meanwhile); a cached one returns before the spinner's delay
    with st.spinner(f"The single generator inverts its {train.code} code on this "
                    f"{'digit' if data.name == 'mnist' else 'letter'}: "
                    f"{inversion.iterations} iterations from the {inversion.start} "
                    "vector, and reconstructs it from every class's corner…",
                    show_time=True):
        decision = cached.single_classification(data.name, train, inversion, target)
    record = decision.inversion
    names = list(data.class_names)
    by_mass = int(record.winners[0])
    by_corners = int(decision.corner_errors[0].argmin())
    columns = st.columns(3 if with_experts else 2)

    def verdict(column, label, winner):
        mark = "" if truth is None else (" ✓" if winner == truth else " ✗")
        column.metric(label, names[winner] + mark)
    verdict(columns[0], "Single generator: largest mass", by_mass)
    verdict(columns[1], "Single generator: class corners", by_corners)
    if with_experts:
        cached.experts_ui(data.name, cached.train_config())  # trained through the queue
        mic = cached.classification(data.name, cached.train_config(), target,
                                    cached.inversion_config(data.name, cached.train_config()))
        verdict(columns[2], "Experts (MIC)", int(mic.winners[0]))
    # does its reconstruction fit? judged against its own errors on held-out training-pool
    # samples (a clean "o" reconstructed as a stray line read as "e", and nothing said so)
    quality = single_fit_quality(float(record.final_errors[0]),
                                 cached.single_fit_thresholds(data.name, train, inversion),
                                 "digit" if data.name == "mnist" else "letter")
    if quality.fits:
        st.markdown(quality.sentence)
    else:
        st.warning(quality.sentence, icon=":material/help:")
    projected = "projected onto the simplex" if inversion.projection == "simplex" \
        else "unprojected"
    st.caption(f"{train.code.capitalize()} code, {generator.hidden_size} cells, "
               f"{generator.n_parameters:,} weights, trained {train.steps} steps at "
               f"{train.learning_rate:g}; inversion from the {inversion.start} vector, "
               f"{projected}, {inversion.iterations} iterations. "
               + ("" if truth is None else f"The sample is a **{names[truth]}**."))
    fig = code_arena_figure(record, 0, truth)
    st.plotly_chart(fig, key="single_arena", config={"displayModeBar": False})
    cols = st.columns(3)
    fit = {"label": quality.label, "percentile": quality.percentile, "fits": quality.fits}
    cols[0].download_button("Record as JSON", json.dumps({**decision.to_dict(0), "fit": fit}),
                            file_name="single_inversion.json", mime="application/json")
    cols[1].download_button("Error and class mass as CSV", decision.to_csv(0),
                            file_name="single_inversion.csv", mime="text/csv")
    cols[2].download_button("Figure as HTML", fig.to_html(include_plotlyjs=True,
                                                          auto_play=False),
                            file_name="single_arena.html", mime="text/html")
    return record


def landscape_ui(data, generator, train, inversion, target, truth, record) -> None:
    """Error over a slice of one expert's inputs and of the generator's codes, side by side,
    with both inversion paths and the measures of irregularity."""
    st.subheader("The latent landscape")
    names = list(data.class_names)
    target = np.ascontiguousarray(target, dtype=np.float32)
    cached.experts_ui(data.name, cached.train_config())
    mic = cached.inversion(data.name, cached.train_config(), target)
    default = truth if truth is not None else int(mic.final_errors[0].argmin())
    cols = st.columns(2)
    chosen = cols[0].selectbox("Class (its expert; the generator's first corner)",
                               range(len(names)), index=default, format_func=names.__getitem__,
                               key="single_landscape_class")
    kind = cols[1].radio("Slice", ["pair", "triangle"], horizontal=True, key="single_slice",
                         format_func=lambda k: {"pair": "two corners (a·u + b·v)",
                                                "triangle": "three corners (a triangle)"}[k])
    comparison = cached.single_landscapes(data.name, cached.train_config(), train, target,
                                          int(chosen), kind, inversion.start)
    expert_path = comparison.expert.coordinates(mic.mixture_weights[0, chosen])
    generator_path = comparison.generator.coordinates(record.codes[0])
    fig = landscape_figure(comparison, expert_path, generator_path,
                           [f"type {k + 1}" for k in comparison.expert_types],
                           [names[c] for c in comparison.generator_classes])
    st.plotly_chart(fig, key="single_landscape", config={"displayModeBar": False})
    m = comparison.measures()
    cols = st.columns(4)
    cols[0].metric("Local minima: expert", m["expert_local_minima"])
    cols[1].metric("Local minima: single generator", m["generator_local_minima"])
    cols[2].metric("Expert: start in the lowest basin",
                   "yes" if m["expert_start_in_lowest_basin"] else "no")
    cols[3].metric("Generator: start in the true class's basin",
                   "yes" if m["generator_start_in_true_class_basin"] else "no")
    st.caption(f"Slice of expert {names[chosen]}'s input space spanned by its types that "
               "reconstruct this target best, and of the generator's code space spanned by the "
               f"code of {names[chosen]} and its closest rival"
               + ("s" if kind == "triangle" else "") + " (by corner error). Colour: log₁₀ "
               "reconstruction error; ×: local minima at least 5% of the slice's error range "
               "deep (25×25 grid); ○: the inversion's start; line: the inversion's path projected "
               "onto the slice (the full path moves in all dimensions). 'Basin': where "
               "steepest descent on the grid ends.")
    _held_out_irregularity_ui(data.name)


def _held_out_irregularity_ui(name: str) -> None:
    """The held-out summaries of ``benchmarks/single_generator.py landscape`` (one file per
    run, e.g. one per code)."""
    from pathlib import Path
    folder = Path(__file__).resolve().parent / "results" / "single"
    for path in sorted(folder.glob(f"landscape-{name}*.json")):
        summary = json.loads(path.read_text())
        st.markdown("**Over the held-out set** (" + summary["note"] + ")")
        st.dataframe(summary["table"], hide_index=True)


def generations_ui(generator) -> None:
    """What the generator produces for every one-hot code, over what it learnt."""
    st.subheader("What it generates for every code")
    st.caption("Blue: the generator's output for each one-hot code; grey: the type(s) trained "
               "with that code (for the class code, all four types of the class: it can only "
               "learn one prototype per class).")
    st.plotly_chart(generations_figure(generator), key="single_generations",
                    config={"displayModeBar": False})


SINGLE_COLUMNS = {"noise_in": "input noise", "method": "system", "std": "± (seeds)",
                  "train_s": "train (s, machine)", "classify_s": "classify (s, machine)",
                  "vs_mic_points": "vs MIC (points)", "beats_mic": "above MIC in"}


def experiments_rows_ui(rows) -> None:
    """The Experiments page's section: the single generator's rows beside MIC and the
    nearest neighbours (nothing if it has none)."""
    from mic_core.single.experiments import comparison_table, machines_path
    table = comparison_table(rows, machines_path())
    if table.empty:
        return
    st.header("One generator for all classes (the exposé) beside MIC")
    names = dict(LEAGUE)
    names.update({f"{m}_params": f"{names[m]}, as many weights as the experts"
                  for m in ("single_class", "single_class_corners", "single_type",
                            "single_type_corners")})
    names["mic"] = "MIC (paper rule)"
    table = table.assign(method=table["method"].map(lambda m: names.get(m, m)))
    st.dataframe(table.rename(columns=SINGLE_COLUMNS), hide_index=True, width="stretch")
    st.caption("Single generator: one 200-cell LSTM with a class or type input code. "
               "Its own rule inverts the code from the zero vector (50 steps, no "
               "projection) and the largest class mass wins; *best corner*: the class whose "
               "corner code reconstructs best (no inversion). *vs MIC*: the mean paired "
               "difference to MIC's paper rule; *above MIC in*: in how many seeds (paired) it "
               "is higher. Training steps chosen on a validation split of the training pool "
               "(200 cells; the equal-weights variant: 1000 steps, not validated). Seconds: "
               "the mean per machine that ran the rows (here: this shared 2-core machine; "
               "other labels: lent machines, a GPU among them for rows trained with the "
               "torch engine, named in results/single/machines.json and the "
"README; never this machine's times). Only the cells listed were run.")
