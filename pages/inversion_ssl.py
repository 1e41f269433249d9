"""Inversion: a classifier that reconstructs its input from its own gradient,
x̂ = (∂f/∂x)ᵀ f(x), and learns from unlabelled samples through that reconstruction."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import cached
from figures.inversion_ssl import (probabilities_figure, reconstruction_figure,
                                   ssl_curves_figure, templates_figure)
from mic_core.inversion_ssl import fit_small_run
from mic_core.inversion_ssl.experiments import same_labels_table
from widgets import drawing_ui

NETWORKS = {"inversion_ssl": "Semi-supervised (inversion)",
            "supervised_small": "Supervised only, same labels"}
MNIST_RESULTS = Path(__file__).resolve().parent.parent / "results" / "inversion_ssl" / "mnist.csv"


def source_ui(data) -> tuple[np.ndarray | None, int | None]:
    """A held-out sample or a drawing; returns (target, true class or None)."""
    source = st.radio("Input", ["held-out sample", "drawing"], horizontal=True,
                      key="inversion_source")
    if source == "drawing":
        return drawing_ui(data), None
    cols = st.columns([1, 3])
    if cols[0].button("Random sample", icon=":material/casino:"):
        st.session_state["inversion_sample"] = int(np.random.default_rng()
                                                   .integers(len(data.y_test)))
    st.session_state.setdefault("inversion_sample", 0)
    st.session_state["inversion_sample"] = min(int(st.session_state["inversion_sample"]),
                                               len(data.y_test) - 1)
    i = cols[1].number_input("Held-out sample", 0, len(data.y_test) - 1,
                             key="inversion_sample")
    return data.X_test[int(i)], int(data.y_test[int(i)])


def network_ui(data, method: str, target, true_index) -> dict:
    views = cached.ssl_views(data.name, method, np.ascontiguousarray(target).tobytes(),
                             target.shape)
    names = [data.class_names[c] for c in views["classes"]]
    p = views["probabilities"]
    winner = int(p.argmax())
    verdict = "" if true_index is None else (" (right)" if views["classes"][winner] ==
                                             true_index else " (wrong)")
    st.markdown(f"**{NETWORKS[method]}** predicts **{names[winner]}** with probability "
                f"{p[winner]:.2f}{verdict}")
    st.plotly_chart(probabilities_figure(p, names, true_index), key=f"p_{method}")
    st.plotly_chart(reconstruction_figure(
        target, views["reconstruction"],
        ("input", f"reconstruction (R = {views['error']:.3g})")), key=f"r_{method}")
    return views


def small_run_ui(data) -> None:
    st.subheader("A small run on demand")
    st.caption("Train a fresh network here on a few labelled and unlabelled samples of the "
               "training pool (drawn at random, balanced), and watch the loss terms and the "
               "accuracy on other training samples. Nothing is kept.")
    with st.form("small_run"):
        cols = st.columns(5)
        alpha = cols[0].slider("α (cross entropy)", 0.0, 1.0, 0.5, 0.1)
        beta = cols[1].slider("β (reconstruction vs entropy)", 0.0, 1.0, 0.5, 0.1)
        n_labelled = cols[2].select_slider("Labelled", [20, 40, 60, 100, 200], 40
                                           if data.name == "characters" else 20)
        n_unlabelled = cols[3].select_slider("Unlabelled", [0, 100, 200, 300, 500], 200)
        steps = cols[4].select_slider("Steps", [20, 50, 100, 150, 200], 50)
        run = st.form_submit_button("Run", icon=":material/play_arrow:", type="primary")
    if run:
        config = cached.ssl_config(data.name, "inversion_ssl")
        from dataclasses import replace
        config = replace(config, alpha=alpha, beta=beta, steps=steps, batch_labelled=16,
                         batch_unlabelled=16, keep_best=False)
        bar = st.progress(0.0, text="Training…")
        chart = st.empty()

        def report(p):
            bar.progress(p.fraction, text=f"Step {p.step} of {p.steps}, about "
                                          f"{p.seconds_left:.0f} s left")
            if p.curve is not None and len(p.curve):
                chart.plotly_chart(ssl_curves_figure({"this run": p.curve}),
                                   key=f"live_{p.step}")
        model = fit_small_run(data, config, n_labelled, n_unlabelled, n_validation=200,
                              progress=report, eval_every=max(steps // 10, 2))
        bar.empty()
        chart.empty()
        st.session_state["inversion_small_run"] = (data.name, model.curve_, alpha, beta)
    done = st.session_state.get("inversion_small_run")
    if done and done[0] == data.name:
        _, curve, alpha, beta = done
        st.plotly_chart(ssl_curves_figure({f"α {alpha:.1f}, β {beta:.1f}": curve}),
                        key="small_run_curve")
        st.caption(f"Final validation accuracy {curve[-1, 5]:.3f} (on 200 training-pool "
                   "samples that were neither labelled nor unlabelled data).")


def results_ui(data) -> None:
    st.subheader("Held-out accuracy")
    if data.name == "characters":
        from mic_core.experiments import RESULTS
        table = cached.results_table(str(RESULTS))
    else:
        table = cached.ssl_mnist_table(str(MNIST_RESULTS), MNIST_RESULTS.stat().st_mtime_ns
                                       if MNIST_RESULTS.exists() else 0)
    summary = same_labels_table(table, data.name, "clustered" if data.name == "characters"
                                else "drawn")
    if summary.empty:
        st.info("No held-out results yet: run `python -m mic_core.inversion_ssl.experiments "
                "run`.")
        return
    st.dataframe(summary, hide_index=True, width="stretch")
    labels = "four labelled types per class (MIC's)" if data.name == "characters" else \
        "5 labelled images per class (50 in all)"
    st.caption(f"Every method learnt from {labels}; held-out test set, seeds 42, 142, 242"
               + (", 342, 442" if data.name == "characters" else "") + ".")
    if data.name == "mnist":
        st.caption("The paper's Table 2 (50 labels, 59 950 unlabelled, many epochs): SmallCNN "
                   "mean pooling 99.07 %, max pooling 98.63 %, mean over 12 networks 98.77 % "
                   "± 0.25; the same networks supervised on 1000 labels: 95.27 % ± 0.46. Ours "
                   "trains up to 2 500 steps (about one epoch of unlabelled images), the "
                   "step chosen on 2 000 validation images (see the README).")


cached.init_state()
st.title("Inversion")
st.caption("A classifier f built from ReLU, mean pooling and linear layers is, around any "
           "input x, an affine map f(x) = A[x] x + b[x]. One backward pass gives its "
           "reconstruction x̂ = A[x]ᵀ f(x) = (∂f/∂x)ᵀ f(x); unlabelled samples teach the "
           "network through the error of that reconstruction and the entropy of its "
           "prediction. Both networks below learnt from the same few labels; only the "
           "semi-supervised one also saw unlabelled samples.")
st.radio("Data set", ["characters", "mnist"], key="dataset", horizontal=True,
         format_func=lambda d: {"characters": "letters", "mnist": "digits (MNIST)"}[d],
         help="The same choice as the experts' data set on the other pages")
data = cached.dataset(st.session_state["dataset"])
models = {method: cached.ssl_network_ui(data.name, method) for method in NETWORKS}

target, true_index = source_ui(data)
if target is not None:
    if true_index is not None:
        st.caption(f"True class: **{data.class_names[true_index]}**")
    columns = st.columns(2)
    views = {}
    for column, method in zip(columns, NETWORKS):
        with column:
            views[method] = network_ui(data, method, target, true_index)
    st.subheader("The network as template matching")
    st.caption("Row c of A[x] is the template of class c: the logit of class c is its inner "
               "product with the input, plus a bias. A network that reconstructs well has "
               "templates that look like the input for its class."
               + (" Red: positive weight, blue: negative." if data.name == "mnist" else
                  " Each template is drawn as the path its (x, y) values trace."))
    for tab, method in zip(st.tabs(list(NETWORKS.values())), NETWORKS):
        with tab:
            names = [data.class_names[c] for c in views[method]["classes"]]
            st.plotly_chart(templates_figure(views[method]["templates"], names,
                                             views[method]["probabilities"]),
                            key=f"t_{method}")
results_ui(data)
small_run_ui(data)
