"""The validation-chosen protocol (issue 15): its validation split, its resumable units, the
merge into the results table, and ``report --json``'s ``settings`` on a tiny results file
whose paired differences are known by hand."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from mic_core import cli, reports
from mic_core.baselines import ForwardLSTMClassifier
from mic_core.data import load_dataset
from mic_core.experiments import read_predictions, read_results
from mic_core.experiments.store import append_results, encode_predictions
from mic_core.experiments.validated import (Queue, ValidatedProtocol, choose, held_out_subset,
                                            merge, plan, run, validation_indices)


def test_validation_split_is_stratified_seeded_and_leaves_out_the_types():
    data = load_dataset("characters")
    rng = np.random.RandomState(0)
    picked = np.concatenate([rng.choice(np.flatnonzero(data.y_train == c), 4, replace=False)
                             for c in range(len(data.class_names))])
    types = data.X_train[picked].reshape(len(data.class_names), 4, *data.X_train.shape[1:])
    val = validation_indices(data, types)
    assert not set(val) & set(picked)  # the experts' types are never validation samples
    counts = np.bincount(data.y_train[val], minlength=len(data.class_names))
    pool = np.bincount(data.y_train, minlength=len(data.class_names)) - 4
    assert np.all(np.abs(counts - 0.25 * pool) <= 1)  # a quarter of every class
    assert np.array_equal(val, validation_indices(data, types))  # seeded
    assert len(validation_indices(data, types, limit=40)) == pytest.approx(40, abs=len(counts))


def test_choice_is_the_best_mean_over_seeds_and_ties_go_to_the_first():
    scores = [{"starts": "uniform", "accuracy": 0.9}, {"starts": "corners", "accuracy": 0.9}]
    assert choose(scores, keys=("starts",))["starts"] == "uniform"
    scores += [{"starts": "uniform", "accuracy": 0.7}, {"starts": "corners", "accuracy": 0.8}]
    chosen = choose(scores, keys=("starts",))
    assert (chosen["starts"], chosen["validation_accuracy"], chosen["seeds"]) == \
        ("corners", pytest.approx(0.85), 2)


def test_forward_lstm_warm_start_continues_the_same_run():
    rng = np.random.RandomState(0)
    X, y = rng.randn(12, 6, 2).astype(np.float32), np.arange(12) % 3
    once = ForwardLSTMClassifier(hidden_size=8, steps=7, seed=1).fit(X, y)
    twice = ForwardLSTMClassifier(hidden_size=8, steps=3, seed=1, warm_start=True).fit(X, y)
    twice.set_params(steps=4).fit(X, y)
    for p, q in zip(once.model_.parameters(), twice.model_.parameters()):
        torch.testing.assert_close(p, q)
    cold = ForwardLSTMClassifier(hidden_size=8, steps=3, seed=1).fit(X, y)
    cold.set_params(steps=4).fit(X, y)  # without warm_start: a fresh 4-step run
    fresh = ForwardLSTMClassifier(hidden_size=8, steps=4, seed=1).fit(X, y)
    for p, q in zip(cold.model_.parameters(), fresh.model_.parameters()):
        torch.testing.assert_close(p, q)


TINY = ValidatedProtocol(iterations=2, train_steps=5, validation_limit=20, test_limit=12)


def test_the_plan_puts_validation_before_choice_before_test():
    units = plan(["characters"], ["random"], [42, 142], TINY)
    names = [u.name for u in units]
    choice = next(u for u in units if u.kind == "choice-mic")
    assert len(choice.needs) == 6 and all(names.index(n) < names.index(choice.name)
                                          for n in choice.needs)
    for test in (u for u in units if u.kind == "test-mic"):
        assert test.needs == (choice.name,) and names.index(choice.name) < names.index(test.name)


def test_a_claim_by_a_dead_process_is_void(tmp_path):
    queue = Queue(tmp_path / "shared", tmp_path / "out")
    assert queue.claim("unit") and not queue.claim("unit")  # held by this (living) process
    (tmp_path / "shared" / "claims" / "unit" / "pid").write_text("999999999")  # no such pid
    assert queue.claim("unit")


def test_a_tiny_run_chooses_on_validation_resumes_and_merges(tmp_path):
    out = tmp_path / "part"
    run(out, None, ["characters"], ["random"], [42, 142], TINY, ("mic",))
    files = sorted(p.name for p in out.glob("*.json"))
    tag = f"{TINY.name}-characters-random"
    assert len([f for f in files if f.startswith("validate-mic-")]) == 6  # noise settings
    assert f"choice-mic-{tag}.json" in files
    assert {f"test-mic-{tag}-seed42.json", f"test-mic-{tag}-seed142.json"} <= set(files)
    choice = json.loads((out / f"choice-mic-{tag}.json").read_text())
    assert choice["chosen_on"] == "validation"
    best = max(s["accuracy"] for s in choice["scores"])
    assert choice["chosen"]["validation_accuracy"] == pytest.approx(best)
    assert len(choice["scores"]) == 6 * 2 * 2  # noise x starts x rules, one choice seed
    # a rerun does nothing that is done; a missing unit is redone
    stamp = (out / f"test-mic-{tag}-seed42.json").stat().st_mtime_ns
    (out / f"test-mic-{tag}-seed142.json").unlink()
    assert run(out, None, ["characters"], ["random"], [42, 142], TINY, ("mic",)) == 1
    assert (out / f"test-mic-{tag}-seed42.json").stat().st_mtime_ns == stamp
    assert (out / f"test-mic-{tag}-seed142.json").exists()
    results, choices = tmp_path / "experiments.csv", tmp_path / "choices.json"
    corners = choice["chosen"]["starts"] == "uniform+corners"  # then the uniform start too
    assert merge([out], results, choices) == {"rows": 4 if corners else 2, "choices": 1}
    table = read_results(results)
    assert sorted(table[table["method"] == "mic"]["seed"]) == [42, 142]
    assert set(table["protocol"]) == {TINY.name}
    assert set(table["n_test"]) == {12}
    predicted = read_predictions(results)
    _, y = held_out_subset("characters", 12)
    for row, stored in zip(table.itertuples(), predicted.itertuples()):
        correct = np.mean(np.array([int(c, 36) for c in stored.predictions]) == y)
        assert row.accuracy == pytest.approx(correct)  # predictions and accuracy agree
    # a fresh machine with the committed results: only the new seed's test runs
    fresh = tmp_path / "fresh"
    assert run(fresh, None, ["characters"], ["random"], [42, 142, 242], TINY, ("mic",),
               (results, choices)) == 1
    ran = sorted(p.name for p in fresh.glob("*.json"))
    assert ran == [f"choice-mic-{tag}.json", f"test-mic-{tag}-seed242.json"]
    assert json.loads((fresh / f"choice-mic-{tag}.json").read_text())["chosen"] == \
        choice["chosen"]


def test_two_workers_share_the_units_without_repeating_one(tmp_path):
    """Two worker processes on one shared folder: every unit done once, by one of them."""
    import subprocess
    import sys
    command = [sys.executable, "-m", "mic_core.experiments.validated", "work", "--shared",
               str(tmp_path / "shared"), "--dataset", "characters", "--selection", "random",
               "--seeds", "42", "--systems", "nn", "mic", "--iterations", "2",
               "--train-steps", "5", "--validation-limit", "20", "--test-limit", "12"]
    workers = [subprocess.Popen(command + ["--out", str(tmp_path / f"out{i}")])
               for i in range(2)]
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    done = [p.name for i in range(2) for p in (tmp_path / f"out{i}").glob("*.json")]
    assert len(done) == len(set(done)) == 6 + 1 + 1 + 1  # validations, choice, test, nn


def _validated_row(method, seed, predicted, y, selection="clustered"):
    return {"protocol": "validated", "dataset": "characters", "selection": selection,
            "noise_in": 0.1 if method == "mic" else None,
            "noise_out": 0.0 if method == "mic" else None, "seed": seed, "method": method,
            "accuracy": float(np.mean(predicted == y)), "n_test": len(y),
            "predictions": encode_predictions(predicted)}


def test_report_json_settings_on_a_tiny_results_file(tmp_path, capsys):
    """Two seeds on 20 held-out letters. MIC right everywhere; NN-MSE wrong on samples 0-3
    in seed 42 and 0-1 in seed 142 -> MIC − NN-MSE = (4 + 2) / 40 = 0.15; NN-DTW right
    everywhere but sample 5 in seed 42 -> 1 / 40."""
    _, y = held_out_subset("characters", 20)
    wrong = (y + 1) % 20
    rows = []
    for seed, nn_wrong, dtw_wrong in ((42, 4, [5]), (142, 2, [])):
        mse = y.copy()
        mse[:nn_wrong] = wrong[:nn_wrong]
        dtw = y.copy()
        dtw[dtw_wrong] = wrong[dtw_wrong]
        rows += [_validated_row("mic", seed, y, y), _validated_row("nn_mse", seed, mse, y),
                 _validated_row("nn_dtw", seed, dtw, y)]
    results = tmp_path / "experiments.csv"
    append_results(rows, results)
    cli.main(["report", "--json", "--results", str(results)])
    report = json.loads(capsys.readouterr().out)
    [setting] = report["settings"]
    assert (setting["dataset"], setting["selection"], setting["chosen_on"]) == \
        ("characters", "clustered", "validation")
    mse, dtw = setting["mic_minus_nn_mse"], setting["mic_minus_nn_dtw"]
    for comparison in (mse, dtw):
        assert {"estimate", "ci_low", "ci_high", "p_value"} <= set(comparison)
        assert comparison["ci_low"] <= comparison["estimate"] <= comparison["ci_high"]
    assert mse["estimate"] == pytest.approx(6 / 40)
    assert dtw["estimate"] == pytest.approx(1 / 40)
    # per-sample sums over the seeds: 2, 2, 1, 1 (samples 0-3): 2^4 sign patterns, |sum| = 6
    # only when all four agree -> p = 2 / 16
    assert mse["p_value"] == pytest.approx(2 / 16)
    assert dtw["p_value"] == pytest.approx(1.0)  # one discordant sample
    assert mse["per_seed"] == pytest.approx([4 / 20, 2 / 20])
    assert reports.verdicts(setting) == {"beats_nn_mse": mse["ci_low"] > 0,
                                         "below_nn_dtw": False}
    league = pd.DataFrame(report["league"])
    assert set(league["system"]) == {"MIC (one expert per class)", "nearest neighbour (MSE)",
                                      "nearest neighbour (DTW)"}
    cli.main(["report", "--results", str(results)])
    markdown = capsys.readouterr().out
    assert "every choice made on validation" in markdown
    assert "characters, clustered: MIC is not significantly below NN (DTW)" in markdown


def test_every_rule_asked_for_comes_with_the_plain_one(tiny_experts, tiny_dataset):
    """A free-ends choice asks only for "free ends"; the plain decisions come along (a test
    unit read them: it failed once with a KeyError)."""
    from mic_core.data import Standardiser
    from mic_core.experiments.validated import mic_predictions
    flat = Standardiser(mean=np.zeros(2), std=np.ones(2))
    predicted = mic_predictions(tiny_experts, tiny_dataset.X_test[:3], flat, 2, ("free ends",))
    assert set(predicted) == {"uniform/plain", "uniform+corners/plain", "uniform/free ends",
                              "uniform+corners/free ends"}
    assert all(len(p) == 3 for p in predicted.values())


def test_the_apps_starts_are_the_ones_chosen_on_validation():
    """``chosen_starts`` reads the committed validation scores: at the shipped experts'
    noise setting (in 0.1, out 0) the letters decided with free ends scored 0.9602 with
    corners and 0.9489 with the uniform start only (results/validated/choices.json)."""
    from mic_core.experiments.validated import chosen_starts
    letters = chosen_starts("characters", "clustered", 0.1, 0.0, "free ends")
    assert letters["starts"] == "uniform+corners"
    assert letters["validation_accuracy"]["uniform+corners"] == pytest.approx(0.9602, abs=1e-4)
    assert letters["validation_accuracy"]["uniform"] == pytest.approx(0.9489, abs=1e-4)
    # a tie goes to the uniform start; an unvalidated noise setting to the setting's choice
    scores = [{"noise_in": 0.0, "noise_out": 0.0, "rule": "plain", "starts": s,
               "accuracy": 0.5, "seed": 42} for s in ("uniform+corners", "uniform")]
    choice = [{"dataset": "mnist", "selection": "random", "system": "mic",
               "chosen": {"starts": "uniform+corners"}, "scores": scores}]
    assert chosen_starts("mnist", "random", 0.0, 0.0, "plain", choice)["starts"] == "uniform"
    assert chosen_starts("mnist", "random", 0.2, 0.0, "plain", choice)["starts"] == \
        "uniform+corners"
    assert chosen_starts("mnist", "clustered", 0.0, 0.0, "plain", choice)["starts"] == \
        "uniform"


def _rows(protocol, seeds, predicted_by_method, y):
    return [{"protocol": protocol, "dataset": "mnist", "selection": "random",
             "noise_in": 0.0 if method == "mic" else None,
             "noise_out": 0.0 if method == "mic" else None, "seed": seed, "method": method,
             "accuracy": float(np.mean(predicted[:len(y)] == y)), "n_test": len(y),
             "predictions": encode_predictions(predicted[:len(y)])}
            for seed in seeds for method, predicted in predicted_by_method.items()]


def test_mnist_on_every_test_image_becomes_the_setting_once_it_covers_every_seed(tmp_path):
    """MIC right on all samples; NN-MSE wrong on the first three: on 10 samples (validated)
    MIC − NN-MSE = 0.3, on all 30 samples (the full protocol) 0.1."""
    y = np.arange(30) % 10
    wrong = y.copy()
    wrong[:3] = (y[:3] + 1) % 10
    methods = {"mic": y, "nn_mse": wrong, "nn_dtw": y}
    subset = lambda dataset, n: (np.arange(n), y[:n])  # noqa: E731
    uniform = {"noise_in": 0.0, "noise_out": 0.0, "starts": "uniform", "rule": "plain"}
    corners = {**uniform, "starts": "uniform+corners"}
    choices = [{"protocol": "validated", "dataset": "mnist", "selection": "random",
                "system": "mic", "chosen": uniform},
               {"protocol": "full", "dataset": "mnist", "selection": "random",
                "system": "mic", "chosen": corners}]
    results = tmp_path / "experiments.csv"
    append_results(_rows("validated", [42, 142], methods, y[:10]) +
                   _rows("full", [42], methods, y), results)
    table, predictions = read_results(results), read_predictions(results)

    def settings():
        return reports.paired_settings(table, predictions, subset, choices, 200,
                                       {"mnist": "full"})
    [partial] = settings()  # the full protocol has one seed of two: partial
    assert partial["protocol"] == "validated" and partial["n_test"] == [10]
    assert partial["mic_minus_nn_mse"]["estimate"] == pytest.approx(0.3)
    assert partial["choices"]["mic"] == uniform
    assert partial["full_test_partial"]["seeds"] == [42]
    assert partial["full_test_partial"]["mic_minus_nn_mse"]["estimate"] == pytest.approx(0.1)
    names = list(reports.paired_settings_table([partial])["setting"])
    assert names == ["mnist, random", "mnist, random (all 30 held-out samples: PARTIAL, "
                                      "seeds 42)"]
    append_results(_rows("full", [142], methods, y), results)
    table, predictions = read_results(results), read_predictions(results)
    [full] = settings()
    assert full["protocol"] == "full" and full["seeds"] == [42, 142]
    assert full["test_set"] == "all 30 held-out samples"
    assert full["mic_minus_nn_mse"]["estimate"] == pytest.approx(0.1)
    assert full["choices"]["mic"] == corners
    assert full["subset"]["mic_minus_nn_mse"]["estimate"] == pytest.approx(0.3)
    assert reports.targets([full])["beats_nn_mse"] == int(
        full["mic_minus_nn_mse"]["ci_low"] > 0)


def test_merge_counts_a_unit_found_twice_once_and_names_each_choice_protocol(tmp_path):
    row = {"protocol": "validated-1a2b", "dataset": "mnist", "selection": "random",
           "noise_in": 0.0, "noise_out": 0.0, "seed": 42, "method": "mic", "accuracy": 0.5,
           "n_test": 2, "predictions": "01"}
    choice = {"dataset": "mnist", "selection": "random", "system": "mic",
              "chosen": {"starts": "uniform"}}
    for folder in ("part", "shared"):  # a worker's copy and the shared folder's
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "test-mic-validated-1a2b-mnist-random-seed42.json").write_text(
            json.dumps({"rows": [row]}))
        (tmp_path / folder / "choice-mic-validated-1a2b-mnist-random.json").write_text(
            json.dumps(choice))
    results, choices = tmp_path / "experiments.csv", tmp_path / "choices.json"
    assert merge([tmp_path / "part", tmp_path / "shared"], results, choices) == \
        {"rows": 1, "choices": 1}
    assert len(read_results(results)) == 1
    [stored] = json.loads(choices.read_text())["choices"]
    assert stored["protocol"] == "validated-1a2b"
    from mic_core.experiments.validated import read_choices
    assert read_choices(choices) == [] and read_choices(choices, "validated-1a2b") == [stored]


def test_merge_keeps_the_committed_choices_of_other_protocols(tmp_path):
    """Merging one protocol's units (MNIST on all 10 000) must not drop the choices already
    committed for others; a choice merged again replaces its own entry only."""
    from mic_core.experiments.validated import read_choices
    choices = tmp_path / "choices.json"
    old = {"protocol": "validated", "dataset": "characters", "selection": "random",
           "system": "mic", "chosen": {"starts": "uniform"}}
    stale = {"protocol": "validated-1a2b", "dataset": "mnist", "selection": "random",
             "system": "mic", "chosen": {"starts": "uniform"}}
    choices.write_text(json.dumps({"protocol": "validated", "choices": [old, stale]}))
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "choice-mic-validated-1a2b-mnist-random.json").write_text(json.dumps(
        {"dataset": "mnist", "selection": "random", "system": "mic",
         "chosen": {"starts": "uniform+corners"}}))
    assert merge([tmp_path / "part"], tmp_path / "experiments.csv", choices) == \
        {"rows": 0, "choices": 1}
    assert read_choices(choices) == [old]
    [new] = read_choices(choices, "validated-1a2b")
    assert new["chosen"] == {"starts": "uniform+corners"}
