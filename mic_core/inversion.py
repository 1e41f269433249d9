"""Inversion: every expert (weights frozen) searches for the input vector that best
reconstructs a target (METHOD §3).

For a batch of N targets and all E experts at once, each iteration
  1. projects every input vector onto the probability simplex: the *mixture weights*;
  2. runs the experts (fused kernel), measures the reconstruction error (MSE) and its
     gradient with respect to the mixture weights;
  3. takes an Adam-like step (no bias correction, as the original code) on the vector, or
     (``optimiser="exponentiated"``) an exponentiated-gradient step (mirror descent on the
     simplex, v <- v * exp(-step_size * g) / sum), which stays on the simplex by itself.
Iteration 0 is the start vector (uniform by default); after the last step the vector is
projected once more and the final error is that of the projected vector.

With ``starts="uniform+corners"`` every expert starts S = 1 + K times: from the uniform
vector and from each type's corner e_k. The starts are stacked into the batch dimension of
the one kernel call (no Python loop over starts), and per (target, expert) the start with the
lowest final error is kept. Note that the exponentiated step cannot leave a corner (a zero
weight stays zero): there a corner start is the corner's own error, kept if it is best.

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
STARTS = ("uniform", "uniform+corners")
OPTIMISERS = ("adam", "exponentiated")
# each optimiser's default step size: adam's is the original code's; the exponentiated step's
# is the best of 0.1, 0.3, 1 on the letters' validation split (benchmarks/inversion_choices.py)
STEP_SIZES = {"adam": 0.05, "exponentiated": 1.0}


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
    starts: str = "uniform"  # "uniform": one start; "uniform+corners": also each type's
    #                          corner e_k, keeping per (target, expert) the best final error
    optimiser: str = "adam"  # "adam": the Adam-like step; "exponentiated": exponentiated
    #                          gradient (mirror descent on the simplex), step_size is its eta

    def __post_init__(self):
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"unknown projection {self.projection!r}; choose one of "
                             f"{PROJECTIONS}")
        if self.starts not in STARTS:
            raise ValueError(f"unknown starts {self.starts!r}; choose one of {STARTS}")
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"unknown optimiser {self.optimiser!r}; choose one of "
                             f"{OPTIMISERS}")
        if not (np.isfinite(self.step_size) and self.step_size > 0):
            raise ValueError(f"step_size must be a positive number, got {self.step_size}")

    def n_starts(self, n_types: int) -> int:
        """How many starts every expert makes: 1, or 1 + n_types with corners."""
        return 1 if self.starts == "uniform" else 1 + n_types

    @classmethod
    def with_options(cls, starts: str = "uniform", optimiser: str = "adam",
                     **fields) -> "InversionConfig":
        """The inversion with these starts and optimiser, at the optimiser's default step
        size (``STEP_SIZES``) unless ``step_size`` is given.

        >>> InversionConfig.with_options("uniform+corners", "exponentiated").step_size
        1.0
        """
        if optimiser not in OPTIMISERS:
            raise ValueError(f"unknown optimiser {optimiser!r}; choose one of {OPTIMISERS}")
        fields.setdefault("step_size", STEP_SIZES[optimiser])
        return cls(starts=starts, optimiser=optimiser, **fields)


def start_names(n_starts: int) -> list[str]:
    """The names of the starts of a record with ``n_starts`` starts (start 0 the uniform
    vector, start 1 + k the corner of type k).

    >>> start_names(3)
    ['uniform', 'type 1', 'type 2']
    """
    return ["uniform"] + [f"type {k}" for k in range(1, n_starts)]


@dataclass(frozen=True)
class InversionStep:
    """One iteration for all targets and experts."""

    iteration: int
    mixture_weights: np.ndarray  # (N, E, K)
    errors: np.ndarray  # (N, E)
    reconstructions: np.ndarray  # (N, E, T, D)
    # with several starts: the start whose error is lowest at this iteration is shown above;
    # every start's mixture weights (N, E, S, K) and errors (N, E, S) are here
    start_mixture_weights: np.ndarray | None = None
    start_errors: np.ndarray | None = None


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
    # with several starts (config.starts != "uniform"), the arrays above follow the winning
    # start of every (target, expert); start_index (N, E) says which start won (0 = uniform,
    # 1 + k = corner of type k), start_errors (N, E, S, I+1) and start_mixture_weights
    # (N, E, S, I+1, K) hold every start's path (its reconstructions: ExpertSet.generate)
    start_index: np.ndarray | None = None
    start_errors: np.ndarray | None = None
    start_mixture_weights: np.ndarray | None = None

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
    u = np.sort(v, axis=-1)[..., ::-1]
    css = np.cumsum(u, axis=-1) - 1.0
    ranks = np.arange(1, K + 1)
    rho = np.count_nonzero(u - css / ranks > 0, axis=-1)[..., None]  # >= 1 always
    # css[..., rho - 1] per vector (plain indexing: take_along_axis costs more than the
    # arithmetic here, on the one-drawing path of 50 iterations)
    rows = css.reshape(-1, K)
    theta = rows[np.arange(len(rows)), rho.reshape(-1) - 1].reshape(rho.shape) / rho
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


def _start_vectors(expert_set: ExpertSet, n_targets: int, start, dtype,
                   config: InversionConfig = InversionConfig()) -> np.ndarray:
    """(S, N, E, K): the uniform vector (or ``start``), then with corners each e_k."""
    E, K = expert_set.n_experts, expert_set.config.n_types
    if start is None:
        first = np.full((n_targets, E, K), 1.0 / K, dtype=dtype)
    else:
        start = np.asarray(start, dtype=dtype)
        try:
            first = np.broadcast_to(start, (n_targets, E, K))
        except ValueError:
            raise ValueError(f"start must broadcast to ({n_targets}, {E}, {K}), "
                             f"got {start.shape}") from None
    starts = [first]
    if config.starts == "uniform+corners":
        starts += [np.broadcast_to(corner, (n_targets, E, K))
                   for corner in np.eye(K, dtype=dtype)]
    return np.ascontiguousarray(np.stack(starts))


def exponentiated_step(mixture: np.ndarray, grad: np.ndarray, step_size: float) -> np.ndarray:
    """One exponentiated-gradient step (mirror descent with the entropy on the simplex):
    ``mixture * exp(-step_size * grad)``, divided by its sum, along the last axis. Zero
    weights stay zero; the result lies on the simplex without any projection.

    >>> exponentiated_step(np.array([0.5, 0.5]), np.array([0.0, np.log(3.0)]), 1.0).round(6).tolist()
    [0.75, 0.25]
    """
    with np.errstate(divide="ignore"):
        log_weights = np.where(mixture > 0, np.log(np.maximum(mixture, 0)) - step_size * grad,
                               -np.inf)
    log_weights = log_weights - log_weights.max(axis=-1, keepdims=True)
    weights = np.exp(log_weights)
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(mixture.dtype, copy=False)


def _iterate(expert_set: ExpertSet, targets: np.ndarray, config: InversionConfig, start,
             dtype, all_reconstructions: bool = True):
    """Yield (iteration, mixture (S, N, E, K), errors (S, N, E), reconstructions
    (S, N, E, T, D)) for every start at once: the S starts are stacked into the batch
    dimension of one kernel call per iteration. Without ``all_reconstructions`` only the
    last iteration's are computed (the others are None): bulk evaluation then neither
    allocates nor writes them."""
    N, E = len(targets), expert_set.n_experts
    K, D, T = expert_set.config.n_types, expert_set.config.output_size, expert_set.n_steps
    project = project_to_simplex if config.projection == "simplex" else clip_and_normalise
    weights = expert_set.kernel_weights(dtype)
    starts = _start_vectors(expert_set, N, start, dtype, config)
    S = len(starts)
    vector = starts.reshape(S * N, E, K)
    stacked_targets = np.ascontiguousarray(np.tile(targets, (S, 1, 1))) if S > 1 else targets
    m = np.zeros_like(vector)  # Adam-like moments
    s = np.zeros_like(vector)
    exponentiated = config.optimiser == "exponentiated"
    for iteration in range(config.iterations + 1):
        # project (the exponentiated step stays on the simplex: only its start is
        # projected), reconstruct, measure the error and its gradient
        if exponentiated and iteration > 0:
            mixture = np.ascontiguousarray(vector, dtype=dtype)
        else:
            mixture = np.ascontiguousarray(project(vector), dtype=dtype)
        keep = all_reconstructions or iteration == config.iterations
        recon = np.empty((S * N if keep else 0, E, T, D), dtype=dtype)
        errors = np.empty((S * N, E), dtype=dtype)
        grad = np.empty((S * N, E, K), dtype=dtype)
        kernels.error_and_input_grad(*weights, mixture, stacked_targets, recon, errors, grad)
        yield (iteration, mixture.reshape(S, N, E, K), errors.reshape(S, N, E),
               recon.reshape(S, N, E, T, D) if keep else None)
        if exponentiated:
            vector = exponentiated_step(mixture, grad, config.step_size)
        else:  # the Adam-like step, taken from the projected vector
            m = config.beta1 * m + (1 - config.beta1) * grad
            s = config.beta2 * s + (1 - config.beta2) * grad * grad
            vector = mixture - config.step_size * m / (np.sqrt(s) + config.eps)


def _pick(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """array (S, N, E, ...) -> (N, E, ...): the start ``index`` (N, E) of each."""
    if len(array) == 1:  # one start
        return array[0]
    index = index.reshape(1, *index.shape, *([1] * (array.ndim - 3)))
    return np.take_along_axis(array, index, axis=0)[0]


def invert_steps(expert_set: ExpertSet, targets, config: InversionConfig = InversionConfig(),
                 start=None, dtype=np.float32) -> Iterator[InversionStep]:
    """Yield iterations 0..config.iterations of the inversion of ``targets`` (N, T, D).

    ``start``: the start vector, (K,) or anything that broadcasts to (N, E, K); uniform
    if None (with ``config.starts="uniform+corners"`` the corners are added to it).
    ``dtype``: float32 (fast) or float64 (for comparisons). Each yielded step owns its
    arrays; with several starts it shows, per (target, expert), the start whose error is
    lowest at that iteration, and carries every start's mixture weights and errors.
    """
    targets = _check_targets(expert_set, targets, dtype)
    for iteration, mixture, errors, recon in _iterate(expert_set, targets, config, start,
                                                      dtype):
        if len(mixture) == 1:
            yield InversionStep(iteration, mixture[0], errors[0], recon[0])
            continue
        best = errors.argmin(axis=0)
        yield InversionStep(iteration, _pick(mixture, best), _pick(errors, best),
                            _pick(recon, best),
                            start_mixture_weights=np.moveaxis(mixture, 0, 2).copy(),
                            start_errors=np.moveaxis(errors, 0, 2).copy())


def invert(expert_set: ExpertSet, targets, config: InversionConfig = InversionConfig(),
           start=None, record: str = "full", dtype=np.float32) -> InversionRecord:
    """Invert ``targets`` (N, T, D) in every expert.

    ``record="full"`` keeps every iteration's mixture weights, errors and reconstructions;
    ``record="errors"`` every iteration's mixture weights and errors but only the final
    reconstructions; ``record="final"`` only the final iteration (bulk evaluation).
    With several starts (``config.starts``), the record follows the start with the lowest
    final error of every (target, expert) and names it (``start_index``); "full" and
    "errors" records also keep every start's mixture weights and errors per iteration.
    """
    if record not in ("full", "errors", "final"):
        raise ValueError(f"record must be 'full', 'errors' or 'final', got {record!r}")
    targets = _check_targets(expert_set, targets, dtype)
    weights, errors, recons = [], [], []
    step = None
    for step in _iterate(expert_set, targets, config, start, dtype,
                         all_reconstructions=record == "full"):
        _, mixture, error, recon = step
        if record != "final":
            weights.append(mixture)
            errors.append(error)
        if record == "full":
            recons.append(recon)
    _, mixture, error, recon = step
    if record == "final":
        weights, errors = [mixture], [error]
    if record != "full":
        recons = [recon]
    weights = np.stack(weights, axis=3)  # (S, N, E, I+1, K)
    errors = np.stack(errors, axis=3)  # (S, N, E, I+1)
    recons = np.stack(recons, axis=3)  # (S, N, E, I+1 or 1, T, D)
    several = len(weights) > 1
    best = errors[..., -1].argmin(axis=0)  # (N, E); ties go to the first (uniform) start
    return InversionRecord(
        class_names=expert_set.class_names,
        targets=targets,
        mixture_weights=_pick(weights, best),
        errors=_pick(errors, best),
        reconstructions=_pick(recons, best),
        config=config,
        start_index=best if several else None,
        start_errors=np.moveaxis(errors, 0, 2) if several and record != "final" else None,
        start_mixture_weights=np.moveaxis(weights, 0, 2) if several and record != "final"
        else None,
    )
