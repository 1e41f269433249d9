"""The decision rule over all experts' inversions, as a scikit-learn-style estimator."""
from __future__ import annotations

import numpy as np

from mic_core.expert import ExpertSet
from mic_core.inversion import InversionConfig, invert
from mic_core.training import TrainConfig, train_experts


class MICClassifier:
    """Modular Inverse Classification: the class whose expert reconstructs best.

    ``fit(X, y)`` selects four types per class from (X, y) and trains one expert per
    class; ``from_experts`` wraps experts trained (or loaded) elsewhere. ``predict_proba``
    is a softmax of the negative final errors divided by ``temperature``: an ordering of
    the experts, not a calibrated probability.

    Fitted attributes: ``experts_`` (ExpertSet), ``classes_`` (class indices).
    """

    def __init__(self, train_config: TrainConfig = TrainConfig(),
                 inversion_config: InversionConfig = InversionConfig(),
                 temperature: float = 0.05, batch_size: int = 256):
        self.train_config = train_config
        self.inversion_config = inversion_config
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

    def final_errors(self, X) -> np.ndarray:
        """(n_ts, n_experts) final reconstruction error of every expert, in batches."""
        if not hasattr(self, "experts_"):
            raise ValueError("this MICClassifier is not fitted yet: call fit or from_experts")
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3:
            raise ValueError(f"X must have shape (n_ts, sz, d), got {X.shape}")
        chunks = [invert(self.experts_, X[i: i + self.batch_size], self.inversion_config,
                         record="final").final_errors
                  for i in range(0, len(X), self.batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.experts_.n_experts))

    def predict_proba(self, X) -> np.ndarray:
        scores = -self.final_errors(X) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.final_errors(X).argmin(axis=1)]

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
