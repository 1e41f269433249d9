"""The inversion written in plain PyTorch, twice: the yardsticks of ``python -m mic_core bench``.

- ``reference_invert``: the original way, one Python loop per expert and per target, autograd
  on the ``Expert`` module (as the authors' code did, METHOD §3). It is also the reference that
  ``tests/test_reference.py`` holds the engine to. Unlike the original it freezes the weights
  (no needless weight gradients), so the speed-up measured against it is not inflated by that.
- ``batched_torch_invert``: the peer a competent PyTorch user writes today: per expert, all
  targets in one batch through ``torch.nn.LSTM`` + ``torch.nn.Linear`` (the ``Expert``
  module, weights frozen with ``requires_grad_(False)``), autograd on the input vectors only,
  the projection and the Adam-like step as batched tensor operations. No Python loop per
  target. ``bench`` reports the engine's speed as a ratio against it.

Both do exactly the engine's inversion (``mic_core.inversion``): uniform start, projection
onto the simplex (or the clip rule), the Adam-like step without bias correction, and the
final error of the projected vector after the last step. They live in the library (not in
``benchmarks/``) because the CLI's ``bench`` runs them.
"""
from __future__ import annotations

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


def project_to_simplex_torch(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of every row of ``v`` (..., K) onto the probability simplex
    (the same algorithm as ``mic_core.inversion.project_to_simplex``, in tensor operations).

    >>> project_to_simplex_torch(torch.tensor([[0.5, 0.5, 0.5, -1.0]])).round(decimals=4)
    tensor([[0.3333, 0.3333, 0.3333, 0.0000]])
    """
    K = v.shape[-1]
    u = torch.sort(v, dim=-1, descending=True).values
    css = torch.cumsum(u, dim=-1) - 1.0
    ranks = torch.arange(1, K + 1, dtype=v.dtype)
    rho = (u - css / ranks > 0).sum(dim=-1, keepdim=True)
    theta = torch.gather(css, -1, rho - 1) / rho
    return torch.clamp(v - theta, min=0.0)


def clip_and_normalise_torch(v: torch.Tensor) -> torch.Tensor:
    """``mic_core.inversion.clip_and_normalise`` in tensor operations."""
    clipped = v.clamp(0.0, 1.0)
    total = clipped.sum(dim=-1, keepdim=True)
    uniform = torch.full_like(v, 1.0 / v.shape[-1])
    return torch.where(total > 0, clipped / torch.where(total > 0, total, 1.0), uniform)


def batched_torch_invert(expert_set: ExpertSet, targets: np.ndarray,
                         config: InversionConfig = InversionConfig(), start=None,
                         dtype=torch.float32):
    """Final errors (N, E) and mixture weights (N, E, K): per expert, all N targets at once.

    The expert is the ``Expert`` module (``torch.nn.LSTM`` + ``torch.nn.Linear``) with its
    weights frozen; autograd differentiates the per-target errors' sum with respect to the
    (N, K) input vectors only, which gives every target its own gradient.
    """
    project = (project_to_simplex_torch if config.projection == "simplex"
               else clip_and_normalise_torch)
    targets = torch.as_tensor(np.asarray(targets), dtype=dtype)
    N, T, _ = targets.shape
    E, K = expert_set.n_experts, expert_set.config.n_types
    start = torch.full((K,), 1.0 / K, dtype=dtype) if start is None else \
        torch.as_tensor(np.asarray(start), dtype=dtype)
    errors = torch.empty(N, E, dtype=dtype)
    weights = torch.empty(N, E, K, dtype=dtype)
    for e in range(E):
        expert = expert_set.module(e).to(dtype).requires_grad_(False)
        v = start.expand(N, K).clone()
        m = torch.zeros_like(v)
        s = torch.zeros_like(v)
        for iteration in range(config.iterations + 1):
            v = project(v).requires_grad_(True)
            error = ((expert(v, T) - targets) ** 2).mean(dim=(1, 2))  # (N,)
            if iteration == config.iterations:
                break
            (grad,) = torch.autograd.grad(error.sum(), v)
            with torch.no_grad():
                m = config.beta1 * m + (1 - config.beta1) * grad
                s = config.beta2 * s + (1 - config.beta2) * grad * grad
                v = v - config.step_size * m / (torch.sqrt(s) + config.eps)
        errors[:, e] = error.detach()
        weights[:, e] = v.detach()
    return errors.numpy().astype(np.float64), weights.numpy().astype(np.float64)
