"""The command line, run as a user would run it (on the shipped experts)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mic_core.data import load_dataset
from mic_core.drawing import pen_trajectory_to_drawing

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cache_dir):
    return subprocess.run([sys.executable, "-m", "mic_core", *args, "--cache-dir", str(cache_dir)]
                          if args[0] != "bench" else [sys.executable, "-m", "mic_core", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", ["train", "classify", "evaluate", "bench", "experiments",
                                     "report"])
def test_help(command):
    out = subprocess.run([sys.executable, "-m", "mic_core", command, "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "usage" in out.stdout


def test_classify_a_sample(tmp_path):
    out = run_cli("classify", "--sample", "3", "--json", cache_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    errors = result["deciding_errors"]
    assert set(errors) == set(result["reconstruction_errors"]) == set("abcdeghlmnopqrsuvwyz")
    assert result["winner"] == min(errors, key=errors.get)
    assert result["rule"]["name"] == "free ends"  # letters: free ends by default
    assert result["experts"]["dataset"] == "characters" and result["experts"]["seed"] == 42
    assert result["true_class"] in errors
    assert not list(tmp_path.iterdir())  # the shipped experts were used: nothing trained


def test_classify_a_drawing(tmp_path):
    data = load_dataset("characters")
    drawing = pen_trajectory_to_drawing(data.test_pen_trajectories[0], np.random.RandomState(0))
    path = tmp_path / "drawing.json"
    path.write_text(json.dumps(drawing))
    out = run_cli("classify", "--drawing", str(path), "--json", cache_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["winner"] in "abcdeghlmnopqrsuvwyz"


def test_classify_a_bad_drawing_says_why(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"objects": []}))
    out = run_cli("classify", "--drawing", str(path), cache_dir=tmp_path)
    assert out.returncode != 0 and "empty" in out.stderr


def test_an_unknown_system_is_refused_by_name(tmp_path):
    out = run_cli("evaluate", "--system", "nonesuch", cache_dir=tmp_path)
    assert out.returncode != 0 and "unknown system 'nonesuch'" in out.stderr
    assert "mic" in out.stderr


def test_evaluate_a_subset(tmp_path):
    out = run_cli("evaluate", "--system", "mic", "--limit", "40", "--json", cache_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["rule"] == "free ends"
    assert result["n_test"] == 40 and 0.7 <= result["accuracy"] <= 1.0


def test_a_quick_subset_of_the_experiments_then_its_report(tmp_path):
    """The CI-sized grid: both selections, two input noises, the fast methods."""
    results = tmp_path / "experiments.csv"
    args = ["experiments", "--dataset", "characters", "--seeds", "42", "--noise-in", "0", "0.1",
            "--noise-out", "0", "--methods", "mic", "mic_0", "nn_mse", "--limit", "30",
            "--train-steps", "100", "--workers", "2", "--results", str(results), "--json"]
    out = run_cli(*args, cache_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["jobs"] == result["ran"] == 6  # 2 selections x (2 cells + 1 types job)
    assert "jobs [" in out.stderr  # the progress bar
    again = json.loads(run_cli(*args, cache_dir=tmp_path).stdout)
    assert again["ran"] == 0  # resumed: nothing left to do
    report = subprocess.run([sys.executable, "-m", "mic_core", "report", "--results",
                             str(results), "--protocol", result["protocol"], "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    summary = json.loads(report.stdout)["summary"]
    assert [(r["dataset"], r["selection"]) for r in summary] == [("characters", "clustered"),
                                                                 ("characters", "random")]
    text = subprocess.run([sys.executable, "-m", "mic_core", "report", "--results",
                           str(results), "--protocol", result["protocol"]], cwd=ROOT,
                          capture_output=True, text=True, timeout=120).stdout
    assert "## Summary" in text and "## characters, random: noise" in text


def test_report_without_results_says_so(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mic_core", "report", "--results",
                          str(tmp_path / "none.csv")], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and "no rows of protocol paper" in out.stderr
