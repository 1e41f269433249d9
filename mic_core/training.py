"""Training all experts of a data set together, each on its own four types (METHOD §2).

Type k of expert e is the one-hot vector e_k at the first step (with optional input noise,
clipped to [0, 1]); the target is the type's sequence (with optional output noise). Every
step is one full batch: all experts, all four types, in one call of the fused kernel, then
Adam on the stacked weights.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from mic_core import kernels
from mic_core.expert import ExpertConfig, ExpertSet
from mic_core.type_selection import select_types


@dataclass(frozen=True)
class TrainConfig:
    """How the experts are trained (with the DataConfig, their persistence key)."""

    selection: str = "clustered"  # how the four types are chosen: "clustered" or "random"
    seed: int = 42  # types (random/k-means), initial weights and noise
    noise_in: float = 0.1  # std of Gaussian noise on the one-hot input (clipped to [0, 1])
    noise_out: float = 0.0  # std of Gaussian noise on the target sequence
    hidden_size: int = 10  # LSTM cells per expert
    cluster_metric: str = "dtw"  # k-means metric for "clustered": "dtw" or "euclidean"
    steps: int = 14000  # full-batch Adam steps
    learning_rate: float = 0.02  # Adam step size, decayed to a tenth by a cosine schedule
    max_grad_norm: float = 1.0  # each expert's gradient is clipped to this norm


def default_train_config(dataset: str, **overrides) -> TrainConfig:
    """The defaults of METHOD §2/§4 for ``dataset`` ("characters" or "mnist").

    >>> config = default_train_config("mnist", seed=142)
    >>> config.hidden_size, config.cluster_metric, config.seed, config.steps
    (20, 'euclidean', 142, 14000)
    """
    if dataset == "mnist":
        overrides = {"hidden_size": 20, "cluster_metric": "euclidean", **overrides}
    return replace(TrainConfig(), **overrides)


@dataclass(frozen=True)
class TrainProgress:
    """What a progress callback receives."""

    step: int
    steps: int
    loss: float  # mean training loss over experts at this step
    seconds: float  # since training started

    @property
    def seconds_left(self) -> float:
        """Time left at the pace so far.

        >>> TrainProgress(step=250, steps=1000, loss=0.1, seconds=10.0).seconds_left
        30.0
        """
        return self.seconds / max(self.step, 1) * (self.steps - self.step)


def _init_weights(config: ExpertConfig, n_experts: int, rng: np.random.RandomState):
    """PyTorch's default LSTM/Linear initialisation: U(-1/sqrt(H), 1/sqrt(H))."""
    H, K, D = config.hidden_size, config.n_types, config.output_size
    bound = 1.0 / np.sqrt(H)

    def uniform(*shape):
        return rng.uniform(-bound, bound, size=(n_experts, *shape)).astype(np.float32)

    # b_ih + b_hh: the sum of two uniforms, as in nn.LSTM
    return [uniform(4 * H, K), uniform(H, 4 * H), uniform(4 * H) + uniform(4 * H),
            uniform(D, H), uniform(D)]


def _clip_per_expert(grads, max_norm):
    """Scale each expert's gradient down to norm ``max_norm`` (rare spikes of the LSTM)."""
    norms = np.sqrt(sum((g.reshape(len(g), -1) ** 2).sum(axis=1) for g in grads))
    scale = np.minimum(1.0, max_norm / np.maximum(norms, 1e-12))
    for g in grads:
        g *= scale.reshape(-1, *([1] * (g.ndim - 1)))


def _adam(params, grads, moments, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    for p, g, (m, v) in zip(params, grads, moments):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        p -= lr * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps)


def type_errors(expert_set: ExpertSet) -> np.ndarray:
    """(E, K) MSE of every expert on each of its types, given the exact one-hot input."""
    return ((expert_set.generate_types() - expert_set.types) ** 2).mean(axis=(2, 3))


def train_experts(X: np.ndarray, y: np.ndarray, class_names, config: TrainConfig,
                  progress: Callable[[TrainProgress], None] | None = None,
                  progress_every: int = 50) -> ExpertSet:
    """Select the four types of every class from the training pool ``X`` (n_ts, sz, d),
    ``y`` (n_ts,) and train one expert per class on them.

    Returns an ExpertSet whose ``training_curve`` holds the per-expert loss every
    ``progress_every`` steps. Deterministic for a given config.
    """
    types = select_types(X, y, len(class_names), config.selection, config.seed,
                         metric=config.cluster_metric)
    return train_on_types(types, class_names, config, progress, progress_every)


def train_on_types(types: np.ndarray, class_names, config: TrainConfig,
                   progress: Callable[[TrainProgress], None] | None = None,
                   progress_every: int = 50) -> ExpertSet:
    """Train one expert per class on given ``types`` (E, K, sz, d): K types per expert
    (four in the protocol; the learning curve uses 8 and 16); see ``train_experts``."""
    expert_config = ExpertConfig(n_types=types.shape[1], hidden_size=config.hidden_size,
                                 output_size=types.shape[3])
    E, K = len(class_names), expert_config.n_types
    rng = np.random.RandomState(config.seed)
    params = _init_weights(expert_config, E, rng)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    grads = [np.empty_like(p) for p in params]
    one_hot = np.ascontiguousarray(np.broadcast_to(np.eye(K, dtype=np.float32), (E, K, K)))
    clean_targets = np.ascontiguousarray(types, dtype=np.float32)
    curve = []
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        # noisy inputs and targets, fresh every step
        inputs, targets = one_hot, clean_targets
        if config.noise_in > 0:
            noise = config.noise_in * rng.randn(E, K, K)
            inputs = np.clip(one_hot + noise, 0.0, 1.0).astype(np.float32)
        if config.noise_out > 0:
            noise = config.noise_out * rng.randn(*clean_targets.shape)
            targets = (clean_targets + noise).astype(np.float32)
        # forward, backprop and update the parameters (all float32: the fast kernels)
        losses = kernels.loss_and_weight_grads(*params, inputs, targets, *grads)
        _clip_per_expert(grads, config.max_grad_norm)
        lr = config.learning_rate * (0.55 + 0.45 * float(np.cos(np.pi * step / config.steps)))
        _adam(params, grads, moments, step, lr)
        if step % progress_every == 0 or step == config.steps:
            curve.append(losses.copy())
            if progress is not None:
                progress(TrainProgress(step, config.steps, float(losses.mean()),
                                       time.perf_counter() - start))
    w_ih, w_hh_t, bias, w_out, b_out = params
    return ExpertSet(config=expert_config, class_names=tuple(class_names), w_ih=w_ih,
                     w_hh=np.ascontiguousarray(np.swapaxes(w_hh_t, 1, 2)), bias=bias,
                     w_out=w_out, b_out=b_out, types=types,
                     training_curve=np.asarray(curve, dtype=np.float32))
