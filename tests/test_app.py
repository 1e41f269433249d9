"""Every page of the app under streamlit's AppTest; the Compete page with injected input."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mic_core.data import load_dataset
from mic_core.drawing import pen_trajectory_to_drawing

TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent


def _app():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


@pytest.mark.parametrize("page", ["pages/compete.py", "pages/experts.py", "pages/experiments.py",
                                  "pages/how_it_works.py"])
def test_every_page_renders(page):
    at = _app().run()
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_empty_canvas_prompts_instead_of_failing():
    at = _app().run()
    assert not at.exception
    assert any("empty" in i.value for i in at.info)


def test_a_held_out_sample_produces_a_winner():
    at = _app()
    at.query_params["sample"] = "5"
    at.run()
    assert not at.exception, at.exception
    winner = [m.value for m in at.markdown if "The winner" in m.value]
    assert winner, [m.value for m in at.markdown]


def test_an_injected_drawing_produces_a_winner():
    data = load_dataset("characters")
    drawing = pen_trajectory_to_drawing(data.test_pen_trajectories[0], np.random.RandomState(0))
    at = _app()
    at.session_state["canvas_characters"] = {"drawing": {"raw": drawing, "data": None}}
    at.run()
    assert not at.exception, at.exception
    assert any("The winner" in m.value for m in at.markdown)


def test_several_strokes_get_a_clear_message():
    stroke = {"type": "path", "path": [["M", 0, 0], ["Q", 0, 0, 5, 5], ["L", 10, 10]]}
    other = {"type": "path", "path": [["M", 50, 0], ["Q", 50, 0, 55, 5], ["L", 60, 20]]}
    at = _app()
    at.session_state["canvas_characters"] = {"drawing": {"raw": {"objects": [stroke, other]},
                                                         "data": None}}
    at.run()
    assert not at.exception
    assert any("2 strokes" in w.value for w in at.warning)


def test_digits_work_too():
    at = _app()
    at.query_params["dataset"] = "mnist"
    at.query_params["sample"] = "3"
    at.run()
    assert not at.exception, at.exception
    assert any("The winner" in m.value for m in at.markdown)


def test_the_url_reproduces_the_view():
    at = _app()
    at.query_params.update({"sample": "7", "expert": "2", "iteration": "10"})
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["sample"] == ["7"] or at.query_params["sample"] == "7"
    selected = [s for s in at.selectbox if s.label == "Selected expert"][0]
    assert selected.value == 2


def test_step_buttons_move_the_iteration():
    at = _app()
    at.query_params.update({"sample": "4", "iteration": "10"})
    at.run()
    [b for b in at.button if b.label == "step forward ▶"][0].click().run()
    assert at.session_state["iteration"] == 11
    [b for b in at.button if b.label == "◀ step back"][0].click().run()
    [b for b in at.button if b.label == "◀ step back"][0].click().run()
    assert at.session_state["iteration"] == 9
    assert not at.exception


def test_experiments_page_runs_a_small_grid_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path))
    at = _app().run()
    at.switch_page("pages/experiments.py").run()
    assert not at.exception, at.exception
    form = {w.label: w for w in at.selectbox if w.label in ("Data set", "Types")}
    form["Types"].set_value("random")
    limit = [w for w in at.number_input if w.label == "Held-out samples"][0]
    limit.set_value(20)
    [w for w in at.multiselect if w.label == "Methods"][0].set_value(["nn_mse"])
    [b for b in at.button if b.label == "Run"][0].click().run()
    assert not at.exception, at.exception
    assert any("1 job(s) ran" in s.value for s in at.success), [s.value for s in at.success]
    table = pd.read_csv(tmp_path / "experiments-app.csv")
    assert table[["method", "selection", "n_test"]].values.tolist() == [["nn_mse", "random", 20]]
