"""One decision, one record: a drawn letter's winner is the same on the Compete page
(AppTest, the drawing injected into the canvas's session state as tests/test_app.py does),
in ``classify --json`` and in the page's JSON and CSV downloads; also for a letter drawn
without its connecting strokes, where free ends change the winner against the plain rule."""
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from mic_core.data import load_dataset, trim_connecting_strokes
from mic_core.drawing import pen_trajectory_to_drawing

ROOT = Path(__file__).resolve().parent.parent

# held-out letters, drawn as canvas JSON; the true class is the data set's label
CASES = {
    # drawn whole: free ends and the plain rule agree
    "whole": dict(sample=0, trim=False, differs=False),
    # drawn without its lead-in and lead-out: the plain rule picks another letter
    "trimmed": dict(sample=48, trim=True, differs=True),
}


@pytest.fixture(scope="module")
def data():
    return load_dataset("characters")


def _drawing(data, case) -> dict:
    pen = data.test_pen_trajectories[case["sample"]]
    if case["trim"]:
        pen = trim_connecting_strokes(pen)
    return pen_trajectory_to_drawing(pen, np.random.RandomState(0))


def _cli(*args, cache_dir):
    out = subprocess.run([sys.executable, "-m", "mic_core", "classify", *args, "--json",
                          "--cache-dir", str(cache_dir)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _page(drawing, monkeypatch):
    """The Compete page with the drawing on its canvas: (winner shown, the contents of its
    download buttons by file name, its captions). Downloads may be deferred (a callable that
    Streamlit runs on click): the test calls it as the click would."""
    downloads = {}
    button = DeltaGenerator.download_button

    def keep(self, label, data, file_name=None, *args, **kwargs):
        content = data() if callable(data) else data
        downloads[file_name] = content.encode() if isinstance(content, str) else content
        return button(self, label, data, file_name, *args, **kwargs)
    monkeypatch.setattr(DeltaGenerator, "download_button", keep)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["canvas_characters"] = {"drawing": {"raw": drawing, "data": None}}
    at.run()
    assert not at.exception, at.exception
    (verdict,) = [m.value for m in at.markdown if "The winner" in m.value]
    captions = " ".join(c.value for c in at.caption)
    return verdict.split("**")[1], downloads, captions


@pytest.mark.parametrize("name", CASES)
def test_page_cli_and_exports_name_the_same_winner(name, data, tmp_path, monkeypatch):
    case = CASES[name]
    truth = data.class_names[data.y_test[case["sample"]]]
    drawing = _drawing(data, case)
    path = tmp_path / "drawing.json"
    path.write_text(json.dumps(drawing))

    shown, downloads, captions = _page(drawing, monkeypatch)
    exported = json.loads(downloads["classification.json"])
    frame = pd.read_csv(StringIO(downloads["classification.csv"].decode()))
    cli = _cli("--drawing", str(path), cache_dir=tmp_path)

    assert shown == truth  # both letters are read right by the app's rule
    assert exported["winner"] == cli["winner"] == shown
    assert set(frame.loc[frame.winner, "expert"]) == {shown}
    assert frame.loc[frame.deciding_error.idxmin(), "expert"] == shown
    assert exported["rule"]["name"] == cli["rule"]["name"] == "free ends"
    assert set(frame.rule) == {"free ends"}
    for record in (exported, cli):
        assert min(record["deciding_errors"], key=record["deciding_errors"].get) == shown
    assert exported["experts"]["dataset"] == "characters"
    assert exported["experts"]["selection"] == "clustered" and exported["experts"]["seed"] == 42
    assert exported["winner_crop"] == exported["deciding_crops"][shown]

    plain = _cli("--drawing", str(path), "--plain", cache_dir=tmp_path)
    assert plain["rule"]["name"] == "plain" and "winner_crop" not in plain
    lowest_final = min(exported["reconstruction_errors"],
                       key=exported["reconstruction_errors"].get)
    assert plain["winner"] == lowest_final
    if case["differs"]:
        assert plain["winner"] != shown
        assert f"by the plain reconstruction error, {plain['winner']} would lead" in captions
        # the kept part of the winner's reconstruction: a real crop
        crop = exported["winner_crop"]
        assert crop["start"] + crop["end"] > 0
    else:
        assert plain["winner"] == shown
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".npz"]  # shipped experts


def test_for_digits_free_ends_do_not_apply(tmp_path):
    result = _cli("--dataset", "mnist", "--sample", "3", cache_dir=tmp_path)
    assert result["rule"]["name"] == "plain"
    assert result["rule"]["free_ends"] is False and result["rule"]["free_ends_apply"] is False
    errors = result["reconstruction_errors"]
    assert result["winner"] == min(errors, key=errors.get) == result["true_class"]
