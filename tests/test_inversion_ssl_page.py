"""The Inversion page under streamlit's AppTest, on both data sets (shipped networks)."""
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mic_core.data import load_dataset
from mic_core.drawing import pen_trajectory_to_drawing

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/inversion_ssl.py"


def _page(**state):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _verdicts(at):
    return [m.value for m in at.markdown if "predicts" in m.value]


@pytest.mark.parametrize("dataset", ["characters", "mnist"])
def test_a_held_out_sample_shows_both_networks(dataset):
    at = _page(dataset=dataset, inversion_sample=3)
    verdicts = _verdicts(at)
    assert len(verdicts) == 2 and "Semi-supervised" in verdicts[0], verdicts
    assert "Supervised only" in verdicts[1]
    assert any("True class" in c.value for c in at.caption)
    assert not any("No held-out results" in i.value for i in at.info)


def test_an_injected_drawing_is_classified():
    data = load_dataset("characters")
    drawing = pen_trajectory_to_drawing(data.test_pen_trajectories[0], np.random.RandomState(0))
    at = _page(dataset="characters", inversion_source="drawing",
               canvas_characters={"drawing": {"raw": drawing, "data": None}})
    assert len(_verdicts(at)) == 2


def test_an_empty_drawing_prompts_and_several_strokes_are_refused():
    at = _page(dataset="characters", inversion_source="drawing")
    assert any("empty" in i.value for i in at.info)
    assert not _verdicts(at)
    stroke = {"type": "path", "path": [["M", 0, 0], ["Q", 0, 0, 5, 5], ["L", 10, 10]]}
    other = {"type": "path", "path": [["M", 50, 0], ["Q", 50, 0, 55, 5], ["L", 60, 20]]}
    at = _page(dataset="characters", inversion_source="drawing",
               canvas_characters={"drawing": {"raw": {"objects": [stroke, other]},
                                              "data": None}})
    assert any("2 strokes" in w.value for w in at.warning)


def test_a_small_run_draws_its_curves():
    at = _page(dataset="characters")
    form_sliders = {s.label: s for s in at.select_slider}
    form_sliders["Steps"].set_value(20)
    form_sliders["Labelled"].set_value(20)
    form_sliders["Unlabelled"].set_value(100)
    next(b for b in at.button if b.label == "Run").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Final validation accuracy" in c.value for c in at.caption)
