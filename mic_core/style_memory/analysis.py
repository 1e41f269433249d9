"""What the paper does with a trained style memory: evaluation (accuracy, reconstruction
error, and how well a bad reconstruction flags a misclassification), nearest neighbours in
input vs style space (its Figs. 7 and 8), style transfer across classes and style
interpolation (its Fig. 11); whether the decoder uses the class at all (``label_swap``: redraw
each sample's style under every other label and let an independent reader classify the
drawing) and how jagged the drawn pen paths are (``roughness``)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from mic_core.style_memory.estimator import StyleMemoryClassifier


@dataclass(frozen=True)
class StyleEvaluation:
    """A style memory on held-out samples."""

    accuracy: float
    n_test: int
    reconstruction_error: float  # mean Euclidean ||x_hat - x|| with the network's own softmax
    misclassification_auroc: float  # AUROC of that error for telling wrong from right (NaN
    #   when every sample is right or every one wrong)
    predicted: np.ndarray  # (n,) class indices
    confidence: np.ndarray  # (n,) the predicted class's probability
    errors: np.ndarray  # (n,) reconstruction errors
    seconds: float

    def summary(self) -> dict:
        """JSON-ready numbers."""
        return {"accuracy": self.accuracy, "n_test": self.n_test,
                "reconstruction_error": self.reconstruction_error,
                "misclassification_auroc": self.misclassification_auroc,
                "seconds": self.seconds}


def evaluate_style_memory(model: StyleMemoryClassifier, X: np.ndarray,
                          y: np.ndarray) -> StyleEvaluation:
    """Accuracy, mean reconstruction error and the AUROC of the reconstruction error as a
    detector of misclassification, on X (n, sz, d), y (n,)."""
    start = time.perf_counter()
    proba = model.predict_proba(X)
    predicted = model.classes_[proba.argmax(axis=1)]
    errors = model.reconstruction_error(X)
    wrong = predicted != np.asarray(y)
    auroc = float(roc_auc_score(wrong, errors)) if 0 < wrong.sum() < len(wrong) \
        else float("nan")
    return StyleEvaluation(accuracy=float(np.mean(~wrong)), n_test=len(y),
                           reconstruction_error=float(errors.mean()),
                           misclassification_auroc=auroc, predicted=predicted,
                           confidence=proba.max(axis=1), errors=errors,
                           seconds=time.perf_counter() - start)


@dataclass(frozen=True)
class Neighbours:
    """The k nearest samples of one query in one space, and what they look like in the
    other (the paper's Fig. 7/8 panels)."""

    space: str  # "input" or "style": where the neighbours were found
    indices: np.ndarray  # (k,) into the searched samples, nearest first
    input_distances: np.ndarray  # (k,) Euclidean distances from the query in input space
    style_distances: np.ndarray  # (k,) ... in style space
    class_counts: dict  # class -> how many of the k neighbours have it

    @property
    def mean_input_distance(self) -> float:
        return float(self.input_distances.mean())

    @property
    def mean_style_distance(self) -> float:
        return float(self.style_distances.mean())


def nearest_neighbours(model: StyleMemoryClassifier, query: np.ndarray, X: np.ndarray,
                       y: np.ndarray, k: int = 97, styles: np.ndarray | None = None,
                       exclude: int | None = None) -> tuple[Neighbours, Neighbours]:
    """The ``k`` samples of X (n, sz, d) nearest to ``query`` (sz, d) in input space and in
    style space, leaving out sample ``exclude`` of X (the query itself, when it is one).

    ``styles`` (n, n_style) may be passed to avoid recomputing X's styles. Returns
    (input-space neighbours, style-space neighbours)."""
    X = np.asarray(X, dtype=np.float32)
    if not 1 <= k < len(X):
        raise ValueError(f"k must lie in 1..{len(X) - 1}, got {k}")
    styles = model.style(X) if styles is None else styles
    query_style = model.style(query[None])[0]
    input_d = np.linalg.norm((X - query).reshape(len(X), -1), axis=1)
    style_d = np.linalg.norm(styles - query_style, axis=1)
    itself = np.arange(len(X)) == (-1 if exclude is None else exclude)
    result = []
    for space, distances in (("input", input_d), ("style", style_d)):
        order = np.argsort(np.where(itself, np.inf, distances), kind="stable")[:k]
        labels, counts = np.unique(np.asarray(y)[order], return_counts=True)
        result.append(Neighbours(space, order, input_d[order], style_d[order],
                                 {lab.item(): int(c) for lab, c in zip(labels, counts)}))
    return result[0], result[1]


def neighbour_class_counts(model: StyleMemoryClassifier, X: np.ndarray, y: np.ndarray,
                           k: int = 97, n_queries: int = 100, seed: int = 0) -> dict:
    """Over ``n_queries`` seeded queries from X: how many of the k neighbours share the
    query's class, and the mean distances, in input space vs style space (the paper's
    Fig. 7/8 numbers, averaged instead of read off two examples)."""
    rng = np.random.RandomState(seed)
    queries = rng.choice(len(X), min(n_queries, len(X)), replace=False)
    styles = model.style(X)
    same = {"input": [], "style": []}
    mean_input = {"input": [], "style": []}
    mean_style = {"input": [], "style": []}
    for q in queries:
        for found in nearest_neighbours(model, X[q], X, y, k, styles, exclude=q):
            same[found.space].append(found.class_counts.get(np.asarray(y)[q].item(), 0) / k)
            mean_input[found.space].append(found.mean_input_distance)
            mean_style[found.space].append(found.mean_style_distance)
    return {"k": k, "n_queries": len(queries), "seed": seed,
            **{f"{space}_space": {"same_class_share": float(np.mean(same[space])),
                                  "mean_input_distance": float(np.mean(mean_input[space])),
                                  "mean_style_distance": float(np.mean(mean_style[space]))}
               for space in ("input", "style")}}


def style_transfer(model: StyleMemoryClassifier, x: np.ndarray) -> np.ndarray:
    """One sample's style under every class label -> (n_classes, *input_shape)."""
    style = model.style(x[None])
    return model.decode(model.classes_, np.repeat(style, len(model.classes_), axis=0))


def label_swap(model: StyleMemoryClassifier, X: np.ndarray, y: np.ndarray, reader) -> dict:
    """Style transfer measured: every sample of X (n, sz, d) redrawn from its style under
    every class label, each drawing classified by ``reader`` (anything with ``predict``:
    e.g. nearest neighbours by DTW fitted on training data, or the network itself).

    Returns the share of drawings under another label that are read as that label
    (``read_as_label``; 1 when the class decides what is drawn), the share read as the
    sample's own class (``read_as_source``; near 1 when the style carries the identity and
    the label is ignored), and the share of drawings under the sample's own label read as
    it (``own_label_read_back``)."""
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
    styles = model.style(X)
    read = np.stack([np.asarray(reader.predict(model.decode(c, styles)))
                     for c in model.classes_], axis=1)  # (n, n_classes)
    label = np.broadcast_to(model.classes_, read.shape)
    source = np.broadcast_to(y[:, None], read.shape)
    swapped = label != source
    return {"read_as_label": float(np.mean(read[swapped] == label[swapped])),
            "read_as_source": float(np.mean(read[swapped] == source[swapped])),
            "own_label_read_back": float(np.mean(read[~swapped] == source[~swapped])),
            "n_samples": len(X), "n_swapped_drawings": int(swapped.sum())}


def dtw_reader(X: np.ndarray, y: np.ndarray, band: int = 10):
    """An independent reader for ``label_swap``: 1-nearest neighbour by DTW (tslearn) on
    the labelled pen trajectories X (n, sz, d), warping within a Sakoe-Chiba band of
    ``band`` steps (ten times faster than unconstrained DTW on 100-point letters)."""
    from tslearn.neighbors import KNeighborsTimeSeriesClassifier
    return KNeighborsTimeSeriesClassifier(
        n_neighbors=1, metric="dtw", metric_params={"global_constraint": "sakoe_chiba",
                                                    "sakoe_chiba_radius": band}).fit(X, y)


def roughness(sequences: np.ndarray) -> float:
    """Mean squared second difference along pen trajectories (n, sz, 2): how much the path
    turns from point to point; a zig-zag scores high, a smooth stroke low."""
    second = np.diff(np.asarray(sequences, dtype=np.float64), n=2, axis=1)
    return float(np.mean(np.sum(second ** 2, axis=-1)))


def interpolate_styles(model: StyleMemoryClassifier, first: np.ndarray, second: np.ndarray,
                       label, lambdas) -> np.ndarray:
    """Drawings of class ``label`` along the straight line between two samples' styles:
    m(λ) = (1 - λ) m1 + λ m2 for each λ in ``lambdas`` -> (len(lambdas), *input_shape)."""
    lambdas = np.asarray(lambdas, dtype=np.float32).reshape(-1, 1)
    m1, m2 = model.style(np.stack([first, second]))
    return model.decode(label, (1 - lambdas) * m1 + lambdas * m2)


@dataclass(frozen=True)
class StyleReading:
    """Everything the network says about one sample."""

    probabilities: np.ndarray  # (n_classes,) softmax
    predicted: int  # class index
    style: np.ndarray  # (n_style,)
    reconstruction: np.ndarray  # (*input_shape,) from the network's own softmax and style
    as_label: np.ndarray  # (*input_shape,) from the one-hot vector of ``label``
    label: int  # the class of ``as_label``
    error: float  # Euclidean ||reconstruction - x||
    error_as_label: float  # Euclidean ||as_label - x||
    transfer: np.ndarray  # (n_classes, *input_shape): the style under every class label

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted])


def read_sample(model: StyleMemoryClassifier, x: np.ndarray,
                label: int | None = None) -> StyleReading:
    """Classify ``x`` (one sample, e.g. (28, 28) or (100, 2)), read its style, and redraw it
    from (prediction, style), from (``label``, style) (default: the prediction) and under
    every class label."""
    x = model._check_X(x)  # one sample -> (1, ...), with the shape checked
    proba = model.predict_proba(x)[0]
    predicted = int(model.classes_[proba.argmax()])
    label = predicted if label is None else int(label)
    transfer = style_transfer(model, x[0])
    as_label = transfer[int(model._class_index(label))]
    reconstruction = model.reconstruct(x)[0]
    return StyleReading(probabilities=proba, predicted=predicted, style=model.style(x)[0],
                        reconstruction=reconstruction, as_label=as_label, label=label,
                        error=float(np.linalg.norm(reconstruction - x[0])),
                        error_as_label=float(np.linalg.norm(as_label - x[0])),
                        transfer=transfer)
