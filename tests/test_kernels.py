"""The fused numba recurrence against torch autograd on the PyTorch ``Expert``."""
import numpy as np
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
    for e, expert in enumerate(experts):
        v = torch.tensor(inputs[:, e], requires_grad=True)
        out = expert(v, 17)
        err = ((out - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
        err.sum().backward()
        np.testing.assert_allclose(recon[:, e], out.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(errors[:, e], err.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(dv[:, e], v.grad.numpy(), rtol=1e-8, atol=1e-12)
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
