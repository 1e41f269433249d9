"""The decision rule over all experts' inversions, and the scikit-learn-style classifier.

The plain rule (METHOD §3): the expert with the lowest final reconstruction error wins.
With *free ends* (pen trajectories only), an expert's error is the lowest over crops of its
final reconstruction that drop up to a quarter of the path at either end, each crop
re-normalised like a drawing and its error weighted by ``1 + penalty * (cut fraction)``:
people draw a single letter without the connecting lead-in and lead-out strokes that the
data set's cursive samples carry, and a plain comparison point by point then misreads it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mic_core.data import Standardiser, normalise_shape
from mic_core.expert import ExpertSet
from mic_core.inversion import InversionConfig, InversionRecord, invert
from mic_core.training import TrainConfig, train_experts


@dataclass(frozen=True)
class DecisionRule:
    """How the experts' inversions are compared."""

    free_ends: bool = True  # pen trajectories: let a target leave out its connecting strokes
    cut_fractions: tuple = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)  # cut at each end, of the path
    penalty: float = 4.0  # a crop's error is multiplied by 1 + penalty * (start + end cut)


def _crop(reconstructions: np.ndarray, start: float, end: float) -> np.ndarray:
    """(N, E, T, d) -> the part from ``start`` to ``1 - end`` of each sequence, resampled to
    T steps (the experts' output is close to evenly spaced along the path)."""
    T = reconstructions.shape[2]
    where = np.linspace(start * (T - 1), (1 - end) * (T - 1), T)
    lo = np.floor(where).astype(int)
    hi = np.minimum(lo + 1, T - 1)
    w = (where - lo)[:, None]
    return reconstructions[:, :, lo] * (1 - w) + reconstructions[:, :, hi] * w


def free_end_errors(reconstructions: np.ndarray, targets: np.ndarray,
                    standardiser: Standardiser, rule: DecisionRule = DecisionRule()):
    """(N, E) lowest weighted error over crops of every reconstruction (N, E, T, 2) against
    its target (N, T, 2), both in standardised units."""
    raw = standardiser.inverse(reconstructions.astype(np.float64))
    best = np.full(reconstructions.shape[:2], np.inf)
    for start in rule.cut_fractions:
        for end in rule.cut_fractions:
            crop = raw if start == end == 0 else _crop(raw, start, end)
            shape = normalise_shape(crop)
            error = ((standardiser.transform(shape) - targets[:, None]) ** 2).mean(axis=(2, 3))
            best = np.minimum(best, error * (1 + rule.penalty * (start + end)))
    return best


def decision_errors(record: InversionRecord, standardiser: Standardiser | None = None,
                    rule: DecisionRule = DecisionRule()) -> np.ndarray:
    """(N, E) the errors that decide: the final errors, or free-end errors for pen
    trajectories (when ``rule.free_ends`` and a ``standardiser`` is given)."""
    if not rule.free_ends or standardiser is None:
        return record.final_errors
    return free_end_errors(record.reconstructions[:, :, -1], record.targets, standardiser, rule)


class MICClassifier:
    """Modular Inverse Classification: the class whose expert reconstructs best.

    ``fit(X, y)`` selects four types per class from (X, y) and trains one expert per
    class; ``from_experts`` wraps experts trained (or loaded) elsewhere. ``predict_proba``
    is a softmax of the negative final errors divided by ``temperature``: an ordering of
    the experts, not a calibrated probability. With a ``standardiser`` (pen trajectories),
    ``decision_rule`` may let targets leave out their connecting strokes.

    Fitted attributes: ``experts_`` (ExpertSet), ``classes_`` (class indices).
    """

    def __init__(self, train_config: TrainConfig = TrainConfig(),
                 inversion_config: InversionConfig = InversionConfig(),
                 decision_rule: DecisionRule = DecisionRule(),
                 standardiser: Standardiser | None = None,
                 temperature: float = 0.05, batch_size: int = 256):
        self.train_config = train_config
        self.inversion_config = inversion_config
        self.decision_rule = decision_rule
        self.standardiser = standardiser
        self.temperature = temperature
        self.batch_size = batch_size

    def fit(self, X, y, class_names=None, progress=None) -> "MICClassifier":
        X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
        classes = np.unique(y)
        if not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError("labels must be the class indices 0..n_classes-1")
        names = class_names or [str(c) for c in classes]
        self.experts_ = train_experts(X, y, names, self.train_config, progress)
        self.classes_ = classes
        return self

    @classmethod
    def from_experts(cls, experts: ExpertSet, **params) -> "MICClassifier":
        model = cls(**params)
        model.experts_ = experts
        model.classes_ = np.arange(experts.n_experts)
        return model

    def final_errors(self, X, progress=None) -> np.ndarray:
        """(n_ts, n_experts) the deciding error of every expert (``decision_errors``), in
        batches; ``progress(done, total)`` after each batch."""
        return self.inversion_errors(X, progress)[1]

    def inversion_errors(self, X, progress=None) -> tuple[np.ndarray, np.ndarray]:
        """(reconstruction errors, deciding errors), each (n_ts, n_experts): the plain final
        error of every expert's reconstruction, and the error that decides."""
        if not hasattr(self, "experts_"):
            raise ValueError("this MICClassifier is not fitted yet: call fit or from_experts")
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3:
            raise ValueError(f"X must have shape (n_ts, sz, d), got {X.shape}")
        plain, deciding = [], []
        for i in range(0, len(X), self.batch_size):
            record = invert(self.experts_, X[i: i + self.batch_size], self.inversion_config,
                            record="final")
            plain.append(record.final_errors)
            deciding.append(decision_errors(record, self.standardiser, self.decision_rule))
            if progress is not None:
                progress(min(i + self.batch_size, len(X)), len(X))
        if not plain:
            empty = np.zeros((0, self.experts_.n_experts))
            return empty, empty
        return np.concatenate(plain), np.concatenate(deciding)

    def predict_proba(self, X) -> np.ndarray:
        scores = -self.final_errors(X) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        errors = self.final_errors(X)
        return self.classes_[errors.argmin(axis=1)]

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
