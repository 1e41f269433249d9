"""The Teach page under AppTest (issue 14): teach a star, then it wins on Compete; bad input
gets a message and loses nothing."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mic_core.teaching import SET_FILE
from test_teaching import star_drawings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("MIC_TEACH_STEPS", "2000")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=500)
    at.run()
    at.switch_page("pages/teach.py").run()
    assert not at.exception, at.exception
    return at


def draw(at, drawings):
    for i, drawing in enumerate(drawings):
        at.session_state[f"teach_canvas_characters_{i}"] = {"drawing": {"raw": drawing,
                                                                        "data": None}}


def teach_button(at):
    return [b for b in at.button if b.label == "Teach"][0]


def test_teach_a_star_then_it_wins_on_compete(app, tmp_path):
    assert any("0 of 4 drawings" in i.value for i in app.info)
    draw(app, star_drawings(11))
    app.text_input(key="teach_class").input("star")
    app.text_input(key="teach_set").input("stars")
    app.run()
    assert not app.exception, app.exception
    assert any("look usable" in s.value for s in app.success), [w.value for w in app.warning]
    teach_button(app).click().run()
    assert not app.exception, app.exception
    assert any("Taught 'star'" in s.value for s in app.success)
    assert (tmp_path / "sets" / "stars" / SET_FILE).exists()
    assert app.session_state["expert_set"] == "stars"
    app.switch_page("pages/compete.py")
    app.session_state["canvas_characters"] = {"drawing": {"raw": star_drawings(12, 1)[0],
                                                          "data": None}}
    app.run()
    assert not app.exception, app.exception
    assert any("The winner: **star**" in m.value for m in app.markdown), [m.value for m in app.markdown][:5] + [w.value for w in app.warning]
    assert app.query_params["expert_set"] in ("stars", ["stars"])


def test_bad_input_gets_a_message_and_loses_nothing(app, tmp_path):
    one_point = {"objects": [{"type": "path", "path": [["M", 5, 5], ["L", 5, 5]]}]}
    draw(app, star_drawings(13)[:3] + [one_point])
    app.run()
    assert any("Drawing 4: the drawing is a single point" in w.value for w in app.warning)
    assert not [b for b in app.button if b.label == "Teach"]
    draw(app, star_drawings(13))
    app.text_input(key="teach_class").input("a")
    app.run()
    teach_button(app).click().run()
    assert not app.exception, app.exception
    assert any("already has an expert 'a'" in e.value for e in app.error), [e.value for e in app.error]
    assert not (tmp_path / "sets").exists() or not any((tmp_path / "sets").iterdir())
    app.text_input(key="teach_class").input("star")
    app.text_input(key="teach_set").input("../escape")
    app.run()
    teach_button(app).click().run()
    assert any("not allowed" in e.value for e in app.error)
    assert not (tmp_path / "escape").exists()
