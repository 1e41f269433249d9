"""The inversion options on the command line (``--starts``, ``--optimiser``, ``--step-size``),
run as a user would run them on the shipped letter experts."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from mic_core.classify import default_rule, classify
from mic_core.data import load_dataset
from mic_core.inversion import InversionConfig
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cache_dir):
    return subprocess.run([sys.executable, "-m", "mic_core", *args, "--cache-dir",
                           str(cache_dir)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_classify_with_corners_and_the_exponentiated_step(tmp_path):
    out = run_cli("classify", "--sample", "5", "--starts", "uniform+corners", "--optimiser",
                  "exponentiated", "--iterations", "10", "--json", cache_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    config = result["inversion_config"]
    assert (config["starts"], config["optimiser"], config["step_size"], config["iterations"]) \
        == ("uniform+corners", "exponentiated", 1.0, 10)
    # the same decision as the engine called directly with that inversion
    data = load_dataset("characters")
    experts = load_or_train(data, default_train_config("characters"))
    direct = classify(experts, data.X_test[5:6],
                      InversionConfig(iterations=10, starts="uniform+corners",
                                      optimiser="exponentiated", step_size=1.0),
                      default_rule("characters"), data.standardiser, record="final")
    assert result["winner"] == direct.winner_names[0]
    np.testing.assert_allclose([result["deciding_errors"][c] for c in direct.class_names],
                               direct.deciding_errors[0], rtol=1e-5)


def test_evaluate_names_its_inversion_and_today_is_the_default(tmp_path):
    out = run_cli("evaluate", "--limit", "3", "--iterations", "5", "--step-size", "0.1",
                  "--json", cache_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)["inversion_config"]
    assert (config["starts"], config["optimiser"], config["step_size"]) == \
        ("uniform", "adam", 0.1)


def test_a_bad_step_size_says_why(tmp_path):
    out = run_cli("classify", "--sample", "0", "--step-size", "-1", cache_dir=tmp_path)
    assert out.returncode != 0 and "step_size must be a positive" in out.stderr
