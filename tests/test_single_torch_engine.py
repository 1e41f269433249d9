"""The single generator's optional torch engine (mic_core.single.torch_engine) against the
numba kernels: two independent implementations of the same maths (the kernels' hand-written
backpropagation through time vs torch autograd through nn.LSTM). On the CPU always; on CUDA
too where a GPU is present. Tiny sizes, seeded, seconds."""
import numpy as np
import pytest
import torch

from mic_core.expert import ExpertConfig
from mic_core.single import experiments as single_experiments
from mic_core.single.generator import (SingleTrainConfig, _batch_loss_and_grads, _chunks,
                                       train_single_generator)
from mic_core.single.inversion import (CodeInversionConfig, code_error_and_grad,
                                       corner_errors, invert_code)
from mic_core.single.torch_engine import TrainingGradients, check_device
from mic_core.training import _init_weights

C, K, T, D = 3, 2, 6, 2
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def types():
    rng = np.random.RandomState(0)
    return (rng.randn(C, K, T, D) * 0.5).astype(np.float32)


def _config(code="type", steps=5, **kw):
    return SingleTrainConfig(**{"code": code, "hidden_size": 8, "steps": steps,
                                "learning_rate": 0.02, "noise_in": 0.1, **kw})


@pytest.fixture(scope="module")
def generator(types):
    return train_single_generator(types, ["a", "b", "c"], _config(steps=40, noise_in=0.0))


@pytest.mark.parametrize("device", DEVICES)
def test_batch_loss_and_every_weight_gradient_match_the_kernel(device):
    """Random weights, a batch of noisy codes (some entries exactly 0 after the clip, as in
    training) and random targets: the loss and all five gradients of both engines."""
    B, Q, H = 12, 5, 7
    rng = np.random.RandomState(3)
    params = _init_weights(ExpertConfig(n_types=Q, hidden_size=H, output_size=D), 1, rng)
    inputs = np.clip(rng.randn(B, Q), 0, 1).astype(np.float32)
    targets = rng.randn(B, T, D).astype(np.float32)
    want = [np.empty_like(p) for p in params]
    got = [np.full_like(p, np.nan) for p in params]
    want_loss = _batch_loss_and_grads(params, inputs, targets, want, _chunks(B))
    loss = TrainingGradients(Q, H, D, device)(params, inputs, targets, got)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    for name, g, w in zip(("w_ih", "w_hh_t", "bias", "w_out", "b_out"), got, want):
        assert g.shape == w.shape and g.dtype == np.float32, name
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-7, err_msg=name)
    assert np.all(got[0][0][:, inputs.max(axis=0) == 0] == 0)  # unused code entries


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("code", ["class", "type"])
def test_a_few_training_steps_end_in_the_same_weights(types, code, device):
    """Five steps of the whole training loop (noise, clipping, schedule, Adam) with either
    engine: the same numpy noise draws, so the weights differ only by rounding."""
    config = _config(code, steps=5, noise_out=0.05)
    numba_run = train_single_generator(types, ["a", "b", "c"], config, progress_every=1)
    torch_run = train_single_generator(types, ["a", "b", "c"], config, progress_every=1,
                                       device=device)
    np.testing.assert_allclose(torch_run.training_curve, numba_run.training_curve, rtol=1e-5)
    for name in ("w_ih", "w_hh", "bias", "w_out", "b_out"):
        np.testing.assert_allclose(getattr(torch_run, name), getattr(numba_run, name),
                                   atol=2e-5, err_msg=name)
    # and the steps moved the weights (a comparison of two untouched copies would pass too)
    untouched = _init_weights(ExpertConfig(n_types=torch_run.code_size, hidden_size=8,
                                           output_size=D), 1, np.random.RandomState(42))
    assert np.abs(torch_run.w_ih - untouched[0][0]).max() > 0.03  # ~5 steps x 0.01


@pytest.mark.parametrize("device", DEVICES)
def test_code_error_and_gradient_match_the_kernel(generator, device):
    rng = np.random.RandomState(2)
    codes = rng.rand(9, generator.code_size).astype(np.float32)
    targets = rng.randn(9, T, D).astype(np.float32)
    want = code_error_and_grad(generator, codes, targets)
    got = code_error_and_grad(generator, codes, targets, device=device)
    for name, g, w in zip(("reconstructions", "errors", "gradient"), got, want):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_inversion_and_corners_match_the_kernel(generator, types, device):
    targets = types.reshape(C * K, T, D)
    config = CodeInversionConfig(iterations=10)
    want = invert_code(generator, targets, config, record="errors")
    got = invert_code(generator, targets, config, record="errors", device=device)
    np.testing.assert_allclose(got.codes, want.codes, atol=1e-4)
    np.testing.assert_allclose(got.errors, want.errors, rtol=1e-4)
    assert np.abs(want.codes[:, -1]).max() > 0.1  # the codes moved
    np.testing.assert_allclose(corner_errors(generator, targets, device),
                               corner_errors(generator, targets), rtol=1e-4)
    assert corner_errors(generator, targets[:0], device).shape == (0, C)


def test_unknown_or_missing_device_is_refused(monkeypatch, capsys):
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        check_device("gpu")
    # with a GPU: full float32 (TF32 off), set without torch's mixed-API error
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", True)
    assert check_device("cuda").type == "cuda"
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        check_device("cuda")
    with pytest.raises(SystemExit):  # the command line says so before any work
        single_experiments.main(["--device", "cuda", "--dataset", "mnist", "--seeds", "42"])
    assert "no CUDA GPU" in capsys.readouterr().err


def test_compare_rows_by_hand(tmp_path):
    """A check folder's rows beside the same cells of the results table: accuracies, their
    difference in points, and the share of samples predicted alike ("0123" vs "0133": 3/4);
    rows of other cells or methods are left out."""
    from mic_core.experiments.store import append_results
    from mic_core.single.experiments import compare_rows

    def row(method, accuracy, predictions, seed=142):
        return {"protocol": "paper", "dataset": "mnist", "selection": "random",
                "noise_in": 0.1, "noise_out": 0.0, "seed": seed, "method": method,
                "accuracy": accuracy, "n_test": 4, "seconds": 3.0, "fit_seconds": 2.0,
                "predictions": predictions}
    append_results([row("single_type", 0.5, "0123"), row("single_class", 0.25, "0000"),
                    row("mic", 0.75, "0120")], tmp_path / "results.csv")
    append_results([row("single_type", 0.75, "0133"), row("single_type", 0.5, "0123", 42),
                    row("mic", 0.5, "0123")], tmp_path / "check" / "experiments.csv")
    found = compare_rows(tmp_path / "check", tmp_path / "results.csv")
    assert len(found) == 1
    assert found[0]["method"] == "single_type" and found[0]["seed"] == 142
    assert found[0]["difference_points"] == 25.0
    assert found[0]["same_prediction"] == 0.75
    assert found[0]["machine_results"] == "here"
