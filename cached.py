"""The app's shared, cached resources and its cross-page state (UI side; mic_core stays
cache-free).

Session-state keys, mirrored in the URL query string so that a link reproduces the view:
``dataset`` (characters|mnist), ``selection`` (clustered|random), ``seed``, ``noise_in``,
``noise_out`` (the expert set), ``sample`` (held-out sample index, or -1 for a drawing),
``expert`` (the selected expert's index), ``iteration`` (the playback position: 0..50 the
inversion's iterations, 51 the decision), ``sample_class`` (the held-out class filter),
``present`` (presentation mode, 0/1), ``fps`` (playback speed), ``loop`` (0/1),
``expert_set`` (a named set of taught experts, ``mic_core.teaching``; empty: the base),
``drawing`` (Compete's drawn target, ``mic_core.drawing.target_to_link``; empty: none),
``starts`` (the inversion's starts, ``mic_core.inversion.STARTS``; empty: as chosen on
validation for the experts' setting, ``inversion_config``), ``optimiser`` (adam|
exponentiated) and ``starts_view`` (Compete's restarts view shown, 0/1; hidden by default:
every frame of the race draws it, and a class's browsers share the machine, issue 16).

Streamlit forgets the state of a widget that a page does not draw (and of a keyed widget
across a page switch); ``init_state`` re-asserts every key at the top of each page and keeps
a copy under a key no widget owns, so going to another page keeps the configuration.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from mic_core import (DataConfig, Dataset, ExpertSet, InversionConfig, InversionRecord,
                      TrainConfig, default_train_config, invert, load_dataset, load_or_train)
from mic_core.classify import Classification, classify, default_rule
from mic_core.fit_quality import FitThresholds, load_or_measure_thresholds
from mic_core.inversion import OPTIMISERS, STARTS
from mic_core.persistence import default_cache_dir, file_name, find_experts
from mic_core.serving import (ServingLimits, TrainingQueue, TrainingRefused, expert_training,
                              mark_used, remove_stale_temporaries)

def route_through_app() -> None:
    """Let ``app.py``'s ``st.navigation`` own the routing, also for a page opened by its own
    address (``/experiments``) as the first visit to a fresh server.

    Streamlit runs a page from a folder named ``pages/`` in its legacy directory mode (no
    ``app.py``: no wide layout, no top navigation, a sidebar listing the files) until some
    session has called ``st.navigation`` ("as soon as any session of your app executes the
    st.navigation command, your app will ignore the pages/ directory", its documentation);
    there is no configuration option for it. Called when this module is first imported
    (every page imports it): outside that first visit it does nothing; in it, it switches
    the directory mode off for the server and reruns the session, which then runs
    ``app.py`` and the same page (a page's address names it in both modes).
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    if get_script_run_ctx() is not None:
        st.rerun()


route_through_app()

DEFAULTS = {"dataset": "characters", "selection": "clustered", "seed": 42, "noise_in": 0.1,
            "noise_out": 0.0, "sample": -1, "expert": -1, "iteration": -1,
            "sample_class": "any class", "present": 0, "fps": 8, "loop": 0,
            "expert_set": "", "drawing": "", "starts": "", "optimiser": "adam",
            "starts_view": 0}
_TYPES = {k: type(v) for k, v in DEFAULTS.items()}
_KEPT = "_kept_state"  # a copy of the state keys that no widget owns

# the first training of a kind on this server waits on these guesses (one numba thread, this
# 2-core machine); later ones on the measured durations
TRAINING_GUESS_SECONDS = {"characters": 45.0, "mnist": 120.0}


def init_state() -> None:
    """Fill session state from the URL (once per session), then from the kept copy and the
    defaults; re-assert every key so that Streamlit keeps the widgets' values across pages."""
    state = st.session_state
    if "_from_url" not in state:
        state["_from_url"] = True
        for key, kind in _TYPES.items():
            if key in st.query_params:
                try:
                    state[key] = kind(st.query_params[key])
                except ValueError:
                    pass
    kept = state.get(_KEPT, {})
    for key, value in DEFAULTS.items():
        if key in state:
            state[key] = state[key]  # user-owned from now on: survives a page switch
        else:
            state[key] = kept.get(key, value)
    if state["dataset"] not in ("characters", "mnist"):
        state["dataset"] = "characters"
    state["fps"] = int(min(10, max(1, int(state["fps"]))))
    state["present"], state["loop"] = int(bool(state["present"])), int(bool(state["loop"]))
    state["starts_view"] = int(bool(state["starts_view"]))
    if state["starts"] not in ("",) + STARTS:
        state["starts"] = ""
    if state["optimiser"] not in OPTIMISERS:
        state["optimiser"] = "adam"


def sync_url() -> None:
    """Write the state keys into the URL query string (and keep a copy in the session)."""
    st.session_state[_KEPT] = {k: st.session_state[k] for k in DEFAULTS}
    st.query_params.update({k: str(st.session_state[k]) for k in DEFAULTS})


@st.cache_resource(show_spinner="Loading the data set…", max_entries=2)
def dataset(name: str) -> Dataset:
    """The data set (shared by all sessions; its arrays are never modified)."""
    data = load_dataset(DataConfig(dataset=name))
    for array in (data.X_train, data.X_test, data.y_train, data.y_test):
        array.setflags(write=False)
    return data


def train_config() -> TrainConfig:
    s = st.session_state
    return default_train_config(s["dataset"], selection=s["selection"], seed=int(s["seed"]),
                                noise_in=float(s["noise_in"]), noise_out=float(s["noise_out"]))


# experts trained by this server's queue, handed to ``_experts`` once so that the page that
# asked shows the experts it just trained rather than reading them back from disk
_JUST_TRAINED: dict = {}


@st.cache_resource(show_spinner="Loading the experts…", max_entries=8)
def _experts(name: str, train: TrainConfig) -> ExpertSet:
    trained = _JUST_TRAINED.pop((name, train), None)
    return trained if trained is not None else load_or_train(dataset(name), train)


@st.cache_resource(max_entries=1)
def training_queue() -> TrainingQueue:
    """The server's one training queue (shared by every session; its caps from the
    environment, see ``mic_core.serving``). Temporaries of writes a killed server left
    behind are cleared when it starts."""
    remove_stale_temporaries(default_cache_dir())
    return TrainingQueue(ServingLimits.from_environment())


def experts_ui(name: str, train: TrainConfig) -> ExpertSet:
    """The experts of this configuration. One never trained is queued for training (one at
    a time per server); every visitor waiting for it sees the same progress, the others
    their place in the queue. A refused request (a cap) stops the page with the reason."""
    data = dataset(name)
    path = find_experts(data.config, train)
    if path is None:
        queue = training_queue()
        try:
            ticket = queue.request(file_name(data.config, train), f"{name} experts",
                                   expert_training(data, train, None,
                                                   queue.limits.cache_max_bytes),
                                   estimate_seconds=TRAINING_GUESS_SECONDS[name])
        except TrainingRefused as exc:
            st.error(str(exc), icon=":material/block:")
            st.stop()
        bar = st.progress(0.0, text="Asking for a training of these experts…")
        while not ticket.wait(0.5):
            status = queue.status(ticket)
            bar.progress(status.fraction, text=status.describe())
        bar.empty()
        if ticket.state == "failed":
            st.error(queue.status(ticket).describe(), icon=":material/error:")
            st.stop()
        if isinstance(ticket.result, ExpertSet):
            _JUST_TRAINED[(name, train)] = ticket.result
        path = find_experts(data.config, train)
    if path is not None:
        mark_used(path)
    return _experts(name, train)


@st.cache_data(show_spinner=False, max_entries=64)
def inversion(name: str, train: TrainConfig, target: np.ndarray) -> InversionRecord:
    """The full inversion record of one target (T, D) (Streamlit keys the cache by the
    array's contents)."""
    return invert(_experts(name, train), target[None], record="full")


@st.cache_data(show_spinner=False, max_entries=64)
def classification(name: str, train: TrainConfig, target: np.ndarray,
                   inversion: InversionConfig = InversionConfig(),
                   record: str = "full") -> Classification:
    """The full classification record of one target (T, D) (Streamlit keys the cache by
    the array's contents): the data set's decision rule (``default_rule``: free ends for
    letters, plain for MNIST), inverted by ``inversion``; ``record="final"``: the decision
    only (no iterations kept: a check such as the drawing reversed)."""
    return classify(_experts(name, train), target[None], inversion, rule=default_rule(name),
                    standardiser=dataset(name).standardiser, record=record)


@st.cache_resource(show_spinner="Measuring how well these experts fit their data set…",
                   max_entries=16)
def fit_thresholds(name: str, train: TrainConfig,
                   inversion: InversionConfig = InversionConfig()) -> FitThresholds:
    """The winners' error distribution of these experts inverted by ``inversion``
    (shipped, cached or measured)."""
    return load_or_measure_thresholds(dataset(name), _experts(name, train), train,
                                      inversion=inversion)


@st.cache_data(show_spinner=False, max_entries=32)
def validated_starts(name: str, train: TrainConfig) -> dict:
    """The starts chosen on validation for experts of this configuration, decided by the
    data set's rule (``mic_core.experiments.validated.chosen_starts``)."""
    from mic_core.experiments.validated import chosen_starts
    return chosen_starts(name, train.selection, train.noise_in, train.noise_out,
                         default_rule(name).name)


def inversion_config(name: str, train: TrainConfig) -> InversionConfig:
    """The inversion of the state's ``starts`` (empty: as chosen on validation for these
    experts, ``validated_starts``) and ``optimiser`` (at its default step size)."""
    s = st.session_state
    starts = s["starts"] or validated_starts(name, train)["starts"]
    return InversionConfig.with_options(starts, s["optimiser"])


def target_key(target: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(target, dtype=np.float32).tobytes()).hexdigest()


def default_train(name: str) -> TrainConfig:
    """The shipped configuration of a data set (clustered, seed 42, input noise 0.1)."""
    return default_train_config(name)


@st.cache_data(show_spinner="Inverting the gallery's samples…", max_entries=16)
def gallery_classification(name: str, expert: int, count: int) -> Classification:
    """The first ``count`` held-out samples of class ``expert``, classified by all shipped
    experts (final results only; the data set's rule)."""
    from mic_core.reports import gallery_samples
    data = dataset(name)
    own = gallery_samples(data.y_test, expert, count)
    return classify(_experts(name, default_train(name)), data.X_test[own],
                    rule=default_rule(name), standardiser=data.standardiser, record="final")


def results_table(path: str):
    """The results table at ``path``, re-read only when the file changes."""
    from pathlib import Path
    file = Path(path)
    return _results_table(path, file.stat().st_mtime_ns if file.exists() else 0)


@st.cache_data(show_spinner=False, max_entries=8)
def _results_table(path: str, mtime: int):
    from mic_core.experiments import read_results
    return read_results(path)


results_table.clear = _results_table.clear


# --- named expert sets (taught experts, mic_core.teaching) ------------------------------
def saved_sets(name: str) -> list[str]:
    """The named sets of data set ``name`` saved on this server."""
    from mic_core.teaching import list_sets
    return list_sets(sets_dir(), name)


def sets_dir():
    from mic_core.teaching import sets_dir as directory
    return directory()


@st.cache_resource(show_spinner="Loading the expert set…", max_entries=16)
def _named_set(name: str, set_name: str, version: int):
    from mic_core.teaching import load_set
    return load_set(sets_dir() / set_name, dataset(name).config)


def named_set(name: str, set_name: str):
    """The saved set ``set_name`` (re-read when its file changes), or None after saying why
    it cannot be used."""
    from mic_core.teaching import SET_FILE, TeachingError, check_set_name
    try:
        path = sets_dir() / check_set_name(set_name) / SET_FILE
        return _named_set(name, set_name, path.stat().st_mtime_ns if path.exists() else 0)
    except TeachingError as exc:
        st.warning(f"The expert set {set_name!r} cannot be used: {exc}",
                   icon=":material/warning:")
        return None


def competing_experts_ui(name: str, train: TrainConfig) -> tuple[ExpertSet, str]:
    """The experts that compete: the chosen named set's, else the configuration's. Returns
    them and a key for ``inversion`` ('' for the configuration's experts)."""
    set_name = st.session_state.get("expert_set", "")
    if set_name:
        named = named_set(name, set_name)
        if named is not None:
            path = sets_dir() / set_name
            return named.experts, f"{set_name}:{path.stat().st_mtime_ns}"
        st.session_state["_choose_set"] = ""  # applied before the sidebar's next run
    return experts_ui(name, train), ""


@st.cache_data(show_spinner=False, max_entries=64)
def set_classification(name: str, set_key: str, target: np.ndarray,
                       inversion: InversionConfig = InversionConfig(),
                       record: str = "full") -> Classification:
    """``classification`` by a named set (``set_key`` from ``competing_experts_ui``)."""
    set_name, version = set_key.rsplit(":", 1)
    return classify(_named_set(name, set_name, int(version)).experts, target[None],
                    inversion, rule=default_rule(name),
                    standardiser=dataset(name).standardiser, record=record)

# --- network inversion (issue 13) ----------------------------------------------------------

@st.cache_resource(show_spinner="Loading the inversion network…", max_entries=8)
def _ssl_network(name: str, config):
    from mic_core.inversion_ssl import load_or_fit
    return load_or_fit(dataset(name), config)


def ssl_config(name: str, method: str):
    """The shipped configuration of a data set's network (chosen on validation, seed 42)."""
    from mic_core.inversion_ssl import default_config
    return default_config(name, method)


def ssl_network_ui(name: str, method: str):
    """The network of ``method`` ("inversion_ssl" or "supervised_small"); trained here with
    a progress bar if it is neither shipped nor cached (once, for every visitor)."""
    from mic_core.inversion_ssl import load_or_fit
    from mic_core.inversion_ssl.protocol import find_network
    config = ssl_config(name, method)
    if find_network(dataset(name), config) is None:
        bar = st.progress(0.0, text="Training the network of this configuration…")

        def report(p):
            bar.progress(p.fraction, text=f"Training: step {p.step} of {p.steps}, about "
                                          f"{p.seconds_left:.0f} s left")
        load_or_fit(dataset(name), config, progress=report)
        bar.empty()
    return _ssl_network(name, config)


@st.cache_data(show_spinner=False, max_entries=64)
def ssl_views(name: str, method: str, target_bytes: bytes, shape: tuple) -> dict:
    """Probabilities, reconstruction, its error and the templates of one target."""
    model = _ssl_network(name, ssl_config(name, method))
    target = np.frombuffer(target_bytes, dtype=np.float32).reshape(shape)[None]
    return {"probabilities": model.predict_proba(target)[0],
            "reconstruction": model.reconstruct(target)[0],
            "error": float(model.reconstruction_errors(target)[0]),
            "templates": model.templates(target)[0],
            "classes": model.classes_}


@st.cache_data(show_spinner=False, max_entries=4)
def ssl_mnist_table(path: str, mtime: int):
    """The digits results (results/inversion_ssl/mnist.csv), re-read when the file changes."""
    from mic_core.experiments import read_results
    return read_results(path)


# --- the single generator (issue 11) -------------------------------------------------------

def single_train_config():
    """The single generator of the sidebar's expert set, with this page's code and capacity."""
    from mic_core.single import default_single_config
    s = st.session_state
    return default_single_config(s["dataset"], s.get("single_code", "class"),
                                 s.get("single_capacity", "cells"), selection=s["selection"],
                                 seed=int(s["seed"]), noise_in=float(s["noise_in"]),
                                 noise_out=float(s["noise_out"]))


@st.cache_resource(show_spinner="Loading the single generator…", max_entries=8)
def _single_generator(name: str, train):
    from mic_core.single import load_or_train_generator
    return load_or_train_generator(dataset(name), train, allow_training=False)


def single_generator_ui(name: str, train):
    """The generator of this configuration. One never trained goes through the server's
    training queue (one training at a time), with the same progress for every visitor
    waiting for it; then it is kept on disk for every visitor."""
    from mic_core.single import find_generator, load_or_train_generator
    from mic_core.single.generator import file_name as single_file_name
    data = dataset(name)
    path = find_generator(data.config, train)
    if path is None:
        queue = training_queue()

        def work(progress):
            return load_or_train_generator(data, train, progress=lambda p: progress(
                p.step / p.steps, p.seconds_left))
        guess = {"characters": 900.0, "mnist": 120.0}[name] * train.hidden_size / 200
        try:
            ticket = queue.request(single_file_name(data.config, train),
                                   f"{name} single generator", work, estimate_seconds=guess)
        except TrainingRefused as exc:
            st.error(str(exc), icon=":material/block:")
            st.stop()
        bar = st.progress(0.0, text="Asking for a training of this single generator…")
        while not ticket.wait(0.5):
            status = queue.status(ticket)
            bar.progress(status.fraction, text=status.describe())
        bar.empty()
        if ticket.state == "failed":
            st.error(queue.status(ticket).describe(), icon=":material/error:")
            st.stop()
        path = find_generator(data.config, train)
    if path is not None:
        mark_used(path)
    return _single_generator(name, train)


@st.cache_data(show_spinner=False, max_entries=64)
def single_classification(name: str, train, inversion, target: np.ndarray):
    """The single generator's decision on one target (T, D), with its full code inversion
    (keyed by the array's contents)."""
    from mic_core.single.inversion import classify_single
    return classify_single(_single_generator(name, train), target, inversion)


@st.cache_resource(show_spinner="Measuring how closely the single generator reconstructs "
                   "the data set's own characters (once for this configuration)…",
                   max_entries=16)
def single_fit_thresholds(name: str, train, inversion):
    """The single generator's final-error distribution on held-out training-pool samples,
    inverted by ``inversion`` (shipped, cached or measured: ``mic_core.single.fit``)."""
    from mic_core.single.fit import load_or_measure_single_thresholds
    return load_or_measure_single_thresholds(dataset(name), _single_generator(name, train),
                                             train, inversion)


@st.cache_data(show_spinner="Computing the latent landscapes…", max_entries=32)
def single_landscapes(name: str, expert_train: TrainConfig, train, target: np.ndarray,
                      true_class: int, kind: str, start: str):
    """The slices of the true class's expert and of the generator around one target."""
    from mic_core.single.landscape import compare_slices
    return compare_slices(_experts(name, expert_train), _single_generator(name, train), target,
                          true_class, kind, start=start, resolution=25)


@st.cache_resource(show_spinner="Measuring what the experts already claim…", max_entries=16)
def usability_limits(name: str, train: TrainConfig, set_key: str):
    """The Teach page's usability thresholds for the competing experts (computed once per
    expert set: ~100 training-pool inversions)."""
    from mic_core.teaching import usability_limits as limits
    if set_key:
        set_name, version = set_key.rsplit(":", 1)
        experts = _named_set(name, set_name, int(version)).experts
    else:
        experts = _experts(name, train)
    return limits(experts, dataset(name))


# --- style memory (issue 12) ---------------------------------------------------------------
STYLE_TRAINING_GUESS_SECONDS = {"characters": 60.0, "mnist": 60.0}  # four types per class

def style_config(name: str, training: str):
    """The style memory of a data set: trained on the whole pool ("full") or on the experts'
    four types per class ("clustered" or "random"), seed 42."""
    from mic_core.style_memory import default_style_config
    return default_style_config(name, None if training == "full" else training)


@st.cache_resource(show_spinner="Loading the style memory…", max_entries=6)
def _style_memory(name: str, training: str):
    from mic_core.style_memory import load_or_train_style_memory
    return load_or_train_style_memory(dataset(name), style_config(name, training))


def style_memory_ui(name: str, training: str):
    """The style memory (shared, never mutated). One never trained is queued on the server's
    training queue like experts are, with a progress bar; a refusal stops the page."""
    from mic_core.style_memory import find_style_memory, load_or_train_style_memory
    from mic_core.style_memory.store import file_name as style_file_name
    data, config = dataset(name), style_config(name, training)
    path = find_style_memory(data.config, config)
    if path is None:
        queue = training_queue()

        def work(progress):
            return load_or_train_style_memory(
                data, config, progress=lambda p: progress(p.step / p.steps, p.seconds_left))
        try:
            ticket = queue.request(style_file_name(data.config, config),
                                   f"{name} style memory", work,
                                   estimate_seconds=STYLE_TRAINING_GUESS_SECONDS[name])
        except TrainingRefused as exc:
            st.error(str(exc), icon=":material/block:")
            st.stop()
        bar = st.progress(0.0, text="Asking for a training of this style memory…")
        while not ticket.wait(0.5):
            status = queue.status(ticket)
            bar.progress(status.fraction, text=status.describe())
        bar.empty()
        if ticket.state == "failed":
            st.error(queue.status(ticket).describe(), icon=":material/error:")
            st.stop()
        path = find_style_memory(data.config, config)
    if path is not None:
        mark_used(path)
    return _style_memory(name, training)


@st.cache_data(show_spinner="Classifying the held-out samples…", max_entries=6)
def style_evaluation(name: str, training: str):
    """The style memory on the protocol's held-out samples: (indices into the test set,
    StyleEvaluation, styles (n, n_style))."""
    from mic_core.style_memory import evaluate_style_memory
    from mic_core.style_memory.experiments import test_indices
    data, model = dataset(name), _style_memory(name, training)
    chosen = test_indices(name)
    X, y = data.X_test[chosen], data.y_test[chosen]
    return chosen, evaluate_style_memory(model, X, y), model.style(X)


# Static figures of the Compete page, built once per expert set and shared by every visitor
# (never mutated: st.plotly_chart copies a figure with to_dict; passing a Figure, not a dict,
# also skips plotly's re-validation, which cost more than building it)
@st.cache_resource(show_spinner=False, max_entries=16)
def types_card(key: str, _types: np.ndarray, names: tuple, scale: tuple | None = None,
               height: int | None = None):
    """The reference card of the experts named by ``key``: how the data set writes each class
    (``scale``: true proportions, ``figures.true_shape``; ``height``: px, default by rows)."""
    from figures import types_card_figure
    return types_card_figure(_types, list(names), scale=scale, height=height)


@st.cache_data(show_spinner=False, max_entries=256)
def expert_types_svg(key: str, expert: int, _types: np.ndarray, name: str,
                     scale: tuple | None = None) -> str:
    """Expert ``expert``'s types (of the experts named by ``key``), side by side (``scale``:
    true proportions), as an SVG (``figures.shapes_svg``, shown by ``st.image``): Compete shows it on every
    verdict, where a plotly chart cost each visitor's browser a 4.6 MB bundle (issue 16)."""
    from figures import shapes_svg
    return shapes_svg(_types, [f"{name}: type {k + 1}" for k in range(len(_types))],
                      height=130, scale=scale)


# --- the validation-chosen protocol and the low-data league (issue 15) ---------------------
def validated_report(path: str):
    """(paired settings, league table) of the results table at ``path``: re-computed only
    when the table, its per-sample predictions or the committed choices change."""
    from pathlib import Path

    from mic_core.experiments.store import predictions_path
    file = Path(path)
    stamps = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in
                   (file, predictions_path(file), file.parent / "validated" / "choices.json",
                    file.parent / "validated" / "report.json"))
    return _validated_report(path, stamps)


@st.cache_data(show_spinner="Pairing the per-sample predictions…", max_entries=4)
def _validated_report(path: str, stamps: tuple):
    """The committed report (``results/validated/report.json``, written by ``python -m
    mic_core report --json``) where there is one beside the table, else computed."""
    import json
    from pathlib import Path

    import pandas as pd

    from mic_core.experiments import read_results
    from mic_core.experiments.validated import report_parts
    committed = Path(path).parent / "validated" / "report.json"
    if committed.exists():
        report = json.loads(committed.read_text())
        return report.get("settings", []), pd.DataFrame(report.get("league", []))
    return report_parts(read_results(path), Path(path), n_resamples=2000)


def issue15_results():
    """(learning curve, paper-faithful summary) as committed (None where missing); read
    again when a file changes."""
    from mic_core.experiments import learning_curve, paper_faithful
    paths = (learning_curve.FOLDER / "curve.json", paper_faithful.FOLDER / "summary.json")
    return _issue15_results(tuple(str(p) for p in paths),
                            tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in paths))


@st.cache_data(max_entries=2)
def _issue15_results(paths: tuple, stamps: tuple):
    from mic_core.experiments import learning_curve, paper_faithful
    return learning_curve.read_curve(paths[0]), paper_faithful.read_summary(paths[1])
