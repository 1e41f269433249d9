"""The fused numba recurrence against torch autograd on the PyTorch ``Expert``.

Two kinds of check: in float64 (the kernels' tanh is libm's there) the maths must agree with
autograd to 1e-10; in float32 -- what production runs: the rational tanh, single-precision
BLAS, production sizes (4 -> 10 -> 2, 100 steps) -- the kernels are compared with torch
autograd in float32 on the same random weights and targets.

The float32 tolerance is ``FLOAT32_TOLERANCE = eps32 * T`` (1.2e-5 for T = 100 steps),
relative to the largest magnitude of each compared array: every step of the forward pass
and of backpropagation through time adds O(eps32) relative rounding on both sides (and the
rational tanh is within 4e-7, 3.4 eps32, of the exact one), and an LSTM with these weights
does not amplify it, so the difference grows at most linearly with T. Measured on random
weights: at most ~6 eps32 (outputs, errors, input and weight gradients); a wrong gate, a
dropped term or a wrong coefficient of the rational tanh gives differences of order 1.
"""
import numpy as np
import pytest
import torch

from mic_core import kernels
from mic_core.expert import Expert, ExpertConfig, ExpertSet


def _random_expert_set(n_experts=3, n_steps=17, seed=0):
    torch.manual_seed(seed)
    config = ExpertConfig(n_types=4, hidden_size=5, output_size=3)
    experts = [Expert(config).double() for _ in range(n_experts)]
    types = np.zeros((n_experts, 4, n_steps, 3))
    return ExpertSet.from_modules(experts, [f"c{i}" for i in range(n_experts)], types), experts


def test_generate_matches_torch():
    expert_set, experts = _random_expert_set()
    rng = np.random.RandomState(0)
    inputs = rng.rand(2, 3, 4)
    out = kernels.generate(*expert_set.kernel_weights(np.float64), inputs, 17)
    for e, expert in enumerate(experts):
        want = expert(torch.tensor(inputs[:, e]), 17).detach().numpy()
        np.testing.assert_allclose(out[:, e], want, rtol=1e-10, atol=1e-12)


def test_input_gradient_matches_autograd():
    expert_set, experts = _random_expert_set()
    rng = np.random.RandomState(1)
    inputs = rng.rand(2, 3, 4)
    targets = rng.randn(2, 17, 3)
    recon = np.empty((2, 3, 17, 3))
    errors = np.empty((2, 3))
    dv = np.empty((2, 3, 4))
    kernels.error_and_input_grad(*expert_set.kernel_weights(np.float64), inputs, targets,
                                 recon, errors, dv)
    for e, expert in enumerate(experts):
        v = torch.tensor(inputs[:, e], requires_grad=True)
        err = ((expert(v, 17) - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
        err.sum().backward()
        np.testing.assert_allclose(errors[:, e], err.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dv[:, e], v.grad.numpy(), rtol=1e-8, atol=1e-12)


def _assert_float64_matches_autograd(experts, inputs, targets, recon, errors, dv):
    """Every expert's float64 reconstruction, error and input gradient from the kernel
    against torch autograd through the reference module."""
    for e, expert in enumerate(experts):
        v = torch.tensor(inputs[:, e], requires_grad=True)
        out = expert(v, targets.shape[1])
        err = ((out - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
        err.sum().backward()
        np.testing.assert_allclose(recon[:, e], out.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(errors[:, e], err.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dv[:, e], v.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_inversion_blocks_match_autograd():
    """Many targets: the inversion kernel splits them into blocks per expert (the last one
    partial); every target's error and gradient still match autograd, and float32 (rational
    tanh, single-precision BLAS) stays close to float64."""
    expert_set, experts = _random_expert_set()
    N = 2 * kernels.INVERSION_BLOCK + 3
    rng = np.random.RandomState(5)
    inputs = rng.rand(N, 3, 4)
    targets = rng.randn(N, 17, 3)
    results = {}
    for dtype in (np.float64, np.float32):
        recon = np.empty((N, 3, 17, 3), dtype)
        errors = np.empty((N, 3), dtype)
        dv = np.empty((N, 3, 4), dtype)
        kernels.error_and_input_grad(*expert_set.kernel_weights(dtype), inputs.astype(dtype),
                                     targets.astype(dtype), recon, errors, dv)
        results[dtype] = recon, errors, dv
    recon, errors, dv = results[np.float64]
    _assert_float64_matches_autograd(experts, inputs, targets, recon, errors, dv)
    for fast, exact in zip(results[np.float32], results[np.float64]):
        np.testing.assert_allclose(fast, exact, rtol=1e-4, atol=1e-5)


def test_input_gradient_matches_finite_differences():
    expert_set, _ = _random_expert_set(n_experts=1)
    rng = np.random.RandomState(2)
    v = rng.rand(1, 1, 4)
    target = rng.randn(1, 17, 3)
    weights = expert_set.kernel_weights(np.float64)

    def error(vector):
        recon, errors, dv = np.empty((1, 1, 17, 3)), np.empty((1, 1)), np.empty((1, 1, 4))
        kernels.error_and_input_grad(*weights, vector, target, recon, errors, dv)
        return errors[0, 0], dv[0, 0]

    _, grad = error(v)
    eps = 1e-6
    for k in range(4):
        step = np.zeros_like(v)
        step[0, 0, k] = eps
        numeric = (error(v + step)[0] - error(v - step)[0]) / (2 * eps)
        assert abs(numeric - grad[k]) < 1e-7 * max(1.0, abs(numeric))


def test_weight_gradients_match_autograd():
    expert_set, experts = _random_expert_set()
    rng = np.random.RandomState(3)
    inputs = rng.rand(3, 2, 4)  # (E, B, K)
    targets = rng.randn(3, 2, 17, 3)
    weights = expert_set.kernel_weights(np.float64)
    grads = tuple(np.empty_like(w) for w in weights)
    losses = kernels.loss_and_weight_grads(*weights, inputs, targets, *grads)
    d_w_ih, d_w_hh_t, d_bias, d_w_out, d_b_out = grads
    for e, expert in enumerate(experts):
        loss = ((expert(torch.tensor(inputs[e]), 17) - torch.tensor(targets[e])) ** 2).mean()
        loss.backward()
        assert np.isclose(losses[e], loss.item(), rtol=1e-10)
        np.testing.assert_allclose(d_w_ih[e], expert.lstm.weight_ih_l0.grad, atol=1e-12)
        np.testing.assert_allclose(d_w_hh_t[e].T, expert.lstm.weight_hh_l0.grad, atol=1e-12)
        np.testing.assert_allclose(d_bias[e], expert.lstm.bias_ih_l0.grad, atol=1e-12)
        np.testing.assert_allclose(d_bias[e], expert.lstm.bias_hh_l0.grad, atol=1e-12)
        np.testing.assert_allclose(d_w_out[e], expert.readout.weight.grad, atol=1e-12)
        np.testing.assert_allclose(d_b_out[e], expert.readout.bias.grad, atol=1e-12)


def test_float32_tanh_is_close_to_exact():
    """The float32 kernels use a rational tanh: within 4e-7 of the exact one."""
    expert_set, experts = _random_expert_set(n_experts=1)
    rng = np.random.RandomState(4)
    inputs = rng.rand(4, 1, 4) * 6 - 3  # large inputs drive the gates to saturation
    fast = kernels.generate(*expert_set.kernel_weights(np.float32), inputs.astype(np.float32), 17)
    exact = kernels.generate(*expert_set.kernel_weights(np.float64), inputs, 17)
    np.testing.assert_allclose(fast, exact, atol=2e-5)
    x = np.linspace(-12, 12, 100001, dtype=np.float32)
    np.testing.assert_allclose(_rational_tanh(x), np.tanh(x.astype(np.float64)), atol=4e-7)


@__import__("numba").njit
def _rational_tanh(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = kernels._tanh(x[i])
    return out


EPS32 = float(np.finfo(np.float32).eps)
T_PRODUCTION = 100  # the character and MNIST sequences' length
FLOAT32_TOLERANCE = EPS32 * T_PRODUCTION


def _production_experts(n_experts, scale, seed):
    """Float32 PyTorch experts of the production size with default (or ``scale``-times
    larger, saturating) random weights, and the same weights as an ExpertSet."""
    torch.manual_seed(seed)
    experts = [Expert(ExpertConfig(n_types=4, hidden_size=10, output_size=2))
               for _ in range(n_experts)]
    with torch.no_grad():
        for expert in experts:
            for parameter in expert.parameters():
                parameter.mul_(scale)
    types = np.zeros((n_experts, 4, T_PRODUCTION, 2))
    return experts, ExpertSet.from_modules(experts, [f"c{i}" for i in range(n_experts)], types)


def _assert_close_float32(got, want, what):
    """``got`` within FLOAT32_TOLERANCE of ``want``, relative to ``want``'s largest value."""
    want = np.asarray(want, dtype=np.float64)
    scale = np.abs(want).max()
    worst = np.abs(np.asarray(got, dtype=np.float64) - want).max() / scale
    assert worst <= FLOAT32_TOLERANCE, f"{what}: {worst / EPS32:.1f} eps32 off"


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_float32_inversion_kernel_matches_float32_autograd(scale):
    """The blocked inversion (two full blocks of targets and a partial one per expert), in
    float32 with the rational tanh, against torch autograd in float32."""
    experts, expert_set = _production_experts(3, scale, seed=10)
    N = 2 * kernels.INVERSION_BLOCK + 3
    rng = np.random.RandomState(11)
    inputs = rng.dirichlet(np.ones(4), size=(N, 3)).astype(np.float32)
    targets = rng.randn(N, T_PRODUCTION, 2).astype(np.float32)
    recon = np.empty((N, 3, T_PRODUCTION, 2), np.float32)
    errors = np.empty((N, 3), np.float32)
    dv = np.empty((N, 3, 4), np.float32)
    kernels.error_and_input_grad(*expert_set.kernel_weights(np.float32), inputs, targets,
                                 recon, errors, dv)
    for e, expert in enumerate(experts):
        v = torch.tensor(inputs[:, e], requires_grad=True)
        out = expert(v, T_PRODUCTION)
        err = ((out - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
        err.sum().backward()
        _assert_close_float32(recon[:, e], out.detach().numpy(), "reconstructions")
        np.testing.assert_allclose(errors[:, e], err.detach().numpy(), rtol=FLOAT32_TOLERANCE)
        _assert_close_float32(dv[:, e], v.grad.numpy(), "input gradients")


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_float32_training_kernel_matches_float32_autograd(scale):
    """Training's loss and weight gradients (each expert on its own four noisy one-hot
    inputs and targets), in float32, against torch autograd in float32."""
    experts, expert_set = _production_experts(3, scale, seed=12)
    rng = np.random.RandomState(13)
    inputs = np.clip(np.eye(4) + 0.1 * rng.randn(3, 4, 4), 0, 1).astype(np.float32)
    targets = rng.randn(3, 4, T_PRODUCTION, 2).astype(np.float32)
    weights = expert_set.kernel_weights(np.float32)
    grads = tuple(np.empty_like(w) for w in weights)
    losses = kernels.loss_and_weight_grads(*weights, inputs, targets, *grads)
    for e, expert in enumerate(experts):
        loss = ((expert(torch.tensor(inputs[e]), T_PRODUCTION) - torch.tensor(targets[e])) ** 2
                ).mean()
        loss.backward()
        assert abs(losses[e] - loss.item()) <= FLOAT32_TOLERANCE * loss.item()
        want = {"w_ih": expert.lstm.weight_ih_l0.grad, "w_hh": expert.lstm.weight_hh_l0.grad.T,
                "bias": expert.lstm.bias_ih_l0.grad, "w_out": expert.readout.weight.grad,
                "b_out": expert.readout.bias.grad}
        for got, (name, reference) in zip(grads, want.items()):
            _assert_close_float32(got[e], reference.numpy(), f"d {name}")


def test_generated_types_and_mixtures_match_the_torch_modules():
    """``ExpertSet.generate_types`` (each one-hot input) and ``generate_mixture`` (one
    expert, given weights), against the float32 PyTorch ``Expert`` modules they came from."""
    experts, expert_set = _production_experts(3, 1.0, seed=14)
    generated = expert_set.generate_types()
    assert generated.shape == (3, 4, T_PRODUCTION, 2)
    weights = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    with torch.no_grad():
        for e, expert in enumerate(experts):
            want = expert(torch.eye(4), T_PRODUCTION).numpy()
            _assert_close_float32(generated[e], want, "one-hot generation")
            mixed = expert(torch.tensor(weights)[None], T_PRODUCTION)[0].numpy()
            _assert_close_float32(expert_set.generate_mixture(e, weights), mixed, "mixture")
    with pytest.raises(ValueError, match="mixture weights"):
        expert_set.generate_mixture(0, [0.5, 0.5])
    with pytest.raises(ValueError, match="out of range"):
        expert_set.generate_mixture(3, weights)


def test_float32_inversion_on_the_shipped_experts_is_as_exact_as_torch_float32():
    """Trained weights amplify rounding: on the shipped letter experts torch's own float32
    is ~300 eps32 (reconstructions) and ~3000 eps32 (input gradients) from float64, so a
    fixed eps-based tolerance does not apply. The float32 kernels (rational tanh, blocked
    BLAS) must stay as close to the exact float64 result as torch's float32 is: within twice
    torch's float32 error (measured: 1.3 times it, ``benchmarks/float32_agreement.py``)."""
    from mic_core.data import load_dataset
    from mic_core.persistence import load_or_train
    from mic_core.training import default_train_config
    data = load_dataset("characters")
    expert_set = load_or_train(data, default_train_config("characters"))
    rng = np.random.RandomState(15)
    targets = np.ascontiguousarray(data.X_test[rng.choice(len(data.X_test), 8, replace=False)],
                                   dtype=np.float32)
    N, E, T = len(targets), expert_set.n_experts, expert_set.n_steps
    inputs = rng.dirichlet(np.ones(4), size=(N, E)).astype(np.float32)
    recon = np.empty((N, E, T, 2), np.float32)
    errors = np.empty((N, E), np.float32)
    dv = np.empty((N, E, 4), np.float32)
    kernels.error_and_input_grad(*expert_set.kernel_weights(np.float32), inputs, targets,
                                 recon, errors, dv)
    kernel_off, torch_off = np.zeros(2), np.zeros(2)
    for e in range(E):
        results = {}
        for dtype in (torch.float32, torch.float64):
            v = torch.tensor(inputs[:, e], dtype=dtype, requires_grad=True)
            out = expert_set.module(e).to(dtype)(v, T)
            ((out - torch.tensor(targets, dtype=dtype)) ** 2).mean(dim=(1, 2)).sum().backward()
            results[dtype] = out.detach().double().numpy(), v.grad.double().numpy()
        for i, (fast, exact, torch32) in enumerate(zip((recon[:, e], dv[:, e]),
                                                       results[torch.float64],
                                                       results[torch.float32])):
            scale = np.abs(exact).max()
            kernel_off[i] = max(kernel_off[i], np.abs(fast - exact).max() / scale)
            torch_off[i] = max(torch_off[i], np.abs(torch32 - exact).max() / scale)
    assert np.all(kernel_off <= 2 * torch_off + 8 * EPS32), (kernel_off / EPS32,
                                                              torch_off / EPS32)


# The pairs layout (few targets: each SIMD lane a (target, expert) pair with its own copy of
# its expert's weights) is what the app runs for one drawing; it is checked against torch
# autograd on its own, forced, for one target and a few, with blocks that are full, padded
# (a last block filled with copies of its last pair) and several per call.

@pytest.mark.parametrize("n_targets", [1, 2, 3, 7, 30])
def test_pairs_layout_matches_autograd_float64(n_targets):
    """Float64 (libm tanh): to 1e-10, as the targets layout; 5 experts, so blocks of pairs
    mix targets and experts and the last one is padded; 30 targets (150 pairs): several
    blocks in a parallel region."""
    expert_set, experts = _random_expert_set(n_experts=5)
    rng = np.random.RandomState(20 + n_targets)
    inputs = rng.rand(n_targets, 5, 4)
    targets = rng.randn(n_targets, 17, 3)
    recon = np.empty((n_targets, 5, 17, 3))
    errors = np.empty((n_targets, 5))
    dv = np.empty((n_targets, 5, 4))
    kernels.error_and_input_grad(*expert_set.kernel_weights(np.float64), inputs, targets,
                                 recon, errors, dv, layout="pairs")
    _assert_float64_matches_autograd(experts, inputs, targets, recon, errors, dv)


@pytest.mark.parametrize("scale", [1.0, 3.0])
@pytest.mark.parametrize("n_targets", [1, 4])
def test_float32_pairs_layout_matches_float32_autograd(scale, n_targets):
    """Float32 (rational tanh), production sizes and 20 experts as the letters have: one
    target is two blocks of 16 lanes (the second padded), four targets five blocks; against
    torch autograd in float32 within FLOAT32_TOLERANCE, as the targets layout. Without the
    reconstructions (bulk evaluation) the errors and gradients are the same."""
    experts, expert_set = _production_experts(20, scale, seed=21)
    rng = np.random.RandomState(22)
    inputs = rng.dirichlet(np.ones(4), size=(n_targets, 20)).astype(np.float32)
    targets = rng.randn(n_targets, T_PRODUCTION, 2).astype(np.float32)
    weights = expert_set.kernel_weights(np.float32)
    recon = np.empty((n_targets, 20, T_PRODUCTION, 2), np.float32)
    errors = np.empty((n_targets, 20), np.float32)
    dv = np.empty((n_targets, 20, 4), np.float32)
    kernels.error_and_input_grad(*weights, inputs, targets, recon, errors, dv, layout="pairs")
    for e, expert in enumerate(experts):
        v = torch.tensor(inputs[:, e], requires_grad=True)
        out = expert(v, T_PRODUCTION)
        err = ((out - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
        err.sum().backward()
        _assert_close_float32(recon[:, e], out.detach().numpy(), "reconstructions")
        np.testing.assert_allclose(errors[:, e], err.detach().numpy(), rtol=FLOAT32_TOLERANCE)
        _assert_close_float32(dv[:, e], v.grad.numpy(), "input gradients")
    no_recon = np.empty((0, 20, T_PRODUCTION, 2), np.float32)
    errors_only, dv_only = np.empty_like(errors), np.empty_like(dv)
    kernels.error_and_input_grad(*weights, inputs, targets, no_recon, errors_only, dv_only,
                                 layout="pairs")
    np.testing.assert_array_equal(errors_only, errors)
    np.testing.assert_array_equal(dv_only, dv)


def test_layout_is_chosen_by_the_number_of_targets():
    """One drawing (or a few) in 20 experts takes the pairs layout, a batch the targets
    layout; a single expert (the single generator) always the targets layout; an unknown
    layout is refused by name."""
    assert kernels.choose_layout(1, 20) == "pairs"
    assert kernels.choose_layout(kernels.PAIRS_BELOW - 1, 10) == "pairs"
    assert kernels.choose_layout(kernels.PAIRS_BELOW, 20) == "targets"
    assert kernels.choose_layout(1, 1) == "targets"
    expert_set, _ = _random_expert_set(n_experts=2)
    with pytest.raises(ValueError, match="layout"):
        kernels.error_and_input_grad(*expert_set.kernel_weights(np.float64), np.ones((1, 2, 4)),
                                     np.zeros((1, 17, 3)), np.empty((1, 2, 17, 3)),
                                     np.empty((1, 2)), np.empty((1, 2, 4)), layout="lanes")
