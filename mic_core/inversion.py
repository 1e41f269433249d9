"""Inversion: every expert (weights frozen) searches for the input vector that best
reconstructs a target (METHOD §3).

For a batch of N targets and all E experts at once, each iteration
  1. projects every input vector onto the probability simplex: the *mixture weights*;
  2. runs the experts (fused kernel), measures the reconstruction error (MSE) and its
     gradient with respect to the mixture weights;
  3. takes an Adam-like step (no bias correction, as the original code) on the vector.
Iteration 0 is the start vector (uniform by default); after the last step the vector is
projected once more and the final error is that of the projected vector.

``invert_steps`` yields every iteration as it is computed (for animation); ``invert``
collects them into an ``InversionRecord``, in full or final-only (bulk evaluation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from mic_core import kernels
from mic_core.expert import ExpertSet

PROJECTIONS = ("simplex", "clip")


@dataclass(frozen=True)
class InversionConfig:
    """How the input vectors are optimised."""

    iterations: int = 50  # gradient steps per expert and target
    step_size: float = 0.05  # Adam-like step size
    beta1: float = 0.9  # decay of the gradient average
    beta2: float = 0.99  # decay of the squared-gradient average
    eps: float = 1e-8
    projection: str = "simplex"  # "simplex": Euclidean projection; "clip": clip to [0, 1]
    #                              and divide by the sum (the original code)

    def __post_init__(self):
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"unknown projection {self.projection!r}; choose one of "
                             f"{PROJECTIONS}")


@dataclass(frozen=True)
class InversionStep:
    """One iteration for all targets and experts."""

    iteration: int
    mixture_weights: np.ndarray  # (N, E, K)
    errors: np.ndarray  # (N, E)
    reconstructions: np.ndarray  # (N, E, T, D)


@dataclass(frozen=True, eq=False)
class InversionRecord:
    """The inversion of N targets in E experts, over I + 1 recorded iterations (I + 1 = 1
    when only the final result was kept).

    mixture_weights (N, E, I+1, K); errors (N, E, I+1); reconstructions (N, E, I+1, T, D),
    or (N, E, 1, T, D) holding the final ones only; targets (N, T, D). It decides nothing:
    ``mic_core.classify.classify`` (or ``decide``) turns it into the one ``Classification``
    record that names the winner and exports it.
    """

    class_names: tuple[str, ...]
    targets: np.ndarray
    mixture_weights: np.ndarray
    errors: np.ndarray
    reconstructions: np.ndarray
    config: InversionConfig

    @property
    def final_errors(self) -> np.ndarray:
        """(N, E) reconstruction error of each expert's final mixture weights."""
        return self.errors[:, :, -1]

    @property
    def final_mixture_weights(self) -> np.ndarray:
        """(N, E, K) each expert's final mixture weights."""
        return self.mixture_weights[:, :, -1]


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of every vector along the last axis onto the probability simplex.

    >>> project_to_simplex(np.array([0.5, 0.5, 0.5, -1.0])).round(4).tolist()
    [0.3333, 0.3333, 0.3333, 0.0]
    """
    v = np.asarray(v)  # lists too; float32 stays float32
    if v.dtype.kind != "f":
        v = v.astype(np.float64)
    K = v.shape[-1]
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    ranks = np.arange(1, K + 1)
    rho = np.sum(u - css / ranks > 0, axis=-1, keepdims=True)  # >= 1 always
    theta = np.take_along_axis(css, rho - 1, axis=-1) / rho
    return np.maximum(v - theta, 0.0)


def clip_and_normalise(v: np.ndarray) -> np.ndarray:
    """The original code's projection; falls back to uniform where every entry clips to 0.

    >>> clip_and_normalise(np.array([[2.0, 0.0, 0.0, 2.0], [-1.0, -1.0, -1.0, -1.0]])).tolist()
    [[0.5, 0.0, 0.0, 0.5], [0.25, 0.25, 0.25, 0.25]]
    """
    clipped = np.clip(v, 0.0, 1.0)
    total = clipped.sum(axis=-1, keepdims=True)
    uniform = np.full_like(v, 1.0 / v.shape[-1])
    return np.where(total > 0, clipped / np.where(total > 0, total, 1.0), uniform)


def _check_targets(expert_set: ExpertSet, targets, dtype=np.float32) -> np.ndarray:
    targets = np.asarray(targets, dtype=dtype)
    if targets.ndim == 2:
        targets = targets[None]
    want = (expert_set.n_steps, expert_set.config.output_size)
    if targets.ndim != 3 or targets.shape[1:] != want:
        raise ValueError(f"targets must have shape (N, {want[0]}, {want[1]}) or "
                         f"({want[0]}, {want[1]}), got {targets.shape}")
    if not np.all(np.isfinite(targets)):
        raise ValueError("targets hold NaN or infinite values")
    return np.ascontiguousarray(targets)


def _start_vectors(expert_set: ExpertSet, n_targets: int, start, dtype) -> np.ndarray:
    E, K = expert_set.n_experts, expert_set.config.n_types
    if start is None:
        return np.full((n_targets, E, K), 1.0 / K, dtype=dtype)
    start = np.asarray(start, dtype=dtype)
    try:
        return np.ascontiguousarray(np.broadcast_to(start, (n_targets, E, K)))
    except ValueError:
        raise ValueError(f"start must broadcast to ({n_targets}, {E}, {K}), "
                         f"got {start.shape}") from None


def invert_steps(expert_set: ExpertSet, targets, config: InversionConfig = InversionConfig(),
                 start=None, dtype=np.float32) -> Iterator[InversionStep]:
    """Yield iterations 0..config.iterations of the inversion of ``targets`` (N, T, D).

    ``start``: the start vector, (K,) or anything that broadcasts to (N, E, K); uniform
    if None. ``dtype``: float32 (fast) or float64 (for comparisons). Each yielded step
    owns its arrays.
    """
    targets = _check_targets(expert_set, targets, dtype)
    N, E = len(targets), expert_set.n_experts
    K, D, T = expert_set.config.n_types, expert_set.config.output_size, expert_set.n_steps
    project = project_to_simplex if config.projection == "simplex" else clip_and_normalise
    weights = expert_set.kernel_weights(dtype)
    vector = _start_vectors(expert_set, N, start, dtype)
    m = np.zeros_like(vector)  # Adam-like moments
    s = np.zeros_like(vector)
    for iteration in range(config.iterations + 1):
        # project, reconstruct, measure the error and its gradient
        mixture = np.ascontiguousarray(project(vector), dtype=dtype)
        recon = np.empty((N, E, T, D), dtype=dtype)
        errors = np.empty((N, E), dtype=dtype)
        grad = np.empty((N, E, K), dtype=dtype)
        kernels.error_and_input_grad(*weights, mixture, targets, recon, errors, grad)
        yield InversionStep(iteration, mixture, errors, recon)
        # the Adam-like step, taken from the projected vector
        m = config.beta1 * m + (1 - config.beta1) * grad
        s = config.beta2 * s + (1 - config.beta2) * grad * grad
        vector = mixture - config.step_size * m / (np.sqrt(s) + config.eps)


def invert(expert_set: ExpertSet, targets, config: InversionConfig = InversionConfig(),
           start=None, record: str = "full", dtype=np.float32) -> InversionRecord:
    """Invert ``targets`` (N, T, D) in every expert.

    ``record="full"`` keeps every iteration's mixture weights, errors and reconstructions;
    ``record="errors"`` every iteration's mixture weights and errors but only the final
    reconstructions; ``record="final"`` only the final iteration (bulk evaluation).
    """
    if record not in ("full", "errors", "final"):
        raise ValueError(f"record must be 'full', 'errors' or 'final', got {record!r}")
    weights, errors, recons = [], [], []
    step = None
    for step in invert_steps(expert_set, targets, config, start, dtype):
        if record != "final":
            weights.append(step.mixture_weights)
            errors.append(step.errors)
        if record == "full":
            recons.append(step.reconstructions)
    if record == "final":
        weights, errors = [step.mixture_weights], [step.errors]
    if record != "full":
        recons = [step.reconstructions]
    return InversionRecord(
        class_names=expert_set.class_names,
        targets=_check_targets(expert_set, targets, dtype),
        mixture_weights=np.stack(weights, axis=2),
        errors=np.stack(errors, axis=2),
        reconstructions=np.stack(recons, axis=2),
        config=config,
    )
