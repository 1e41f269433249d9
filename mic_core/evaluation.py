"""Accuracy of the experts on held-out samples, and on those samples drawn on a canvas."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mic_core.classify import PLAIN, Classification, DecisionRule, classify
from mic_core.data import Dataset, Standardiser, trim_connecting_strokes
from mic_core.drawing import drawing_to_pen_trajectory, pen_trajectory_to_drawing
from mic_core.expert import ExpertSet
from mic_core.inversion import InversionConfig


@dataclass(frozen=True)
class Evaluation:
    """Classification of n_test samples by inversion in every expert."""

    accuracy: float
    n_test: int
    per_class_accuracy: dict  # class name -> accuracy (NaN where the class has no sample)
    confusion: np.ndarray  # (n_classes, n_classes): rows true class, columns predicted
    mean_final_error: float  # mean over samples of the winning expert's deciding error
    seconds: float  # wall time of the inversions
    reconstruction_errors: np.ndarray | None = None  # (n_test, n_experts) plain final errors
    predicted: np.ndarray | None = None  # (n_test,) the winning class of every sample
    classification: Classification | None = None  # the record the numbers are read from

    def summary(self) -> dict:
        """JSON-ready numbers."""
        return {"accuracy": self.accuracy, "n_test": self.n_test,
                "mean_final_error": self.mean_final_error, "seconds": self.seconds,
                "per_class_accuracy": self.per_class_accuracy}


def score_predictions(y_true: np.ndarray, y_predicted: np.ndarray, class_names):
    """(accuracy, per-class accuracy {name: value}, confusion (C, C) rows true, columns
    predicted) of any classifier's class indices."""
    C = len(class_names)
    confusion = np.zeros((C, C), dtype=np.int64)
    np.add.at(confusion, (np.asarray(y_true), np.asarray(y_predicted)), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.diag(confusion) / confusion.sum(axis=1)
    accuracy = float(np.mean(np.asarray(y_true) == np.asarray(y_predicted)))
    return accuracy, {name: float(a) for name, a in zip(class_names, per_class)}, confusion


def mean_error_matrix(errors: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(experts, classes) mean of ``errors`` (n, experts) over the samples of each class
    (NaN for a class without samples): the paper's loss heat map."""
    matrix = np.full((errors.shape[1], n_classes), np.nan)
    for c in range(n_classes):
        if np.any(y == c):
            matrix[:, c] = errors[y == c].mean(axis=0)
    return matrix


def seeded_subset(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Indices of a seeded random subset of ``limit`` out of ``n`` (all, in order, if None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, limit, replace=False))


def evaluate(expert_set: ExpertSet, X: np.ndarray, y: np.ndarray,
             config: InversionConfig = InversionConfig(), standardiser: Standardiser | None = None,
             rule: DecisionRule = PLAIN, batch_size: int = 256,
             progress=None) -> Evaluation:
    """Classify every sample of ``X`` (n, sz, d) (``classify.classify``, final results
    only, in batches) and compare the winners with ``y``.

    ``rule``: the decision rule (free ends need the data set's ``standardiser``; see
    ``classify.default_rule``)."""
    start = time.perf_counter()
    classification = classify(expert_set, X, config, rule, standardiser, record="final",
                              batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - start
    return score_classification(classification, y, seconds)


def score_classification(classification: Classification, y: np.ndarray,
                         seconds: float = float("nan")) -> Evaluation:
    """The ``Evaluation`` of a classification record against the true classes ``y``."""
    errors, predicted = classification.deciding_errors, classification.winners
    accuracy, per_class, confusion = score_predictions(y, predicted,
                                                       classification.class_names)
    return Evaluation(
        accuracy=accuracy,
        n_test=len(y),
        per_class_accuracy=per_class,
        confusion=confusion,
        mean_final_error=float(errors.min(axis=1).mean()) if len(y) else float("nan"),
        seconds=seconds,
        reconstruction_errors=classification.reconstruction_errors,
        predicted=predicted,
        classification=classification,
    )


def drawn_test_set(dataset: Dataset, seed: int = 0, trim_connections: bool = False,
                   indices=None) -> np.ndarray:
    """The held-out characters as a person would draw them, read back like a real drawing.

    Each sample is rendered as canvas JSON (``pen_trajectory_to_drawing``: random size and
    place, screen coordinates, irregular spacing, jitter), then parsed and turned into a
    sequence exactly as the app does. ``trim_connections`` first removes the connecting
    lead-in and lead-out strokes, which people leave out when they draw a single letter.
    """
    rng = np.random.RandomState(seed)
    chosen = range(len(dataset.test_pen_trajectories)) if indices is None else indices
    pen_trajectories = []
    for i in chosen:
        pen = dataset.test_pen_trajectories[i]
        if trim_connections:
            pen = trim_connecting_strokes(pen)
        pen_trajectories.append(drawing_to_pen_trajectory(pen_trajectory_to_drawing(pen, rng)))
    return dataset.pen_trajectories_to_sequences(pen_trajectories)
