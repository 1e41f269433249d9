"""Style memory: a classifier that also remembers how a character was drawn, and redraws it
from (class, style) — under its own label, another label, or a style between two samples."""
from __future__ import annotations

import numpy as np
import streamlit as st

import cached
from figures.style_memory import error_histogram_figure, grid_figure, interpolation_figure
from mic_core.style_memory import interpolate_styles, nearest_neighbours, read_sample
from widgets import drawing_ui

TRAINING = {"full": "whole training pool", "clustered": "four types per class (clustered)",
            "random": "four types per class (random)"}
LAMBDAS = np.round(np.linspace(0, 1, 11), 2)


def settings_ui() -> tuple[str, str]:
    """The data set (shared with the other pages) and what the network learnt from."""
    cols = st.columns([1, 2])
    cols[0].radio("Data set", ["characters", "mnist"], key="dataset", horizontal=True,
                  format_func=lambda d: {"characters": "letters", "mnist": "digits (MNIST)"}[d])
    training = cols[1].radio("Trained on", list(TRAINING), format_func=TRAINING.get,
                             key="style_training", horizontal=True,
                             help="The four types are the experts' (same selection, seed 42): "
                                  "the low-data protocol")
    return st.session_state["dataset"], training


def held_out_ui(data, chosen: np.ndarray, key: str, label: str) -> int:
    """A held-out sample among the protocol's ``chosen`` indices; returns its test index."""
    position = st.number_input(label, 0, len(chosen) - 1, key=key,
                               help="Position among the held-out samples of the protocol")
    return int(chosen[int(position)])


def title(data, c: int) -> str:
    return data.class_names[c]


cached.init_state()
st.session_state.setdefault("style_sample", 0)
st.session_state.setdefault("style_second", 1)
st.title("Style memory")
name, training = settings_ui()
data = cached.dataset(name)
if (st.session_state.get("style_label") or 0) >= len(data.class_names):
    st.session_state["style_label"] = None  # a letter's class on the digits, or back
model = cached.style_memory_ui(name, training)
chosen, evaluation, styles = cached.style_evaluation(name, training)
for key in ("style_sample", "style_second"):  # letters have fewer held-out samples than digits
    st.session_state[key] = min(int(st.session_state[key]), len(chosen) - 1)
st.caption("One network classifies **and** keeps 16 style neurons beside its class neurons; "
           "its decoder redraws the input from (class, style). Change the class and the "
           "same style is drawn as another character.")

source = st.segmented_control("Input", ["Held-out sample", "Draw"], default="Held-out sample",
                              key="style_source")
left, right = st.columns([1, 1.6], gap="large")
truth = None
with left:
    if source == "Draw":
        x = drawing_ui(data)
        index = None
    else:
        index = held_out_ui(data, chosen, "style_sample", "Held-out sample")
        x, truth = data.X_test[index], int(data.y_test[index])
if x is None:
    st.stop()
try:
    reading = read_sample(model, x, st.session_state.get("style_label"))
except ValueError as exc:
    st.warning(f"This input cannot be read: {exc}.")
    st.stop()

with right:
    verdict = f"## Predicted: **{title(data, reading.predicted)}** ({reading.confidence:.0%})"
    if truth is not None:
        verdict += " ✓" if truth == reading.predicted else \
            f" (the sample is a **{title(data, truth)}**)"
    st.markdown(verdict)
    st.selectbox("Redraw as class", list(range(len(data.class_names))), key="style_label",
                 index=None, placeholder=f"the prediction ({title(data, reading.predicted)})",
                 format_func=lambda c: title(data, c))
    st.plotly_chart(grid_figure(
        [x, reading.reconstruction, reading.as_label],
        ["input", f"reconstruction: {title(data, reading.predicted)} "
                  f"(error {reading.error:.2f})",
         f"as {title(data, reading.label)} (error {reading.error_as_label:.2f})"],
        cols=3, cell=230), key="reconstruction")

st.subheader("This style under every class label")
if name == "characters" and training == "full":
    st.caption("The letters' decoder learnt from the true label and from a style in which a "
               "critic could not find the class, so the label, not the style, decides which "
               "letter is drawn (about half of these drawings are legible as their label) and "
               "the style how it is drawn.")
st.plotly_chart(grid_figure(reading.transfer, list(data.class_names), cols=10),
                key="transfer")

st.subheader("Style interpolation")
cols = st.columns([1, 1, 2])
with cols[0]:
    other = held_out_ui(data, chosen, "style_second", "Second held-out sample")
with cols[1]:
    label = st.selectbox("Drawn as class", list(range(len(data.class_names))),
                         index=reading.predicted, format_func=lambda c: title(data, c),
                         key="style_interpolation_label")
path = interpolate_styles(model, x, data.X_test[other], label, LAMBDAS)
with cols[2]:
    st.caption("m(λ) = (1 − λ)·m₁ + λ·m₂ between this sample's style (λ = 0) and the second "
               "sample's (λ = 1). Press ▶ play, or drag the slider.")
st.plotly_chart(interpolation_figure(path, LAMBDAS), key="interpolation",
                config={"displayModeBar": False})

st.subheader("Nearest neighbours: input space vs style space")
k = st.slider("Neighbours", 8, 97, 30, key="style_k")
pool_X, pool_y = data.X_test[chosen], data.y_test[chosen]
exclude = None if index is None else int(np.searchsorted(chosen, index))
by_input, by_style = nearest_neighbours(model, x, pool_X, pool_y, k,
                                        styles, exclude=exclude)
columns = st.columns(2)
for column, found, space in zip(columns, (by_input, by_style), ("input", "style")):
    with column:
        counts = ", ".join(f"{title(data, c)} {n}" for c, n in
                           sorted(found.class_counts.items(), key=lambda item: -item[1])[:6])
        st.markdown(f"**{k} closest in {space} space** — mean distance in input space "
                    f"{found.mean_input_distance:.2f}, in style space "
                    f"{found.mean_style_distance:.2f}  \nclasses: {counts}")
        st.plotly_chart(grid_figure(pool_X[found.indices], [title(data, c) for c in
                                                            pool_y[found.indices]],
                                    cols=8, cell=70), key=f"neighbours_{space}")

st.subheader("Misclassified held-out samples")
wrong = np.flatnonzero(evaluation.predicted != data.y_test[chosen])
st.markdown(f"Accuracy **{evaluation.accuracy:.2%}** on {evaluation.n_test} held-out samples; "
            f"{len(wrong)} misclassified. A bad reconstruction flags a wrong decision with an "
            f"AUROC of **{evaluation.misclassification_auroc:.3f}** (0.5 = chance).")
cols = st.columns([1, 1.4])
with cols[1]:
    st.plotly_chart(error_histogram_figure(evaluation.errors,
                                           evaluation.predicted != data.y_test[chosen]),
                    key="error_histogram")
with cols[0]:
    if len(wrong):
        pick = st.selectbox("Misclassified sample", list(range(len(wrong))),
                            format_func=lambda i: f"#{int(chosen[wrong[i]])}: "
                            f"{title(data, data.y_test[chosen[wrong[i]]])} read as "
                            f"{title(data, evaluation.predicted[wrong[i]])}",
                            key="style_wrong")
        i = chosen[wrong[pick]]
        wrong_reading = read_sample(model, data.X_test[i], int(data.y_test[i]))
        st.plotly_chart(grid_figure(
            [data.X_test[i], wrong_reading.reconstruction, wrong_reading.as_label],
            ["input", f"predicted {title(data, wrong_reading.predicted)} "
                      f"({wrong_reading.confidence:.0%}): {wrong_reading.error:.2f}",
             f"true {title(data, wrong_reading.label)}: {wrong_reading.error_as_label:.2f}"],
            cols=3, cell=180), key="wrong_pair")
