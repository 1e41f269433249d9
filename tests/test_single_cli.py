"""``python -m mic_core {train,classify,evaluate} --system single``: JSON out, clear errors.
Tiny budget: the equal-parameter generator of MNIST, two training steps."""
import json

import pytest

from mic_core.cli import main

COMMON = ["--system", "single", "--dataset", "mnist", "--capacity", "parameters",
          "--steps", "2", "--json"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def _run(capsys, *argv):
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def test_train_classify_evaluate(capsys, cache):
    trained = _run(capsys, "train", *COMMON, "--code", "type", "--cache-dir", cache)
    assert trained["code"] == "type" and trained["hidden_size"] == 60
    assert trained["system"] == "single" and trained["max_type_mse"] > 0
    result = _run(capsys, "classify", *COMMON, "--code", "type", "--cache-dir", cache,
                  "--sample", "0", "--iterations", "3", "--rule", "corners")
    assert result["winner"] == result["winner_by_corners"]
    assert set(result["class_mass"]) == set("0123456789") and "true_class" in result
    evaluation = _run(capsys, "evaluate", *COMMON, "--code", "type", "--cache-dir", cache,
                      "--limit", "4", "--iterations", "2")
    assert evaluation["n_test"] == 4 and 0 <= evaluation["accuracy"] <= 1


def test_bad_input_gets_a_clear_message(capsys, cache):
    with pytest.raises(SystemExit, match="--sample must lie in 0..9999"):
        main(["classify", *COMMON, "--cache-dir", cache, "--sample", "10000"])
    with pytest.raises(SystemExit, match="--drawing needs --dataset characters"):
        main(["classify", *COMMON, "--cache-dir", cache, "--drawing", "x.json"])
    with pytest.raises(SystemExit):
        main(["train", *COMMON, "--code", "pixel"])
    assert "invalid choice: 'pixel'" in capsys.readouterr().err
