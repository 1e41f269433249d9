"""The Single generator page under AppTest, on the shipped letters generator (clustered,
seed 42, input noise 0.1): a held-out sample, a drawing, the landscape and the exports."""
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mic_core.data import DataConfig, load_dataset
from mic_core.drawing import pen_trajectory_to_drawing
from mic_core.single import default_single_config, find_generator

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/single_generator.py"

if find_generator(DataConfig("characters"), default_single_config("characters")) is None:
    pytest.skip("the shipped single generator is missing", allow_module_level=True)


def _page(**state):
    """The page with the shipped configuration (set after switching: AppTest resets the
    sidebar's widgets on a page switch) and ``state``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE).run()
    for key, value in {"dataset": "characters", "selection": "clustered", "seed": 42,
                       "noise_in": 0.1, "noise_out": 0.0, **state}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_held_out_sample_gets_both_verdicts_and_the_landscape():
    at = _page(single_sample=3)
    labels = [m.label for m in at.metric]
    assert "Single generator: largest mass" in labels
    assert "Single generator: class corners" in labels
    assert "Experts (MIC)" in labels
    assert "Local minima: single generator" in labels
    minima = [m.value for m in at.metric if m.label.startswith("Local minima")]
    assert all(int(v) >= 1 for v in minima)
    assert any("The latent landscape" in h.value for h in at.subheader)


def test_the_type_code_and_a_triangle_slice():
    at = _page(single_code="type", single_slice="triangle", single_simplex=True,
               single_start="uniform")
    if any("not trained yet" in i.value for i in at.info):
        pytest.skip("the type-code generator is not shipped")
    assert any(m.label == "Single generator: largest mass" for m in at.metric)


def test_a_drawing_is_classified():
    data = load_dataset("characters")
    drawing = pen_trajectory_to_drawing(data.test_pen_trajectories[0], np.random.RandomState(0))
    at = _page(single_source="Draw")
    assert any("empty" in i.value for i in at.info)  # the canvas prompts first
    at.session_state["canvas_characters"] = {"drawing": {"raw": drawing, "data": None}}
    at.run()
    assert not at.exception, at.exception
    assert any(m.label == "Single generator: largest mass" for m in at.metric)


def test_an_untrained_configuration_offers_training_instead_of_failing():
    at = _page(seed=7)
    assert any("not trained yet" in i.value for i in at.info)
    assert not at.metric


def _compete(contestants, **query):
    """Compete with ``contestants`` and the URL's ``query`` (e.g. a held-out sample)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.session_state["contestants"] = contestants
    at.run()
    assert not at.exception, at.exception
    return at


def test_compete_with_the_single_generator_alone():
    at = _compete("single", sample=5)
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Single generator: largest mass", "Single generator: class corners"]
    assert "Experts (MIC)" not in labels
    assert not any("The winner" in m.value for m in at.markdown)  # no experts' race
    # its own fit sentence (judged against its errors on held-out training-pool letters)
    fit = [m.value for m in at.markdown if m.value.startswith("The single generator's "
                                                              "reconstruction is a ")] + \
        [w.value for w in at.warning if w.value.startswith("The single generator does not fit")]
    assert len(fit) == 1, fit
    truth = load_dataset("characters").class_names[load_dataset("characters").y_test[5]]
    assert any(f"The sample is a **{truth}**" in c.value for c in at.caption)


def test_compete_with_both_shows_both_verdicts_for_a_drawing():
    data = load_dataset("characters")
    drawing = pen_trajectory_to_drawing(data.test_pen_trajectories[0], np.random.RandomState(0))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["contestants"] = "both"
    at.session_state["canvas_characters"] = {"drawing": {"raw": drawing, "data": None}}
    at.run()
    assert not at.exception, at.exception
    winner = [m.value for m in at.markdown if "The winner" in m.value]
    assert winner  # the experts' verdict
    verdicts = {m.label: m.value for m in at.metric}
    assert {"Single generator: largest mass", "Single generator: class corners",
            "Experts (MIC)"} <= set(verdicts)
    assert f"**{verdicts['Experts (MIC)']}**" in winner[0]  # the same experts' winner
    assert all(v in data.class_names for v in verdicts.values())  # a drawing: no check mark
    at.session_state["contestants"] = "experts"
    at.run()
    assert not at.metric and any("The winner" in m.value for m in at.markdown)


def test_compete_with_both_computes_the_single_generator_under_a_spinner(monkeypatch):
    """Its first inversion of a drawing takes a while: the page says what it computes
    (a spinner naming the code and the iterations) instead of leaving an empty area."""
    import contextlib

    import streamlit

    import cached
    active, seen = [], []
    real_spinner, real_classification = streamlit.spinner, cached.single_classification

    @contextlib.contextmanager
    def spinner(text="", **kwargs):
        active.append(text)
        try:
            with real_spinner(text, **kwargs):
                yield
        finally:
            active.pop()

    def classification(*args, **kwargs):
        seen.append(list(active))
        return real_classification(*args, **kwargs)
    monkeypatch.setattr(streamlit, "spinner", spinner)
    monkeypatch.setattr(cached, "single_classification", classification)
    at = _compete("both", sample=7)
    assert any(m.label == "Single generator: largest mass" for m in at.metric)
    assert seen, "the single generator's classification was not called"
    texts = seen[0]
    assert any("class code" in t and "50 iterations" in t and "zero vector" in t
               for t in texts), texts
