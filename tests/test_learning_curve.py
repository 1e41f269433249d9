"""The learning curve (issue 15): experts with 8 types, the curve's units, and its pairing with
the four-type rows, against torch and hand-computed numbers."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from mic_core.experiments import learning_curve
from mic_core.experiments.learning_curve import CurveUnit, curve_points, plan, run
from mic_core.experiments.store import decode_predictions
from mic_core.experiments.validated import ValidatedProtocol, held_out_subset
from mic_core.training import TrainConfig, train_on_types


def test_experts_with_eight_types_match_torch_and_learn_their_types():
    rng = np.random.RandomState(0)
    types = rng.uniform(-1, 1, size=(2, 8, 6, 2)).astype(np.float32)
    config = TrainConfig(noise_in=0.0, hidden_size=6, steps=400, learning_rate=0.02)
    experts = train_on_types(types, ("a", "b"), config)
    assert experts.config.n_types == 8
    generated = experts.generate_types()  # (E, K, T, D) by the fused kernels
    for e in range(2):  # the same weights in torch.nn.LSTM, float64
        with torch.no_grad():
            reference = experts.module(e)(torch.eye(8, dtype=torch.float64), 6).numpy()
        np.testing.assert_allclose(generated[e], reference, atol=1e-4)
    untrained = train_on_types(types, ("a", "b"), replace(config, steps=1))
    error = lambda ex: float(np.mean((ex.generate_types() - types) ** 2))  # noqa: E731
    assert error(experts) < error(untrained) / 3


def test_plan_goes_seed_by_seed_fewer_types_first():
    names = [u.name for u in plan([("characters", "random"), ("mnist", "clustered")],
                                  [42, 142], [8, 16])]
    assert len(names) == 8 and len(set(names)) == 8
    assert names[0] == "curve-validated-characters-random-types8-seed42"
    assert all("seed42" in n for n in names[:4]) and all("seed142" in n for n in names[4:])


def test_curve_points_pair_the_methods_by_hand():
    # three samples, two seeds; MIC right on all but one sample in one seed
    ones = np.ones(3, bool)
    outcomes = {}
    for seed in (42, 142):
        outcomes["characters", "random", 8, "mic", seed] = ones.copy()
        outcomes["characters", "random", 8, "nn_mse", seed] = np.array([1, 0, 1], bool)
        outcomes["characters", "random", 8, "nn_dtw", seed] = ones.copy()
    outcomes["characters", "random", 8, "mic", 142] = np.array([1, 1, 0], bool)
    outcomes["characters", "random", 16, "mic", 42] = ones  # no neighbours: no point
    points = curve_points(outcomes, settings=[("characters", "random")], seeds=(42, 142),
                          n_types=(8, 16), n_resamples=200)
    assert len(points) == 1
    point = points[0]
    # a point with seed 42 alone: every point of the curve then keeps to seed 42
    for method in ("mic", "nn_mse", "nn_dtw"):
        outcomes["characters", "random", 4, method, 42] = ones
    short = curve_points(outcomes, settings=[("characters", "random")], seeds=(42, 142),
                         n_types=(4, 8), n_resamples=200)
    assert [(p["n_types"], p["seeds"]) for p in short] == [(4, [42]), (8, [42])]
    assert point["seeds"] == [42, 142] and point["n_test"] == 3
    assert point["accuracy"]["mic"] == pytest.approx(5 / 6)
    assert point["accuracy"]["nn_mse"] == pytest.approx(4 / 6)
    mse = point["mic_minus_nn_mse"]
    # per-sample sums of (MIC - NN-MSE) over the seeds: 0, +2, -1 -> mean 1/6 per run
    assert mse["estimate"] == pytest.approx(1 / 6)
    # sign flips of (2, 1): |sum| >= 1 in all four patterns -> p = 1
    assert mse["p_value"] == pytest.approx(1.0)
    assert point["mic_minus_nn_dtw"]["estimate"] == pytest.approx(-1 / 6)


def test_a_tiny_curve_unit_runs_resumes_and_summarises(tmp_path):
    choices = tmp_path / "choices.json"
    chosen = {"noise_in": 0.1, "noise_out": 0.0, "starts": "uniform+corners", "rule": "plain",
              "validation_accuracy": 0.5, "seeds": 1}
    choices.write_text(json.dumps({"protocol": "validated", "choices": [
        {"dataset": "characters", "selection": "random", "system": "mic",
         "chosen": chosen}]}))
    tiny = ValidatedProtocol(iterations=2, train_steps=3, test_limit=12)
    out = tmp_path / "out"
    assert run(out, settings=[("characters", "random")], seeds=[42], n_types=[8],
               protocol=tiny, choices=choices) == 1
    assert run(out, settings=[("characters", "random")], seeds=[42], n_types=[8],
               protocol=tiny, choices=choices) == 0  # done: skipped
    unit = json.loads(next(out.glob("curve-*.json")).read_text())
    methods = {r["method"]: r for r in unit["rows"]}
    assert set(methods) == {"mic", "mic_uniform_start", "nn_mse", "nn_dtw"}
    _, y = held_out_subset("characters", 12)
    for row in unit["rows"]:
        assert row["n_types"] == 8 and row["protocol"] == f"{tiny.name}-8types"
        assert row["accuracy"] == pytest.approx(np.mean(decode_predictions(row["predictions"])
                                                        == y))
    curve = learning_curve.summarise([out], results=tmp_path / "none.csv", seeds=(42,),
                                     n_resamples=100)
    (point,) = curve["points"]
    assert point["n_types"] == 8 and point["seeds"] == [42]
    assert point["accuracy"]["nn_dtw"] == pytest.approx(methods["nn_dtw"]["accuracy"])


def test_a_missing_choice_is_named(tmp_path):
    empty = tmp_path / "choices.json"
    empty.write_text(json.dumps({"protocol": "validated", "choices": []}))
    with pytest.raises(ValueError, match="no validation choice for MIC on mnist, clustered"):
        learning_curve.run_unit(CurveUnit("u", "mnist", "clustered", 42, 8),
                                ValidatedProtocol(), empty)
