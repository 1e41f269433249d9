"""``python -m mic_core {train,classify,evaluate} --system ssl``: dispatch, output, errors."""
import json

import pytest
import torch

from mic_core.cli import main

torch.set_num_threads(1)
TINY = ["--selection", "random", "--steps", "3", "--seed", "5"]


def test_train_classify_evaluate(tmp_path, capsys):
    common = [*TINY, "--cache-dir", str(tmp_path), "--json"]
    main(["train", "--system", "ssl", *common])
    trained = json.loads(capsys.readouterr().out)
    assert trained["method"] == "inversion_ssl" and trained["config"]["steps"] == 3
    assert len(list((tmp_path / "inversion_ssl").glob("*.npz"))) == 1
    main(["classify", "--system", "ssl", "--sample", "4", *common])
    result = json.loads(capsys.readouterr().out)
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert result["winner"] in result["probabilities"] and "true_class" in result
    main(["evaluate", "--system", "ssl", "--limit", "30", *common])
    result = json.loads(capsys.readouterr().out)
    assert result["n_test"] == 30 and 0.0 <= result["accuracy"] <= 1.0
    main(["evaluate", "--system", "ssl", "--supervised", "--limit", "30", *common])
    assert json.loads(capsys.readouterr().out)["method"] == "supervised_small"
    assert len(list((tmp_path / "inversion_ssl").glob("*.npz"))) == 2  # loaded, not retrained


@pytest.mark.parametrize("argv, message", [
    (["classify", "--sample", "100000"], "--sample must lie in"),
    (["train", "--alpha", "1.5"], "alpha and beta must lie in"),
    (["train", "--labels-per-class", "5", "--selection", "clustered"], "four per class"),
    (["evaluate", "--limit", "0"], "--limit must be at least 1"),
    (["train", "--learning-rate", "-1"], "learning-rate positive"),
])
def test_bad_arguments_get_a_clear_message(argv, message, tmp_path):
    with pytest.raises(SystemExit, match=message):
        main([argv[0], "--system", "ssl", *argv[1:], *TINY, "--cache-dir", str(tmp_path)])


def test_a_drawing_of_a_digit_is_refused(tmp_path):
    drawing = tmp_path / "d.json"
    drawing.write_text("{}")
    with pytest.raises(SystemExit, match="needs --dataset characters"):
        main(["classify", "--system", "ssl", "--dataset", "mnist", "--drawing", str(drawing),
              "--cache-dir", str(tmp_path), "--steps", "1"])


def test_a_corrupt_drawing_is_refused(tmp_path):
    drawing = tmp_path / "d.json"
    drawing.write_text("not json")
    with pytest.raises(SystemExit, match="error"):
        main(["classify", "--system", "ssl", "--drawing", str(drawing), *TINY,
              "--cache-dir", str(tmp_path)])


def test_a_part_run_elsewhere_and_merged(tmp_path, monkeypatch):
    """The device command: a tiny run of the digits' CANDIDATE settings into its own folder
    (rows, runs, the validation curve, the network), then merged into the results."""
    from dataclasses import replace

    from mic_core.data import load_dataset
    from mic_core.experiments import read_results
    from mic_core.inversion_ssl import experiments
    digits = load_dataset("mnist")  # a part of it, so that the test stays short
    small = replace(digits, X_train=digits.X_train[:3000], y_train=digits.y_train[:3000],
                    X_test=digits.X_test[:300], y_test=digits.y_test[:300])
    monkeypatch.setattr(experiments, "load_dataset", lambda config: small)
    part = tmp_path / "part"
    experiments.main(["run", "--dataset", "mnist", "--candidate", "--seeds", "7",
                      "--set", "steps=4", "eval_every=2", "--out", str(part)])
    rows = read_results(part / "mnist.csv")
    assert sorted(rows["method"]) == ["inversion_ssl", "supervised_small"]
    assert set(rows["n_test"]) == {300} and set(rows["seed"]) == {7}
    runs = json.loads((part / "runs-mnist.json").read_text())
    for run in runs:
        assert run["config"]["keep_best"] is True and run["config"]["steps"] == 4
        assert run["best_step"] in (2, 4) and len(run["validation_curve"]) == 2
        wanted = experiments.CANDIDATE["mnist"][run["method"]]
        assert all(run["config"][k] == v for k, v in wanted.items()
                   if k not in ("steps", "eval_every"))
    assert len(list((part / "inversion_ssl").glob("mnist-*-seed7-*.npz"))) == 2
    assert (part / "progress-mnist-seed7-inversion_ssl.json").exists()
    # merged into a results folder of this test (never the repository's)
    monkeypatch.setattr(experiments, "OUT", tmp_path / "results")
    experiments.main(["merge", "--folders", str(part)])
    merged = read_results(tmp_path / "results" / "mnist.csv")
    assert len(merged) == 2 and set(merged["accuracy"]) == set(rows["accuracy"])
    assert len(json.loads((tmp_path / "results" / "runs-mnist.json").read_text())) == 2
    experiments.main(["merge", "--folders", str(part)])  # again: replaced, not doubled
    assert len(read_results(tmp_path / "results" / "mnist.csv")) == 2
