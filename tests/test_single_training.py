"""The single generator's training (chunked batch gradient against torch autograd, resuming
from a checkpoint), the steps and learning rate chosen on validation, the grid's rows from
another machine, and bad input on the command line. Tiny budgets."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from mic_core.data import DataConfig
from mic_core.expert import ExpertConfig
from mic_core.single import generator as module
from mic_core.single.generator import (SingleTrainConfig, _batch_loss_and_grads, _chunks,
                                       chosen_training, default_single_config, save_generator,
                                       train_single_generator)
from mic_core.single.validation import choose, record_choice, validation_indices
from mic_core.training import _init_weights

C, K, T, D = 3, 2, 6, 2


@pytest.fixture(scope="module")
def types():
    rng = np.random.RandomState(0)
    return (rng.randn(C, K, T, D) * 0.5).astype(np.float32)


def _config(code="type", steps=30, **kw):
    return SingleTrainConfig(**{"code": code, "hidden_size": 8, "steps": steps,
                                "learning_rate": 0.02, "noise_in": 0.1, **kw})


def test_chunks_divide_the_batch():
    assert [_chunks(n) for n in (80, 40, 6, 7, 9, 1)] == [4, 4, 3, 1, 3, 1]


def test_chunked_batch_gradient_matches_torch_autograd():
    """The batch's loss and gradient, summed over chunks run as separate "experts", against
    the mean MSE of the whole batch differentiated by torch (float64)."""
    B, Q, H = 8, 5, 7
    rng = np.random.RandomState(3)
    params = _init_weights(ExpertConfig(n_types=Q, hidden_size=H, output_size=D), 1, rng)
    inputs = rng.rand(B, Q).astype(np.float32)
    targets = rng.randn(B, T, D).astype(np.float32)
    grads = [np.empty_like(p) for p in params]
    loss = _batch_loss_and_grads(params, inputs, targets, grads, P=4)

    w_ih, w_hh_t, bias, w_out, b_out = (torch.tensor(p[0], dtype=torch.float64,
                                                     requires_grad=True) for p in params)
    lstm = torch.nn.LSTM(Q, H, batch_first=True).double()
    x = torch.zeros(B, T, Q, dtype=torch.float64)
    x[:, 0] = torch.tensor(inputs, dtype=torch.float64)
    out, _ = torch.func.functional_call(lstm, {
        "weight_ih_l0": w_ih, "weight_hh_l0": w_hh_t.T, "bias_ih_l0": bias,
        "bias_hh_l0": torch.zeros(4 * H, dtype=torch.float64)}, (x,))
    y = out @ w_out.T + b_out
    want = ((y - torch.tensor(targets, dtype=torch.float64)) ** 2).mean(dim=(1, 2)).mean()
    want.backward()
    assert loss == pytest.approx(want.item(), rel=1e-5)
    for got, reference in zip(grads, (w_ih, w_hh_t, bias, w_out, b_out)):
        np.testing.assert_allclose(got[0], reference.grad.numpy(), rtol=2e-4, atol=1e-6)


def test_an_interrupted_training_resumes_to_the_same_generator(types, tmp_path):
    config = _config(steps=30, noise_out=0.05)
    whole = train_single_generator(types, ["a", "b", "c"], config)
    checkpoint = tmp_path / "g.part.npz"

    class Stop(Exception):
        pass

    def stop_at_20(p):  # before the checkpoint of step 20: it resumes from step 10
        if p.step == 20:
            raise Stop
    with pytest.raises(Stop):
        train_single_generator(types, ["a", "b", "c"], config, stop_at_20,
                               checkpoint=checkpoint, checkpoint_every=10)
    assert checkpoint.exists()
    resumed = train_single_generator(types, ["a", "b", "c"], config, checkpoint=checkpoint,
                                     checkpoint_every=10)
    assert not checkpoint.exists()  # removed once the training is done
    for name in ("w_ih", "w_hh", "bias", "w_out", "b_out", "training_curve"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(whole, name))
    # a checkpoint of another configuration is not used
    with pytest.raises(Stop):
        train_single_generator(types, ["a", "b", "c"], config, stop_at_20,
                               checkpoint=checkpoint, checkpoint_every=10)
    other = train_single_generator(types, ["a", "b", "c"], _config(steps=30, noise_out=0.0),
                                   checkpoint=checkpoint, checkpoint_every=10)
    fresh = train_single_generator(types, ["a", "b", "c"], _config(steps=30, noise_out=0.0))
    np.testing.assert_array_equal(other.w_hh, fresh.w_hh)


def test_choice_rule_by_hand():
    scored = [{"score": 0.70, "steps": 2000, "learning_rate": 0.01},
              {"score": 0.695, "steps": 1000, "learning_rate": 0.03},
              {"score": 0.60, "steps": 500, "learning_rate": 0.01}]
    assert choose(scored, 200) == scored[1]  # within 1/200 of the best: fewer steps
    assert choose(scored, 1000) == scored[0]  # 0.005 apart is more than one sample here
    with pytest.raises(ValueError, match="no scored candidate"):
        choose([], 100)


def test_chosen_training_reaches_the_default_config(tmp_path, monkeypatch):
    defaults = tmp_path / "defaults.json"
    monkeypatch.setattr(module, "CHOSEN_TRAINING", defaults)
    assert default_single_config("mnist", "type").steps == 1000  # no file: the defaults
    record_choice(defaults, "mnist/type/cells", {"steps": 3000, "learning_rate": 0.02,
                                                 "score": 0.8}, "validation-x.json")
    config = default_single_config("mnist", "type")
    assert (config.steps, config.learning_rate) == (3000, 0.02)
    assert default_single_config("mnist", "class").steps == 1000  # another family
    assert default_single_config("mnist", "type", steps=5).steps == 5  # overrides win
    assert chosen_training("mnist", "type", "cells", tmp_path / "missing.json") == {}
    defaults.write_text("{not json")
    assert default_single_config("mnist", "type").steps == 1000


def test_validation_comes_from_the_training_pool_only():
    class Pool:
        name, class_names = "characters", ["a", "b", "c"]
        y_train = np.array([0] * 12 + [1] * 12 + [2] * 5)
        y_test = None  # never read
    chosen = validation_indices(Pool(), per_class=10)
    counts = np.bincount(Pool.y_train[chosen])
    assert counts.tolist() == [10, 10, 5] and len(set(chosen)) == len(chosen)
    assert chosen.max() < len(Pool.y_train)
    np.testing.assert_array_equal(chosen, validation_indices(Pool(), per_class=10))


def test_rows_from_another_machine_are_merged_with_their_predictions(tmp_path):
    from mic_core.experiments.store import append_results, read_predictions, read_results
    from mic_core.single.experiments import done_keys, merge, methods
    assert methods("class", "parameters") == ("single_class_params",
                                              "single_class_params_corners")
    device = tmp_path / "part1"
    row = {"protocol": "paper", "dataset": "mnist", "selection": "random", "noise_in": 0.0,
           "noise_out": 0.0, "seed": 142, "method": "single_type", "accuracy": 0.5,
           "n_test": 4, "seconds": 2.0, "fit_seconds": 1.0, "predictions": "0123"}
    append_results([row], device / "experiments.csv")
    results = tmp_path / "experiments.csv"
    append_results([{**row, "seed": 42, "predictions": "9999"}], results)
    assert merge([device, tmp_path / "absent"], results) == 1
    table = read_results(results)
    assert sorted(table["seed"].tolist()) == [42, 142]
    predictions = read_predictions(results).set_index("seed")["predictions"]
    assert predictions[142] == "0123" and predictions[42] == "9999"
    assert ("paper", "mnist", "random", "0", "0", "142", "single_type") in done_keys(results)


def test_a_foreign_generator_file_is_refused_on_the_command_line(types, tmp_path, capsys):
    from mic_core.cli import main
    generator = train_single_generator(types, ["a", "b", "c"], _config(steps=2))
    path = save_generator(generator, tmp_path / "letters.npz", DataConfig("characters"),
                          _config(steps=2))
    common = ["classify", "--system", "single", "--sample", "0", "--generator"]
    with pytest.raises(SystemExit, match="of the 'characters' data set, not of 'mnist'"):
        main([*common, str(path), "--dataset", "mnist"])
    with pytest.raises(SystemExit, match="trained on other classes or sequences"):
        main([*common, str(path), "--dataset", "characters"])
    with pytest.raises(SystemExit, match="no generator file"):
        main([*common, str(tmp_path / "absent.npz"), "--dataset", "mnist"])
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(SystemExit, match="not a readable generator file"):
        main([*common, str(tmp_path / "bad.npz"), "--dataset", "mnist"])
    with pytest.raises(SystemExit, match="steps must be at least 1"):
        main(["train", "--system", "single", "--dataset", "mnist", "--steps", "0"])


def test_a_refused_file_in_the_cache_says_why_when_training_is_not_allowed(types, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(module, "SHIPPED_GENERATORS", tmp_path / "none")
    train = _config()

    class Tiny:
        config, name = DataConfig("characters"), "characters"
    (tmp_path / module.file_name(Tiny.config, train)).write_text(json.dumps({"x": 1}))
    with pytest.raises(module.GeneratorFileError, match="not a readable generator file"):
        module.load_or_train_generator(Tiny(), train, cache_dir=tmp_path,
                                       allow_training=False)


def test_retiring_a_family_keeps_every_other_row(tmp_path):
    from mic_core.experiments.store import append_results, read_predictions, read_results
    from mic_core.single.experiments import retire
    results = tmp_path / "experiments.csv"
    base = {"protocol": "paper", "selection": "clustered", "noise_in": 0.1, "noise_out": 0.0,
            "accuracy": 0.5, "n_test": 2, "predictions": "01"}
    rows = [{**base, "dataset": "mnist", "seed": 42, "method": m} for m in
            ("single_class", "single_class_corners", "single_type", "mic")]
    rows.append({**base, "dataset": "characters", "seed": 42, "method": "single_class"})
    append_results(rows, results)
    archive = tmp_path / "retired.json"
    assert retire("mnist", "class", "cells", "trained 1000 steps", results, archive) == 2
    left = read_results(results)
    assert sorted(zip(left["dataset"], left["method"])) == [
        ("characters", "single_class"), ("mnist", "mic"), ("mnist", "single_type")]
    assert len(read_predictions(results)) == 3
    kept = json.loads(archive.read_text())
    assert kept["why"] == "trained 1000 steps" and len(kept["rows"]) == 2
