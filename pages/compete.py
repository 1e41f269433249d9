"""Compete: draw a character (or pick a held-out one) and watch every expert invert it."""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

import cached
from widgets import drawing_ui, expert_set_ui
from figures import arena_figure, shapes_figure

def sample_ui(data) -> tuple[np.ndarray, int]:
    """A held-out sample: random, or by class. Returns (target, true class)."""
    cols = st.columns([2, 1, 1])
    names = ["any class"] + list(data.class_names)
    wanted = cols[0].selectbox("Class", names, key="sample_class")
    if cols[1].button("🎲 Random sample", use_container_width=True):
        pool = np.arange(len(data.y_test)) if wanted == "any class" else \
            np.flatnonzero(data.y_test == data.class_names.index(wanted))
        st.session_state["sample"] = int(np.random.default_rng().choice(pool))
        st.session_state["iteration"] = -1
        st.session_state["expert"] = -1
    cols[2].number_input("Sample", 0, len(data.y_test) - 1, key="sample",
                         help="Index into the held-out test set")
    i = int(st.session_state["sample"])
    return data.X_test[i], int(data.y_test[i])


def selected_expert(names, winner: int) -> int:
    """The expert shown large: clicked in a view, or chosen here; the winner by default."""
    event = st.session_state.get("arena")
    if event and event.get("selection", {}).get("points"):
        point = event["selection"]["points"][0]
        custom = point.get("customdata")
        if custom is not None:
            st.session_state["expert"] = int(np.ravel(custom)[0])
    current = int(st.session_state["expert"])
    options = list(range(len(names)))
    chosen = st.selectbox("Selected expert", options, index=current if current >= 0 else winner,
                          format_func=lambda e: f"{names[e]}" + (" (winner)" if e == winner else ""))
    st.session_state["expert"] = chosen
    return chosen


def export_ui(record, fig) -> None:
    """Downloads of the classification record (the same winner as the page)."""
    cols = st.columns(3)
    cols[0].download_button("Record as JSON", json.dumps(record.to_dict(0)),
                            file_name="classification.json", mime="application/json")
    cols[1].download_button("Errors and weights as CSV", record.to_csv(0),
                            file_name="classification.csv", mime="text/csv")
    cols[2].download_button("Figure as HTML", fig.to_html(include_plotlyjs=True, auto_play=False),
                            file_name="arena.html", mime="text/html")


cached.init_state()
expert_set_ui()
st.title("Compete")
data = cached.dataset(st.session_state["dataset"])
train = cached.train_config()
experts, set_key = cached.competing_experts_ui(data.name, train)

source = st.segmented_control("Input", ["Draw", "Held-out sample"], default="Draw"
                              if st.session_state["sample"] < 0 else "Held-out sample",
                              key="input_source")
left, right = st.columns([1, 1.6], gap="large")
with left:
    truth = None
    if source == "Draw":
        st.session_state["sample"] = -1
        target = drawing_ui(data)
    else:
        if st.session_state["sample"] < 0:
            st.session_state["sample"] = 0
        target, truth = sample_ui(data)
cached.sync_url()
if target is None:
    st.stop()

# the one decision record (mic_core.classify): the CLI, the evaluation and the exports read
# the same (free ends for pen trajectories, plain for MNIST)
target = np.ascontiguousarray(target, np.float32)
record = (cached.set_classification(data.name, set_key, target) if set_key else
          cached.classification(data.name, train, target))
names = list(record.class_names)
deciding = record.deciding_errors[0]
winner_index = int(record.winners[0])
winner = names[winner_index]
with right:
    verdict = f"## The winner: **{winner}**"
    if truth is not None:
        verdict += " ✓" if names[truth] == winner else f" (the sample is a **{names[truth]}**)"
    st.markdown(verdict)
    ranking = np.argsort(deciding)[:3]
    plain = int(record.plain_winners[0])
    note = "" if plain == winner_index else (
        f" Decided with free ends (a letter drawn without its connecting strokes): by the "
        f"plain reconstruction error, {names[plain]} would lead.")
    st.caption("Closest: " + ", ".join(f"{names[e]} ({deciding[e]:.4f})" for e in ranking) +
               "." + note + " Press ▶ play under the figure to watch the 50 iterations; "
               "click an expert to select it.")
    selected = selected_expert(names, winner_index)
    st.plotly_chart(shapes_figure(experts.types[selected],
                                  [f"type {k + 1}" for k in range(experts.config.n_types)],
                                  height=160), key="types")

key = cached.target_key(target)
if st.session_state.get("_last_target") != key:  # a new target: the race starts from the start
    st.session_state["_last_target"] = key
    if st.session_state.get("_seen_target"):
        st.session_state["iteration"] = 0
    st.session_state["_seen_target"] = True
last = record.inversion.errors.shape[2] - 1
steps = st.columns([1, 1, 6])
if steps[0].button("◀ step back", use_container_width=True):
    st.session_state["iteration"] = max(0, int(st.session_state["iteration"]) - 1)
if steps[1].button("step forward ▶", use_container_width=True):
    st.session_state["iteration"] = min(last, max(0, int(st.session_state["iteration"])) + 1)
iteration = min(last, max(0, int(st.session_state["iteration"])))
steps[2].caption(f"Shown from iteration {iteration}; ▶ play and the slider under the figure run "
                 f"in your browser.")
cached.sync_url()
fig = arena_figure(record.inversion, 0, selected, truth, iteration, winner=winner_index)
st.plotly_chart(fig, key="arena", on_select="rerun", selection_mode="points",
                config={"displayModeBar": False})
export_ui(record, fig)
