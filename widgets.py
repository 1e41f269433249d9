"""Widgets shared by several pages (UI side): the expert-set sidebar, the drawing canvas and
the arena player (a small Streamlit component: one playback clock in the browser).

Each ``*_ui`` helper draws its widgets and returns plain values; no maths here.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import plotly
import streamlit as st
import streamlit.components.v1 as components
from streamlit_drawable_canvas import st_canvas

from figures.arena import PLAYER_HTML
from mic_core import DrawingError, drawing_to_pen_trajectory
from mic_core.drawing import raster_to_mnist
from mic_core.fit_quality import drawing_problem
from mic_core.persistence import atomic_write, default_cache_dir

CANVAS_KEY = "canvas"
LETTER_CANVAS, DIGIT_CANVAS = 300, 280  # canvas sizes in px
# The canvas (streamlit-drawable-canvas 0.13, a components-v2 element in a shadow root:
# page styles reach its host only). A column holding it never gets narrower than the canvas
# (at 800 px, or with the sidebar open, the column cut it off, and a stroke begun in the
# hidden part was lost); where the canvas and its row's other columns no longer fit side by
# side, the row wraps and they go below, full width. Its toolbar floats 2.65rem above it:
# room is kept there, so that it no longer covers the instructions above the canvas.
# Style only (st.html puts it in no container: it takes no room on the page).
_CANVAS = '[data-testid="stBidiComponentIsolated"]'
CANVAS_CSS = f"""<style>
[data-testid="stColumn"]:has({_CANVAS}) {{ min-width: {LETTER_CANVAS + 16}px; }}
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] {_CANVAS}) {{
  flex-wrap: wrap; }}
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] {_CANVAS})
  > [data-testid="stColumn"]:not(:has({_CANVAS})) {{ min-width: min(100%, 560px); }}
[data-testid="stElementContainer"]:has({_CANVAS}) {{ padding-top: 2.4rem; }}
</style>"""


def _player_directory() -> Path:
    """The component's folder: the player page and a copy of the plotly package's own
    plotly.js (Streamlit serves a component's files from one folder and refuses links out
    of it); rebuilt when either changes. Nothing is fetched from the network."""
    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    folder = default_cache_dir() / f"arena_player-plotly{plotly.__version__}"
    html = PLAYER_HTML.read_bytes()
    index, script = folder / "index.html", folder / "plotly.min.js"
    if not script.exists() or script.stat().st_size != source.stat().st_size:
        atomic_write(script, lambda f: f.write(source.read_bytes()))
    if not index.exists() or index.read_bytes() != html:
        atomic_write(index, lambda f: f.write(html))
    return folder


@st.cache_resource(show_spinner=False)
def _player():
    return components.declare_component("arena_player", path=str(_player_directory()))


def arena_player(spec: dict, key: str = "arena_player") -> dict | None:
    """The arena player for ``figures.arena.arena_spec``'s spec. Returns the browser's last
    report, ``{"token", "selected", "position", "fps", "loop"}`` (None before any)."""
    return _player()(spec=spec, key=key, default=None)


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


STARTS_WORDS = {"uniform": "the uniform vector only",
                "uniform+corners": "the uniform vector and each type's corner"}
OPTIMISER_WORDS = {"adam": "Adam-like step", "exponentiated": "exponentiated gradient"}


def inversion_ui(validated: dict) -> None:
    """Sidebar: how every expert searches its input vector (the state keys ``starts`` and
    ``optimiser`` of ``cached``); ``validated``: the starts chosen on validation for these
    experts (``cached.validated_starts``), the default."""
    chosen = validated["starts"]
    scores = validated.get("validation_accuracy", {})
    basis = ", ".join(f"{'with corners' if '+' in s else 'uniform only'} {a:.3f}"
                      for s, a in scores.items())
    with st.sidebar:
        st.header("Inversion")
        st.radio("Starts", ["", "uniform", "uniform+corners"], key="starts",
                 format_func=lambda s: f"as chosen on validation ({STARTS_WORDS[chosen]})"
                 if not s else STARTS_WORDS[s],
                 help="Each expert searches its input vector from the uniform vector, or also "
                      "from each of its types' corners, and keeps the start that ends with "
                      "the lowest error (issue 15). Validation accuracy of these experts' "
                      f"setting: {basis or 'not validated'}.")
        st.radio("Optimiser", ["adam", "exponentiated"], key="optimiser", horizontal=True,
                 format_func=OPTIMISER_WORDS.get,
                 help="The Adam-like step of the original code (chosen on validation, "
                      "results/inversion_choices.json), or exponentiated gradient (mirror "
                      "descent on the simplex; it cannot leave a corner, so a corner start "
                      "stays where it began).")


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


def canvas_used(data) -> bool:
    """Whether this session has drawn on ``drawing_ui``'s canvas of this data set."""
    return bool(st.session_state.get(f"_{CANVAS_KEY}_{data.name}_used"))


def drawing_ui(data, straightness_limit: float | None = None,
               messages=None) -> np.ndarray | None:
    """The canvas; returns the target, or None after saying what to do (an empty drawing,
    several strokes, or a drawing too small or too straight to be a character), below the
    canvas or in the container ``messages`` (e.g. at the top of the page, where a screen
    of 720 px still shows it)."""
    digits = data.name == "mnist"
    st.html(CANVAS_CSS)
    st.caption("Draw one digit, large." if digits else
               "Draw one lowercase letter (a b c d e g h l m n o p q r s u v w y z) in a "
               "single stroke, as you would write it: the direction counts. Undo and clear are on "
               "the canvas toolbar.")
    result = st_canvas(stroke_width=18 if digits else 5, stroke_color="#222",
                       background_color="#ffffff", height=DIGIT_CANVAS if digits else LETTER_CANVAS,
                       width=DIGIT_CANVAS if digits else LETTER_CANVAS, drawing_mode="freedraw",
                       return_image_data=digits, key=f"{CANVAS_KEY}_{data.name}")
    join = False if digits else st.toggle("Join several strokes", value=False,
                                          help="The experts learnt one-stroke letters; "
                                               "when on, strokes are joined in drawing order")
    drawing = result.json_data or {"objects": []}
    if drawing.get("objects"):
        st.session_state[f"_{CANVAS_KEY}_{data.name}_used"] = True
    try:
        if digits:
            if not drawing.get("objects"):
                raise DrawingError("the drawing is empty: draw a digit first")
            ink = 1.0 - result.image_data[:, :, :3].mean(axis=2) / 255.0  # white background
            problem = drawing_problem(None, DIGIT_CANVAS, ink=ink, noun="digit")
            if problem:
                raise DrawingError(problem)
            return raster_to_mnist(ink).astype(np.float32)
        pen = drawing_to_pen_trajectory(drawing, join_strokes=join)
        problem = drawing_problem(pen, LETTER_CANVAS, straightness_limit)
        if problem:
            raise DrawingError(problem)
        return data.pen_trajectories_to_sequences([pen])[0]
    except DrawingError as exc:
        message = str(exc)
        where = messages if messages is not None else st
        (where.info if "empty" in message else where.warning)(message[0].upper() + message[1:]
                                                              + ".")
        return None
