"""Choosing each expert's four types from the training pool (METHOD §4).

``random``: four seeded random samples per class. ``clustered``: k-means with k = 4 per class
(tslearn ``TimeSeriesKMeans``; DTW with DTW barycentres for pen trajectories, Euclidean for
MNIST); the types are the cluster centres.
"""
from __future__ import annotations

import numpy as np
from tslearn.clustering import TimeSeriesKMeans

SELECTIONS = ("clustered", "random")


def select_types(X: np.ndarray, y: np.ndarray, n_classes: int, selection: str, seed: int,
                 n_types: int = 4, metric: str = "dtw") -> np.ndarray:
    """Types for every class.

    Parameters
    ----------
    X : (n_ts, sz, d) training-pool sequences; y : (n_ts,) their class indices.
    selection : "clustered" or "random".
    metric : k-means metric for "clustered": "dtw" or "euclidean".

    Returns
    -------
    types : (n_classes, n_types, sz, d) float32
    """
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; choose one of {SELECTIONS}")
    rng = np.random.RandomState(seed)
    types = []
    for c in range(n_classes):
        members = X[y == c]
        if len(members) < n_types:
            raise ValueError(f"class {c} has {len(members)} training samples, "
                             f"fewer than {n_types} types")
        if selection == "random":
            types.append(members[rng.choice(len(members), n_types, replace=False)])
        else:
            km = TimeSeriesKMeans(n_clusters=n_types, metric=metric, max_iter=10,
                                  random_state=rng.randint(2 ** 31 - 1))
            km.fit(members)
            types.append(km.cluster_centers_)
    return np.asarray(types, dtype=np.float32)
