"""A scikit-learn classifier trained by network inversion on labelled + unlabelled data.

``InversionSSLClassifier.fit(X_labelled, y, X_unlabelled)`` trains a piecewise-linear network
with the loss of ``model.ssl_loss``; ``alpha=1`` gives the supervised-only network on the same
labels (the paper's baseline: the reconstruction and entropy terms vanish). ``predict``,
``predict_proba``, ``reconstruct`` ((∂f/∂x)ᵀ f(x)) and ``templates`` (A[x]_c) work on arrays
(n, *input_shape): (n, 28, 28) digits or (n, n_points, 2) pen trajectories.

Files: ``save``/``load`` write one ``.npz`` (weights, training curve, JSON header with the
format version and the configuration) atomically and read it with ``allow_pickle=False``.
"""
from __future__ import annotations

import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from mic_core.inversion_ssl.model import (REDUCTIONS, build_network, reconstruct, ssl_loss,
                                          templates)
from mic_core.persistence import atomic_write

FORMAT_VERSION = 1
FILE_KIND = "mic_studio/inversion_ssl"
CURVE_COLUMNS = ("step", "loss", "cross_entropy", "reconstruction", "entropy",
                 "validation_accuracy")
LR_SCHEDULES = ("constant", "cosine")
MAX_SAMPLES = 100_000  # one call's inputs: bounded, so a huge upload cannot exhaust memory



def check_options(alpha, beta, lr_schedule, reduction) -> None:
    """Refuse loss weights outside [0, 1] and unknown schedules or reductions, with the reason
    (shared by the estimator and the protocol's configuration)."""
    if not (0.0 <= alpha <= 1.0 and 0.0 <= beta <= 1.0):
        raise ValueError(f"alpha and beta must lie in [0, 1], got {alpha}, {beta}")
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {lr_schedule!r}; choose one of {LR_SCHEDULES}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")

class InversionSSLFileError(ValueError):
    """A file of an inversion network that cannot be used, with the reason."""


@dataclass(frozen=True)
class SSLProgress:
    """What a progress callback receives after each training step."""

    step: int
    steps: int
    seconds: float  # since training started
    loss: float  # this step's loss
    validation_accuracy: float | None = None  # at the latest evaluation, if any
    curve: np.ndarray | None = None  # the training curve so far, at evaluation steps only

    @property
    def fraction(self) -> float:
        return self.step / max(self.steps, 1)

    @property
    def seconds_left(self) -> float:
        return self.seconds / max(self.step, 1) * (self.steps - self.step)


def check_inputs(X, input_shape: tuple[int, ...] | None = None, what: str = "X") -> np.ndarray:
    """``X`` as float32 (n, *input_shape), or a ValueError that says what is wrong."""
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be an array of numbers: {exc}") from None
    if X.ndim != 3:
        raise ValueError(f"{what} must have shape (n_samples, a, b), e.g. (n, 28, 28) digits "
                         f"or (n, 100, 2) pen trajectories; got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{what} holds no samples")
    if len(X) > MAX_SAMPLES:
        raise ValueError(f"{what} holds {len(X)} samples; at most {MAX_SAMPLES} per call")
    if input_shape is not None and X.shape[1:] != tuple(input_shape):
        raise ValueError(f"{what} samples have shape {X.shape[1:]}, but the network takes "
                         f"{tuple(input_shape)}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what} holds NaN or infinite values")
    return X


class InversionSSLClassifier(ClassifierMixin, BaseEstimator):
    """Semi-supervised classification by network inversion (Balestriero et al.).

    Parameters
    ----------
    network : "auto" (``small_cnn`` for 28×28 inputs, else ``pen_cnn``), "small_cnn" or
        "pen_cnn".
    alpha, beta : the loss weights (``alpha=1``: supervised only).
    learning_rate : Adam's step size (constant).
    steps : Adam steps; each sees ``batch_labelled`` labelled samples (all of them if fewer)
        and ``batch_unlabelled`` unlabelled samples drawn with replacement.
    seed : initial weights and batches.
    eval_every : steps between the points of the training curve.
    keep_best : with validation samples given to ``fit``, end with the weights of the
        curve's point of highest validation accuracy (the number of steps chosen on
        validation; the first such point on ties) instead of the last step's.
    lr_schedule : "constant" (the paper's Adam) or "cosine" (the step size falls from
        ``learning_rate`` to 0 along a half cosine over ``steps``).
    reduction : the reconstruction error R over the input's elements in the loss: "mean"
        (mean squared error) or "sum" (the squared norm of the paper's eq. 8).
    """

    def __init__(self, network: str = "auto", alpha: float = 0.5, beta: float = 0.5,
                 learning_rate: float = 0.003, steps: int = 1000, batch_labelled: int = 64,
                 batch_unlabelled: int = 64, seed: int = 42, eval_every: int = 50,
                 keep_best: bool = False, lr_schedule: str = "constant",
                 reduction: str = "mean"):
        self.network = network
        self.alpha = alpha
        self.beta = beta
        self.learning_rate = learning_rate
        self.steps = steps
        self.batch_labelled = batch_labelled
        self.batch_unlabelled = batch_unlabelled
        self.seed = seed
        self.eval_every = eval_every
        self.keep_best = keep_best
        self.lr_schedule = lr_schedule
        self.reduction = reduction

    # --- training ------------------------------------------------------------------------

    def _network_name(self, input_shape) -> str:
        if self.network != "auto":
            return self.network
        return "small_cnn" if tuple(input_shape) == (28, 28) else "pen_cnn"

    def fit(self, X, y, X_unlabelled=None, X_validation=None, y_validation=None,
            progress: Callable[[SSLProgress], None] | None = None):
        """Train on labelled ``X`` (n_L, ...), ``y`` (n_L,) and optional unlabelled samples.

        ``X_validation``/``y_validation`` (never the test set) give the validation accuracy
        on the training curve. ``progress`` is called after every step; it may raise to stop.
        """
        check_options(self.alpha, self.beta, self.lr_schedule, self.reduction)
        if self.steps < 1 or self.learning_rate <= 0 or self.eval_every < 1:
            raise ValueError("steps and eval_every must be at least 1 and learning_rate "
                             "positive")
        X = check_inputs(X, what="X_labelled")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},), got {y.shape}")
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("the labelled samples must cover at least two classes")
        self.input_shape_ = X.shape[1:]
        semi = self.alpha < 1.0
        if X_unlabelled is not None and len(X_unlabelled) and semi:
            X_u = check_inputs(X_unlabelled, self.input_shape_, "X_unlabelled")
        else:
            X_u = np.zeros((0, *self.input_shape_), dtype=np.float32)
        validation = None
        if X_validation is not None:
            X_v = check_inputs(X_validation, self.input_shape_, "X_validation")
            validation = (torch.from_numpy(X_v), np.asarray(y_validation))

        rng = np.random.RandomState(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.network_ = build_network(self._network_name(self.input_shape_),
                                          len(self.classes_), self.input_shape_)
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate)
        scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, self.steps)
                     if self.lr_schedule == "cosine" else None)
        best = (-1.0, 0, None)  # validation accuracy, step, weights
        X_l, y_l = torch.from_numpy(X), torch.from_numpy(y_index.astype(np.int64))
        X_u = torch.from_numpy(X_u)
        n_l = min(self.batch_labelled, len(X))
        curve, window, val_accuracy = [], [], None
        start = time.perf_counter()
        self.network_.train()
        for step in range(1, self.steps + 1):
            chosen = torch.from_numpy(rng.choice(len(X), n_l, replace=False))
            x, target = X_l[chosen], y_l[chosen]
            if semi and len(X_u):
                extra = torch.from_numpy(rng.randint(0, len(X_u), self.batch_unlabelled))
                x = torch.cat([x, X_u[extra]])
                target = torch.cat([target, torch.full((len(extra),), -1, dtype=torch.int64)])
            if semi:
                logits, rec = reconstruct(self.network_, x, create_graph=True)
            else:
                logits, rec = self.network_(x), None
            loss, terms = ssl_loss(logits, target, x, rec, self.alpha, self.beta,
                                   self.reduction)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if scheduler is not None:
                scheduler.step()
            window.append((terms.total, terms.cross_entropy, terms.reconstruction,
                           terms.entropy))
            if step % self.eval_every == 0 or step == self.steps:
                if validation is not None:
                    val_accuracy = float(np.mean(self._predict_index(validation[0])
                                                 == np.searchsorted(self.classes_,
                                                                    validation[1])))
                    if val_accuracy > best[0]:
                        best = (val_accuracy, step, {k: v.detach().clone() for k, v in
                                                     self.network_.state_dict().items()})
                values = np.array(window, dtype=np.float64)
                seen = ~np.isnan(values)
                means = np.where(seen.any(0), np.where(seen, values, 0).sum(0)
                                 / np.maximum(seen.sum(0), 1), np.nan)
                curve.append((step, *means, np.nan if val_accuracy is None else val_accuracy))
                window = []
            if progress is not None:
                progress(SSLProgress(step, self.steps, time.perf_counter() - start,
                                     terms.total, val_accuracy,
                                     np.array(curve) if window == [] else None))
        self.best_step_, self.best_validation_accuracy_ = self.steps, val_accuracy
        if self.keep_best and best[2] is not None:
            self.network_.load_state_dict(best[2])
            self.best_validation_accuracy_, self.best_step_ = best[0], best[1]
        self.network_.eval()
        self.fit_seconds_ = time.perf_counter() - start
        self.curve_ = np.array(curve, dtype=np.float64).reshape(-1, len(CURVE_COLUMNS))
        return self

    # --- inference -----------------------------------------------------------------------

    def _predict_index(self, X: torch.Tensor, batch: int = 1024) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([self.network_(X[i: i + batch]).argmax(1).numpy()
                                   for i in range(0, len(X), batch)])

    def _inputs(self, X) -> torch.Tensor:
        check_is_fitted(self, "network_")
        X = check_inputs(X, self.input_shape_)
        return torch.from_numpy(X if X.flags.writeable else X.copy())

    def decision_function(self, X) -> np.ndarray:
        """The logits f(x): (n, C)."""
        X = self._inputs(X)
        with torch.no_grad():
            return np.concatenate([self.network_(X[i: i + 1024]).numpy()
                                   for i in range(0, len(X), 1024)])

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the logits): (n, C), columns ``classes_``."""
        logits = torch.from_numpy(self.decision_function(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """The class of each sample (values of ``classes_``)."""
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    def reconstruct(self, X) -> np.ndarray:
        """The reconstruction (∂f/∂x)ᵀ f(x) of each sample: (n, *input_shape)."""
        X = self._inputs(X)
        return np.concatenate([reconstruct(self.network_, X[i: i + 512])[1].numpy()
                               for i in range(0, len(X), 512)])

    def reconstruction_errors(self, X) -> np.ndarray:
        """R(x): the mean squared difference between x̂ and x, per sample (n,)."""
        X = check_inputs(X, getattr(self, "input_shape_", None))
        return ((self.reconstruct(X) - X) ** 2).reshape(len(X), -1).mean(axis=1)

    def templates(self, X) -> np.ndarray:
        """The per-class templates A[x]_c = ∂f_c/∂x: (n, C, *input_shape)."""
        X = self._inputs(X)
        if len(X) > 1000:
            raise ValueError(f"templates of {len(X)} samples at once: at most 1000")
        return templates(self.network_, X).numpy()

    # --- files ---------------------------------------------------------------------------

    def save(self, path: Path, header: dict | None = None) -> Path:
        """Write the trained network atomically to ``path`` (.npz); ``header`` (JSON-ready)
        is stored beside the estimator's parameters and checked by ``load``."""
        check_is_fitted(self, "network_")
        meta = {"kind": FILE_KIND, "format_version": FORMAT_VERSION,
                "params": self.get_params(), "network": self._network_name(self.input_shape_),
                "input_shape": list(self.input_shape_), "fit_seconds": self.fit_seconds_,
                "best_step": int(getattr(self, "best_step_", self.steps)),
                **(header or {})}
        arrays = {f"w:{name}": value.detach().numpy()
                  for name, value in self.network_.state_dict().items()}
        return atomic_write(path, lambda f: np.savez(
            f, header=np.array(json.dumps(meta, sort_keys=True)), classes=self.classes_,
            curve=self.curve_, **arrays))

    @classmethod
    def load(cls, path: Path, header: dict | None = None) -> "InversionSSLClassifier":
        """Read a file written by ``save``; every key of ``header`` must match the file's."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                contents = {name: f[name] for name in f.files}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
            raise InversionSSLFileError(f"{path.name} is not a readable network file "
                                        f"(truncated, corrupt or needing pickle): {exc}") from None
        try:
            meta = json.loads(str(contents["header"]))
            if not isinstance(meta, dict) or meta.get("kind") != FILE_KIND:
                raise KeyError("kind")
            params, network = meta["params"], meta["network"]
            input_shape = tuple(meta["input_shape"])
            classes = contents["classes"]
            curve = contents["curve"]
        except (KeyError, ValueError, TypeError) as exc:
            raise InversionSSLFileError(f"{path.name} is not an inversion network file "
                                        f"(missing or unreadable {exc})") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise InversionSSLFileError(f"{path.name} has format version "
                                        f"{meta.get('format_version')}, expected "
                                        f"{FORMAT_VERSION}")
        for key, value in (header or {}).items():
            if meta.get(key) != value:
                raise InversionSSLFileError(f"{path.name} was made with another {key}: "
                                            f"{meta.get(key)} instead of {value}")
        try:
            model = cls(**params)
            net = build_network(network, len(classes), input_shape)
            state = {name[2:]: torch.from_numpy(np.asarray(value))
                     for name, value in contents.items() if name.startswith("w:")}
            net.load_state_dict(state, strict=True)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InversionSSLFileError(f"{path.name} holds an inconsistent network: "
                                        f"{str(exc)[:300]}") from None
        net.eval()
        model.network_, model.classes_, model.input_shape_ = net, classes, input_shape
        model.curve_, model.fit_seconds_ = curve, float(meta.get("fit_seconds", float("nan")))
        model.best_step_ = int(meta.get("best_step", params.get("steps", 0)))
        model.header_ = meta
        return model
