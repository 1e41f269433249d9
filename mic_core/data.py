"""Data sets as the experts see them: pen trajectories and sequential MNIST -> (n_ts, sz, d).

Character Trajectories (UCI): velocities at 200 Hz -> strip the all-zero padding rows (their
count depends on the class: a length cue) -> integrate to positions -> the *character
representation* shared with drawings (``character_sequence``): resample to ``n_points`` points
equally spaced along the pen's path (a drawing has no timing), centre on the centroid, scale
to unit RMS radius (a drawing has no fixed size) -> standardise x and y with statistics fitted
on the training pool only.

Sequential MNIST: each image is 28 steps of 28 pixels in [0, 1]; the official split.

Arrays follow tslearn: sequences (n_ts, sz, d) float32, labels (n_ts,) int64.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "data"
CHARACTERS_FILE = ASSETS / "character_trajectories_partial.npz"
MNIST_FILE = ASSETS / "mnist.npz"
DATASETS = ("characters", "mnist")


@dataclass(frozen=True)
class DataConfig:
    """How a data set is turned into sequences and split."""

    dataset: str = "characters"  # "characters" or "mnist"
    n_points: int = 100  # characters: points per resampled pen trajectory
    test_fraction: float = 0.5  # characters: held-out share of each class's labelled samples
    split_seed: int = 0  # characters: the stratified split is fixed by this seed
    trim_connections: bool = False  # characters: cut lead-in/lead-out strokes everywhere
    #   (measured worse on clean, drawn and trimmed drawings alike; kept for experiments)

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {DATASETS}")
        if self.n_points < 8:
            raise ValueError(f"n_points must be at least 8, got {self.n_points}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass(frozen=True)
class Standardiser:
    """One mean and standard deviation per axis, fitted on the training pool only."""

    mean: np.ndarray  # (d,)
    std: np.ndarray  # (d,)

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardiser":
        flat = X.reshape(-1, X.shape[-1])
        return cls(mean=flat.mean(axis=0), std=flat.std(axis=0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.std).astype(np.float32)

    def inverse(self, X: np.ndarray) -> np.ndarray:
        return X * self.std + self.mean


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set ready for the experts.

    ``X_*`` are (n_ts, sz, d) float32 sequences, ``y_*`` (n_ts,) int64 class indices.
    For characters, ``test_pen_trajectories`` keeps the held-out samples as raw positions
    (T_i, 2) so that they can be drawn, and ``X_unlabelled`` the samples whose label is
    unknown (never ground truth).
    """

    config: DataConfig
    class_names: tuple[str, ...]
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    standardiser: Standardiser | None = None
    X_unlabelled: np.ndarray | None = None
    test_pen_trajectories: list = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.config.dataset

    def pen_trajectories_to_sequences(self, pen_trajectories) -> np.ndarray:
        """Raw positions (list of (T_i, 2), y up) -> standardised (n, n_points, 2)."""
        if self.standardiser is None:
            raise ValueError(f"the {self.name} data set has no pen trajectories")
        shapes = np.stack([character_sequence(p, self.config.n_points,
                                              self.config.trim_connections)
                           for p in pen_trajectories])
        return self.standardiser.transform(shapes)


def strip_padding(pen_sample: np.ndarray) -> np.ndarray:
    """Drop the all-zero rows at both ends of a (T, c) sample."""
    moving = np.flatnonzero(np.any(pen_sample != 0, axis=1))
    if moving.size == 0:
        raise ValueError("the sample holds only zero rows")
    return pen_sample[moving[0]: moving[-1] + 1]


def velocities_to_positions(pen_sample: np.ndarray) -> np.ndarray:
    """UCI (T, 3) x-velocity, y-velocity, force -> (T + 1, 2) positions from the origin."""
    velocities = strip_padding(pen_sample)[:, :2]
    return np.concatenate([np.zeros((1, 2)), np.cumsum(velocities, axis=0)])


def resample_by_arc_length(points: np.ndarray, n_points: int) -> np.ndarray:
    """``n_points`` points equally spaced along the polyline ``points`` (T, 2).

    >>> resample_by_arc_length(np.array([[0., 0.], [2., 0.]]), 3).tolist()
    [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]
    """
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.concatenate([[True], steps > 0])  # repeated points add no length
    points, steps = points[keep], steps[steps > 0]
    if len(points) < 2:
        raise ValueError("the pen trajectory has no length: all its points are identical")
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    where = np.linspace(0.0, arc[-1], n_points)
    return np.stack([np.interp(where, arc, points[:, 0]),
                     np.interp(where, arc, points[:, 1])], axis=1)


def normalise_shape(points: np.ndarray) -> np.ndarray:
    """Centre on the centroid and scale to unit RMS distance from it (size and position
    free). ``points`` (..., T, 2): every sequence on its own."""
    centred = points - points.mean(axis=-2, keepdims=True)
    radius = np.sqrt((centred ** 2).sum(axis=-1).mean(axis=-1))
    return centred / radius[..., None, None]


def cut_by_arc_length(points: np.ndarray, start: float, end: float) -> np.ndarray:
    """The part of the polyline ``points`` (T, 2) between fractions ``start`` and ``end`` of
    its length, with interpolated end points."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    a, b = start * arc[-1], end * arc[-1]
    inside = points[(arc > a) & (arc < b)]
    ends = [np.array([[np.interp(s, arc, points[:, 0]), np.interp(s, arc, points[:, 1])]])
            for s in (a, b)]
    return np.concatenate([ends[0], inside, ends[1]])


def trim_connecting_strokes(pen_trajectory: np.ndarray, max_turn_degrees: float = 30.0,
                            min_fraction: float = 0.04, max_fraction: float = 0.3,
                            resolution: int = 50) -> np.ndarray:
    """Cut a nearly straight lead-in and lead-out (the strokes that join cursive letters).

    At each end, the run of the path whose direction stays within ``max_turn_degrees`` of
    the direction at that end is removed when it is at least ``min_fraction`` of the path's
    length (and at most ``max_fraction``). Directions are read at ``resolution`` points
    along the path, so pointer jitter does not count as turning. Returns positions (T', 2).
    """
    points = np.asarray(pen_trajectory, dtype=np.float64)
    coarse = resample_by_arc_length(points, resolution + 1)
    angles = np.unwrap(np.arctan2(*np.diff(coarse, axis=0).T[::-1]))

    def straight_run(angles):
        turned = np.flatnonzero(np.abs(angles - angles[0]) > np.radians(max_turn_degrees))
        run = turned[0] if turned.size else resolution
        return 0 if run < min_fraction * resolution else min(run, max_fraction * resolution)

    start, end = straight_run(angles), straight_run(angles[::-1])
    if start == 0 and end == 0:
        return points
    return cut_by_arc_length(points, start / resolution, 1.0 - end / resolution)


def character_sequence(pen_trajectory: np.ndarray, n_points: int,
                       trim_connections: bool = False) -> np.ndarray:
    """The character representation, before standardisation: (T, 2) positions, y up ->
    (n_points, 2). Dataset samples and drawings both go through here."""
    pen_trajectory = np.asarray(pen_trajectory, dtype=np.float64)
    if pen_trajectory.ndim != 2 or pen_trajectory.shape[1] != 2:
        raise ValueError(f"a pen trajectory must have shape (T, 2), got {pen_trajectory.shape}")
    if not np.all(np.isfinite(pen_trajectory)):
        raise ValueError("the pen trajectory holds NaN or infinite coordinates")
    if trim_connections:
        pen_trajectory = trim_connecting_strokes(pen_trajectory)
    return normalise_shape(resample_by_arc_length(pen_trajectory, n_points))


def load_character_pen_trajectories(path: Path = CHARACTERS_FILE):
    """All 2858 samples as positions. Returns (pen_trajectories, labels, class_names), with
    label -1 for the 1429 samples whose label is unknown."""
    with np.load(path, allow_pickle=False) as f:
        data, offsets, labels = f["data"], f["offsets"], f["labels"]
        class_names = tuple(str(c) for c in f["class_names"])
    pen_trajectories = [velocities_to_positions(data[offsets[i]: offsets[i + 1]])
                        for i in range(len(labels))]
    return pen_trajectories, labels.astype(np.int64), class_names


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int):
    """Indices (train, test): in every class, a seeded ``test_fraction`` goes to test."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(members) * test_fraction))
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return np.sort(train), np.sort(test)


def _load_characters(config: DataConfig) -> Dataset:
    pen_trajectories, labels, class_names = load_character_pen_trajectories()
    shapes = np.stack([character_sequence(p, config.n_points, config.trim_connections)
                       for p in pen_trajectories])
    labelled = np.flatnonzero(labels >= 0)
    train, test = stratified_split(labels[labelled], config.test_fraction, config.split_seed)
    train, test = labelled[train], labelled[test]
    standardiser = Standardiser.fit(shapes[train])
    return Dataset(
        config=config,
        class_names=class_names,
        X_train=standardiser.transform(shapes[train]),
        y_train=labels[train],
        X_test=standardiser.transform(shapes[test]),
        y_test=labels[test],
        standardiser=standardiser,
        X_unlabelled=standardiser.transform(shapes[labels < 0]),
        test_pen_trajectories=[pen_trajectories[i] for i in test],
    )


def _load_mnist(config: DataConfig) -> Dataset:
    with np.load(MNIST_FILE, allow_pickle=False) as f:
        return Dataset(
            config=config,
            class_names=tuple(str(d) for d in range(10)),
            X_train=(f["x_train"] / np.float32(255)).astype(np.float32),
            y_train=f["y_train"].astype(np.int64),
            X_test=(f["x_test"] / np.float32(255)).astype(np.float32),
            y_test=f["y_test"].astype(np.int64),
        )


def load_dataset(config: DataConfig | str = "characters") -> Dataset:
    """Load a data set from ``assets/data`` (never from the network).

    >>> ds = load_dataset("characters")
    >>> ds.X_train.shape[1:], len(ds.class_names)
    ((100, 2), 20)
    """
    if isinstance(config, str):
        config = DataConfig(dataset=config)
    return _load_characters(config) if config.dataset == "characters" else _load_mnist(config)
