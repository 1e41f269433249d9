"""How far the float32 kernels production runs are from torch autograd in float32, in units
of float32's machine epsilon (the measurement behind ``tests/test_kernels.py``'s tolerance,
eps32 x T). Prints one JSON object.

    python -m benchmarks.float32_agreement

Random PyTorch experts of the production size (4 -> 10 -> 2, T = 100), with their default
initialisation (scale 1) and with weights three times larger (scale 3: saturating gates);
the inversion on two full blocks of targets and a partial one per expert, training's loss
and weight gradients on four noisy one-hot inputs per expert. Errors are relative to each
compared array's largest magnitude (losses and per-target errors: relative to themselves).

Trained weights amplify rounding, so on the shipped experts (70 held-out targets, random
mixtures) both the kernels' float32 and torch's float32 are compared with the exact
float64 result, and their ratio reported (``tests/test_kernels.py`` asks for at most 2).
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_kernels import EPS32, T_PRODUCTION, _production_experts  # noqa: E402

from mic_core import kernels  # noqa: E402


def _eps_off(got, want) -> float:
    want = np.asarray(want, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max() / EPS32)


def inversion(scale: float) -> dict:
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
    worst = {"reconstructions": 0.0, "errors": 0.0, "input_gradients": 0.0}
    for e, expert in enumerate(experts):
        v = torch.tensor(inputs[:, e], requires_grad=True)
        out = expert(v, T_PRODUCTION)
        err = ((out - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
        err.sum().backward()
        want = err.detach().numpy().astype(np.float64)
        for name, value in (("reconstructions", _eps_off(recon[:, e], out.detach().numpy())),
                            ("errors", float((np.abs(errors[:, e] - want) / want).max() / EPS32)),
                            ("input_gradients", _eps_off(dv[:, e], v.grad.numpy()))):
            worst[name] = max(worst[name], value)
    return worst


def training(scale: float) -> dict:
    experts, expert_set = _production_experts(3, scale, seed=12)
    rng = np.random.RandomState(13)
    inputs = np.clip(np.eye(4) + 0.1 * rng.randn(3, 4, 4), 0, 1).astype(np.float32)
    targets = rng.randn(3, 4, T_PRODUCTION, 2).astype(np.float32)
    weights = expert_set.kernel_weights(np.float32)
    grads = tuple(np.empty_like(w) for w in weights)
    losses = kernels.loss_and_weight_grads(*weights, inputs, targets, *grads)
    worst = {"loss": 0.0, "weight_gradients": 0.0}
    for e, expert in enumerate(experts):
        loss = ((expert(torch.tensor(inputs[e]), T_PRODUCTION) - torch.tensor(targets[e])) ** 2
                ).mean()
        loss.backward()
        worst["loss"] = max(worst["loss"], abs(float(losses[e]) - loss.item()) / loss.item()
                            / EPS32)
        reference = (expert.lstm.weight_ih_l0.grad, expert.lstm.weight_hh_l0.grad.T,
                     expert.lstm.bias_ih_l0.grad, expert.readout.weight.grad,
                     expert.readout.bias.grad)
        worst["weight_gradients"] = max(worst["weight_gradients"],
                                        *(_eps_off(g[e], r.numpy())
                                          for g, r in zip(grads, reference)))
    return worst


def shipped(name: str) -> dict:
    from mic_core.data import load_dataset
    from mic_core.persistence import load_or_train
    from mic_core.training import default_train_config
    data = load_dataset(name)
    expert_set = load_or_train(data, default_train_config(name))
    rng = np.random.RandomState(0)
    targets = np.ascontiguousarray(data.X_test[rng.choice(len(data.X_test), 70, replace=False)],
                                   dtype=np.float32)
    N, E, K = len(targets), expert_set.n_experts, expert_set.config.n_types
    T, D = targets.shape[1:]
    inputs = rng.dirichlet(np.ones(K), size=(N, E)).astype(np.float32)
    recon = np.empty((N, E, T, D), np.float32)
    errors = np.empty((N, E), np.float32)
    dv = np.empty((N, E, K), np.float32)
    kernels.error_and_input_grad(*expert_set.kernel_weights(np.float32), inputs, targets,
                                 recon, errors, dv)
    off = {"kernel32_reconstructions": 0.0, "torch32_reconstructions": 0.0,
           "kernel32_input_gradients": 0.0, "torch32_input_gradients": 0.0}
    for e in range(E):
        results = {}
        for dtype in (torch.float32, torch.float64):
            v = torch.tensor(inputs[:, e], dtype=dtype, requires_grad=True)
            out = expert_set.module(e).to(dtype)(v, T)
            ((out - torch.tensor(targets, dtype=dtype)) ** 2).mean(dim=(1, 2)).sum().backward()
            results[dtype] = out.detach().double().numpy(), v.grad.double().numpy()
        exact_recon, exact_grad = results[torch.float64]
        for key, got, exact in (("kernel32_reconstructions", recon[:, e], exact_recon),
                                ("torch32_reconstructions", results[torch.float32][0],
                                 exact_recon),
                                ("kernel32_input_gradients", dv[:, e], exact_grad),
                                ("torch32_input_gradients", results[torch.float32][1],
                                 exact_grad)):
            off[key] = max(off[key], _eps_off(got, exact))
    off = {f"{k}_eps_from_float64": round(v, 1) for k, v in off.items()}
    off["ratio_reconstructions"] = round(off["kernel32_reconstructions_eps_from_float64"] /
                                         off["torch32_reconstructions_eps_from_float64"], 2)
    off["ratio_input_gradients"] = round(off["kernel32_input_gradients_eps_from_float64"] /
                                         off["torch32_input_gradients_eps_from_float64"], 2)
    return off


if __name__ == "__main__":
    result = {"unit": "float32 eps", "eps32": EPS32, "T": T_PRODUCTION,
              "tolerance_in_eps": T_PRODUCTION}
    for scale in (1.0, 3.0):
        result[f"scale_{scale:g}"] = {"inversion": {k: round(v, 2) for k, v in
                                                    inversion(scale).items()},
                                      "training": {k: round(v, 2) for k, v in
                                                   training(scale).items()}}
    result["shipped"] = {name: shipped(name) for name in ("characters", "mnist")}
    import platform
    result["cpu"] = platform.processor() or platform.machine()
    print(json.dumps(result, indent=1))
