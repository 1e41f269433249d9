"""Baselines of the paper (METHOD §5): scikit-learn classifiers (``BaseEstimator`` and
``ClassifierMixin``: ``get_params``, ``clone``, ``score`` from the library) of time series of
fixed shape (n_ts, sz, d), like ``MICClassifier``.

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
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn
from tslearn.neighbors import KNeighborsTimeSeriesClassifier

from mic_core.time_series import check_time_series


class NearestNeighbourMSE(ClassifierMixin, BaseEstimator):
    """1-nearest neighbour by mean squared error over all steps."""

    def fit(self, X, y) -> "NearestNeighbourMSE":
        self.X_, y = check_time_series(self, X, y, reset=True)
        self.classes_, self.y_ = np.unique(y, return_inverse=True)
        return self

    def distances(self, X) -> np.ndarray:
        """(n_ts, n_train) mean squared error to every training sequence."""
        check_is_fitted(self, "X_")
        X = check_time_series(self, X)
        if X.shape[2] != self.X_.shape[2]:
            raise ValueError(f"X has {X.shape[2]} values per step, the training series "
                             f"{self.X_.shape[2]}")
        flat = X.reshape(len(X), -1).astype(np.float64)
        train = self.X_.reshape(len(self.X_), -1).astype(np.float64)
        d = (flat ** 2).sum(1)[:, None] - 2 * flat @ train.T + (train ** 2).sum(1)[None, :]
        return np.maximum(d, 0.0) / flat.shape[1]

    def predict(self, X) -> np.ndarray:
        nearest = self.distances(X).argmin(axis=1)
        return self.classes_[self.y_[nearest]]


class NearestNeighbourDTW(ClassifierMixin, BaseEstimator):
    """1-nearest neighbour by dynamic time warping (tslearn)."""

    def fit(self, X, y) -> "NearestNeighbourDTW":
        X, y = check_time_series(self, X, y, reset=True)
        self.model_ = KNeighborsTimeSeriesClassifier(n_neighbors=1, metric="dtw")
        self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict(check_time_series(self, X))


class _ForwardLSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, n_classes: int):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x):  # (B, T, D) -> (B, n_classes)
        h, _ = self.lstm(x)
        return self.head(h[:, -1])


class ForwardLSTMClassifier(ClassifierMixin, BaseEstimator):
    """A forward LSTM classifier trained with cross-entropy (Adam, seeded): full batch, or
    ``steps`` random minibatches of ``batch_size`` (for a whole training pool), with the
    gradient's norm clipped to ``max_grad_norm`` if given. With ``warm_start`` a further
    ``fit`` continues the fitted network and its optimiser for ``steps`` more steps
    (scikit-learn's convention), so that checkpoints of one run can be validated."""

    def __init__(self, hidden_size: int = 200, steps: int = 300, learning_rate: float = 0.01,
                 seed: int = 42, batch_size: int | None = None,
                 max_grad_norm: float | None = None, warm_start: bool = False):
        self.hidden_size = hidden_size
        self.warm_start = warm_start
        self.max_grad_norm = max_grad_norm
        self.steps = steps
        self.learning_rate = learning_rate
        self.seed = seed
        self.batch_size = batch_size

    def fit(self, X, y) -> "ForwardLSTMClassifier":
        X, y = check_time_series(self, X, y, reset=True)
        X = torch.from_numpy(X)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        target = torch.from_numpy(y_index.astype(np.int64))
        if not (self.warm_start and hasattr(self, "optimiser_")):
            generator_state = torch.random.get_rng_state()
            torch.manual_seed(self.seed)
            self.model_ = _ForwardLSTM(X.shape[2], self.hidden_size, len(self.classes_))
            torch.random.set_rng_state(generator_state)  # leave the caller's generator alone
            self.optimiser_ = torch.optim.Adam(self.model_.parameters(), lr=self.learning_rate)
            self.steps_done_ = 0
        optimiser = self.optimiser_
        self.model_.train()
        rng = np.random.RandomState(self.seed + self.steps_done_)
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
        self.steps_done_ += self.steps
        self.model_.eval()
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = torch.from_numpy(check_time_series(self, X))
        if X.shape[2] != self.model_.lstm.input_size:
            raise ValueError(f"X has {X.shape[2]} values per step, the training series "
                             f"{self.model_.lstm.input_size}")
        with torch.no_grad():
            return torch.softmax(self.model_(X), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        best = self.predict_proba(X).argmax(axis=1)
        return self.classes_[best]
