"""Widgets shared by several pages (UI side): the expert-set sidebar and the drawing canvas.

Each ``*_ui`` helper draws its widgets and returns plain values; no maths here.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from mic_core import DrawingError, drawing_to_pen_trajectory
from mic_core.drawing import raster_to_mnist

CANVAS_KEY = "canvas"


def expert_set_ui() -> None:
    """Sidebar: which experts compete (the state keys of ``cached``)."""
    with st.sidebar:
        st.header("Experts")
        st.radio("Data set", ["characters", "mnist"], key="dataset", horizontal=True,
                 format_func=lambda d: {"characters": "letters", "mnist": "digits (MNIST)"}[d])
        st.radio("Types", ["clustered", "random"], key="selection", horizontal=True,
                 help="How each expert's four training sequences were chosen")
        st.number_input("Seed", min_value=0, max_value=10_000, step=100, key="seed")
        st.select_slider("Input noise", [0.0, 0.1, 0.2], key="noise_in")
        st.select_slider("Output noise", [0.0, 0.0001, 0.0002, 0.1, 0.25], key="noise_out")
        named_set_ui()


def named_set_ui() -> None:
    """Sidebar: a saved set of taught experts (Teach page) competes instead of the
    configuration above."""
    import cached
    sets = cached.saved_sets(st.session_state["dataset"])
    if "_choose_set" in st.session_state:  # chosen by a page (taught, deleted, unusable)
        st.session_state["expert_set"] = st.session_state.pop("_choose_set")
    if st.session_state.get("expert_set", "") not in sets:
        st.session_state["expert_set"] = ""
    if sets:  # no widget key: Streamlit drops a widget's key on a page switch
        options = [""] + sets
        st.session_state["expert_set"] = st.selectbox(
            "Expert set", options, index=options.index(st.session_state["expert_set"]),
            format_func=lambda s: s or "the configuration above",
            help="Sets saved on the Teach page: the configuration's experts plus the ones "
                 "taught by drawing")


def drawing_ui(data) -> np.ndarray | None:
    """The canvas; returns the target, or None after saying what to do."""
    digits = data.name == "mnist"
    st.caption("Draw one digit, large." if digits else
               "Draw one lowercase letter (a b c d e g h l m n o p q r s u v w y z) in a "
               "single stroke, as you would write it. Undo and clear are on the canvas toolbar.")
    join = False if digits else st.toggle("Join several strokes", value=False,
                                          help="The experts learnt one-stroke letters; "
                                               "when on, strokes are joined in drawing order")
    result = st_canvas(stroke_width=18 if digits else 5, stroke_color="#222",
                       background_color="#ffffff", height=280 if digits else 320,
                       width=280 if digits else 320, drawing_mode="freedraw",
                       return_image_data=digits, key=f"{CANVAS_KEY}_{data.name}")
    drawing = result.json_data or {"objects": []}
    try:
        if digits:
            if not drawing.get("objects"):
                raise DrawingError("the drawing is empty: draw a digit first")
            ink = 1.0 - result.image_data[:, :, :3].mean(axis=2) / 255.0  # white background
            return raster_to_mnist(ink).astype(np.float32)
        pen = drawing_to_pen_trajectory(drawing, join_strokes=join)
        return data.pen_trajectories_to_sequences([pen])[0]
    except DrawingError as exc:
        message = str(exc)
        (st.info if "empty" in message else st.warning)(message[0].upper() + message[1:] + ".")
        return None
