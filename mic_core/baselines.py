"""Baselines of the paper (METHOD §5), with the same fit/predict contract as MICClassifier.

- ``NearestNeighbourMSE``: the class of the closest training sequence by mean squared error
  (fitted on the four types per class, it is the paper's NN baseline).
- ``NearestNeighbourDTW``: the same with dynamic time warping (tslearn).
- ``ForwardLSTMClassifier``: an LSTM read by a linear layer at the last step, trained with
  cross-entropy (200 cells: as many as all character experts together).
MIC with 0 iterations is ``MICClassifier(inversion_config=InversionConfig(iterations=0))``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tslearn.neighbors import KNeighborsTimeSeriesClassifier


def _check_X(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_ts, sz, d), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds NaN or infinite values")
    return X


class NearestNeighbourMSE:
    """1-nearest neighbour by mean squared error over all steps."""

    def fit(self, X, y) -> "NearestNeighbourMSE":
        self.X_ = _check_X(X)
        self.y_ = np.asarray(y)
        self.classes_ = np.unique(self.y_)
        return self

    def distances(self, X) -> np.ndarray:
        """(n_ts, n_train) mean squared error to every training sequence."""
        X = _check_X(X)
        flat, train = X.reshape(len(X), -1), self.X_.reshape(len(self.X_), -1)
        d = (flat ** 2).sum(1)[:, None] - 2 * flat @ train.T + (train ** 2).sum(1)[None, :]
        return np.maximum(d, 0.0) / flat.shape[1]

    def predict(self, X) -> np.ndarray:
        return self.y_[self.distances(X).argmin(axis=1)]

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


class NearestNeighbourDTW:
    """1-nearest neighbour by dynamic time warping (tslearn)."""

    def fit(self, X, y) -> "NearestNeighbourDTW":
        self.model_ = KNeighborsTimeSeriesClassifier(n_neighbors=1, metric="dtw")
        self.model_.fit(_check_X(X), np.asarray(y))
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X) -> np.ndarray:
        return self.model_.predict(_check_X(X))

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


class _ForwardLSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, n_classes: int):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x):  # (B, T, D) -> (B, n_classes)
        h, _ = self.lstm(x)
        return self.head(h[:, -1])


class ForwardLSTMClassifier:
    """A forward LSTM classifier trained with cross-entropy (Adam, seeded): full batch, or
    ``steps`` random minibatches of ``batch_size`` (for a whole training pool), with the
    gradient's norm clipped to ``max_grad_norm`` if given."""

    def __init__(self, hidden_size: int = 200, steps: int = 300, learning_rate: float = 0.01,
                 seed: int = 42, batch_size: int | None = None,
                 max_grad_norm: float | None = None):
        self.hidden_size = hidden_size
        self.max_grad_norm = max_grad_norm
        self.steps = steps
        self.learning_rate = learning_rate
        self.seed = seed
        self.batch_size = batch_size

    def fit(self, X, y) -> "ForwardLSTMClassifier":
        X = torch.from_numpy(_check_X(X))
        self.classes_, y_index = np.unique(np.asarray(y), return_inverse=True)
        target = torch.from_numpy(y_index.astype(np.int64))
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)
        self.model_ = _ForwardLSTM(X.shape[2], self.hidden_size, len(self.classes_))
        torch.random.set_rng_state(generator_state)  # leave the caller's generator alone
        optimiser = torch.optim.Adam(self.model_.parameters(), lr=self.learning_rate)
        rng = np.random.RandomState(self.seed)
        for _ in range(self.steps):
            batch = slice(None)
            if self.batch_size is not None and self.batch_size < len(X):
                batch = torch.from_numpy(rng.choice(len(X), self.batch_size, replace=False))
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(self.model_(X[batch]), target[batch])
            loss.backward()
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.model_.parameters(), self.max_grad_norm)
            optimiser.step()
        self.model_.eval()
        return self

    def predict_proba(self, X) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(self.model_(torch.from_numpy(_check_X(X))), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
