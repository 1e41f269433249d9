"""The inversion done the original way: one Python loop per expert, one target at a time,
PyTorch autograd on the ``Expert`` module (as the authors' code did, METHOD §3).

It is the yardstick of ``bench`` and the reference that ``tests/test_reference.py`` holds the
batched engine to. Unlike the original it freezes the weights (no needless weight
gradients), so the speed-up it reports is not inflated by that flaw.
"""
import numpy as np
import torch

from mic_core.expert import ExpertSet
from mic_core.inversion import InversionConfig, clip_and_normalise, project_to_simplex


def _project(v: torch.Tensor, projection: str) -> torch.Tensor:
    fn = project_to_simplex if projection == "simplex" else clip_and_normalise
    return torch.from_numpy(fn(v.detach().numpy().astype(np.float64))).to(v.dtype)


def invert_one(expert: torch.nn.Module, target: torch.Tensor, config: InversionConfig,
               start: torch.Tensor):
    """Invert ``target`` (T, D) in one expert. Returns (final error, final mixture weights)."""
    v = start.clone()
    m = torch.zeros_like(v)
    s = torch.zeros_like(v)
    for iteration in range(config.iterations + 1):
        v = _project(v, config.projection).requires_grad_(True)
        error = ((expert(v[None], target.shape[0])[0] - target) ** 2).mean()
        if iteration == config.iterations:
            return float(error.detach()), v.detach().numpy()
        (grad,) = torch.autograd.grad(error, v)
        with torch.no_grad():
            m = config.beta1 * m + (1 - config.beta1) * grad
            s = config.beta2 * s + (1 - config.beta2) * grad * grad
            v = v - config.step_size * m / (torch.sqrt(s) + config.eps)


def reference_invert(expert_set: ExpertSet, targets: np.ndarray,
                     config: InversionConfig = InversionConfig(), start=None,
                     dtype=torch.float32):
    """Final errors (N, E) and mixture weights (N, E, K), one expert and target at a time."""
    experts = [expert_set.module(e).to(dtype) for e in range(expert_set.n_experts)]
    for expert in experts:
        expert.requires_grad_(False)
    K = expert_set.config.n_types
    start = np.full(K, 1.0 / K) if start is None else np.asarray(start)
    errors = np.zeros((len(targets), len(experts)))
    weights = np.zeros((len(targets), len(experts), K))
    for n, target in enumerate(targets):
        target = torch.as_tensor(target, dtype=dtype)
        for e, expert in enumerate(experts):
            errors[n, e], weights[n, e] = invert_one(expert, target, config,
                                                     torch.as_tensor(start, dtype=dtype))
    return errors, weights
