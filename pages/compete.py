"""Compete: draw a character (or pick a held-out one) and watch every expert invert it.

Thin page: widgets -> one classification record (``cached.classification``) -> the arena
player (``figures.arena.arena_spec``, drawn in the browser with one playback clock).
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import streamlit as st

import cached
import single_ui
from figures import arena_html, arena_spec, shapes_figure
from mic_core.drawing import DrawingError, target_from_link, target_to_link
from mic_core.fit_quality import direction_hint, fit_quality, needs_direction_check
from widgets import (OPTIMISER_WORDS, arena_player, canvas_used, drawing_ui, expert_set_ui,
                     inversion_ui)

ERROR_MEANING = ("**Error** is how far an expert's reconstruction is from the character: the "
                 "mean squared distance between them, point by point; lower is closer.")
PRESENTATION_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
header[data-testid="stHeader"] { display: none; }
.block-container { padding-top: 0.6rem !important; padding-bottom: 0 !important; }
.block-container h2 { font-size: 2.2rem; }
.block-container p, .block-container li { font-size: 1.15rem; }
.block-container [data-testid="stButtonGroup"] p { font-size: 1rem; }
</style>"""  # the segmented controls keep their size: "Both" was clipped at 1280 px
COMPACT_CSS = """<style>
.block-container { padding-top: 3.2rem !important; padding-bottom: 1rem !important; }
</style>"""
# The input column never narrower than the canvas (it keeps its share, no more), the arena
# never narrower than 560 px and given the rest: where both do not fit side by side
# (800 px), the arena goes below the input.
_ROW = '.st-key-arena > [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"]'


def row_css(share: float) -> str:
    """The row's style; ``share``: the input column's share of the width (at least 316 px)."""
    return f"""<style>
{_ROW} {{ flex-wrap: wrap; row-gap: 0.5rem; }}
{_ROW} > [data-testid="stColumn"]:first-child {{
  flex: 0 0 max(316px, calc({100 * share:.3f}% - 32px)); min-width: 316px; }}
{_ROW} > [data-testid="stColumn"]:last-child {{ flex: 1 1 560px; min-width: min(100%, 560px); }}
</style>"""


def header_ui() -> tuple[str, bool]:
    """The input source and the presentation toggle."""
    state = st.session_state
    source = st.segmented_control(
        "Input", ["Draw", "Held-out sample"], key="input_source", label_visibility="collapsed",
        default="Held-out sample" if state["sample"] >= 0 else "Draw")
    present = st.toggle("Presentation mode", value=bool(state["present"]),
                             key="_present_toggle",
                             help="Canvas, verdict and race on one projector screen; large "
                                  "text. Keys: left and right arrows step, space plays.")
    state["present"] = int(present)
    return source or "Draw", present


def true_scale(data):
    """The data set's per-axis standard deviations: figures draw letters with their true
    proportions (``figures.true_shape``); None for digit images."""
    return None if data.standardiser is None else tuple(map(float, data.standardiser.std))


def draw_ui(data, straightness_limit, messages) -> np.ndarray | None:
    """The canvas; before this session draws on it, the drawing of the link it came from
    (the ``drawing`` state key), so that a link reproduces a drawn view too. What is wrong
    with a drawing is said in ``messages`` (a container at the top of the page)."""
    state = st.session_state
    target = drawing_ui(data, straightness_limit, messages=messages)
    if target is not None:
        state["drawing"] = target_to_link(target)
        return target
    if canvas_used(data) or not state["drawing"]:
        state["drawing"] = ""
        return None
    try:
        target = target_from_link(state["drawing"], data.X_test.shape[1:])
    except DrawingError as exc:
        state["drawing"] = ""
        st.warning(str(exc)[0].upper() + str(exc)[1:] + ".", icon=":material/link_off:")
        return None
    st.plotly_chart(shapes_figure([target], ["the drawing from the link"], height=200,
                                  scale=true_scale(data)), key="linked_drawing",
                    config={"displayModeBar": False, "staticPlot": True})
    st.caption("Draw on the canvas to replace it.")
    return target


def sample_ui(data) -> tuple[np.ndarray, int]:
    """A held-out sample: random, or by class, shown large. Returns (target, true class)."""
    state = st.session_state
    names = ["any class"] + list(data.class_names)
    if state["sample_class"] not in names:
        state["sample_class"] = "any class"
    wanted = st.selectbox("Class", names, key="sample_class")
    cols = st.columns([1, 1], vertical_alignment="bottom")
    if cols[0].button("Random", icon=":material/casino:", use_container_width=True,
                      help="A random held-out sample of the chosen class"):
        pool = np.arange(len(data.y_test)) if wanted == "any class" else \
            np.flatnonzero(data.y_test == data.class_names.index(wanted))
        state["sample"] = int(np.random.default_rng().choice(pool))
    cols[1].number_input("Sample", 0, len(data.y_test) - 1, key="sample",
                         help="Index into the held-out test set")
    i = int(state["sample"])
    target, truth = data.X_test[i], int(data.y_test[i])
    st.plotly_chart(shapes_figure([target], [f"held-out sample {i}: a {data.class_names[truth]}"],
                                  height=300, scale=true_scale(data)), key="sample_view",
                    config={"displayModeBar": False, "staticPlot": True})
    return target, truth


def reference_card_ui(experts, key: str, noun: str, scale=None, short: bool = False) -> None:
    """How the data set writes each character: the experts' types (``key``: which experts;
    ``scale``: true proportions; ``short``: a label that fits presentation mode's text)."""
    label = f"How each {noun} is written" if short else f"How the data set writes each {noun}"
    with st.popover(label, icon=":material/menu_book:", use_container_width=True):
        st.caption(f"Each expert learnt its {noun} from these four examples (its types). "
                   "Upright print letters differ from this cursive data: draw them like this"
                   + (", starting at the dot (the direction counts)." if noun == "letter"
                      else "."))
        st.plotly_chart(cached.types_card(key, experts.types, tuple(experts.class_names),
                                          scale),
                        key="reference_card", config={"displayModeBar": False,
                                                      "staticPlot": True})


def no_fit_examples_ui(experts, key: str, noun: str, scale=None) -> None:
    """Beside "No expert fits": how the data set writes each class, open (the teacher test:
    a natural upright "a" fitted no expert, and nothing showed the form the experts know)."""
    with st.expander(f"How the data set writes each {noun}: draw yours like one of these",
                     expanded=True, icon=":material/menu_book:"):
        st.caption(f"Each expert learnt its {noun} from these four examples"
                   + (", starting at the dot (the direction counts)." if noun == "letter"
                      else "."))
        st.plotly_chart(cached.types_card(key, experts.types, tuple(experts.class_names),
                                          scale, height=220),
                        key="no_fit_card", config={"displayModeBar": False,
                                                   "staticPlot": True})


def inversion_words(inversion, n_types: int = 4) -> str:
    """An inversion record's (or an ``InversionConfig``'s, for experts of ``n_types`` types)
    starts and optimiser in a few words, for the verdict."""
    config = getattr(inversion, "config", inversion)
    start_errors = getattr(inversion, "start_errors", None)
    n = (start_errors.shape[2] if start_errors is not None else
         1 if hasattr(inversion, "config") else config.n_starts(n_types))
    starts = "uniform start" if n == 1 else f"{n} starts"
    return f"{starts}, {OPTIMISER_WORDS[config.optimiser]}"


def verdict_ui(record, names, truth, quality, present: bool, hidden: bool = False,
               examples=None):
    """The verdict in words; ``hidden`` (presentation mode while the race plays): a
    question instead, so that the class watches the race before it hears who won.
    ``examples``: draws how the data set writes each class, beside "No expert fits".
    Returns the place for a hint that the drawing reads better the other way round
    (``hint_ui``; None while the verdict is hidden): the hint is worked out after the
    verdict and the race are on their way to the browser."""
    winner = int(record.winners[0])
    plain = int(np.argmin(record.reconstruction_errors[0]))
    size = "##" if present else "###"
    if hidden:
        st.markdown(f"{size} Who will win?")
        st.markdown("The verdict comes when the race reaches the decision "
                    "(space plays, the arrows step).")
        return None
    if not quality.fits:
        st.markdown(f"{size} No expert fits")
        st.warning(quality.sentence + f" The closest would be **{names[winner]}**.",
                   icon=":material/help:")
        slot = st.empty()
        if examples is not None:
            examples()
        return slot
    verdict = f"{size} The winner: **{names[winner]}**"
    if truth is not None:
        verdict += " :material/check_circle:" if truth == winner else \
            f" :material/cancel: (the sample is a **{names[truth]}**)"
    st.markdown(verdict)
    if present:
        st.markdown(quality.sentence)
        return st.empty()
    note = "" if plain == winner else (
        f" Decided with free ends (a letter may leave out its connecting strokes); by the "
        f"plain reconstruction error, {names[plain]} would lead.")
    kind = "letters" if st.session_state["dataset"] == "characters" else "digits"
    st.caption(quality.sentence + note + f" Experts: {kind}, "
               f"{st.session_state['selection']}, seed {st.session_state['seed']}; "
               f"{inversion_words(record.inversion)} (sidebar, top left).")
    return st.empty()


def hint_ui(slot, record, reversed_record, thresholds, noun: str) -> None:
    """In ``slot`` (``verdict_ui``'s), one sentence when the drawing reads clearly better
    the other way round (``direction_hint``; ``reversed_record``: the classification of the
    drawing reversed in time)."""
    hint = direction_hint(record, reversed_record, thresholds, noun)
    if hint:
        slot.info(hint, icon=":material/swap_horiz:")


def new_target(token: str) -> bool:
    """A new target resets the selected expert and the playback; the first target of a
    session keeps what the URL asked for. Returns whether to play from the start."""
    state = st.session_state
    last = state.get("_last_token")
    state["_last_token"] = token
    if last == token:
        return False
    if last is not None or state["iteration"] < 0:
        state["expert"], state["iteration"] = -1, 0
        return True
    return False


def apply_report(report, token: str) -> None:
    """The player's report (a click on an expert, a paused position) into the state, once."""
    state = st.session_state
    if not report or report.get("token") != token or report == state.get("_applied_report"):
        return
    state["_applied_report"] = report
    state["expert"] = int(report.get("selected", state["expert"]))
    state["iteration"] = int(report.get("position", state["iteration"]))
    state["fps"] = int(min(10, max(1, int(report.get("fps", state["fps"])))))
    state["loop"] = int(bool(report.get("loop", state["loop"])))


def classification_of(name: str, train, set_key: str, inversion, target,
                      record: str = "full"):
    """The classification record of ``target`` by the competing experts (cached): the
    configuration's (``train``) or the named set's (``set_key``); ``record="final"``: the
    decision only."""
    target = np.ascontiguousarray(target, np.float32)
    return (cached.set_classification(name, set_key, target, inversion, record) if set_key
            else cached.classification(name, train, target, inversion, record))


def _choose_expert() -> None:
    st.session_state["expert"] = int(st.session_state["_selected_widget"])


def selected_ui(names, selected: int, winner: int, fits: bool = True) -> int:
    """The selected expert as a select box (the same state as a click in the player); the
    lowest error is "the winner" only when an expert fits, else "the closest"."""
    st.session_state["_selected_widget"] = selected
    mark = " (winner)" if fits else " (closest)"
    st.selectbox("Selected expert", range(len(names)), key="_selected_widget",
                 on_change=_choose_expert,
                 format_func=lambda e: names[e] + (mark if e == winner else ""),
                 help="Or click an expert in the race, the heat map or the small "
                      "reconstructions")
    return selected


def _show_starts() -> None:
    st.session_state["starts_view"] = int(st.session_state["_starts_view_widget"])


def starts_view_ui(record) -> None:
    """With several starts per expert, a switch for the restarts view (the state key
    ``starts_view``, off by default): the selected expert's every start over the simplex of
    mixture weights and its error by iteration. The decision is the same either way (every
    start is inverted; the view only draws them): hidden, the race costs a class's browsers
    less (issue 16)."""
    starts = record.inversion.start_errors
    if starts is None:
        return
    st.session_state["_starts_view_widget"] = bool(st.session_state["starts_view"])
    st.toggle(f"Show each expert's {starts.shape[2]} starts", key="_starts_view_widget",
              on_change=_show_starts,
              help="Every expert searched its input vector from the uniform vector and from "
                   "each of its types' corners and kept the start with the lowest error. "
                   "Shown: where the selected expert's starts went, and their errors.")


def export_ui(record, spec, quality) -> None:
    def record_json():
        return json.dumps({**record.to_dict(0), "fit": {"label": quality.label,
                                                         "percentile": quality.percentile,
                                                         "fits": quality.fits}})
    cols = st.columns(3)
    cols[0].download_button("Record (JSON)", record_json, file_name="classification.json",
                            mime="application/json", icon=":material/data_object:",
                            on_click="ignore", use_container_width=True)
    cols[1].download_button("Errors (CSV)", lambda: record.to_csv(0),
                            file_name="classification.csv", mime="text/csv",
                            icon=":material/table:", on_click="ignore",
                            use_container_width=True)
    cols[2].download_button("Player (HTML)", lambda: arena_html(spec), file_name="arena.html",
                            mime="text/html", icon=":material/movie:", on_click="ignore",
                            use_container_width=True)


cached.init_state()
state = st.session_state
expert_set_ui()
data = cached.dataset(state["dataset"])
train = cached.train_config()
inversion_ui(cached.validated_starts(data.name, train))
inversion = cached.inversion_config(data.name, train)
experts, set_key = cached.competing_experts_ui(data.name, train)
experts_key = f"{data.name}|{train}|{set_key}"  # names these experts in the figure caches
noun = "digit" if data.name == "mnist" else "letter"

widths = [1, 2.4] if not st.session_state["present"] else [1, 2.2]
left, right = st.container(key="arena").columns(widths, gap="medium")
notice = right.empty()  # first on the right, at the top of the screen: what is wrong with
#   a drawing, else the verdict (the player below it keeps its place: no reload); a
#   placeholder, so that what it held goes at once when the single generator takes over
with notice:  # another inversion's thresholds may be measured now: say so where the
    #   results go (the teacher test saw a blank right half after changing the optimiser)
    thresholds = cached.fit_thresholds(data.name, train, inversion)
with left:
    source, present = header_ui()
    contestants = single_ui.contestants_ui()  # experts, single generator or both (issue 11)
    st.html((PRESENTATION_CSS if present else COMPACT_CSS) + row_css(widths[0] / sum(widths)))
    truth = None
    if source == "Draw":
        state["sample"] = -1
        target = draw_ui(data, thresholds.straightness, notice)
        reference_card_ui(experts, experts_key, noun, true_scale(data), short=present)
    else:
        if state["sample"] < 0:
            state["sample"] = 0
        target, truth = sample_ui(data)
if target is None:
    with right:  # the player stays loaded between drawings: no reload per drawing
        arena_player({"idle": True, "message": f"Draw a {noun} on the canvas: the experts' "
                      "race appears here." if source == "Draw" else ""})
    cached.sync_url()
    st.stop()
if contestants == "single":  # the single generator alone
    notice.empty()
    # what the experts' run left on screen (player, selected expert, exports; "Both"'s
    # panel below) goes at once: placeholders take those places before the single
    # generator computes (3-5 s), instead of it staying greyed out under the spinner
    body = right.container()
    right.empty(), right.empty(), st.empty()
    with body:
        single_ui.compete_single_ui(data, target, truth, with_experts=False)
    cached.sync_url()
    st.stop()

with notice, st.spinner(f"Every expert inverts the {noun} "
                       f"({inversion_words(inversion, experts.types.shape[1])})…",
                       show_time=True):  # shown after
    #   half a second: a new inversion option (its first run) or a busy server
    record = classification_of(data.name, train, set_key, inversion, target)
    names = list(record.class_names)
    winner = int(record.winners[0])
    quality = fit_quality(float(record.deciding_errors[0, winner]), thresholds, noun)
token = hashlib.sha1(f"{cached.target_key(target)}|{train}|{set_key}|{truth}|{inversion}"
                     .encode()).hexdigest()[:16]
autoplay = new_target(token)
apply_report(state.get("arena_player"), token)
with left:
    if not present:
        st.caption(ERROR_MEANING)
last = record.inversion.errors.shape[2]  # positions 0..last-1 iterations, last the decision
with right:
    # presentation mode: the verdict waits for the race to reach the decision (the player
    # reports it); a link to the decision (iteration -1 or 51) shows it at once
    if int(state["iteration"]) < 0 or int(state["iteration"]) >= last:
        state["_revealed"] = token  # once seen, the verdict stays for this target
    with notice.container():  # first in the column, whatever the verdict holds: the player
        hint_slot = verdict_ui(record, names, truth, quality, present,  # keeps its place
                               hidden=present and state.get("_revealed") != token,
                               examples=lambda: no_fit_examples_ui(experts, experts_key, noun,
                                                                   true_scale(data)))
    selected = int(state["expert"]) if 0 <= int(state["expert"]) < len(names) else winner
    spec = arena_spec(record, 0, true_index=truth, selected=selected,
                      start=last if state["iteration"] < 0 else int(state["iteration"]),
                      autoplay=autoplay, presentation=present, fps=int(state["fps"]),
                      loop=bool(state["loop"]), token=token, scale=true_scale(data),
                      reveal=present, starts_view=bool(state["starts_view"]))
    arena_player(spec)
    # a loose fit of a drawn letter: does it read better the other way round? (a second
    # inversion, after the verdict and the race have gone to the browser: it delays neither)
    if hint_slot is not None and source == "Draw" and data.standardiser is not None and \
            needs_direction_check(quality):
        hint_ui(hint_slot, record, classification_of(data.name, train, set_key, inversion,
                                                     target[::-1], "final"), thresholds, noun)
    if not present:
        cols = st.columns([1, 2.2], vertical_alignment="top")
        with cols[0]:
            selected_ui(names, selected, winner, quality.fits)
            starts_view_ui(record)
        with cols[1]:
            st.image(cached.expert_types_svg(experts_key, selected, experts.types[selected],
                                             names[selected], true_scale(data)),
                     width="content",  # its own size (the player's text size), never wider
                     alt=f"The four types {names[selected]}'s expert learnt from")
        export_ui(record, spec, quality)
if contestants == "both":  # the single generator's verdicts beside the experts'
    with st.container():  # one place, which "Single generator" empties at once
        single_ui.compete_single_ui(data, target, truth, with_experts=True)
cached.sync_url()
