"""Teach: draw a new symbol four times; one new expert learns it and joins a named set."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

import cached
from figures import shapes_figure
from widgets import expert_set_ui
from mic_core.serving import TrainingRefused
from mic_core.teaching import (N_DRAWINGS, TeachingError, base_set, check_class_name,
                               check_set_name, check_usability,
                               delete_set, drawings_to_sequences, save_set,
                               single_generator_retraining, teach)

# tests and slow servers may shorten training; by default the recipe of the set it joins
TEACH_STEPS = int(os.environ.get("MIC_TEACH_STEPS", "0") or 0)


def teach_canvas_ui(data, index: int):
    """One small canvas; returns its raw drawing (canvas JSON, or ink for digits) or None."""
    digits = data.name == "mnist"
    result = st_canvas(stroke_width=14 if digits else 4, stroke_color="#222",
                       background_color="#ffffff", height=200, width=200,
                       drawing_mode="freedraw", return_image_data=digits,
                       key=f"teach_canvas_{data.name}_{index}")
    drawing = result.json_data or {"objects": []}
    if not drawing.get("objects"):
        return None
    if digits:
        return 1.0 - result.image_data[:, :, :3].mean(axis=2) / 255.0
    return drawing


def taught_experts_ui(data, named) -> None:
    """The chosen set's taught experts, each removable; the set itself deletable."""
    if named is None:
        return
    st.subheader(f"The set {named.name}")
    base = set(named.base.class_names)
    if not named.taught_names:
        st.caption("Nothing taught in it (any more).")
    for name in named.taught_names:
        cols = st.columns([3, 1])
        seconds = named.taught_seconds.get(name)
        cols[0].markdown(f"**{name}**" + (" (your handwriting, replacing the data's expert)"
                                          if name in base else " (new class)") +
                         (f", trained in {seconds:.1f} s" if seconds else ""))
        if cols[1].button("Remove", key=f"remove_{name}", icon=":material/delete:"):
            save_set(named.without_taught(name), cached.sets_dir() / named.name)
            st.rerun()
    if st.button("Delete this set", icon=":material/delete_forever:"):
        delete_set(cached.sets_dir() / named.name)
        st.session_state["_choose_set"] = ""
        st.rerun()


cached.init_state()
expert_set_ui()
cached.sync_url()
st.title("Teach")
st.caption("Draw a symbol the experts have never seen (a letter the data set lacks, such as "
           "f, k or x, a star, your initial) four times, in one stroke each. One new expert "
           "learns your four drawings as its types, with the same recipe as the others, and "
           "joins a named set; the old experts stay exactly as they were. Choose the set in "
           "the sidebar and it competes on the Compete page.")
data = cached.dataset(st.session_state["dataset"])
single = single_generator_retraining(data.name)
if single is not None:
    st.caption(f"The single generator (one network for all classes) cannot do this without "
               f"retraining as a whole: measured on this machine, {single['steps']} of its "
               f"training steps took {single['retrain_seconds'] / 60:.0f} min, "
               f"{single['ratio']:.0f} times one MIC expert's whole training "
               f"({single['one_expert_seconds']:.0f} s, measured beside it; "
               f"benchmarks/single_generator.py add-class).")
train = cached.train_config()
experts, set_key = cached.competing_experts_ui(data.name, train)
chosen = st.session_state["expert_set"]
named = cached.named_set(data.name, chosen) if chosen else None

columns = st.columns(N_DRAWINGS)
drawings = []
for i, column in enumerate(columns):
    with column:
        st.caption(f"Drawing {i + 1}")
        drawings.append(teach_canvas_ui(data, i))
left, right = st.columns(2)
class_name = left.text_input("Name of the class", max_chars=20, key="teach_class",
                             placeholder="for example f, or star")
set_name = right.text_input("Save into the set", value=chosen or "my-set", max_chars=40,
                            key="teach_set", help="Letters, digits, '-' and '_'. An existing "
                            "set is added to when it is the one chosen in the sidebar.")
replace_existing = st.toggle("Replace an existing expert of this name (your own handwriting "
                             "for a letter, or reteach)", key="teach_replace")

given = [d for d in drawings if d is not None]
if len(given) < N_DRAWINGS:
    st.info(f"{len(given)} of {N_DRAWINGS} drawings so far: draw the symbol in every box.",
            icon=":material/draw:")
    taught_experts_ui(data, named)
    st.stop()
try:
    taught_input = drawings_to_sequences(data, drawings)
except TeachingError as exc:
    st.warning(str(exc)[0].upper() + str(exc)[1:] + ".", icon=":material/warning:")
    taught_experts_ui(data, named)
    st.stop()
st.plotly_chart(shapes_figure(taught_input.sequences, [f"drawing {i + 1}" for i in
                                                       range(N_DRAWINGS)], height=160),
                key="teach_types")
check = check_usability(experts, data, taught_input,
                        limits=cached.usability_limits(data.name, train, set_key))
for message in check.messages():
    st.warning(message + " You can still teach it.", icon=":material/warning:")
if check.usable:
    st.success("The four drawings look usable: no expert claims them, and they agree with "
               "each other.", icon=":material/check_circle:")

if st.button("Teach", type="primary", icon=":material/school:"):
    try:  # names first: nothing is queued for a name that cannot be saved
        check_set_name(set_name)
        check_class_name(class_name)
        base = named if named is not None else base_set(experts, data.config, train,
                                                        set_name)
    except TeachingError as exc:
        st.error(str(exc)[0].upper() + str(exc)[1:] + ".", icon=":material/error:")
        taught_experts_ui(data, named)
        st.stop()
    recipe = replace(base.base_train, steps=TEACH_STEPS or base.base_train.steps)
    key = hashlib.sha1(json.dumps([set_name, class_name, str(drawings)[:100000]],
                                  default=str).encode()).hexdigest()

    def work(progress):
        return teach(base, data, class_name, drawings, cached.sets_dir() / set_name,
                     replace_existing, train=recipe,
                     progress=lambda p: progress(p.step / p.steps, p.seconds_left))
    try:
        ticket = cached.training_queue().request(f"teach-{key}", "teach one expert", work,
                                                 estimate_seconds=10.0)
    except TrainingRefused as exc:
        st.error(str(exc), icon=":material/block:")
        st.stop()
    bar = st.progress(0.0, text="Teaching…")
    while not ticket.wait(0.3):
        bar.progress(ticket.fraction, text=cached.training_queue().status(ticket).describe())
    bar.empty()
    if ticket.state == "failed":
        st.error(ticket.error.split(": ", 1)[-1], icon=":material/error:")
    else:
        result = ticket.result
        st.session_state["_choose_set"] = result.named.name  # the sidebar applies it
        st.session_state["taught_message"] = (
            f"Taught '{class_name.strip()}' in {result.seconds:.1f} s: the set "
            f"{result.named.name} now has {result.named.experts.n_experts} experts. It is "
            f"chosen in the sidebar: draw on the Compete page and watch it compete.")
        st.rerun()
if "taught_message" in st.session_state:
    st.success(st.session_state.pop("taught_message"), icon=":material/check_circle:")
taught_experts_ui(data, named)
