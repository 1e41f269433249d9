"""How well the winner fits a target, and when no expert fits: thresholds from the data.

A classifier always names a winner, even for a dot or a scribble. Whether the winner's
reconstruction is a *fit* is judged against the distribution of winners' deciding errors on
samples held out from the experts: the training pool's samples, which the experts never saw
(they were trained on four types per class: cluster centres or four samples; with the
``random`` selection, those four samples are left out here). The test set is not touched.
A target whose winning error lies above the 99th percentile of that distribution is
reported as "no expert fits"; below it, the percentile itself says in plain words how close
the fit is.

``drawing_problem`` catches drawings that are not letters at all before anything is
inverted: too small to read, or a straight line; its straightness threshold is measured on
the data set's own letters (``straightness_threshold``).

The thresholds of the shipped experts are stored in ``assets/fit/`` (written by
``python -m mic_core.fit_quality``), one file per inversion the app offers (several starts
reach lower errors than one: other thresholds); other configurations measure them on demand.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

SHIPPED_THRESHOLDS = Path(__file__).resolve().parent.parent / "assets" / "fit"
NO_FIT_PERCENTILE = 99.0  # above this percentile of held-out winners' errors: no expert fits
MIN_SIZE_FRACTION = 0.06  # a drawing smaller than this share of the canvas is too small to read
#   (the canvas asks for one large letter; a 3-pixel scribble or a dot is not one)


@dataclass(frozen=True)
class FitThresholds:
    """Percentiles 0, 1, ..., 100 of the winners' deciding errors on held-out samples.

    ``configuration``: the experts and decision rule they were measured with (JSON-ready);
    ``n_samples``: how many samples; ``straightness``: for pen trajectories, the lowest
    straightness a letter of the data set may have (``straightness_threshold``), else None.
    """

    percentiles: tuple
    n_samples: int
    configuration: dict
    straightness: float | None = None

    @classmethod
    def from_errors(cls, winner_errors, configuration: dict,
                    straightness: float | None = None) -> "FitThresholds":
        """From the winners' deciding errors (n,) of held-out samples."""
        errors = np.asarray(winner_errors, dtype=np.float64)
        if errors.ndim != 1 or len(errors) < 20 or not np.all(np.isfinite(errors)):
            raise ValueError("fit thresholds need at least 20 finite winners' errors")
        return cls(percentiles=tuple(float(v) for v in np.percentile(errors,
                                                                     np.arange(101))),
                   n_samples=len(errors), configuration=configuration,
                   straightness=straightness)

    @property
    def no_fit(self) -> float:
        """The error above which no expert fits (the 99th percentile)."""
        return self.percentiles[int(NO_FIT_PERCENTILE)]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, configuration: dict | None = None) -> "FitThresholds":
        """Read ``to_json``'s text; with ``configuration``, it must be the one stored."""
        values = json.loads(text)
        if configuration is not None and values.get("configuration") != configuration:
            raise ValueError("these fit thresholds were measured for other experts")
        percentiles = tuple(float(v) for v in values["percentiles"])
        if len(percentiles) != 101 or list(percentiles) != sorted(percentiles):
            raise ValueError("fit thresholds must be 101 increasing percentiles")
        return cls(percentiles=percentiles, n_samples=int(values["n_samples"]),
                   configuration=values["configuration"],
                   straightness=values.get("straightness"))


@dataclass(frozen=True)
class FitQuality:
    """How well a winner's reconstruction fits, in numbers and in words.

    ``percentile``: the share (0-100) of held-out samples whose winner fitted better;
    ``fits``: False above the no-fit threshold; ``label``: a few words; ``sentence``: one
    plain sentence for a student.
    """

    percentile: float
    fits: bool
    label: str
    sentence: str


def fit_quality(error: float, thresholds: FitThresholds, noun: str = "letter") -> FitQuality:
    """Judge a winner's deciding ``error`` against held-out winners' errors.

    >>> t = FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), {})
    >>> fit_quality(0.2, t).label, fit_quality(0.995, t).fits
    ('a close fit', False)
    """
    if not np.isfinite(error):
        return FitQuality(100.0, False, "no expert fits",
                          "The error is not a number: nothing could be reconstructed.")
    percentile = float(np.interp(error, thresholds.percentiles, np.arange(101),
                                 left=0.0, right=100.0))
    better = int(round(percentile))  # of 100 of the data set's own characters, how many
    #   the experts reconstruct more closely than this one: one frame for every sentence
    if error > thresholds.no_fit:
        return FitQuality(percentile, False, "no expert fits",
                          f"No expert fits this drawing: even the best reconstruction is "
                          f"further from it than for 99 in 100 of the data set's own "
                          f"{noun}s. Is it one {noun}, drawn large, in one stroke?")
    if percentile <= 50:
        label = "a close fit"
        words = (f"closer than for {100 - better} in 100 of the data set's own {noun}s")
    elif percentile <= 90:
        label = "a fair fit"
        words = (f"within the usual range, though {better} in 100 of the data set's own "
                 f"{noun}s are reconstructed more closely")
    else:
        label = "a loose fit"
        words = (f"looser than for {better} in 100 of the data set's own {noun}s, yet not "
                 f"the worst")
    return FitQuality(percentile, True, label,
                      f"The winner's reconstruction is {label}: {words}.")


DIRECTION_CHECK_PERCENTILE = 75.0  # a winner that fits worse than this share of the data
#   set's own letters: the drawing is also read the other way round (a clockwise "o" read as
#   "s", the teacher test: nothing said that the direction of the pen counts)
DIRECTION_GAIN = 0.5  # the other way round must bring the deciding error below this share


def needs_direction_check(quality: FitQuality) -> bool:
    """Whether a drawing fits loosely enough to read it the other way round too
    (``direction_hint``)."""
    return quality.percentile > DIRECTION_CHECK_PERCENTILE


def direction_hint(forward, backward, thresholds: FitThresholds,
                   noun: str = "letter") -> str | None:
    """One sentence when a drawing reads clearly better drawn the other way round, else
    None. ``forward``: the classification of the drawing; ``backward``: of the same drawing
    reversed in time (its points in the opposite order); both of one target. The hint is
    given when the reversed drawing's winner fits (below the no-fit threshold) and its
    deciding error is at most ``DIRECTION_GAIN`` times the drawing's winner's.

    >>> from types import SimpleNamespace as Record
    >>> t = FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), {})
    >>> drawn = Record(winners=[1], deciding_errors=np.array([[0.95, 0.9]]),
    ...                class_names=("o", "s"))
    >>> other = Record(winners=[0], deciding_errors=np.array([[0.1, 0.8]]),
    ...                class_names=("o", "s"))
    >>> direction_hint(drawn, other, t).split(" (")[0]
    'Drawn the other way round, this reads as **o**, a close fit'
    >>> direction_hint(drawn, drawn, t) is None
    True
    """
    winner, other = int(forward.winners[0]), int(backward.winners[0])
    error = float(forward.deciding_errors[0][winner])
    reversed_error = float(backward.deciding_errors[0][other])
    if not (np.isfinite(reversed_error) and reversed_error <= DIRECTION_GAIN * error):
        return None
    quality = fit_quality(reversed_error, thresholds, noun)
    if not quality.fits:
        return None
    name, drawn = backward.class_names[other], forward.class_names[winner]
    reading = f"this reads as **{name}**" if other != winner else \
        f"this {drawn} fits much more closely"
    return (f"Drawn the other way round, {reading}, {quality.label} (error "
            f"{reversed_error:.3g} instead of {error:.3g}): the experts learnt each {noun} "
            f"in the direction the data set's writers moved the pen. The reference card "
            f"marks where each {noun} starts.")


def straightness(pen_trajectory: np.ndarray) -> float:
    """How far a path is from a straight line: the smaller over the larger spread of its
    points along their two principal axes (0 for a straight line, 1 for a round blob)."""
    from mic_core.data import resample_by_arc_length
    points = np.asarray(pen_trajectory, dtype=np.float64)
    if len(points) > 1 and np.any(points != points[0]):
        points = resample_by_arc_length(points, 100)  # spread along the path, not in time
    centred = points - points.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False) if len(points) > 1 else np.zeros(2)
    return float(spread[1] / spread[0]) if spread[0] > 0 else 0.0


def straightness_threshold(pen_trajectories) -> float:
    """Half the lowest straightness among a data set's letters (its training pool): any
    path flatter than that is no letter of the data set."""
    return 0.5 * min(straightness(p) for p in pen_trajectories)


def drawing_problem(pen_trajectory: np.ndarray | None, canvas_size: float,
                    straightness_limit: float | None = None, ink=None,
                    noun: str = "letter") -> str | None:
    """Why a drawing cannot be read as a character, or None.

    ``pen_trajectory``: canvas positions (T, 2) (letters), or ``ink``: the canvas image
    (H, W) in [0, 1] (digits). Too small: the drawing spans less than ``MIN_SIZE_FRACTION``
    of the canvas. Straight: flatter than ``straightness_limit`` (pen trajectories only).

    >>> drawing_problem(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]]), 300) is not None
    True
    >>> drawing_problem(np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 1.0]]), 300, 0.05)[:20]
    'the drawing is a str'
    """
    if ink is not None:
        ink = np.asarray(ink, dtype=np.float64)
        rows = np.flatnonzero(ink.max(axis=1) > 0.05)
        cols = np.flatnonzero(ink.max(axis=0) > 0.05)
        if rows.size == 0:
            return f"the drawing is empty: draw a {noun} first"
        extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    else:
        points = np.asarray(pen_trajectory, dtype=np.float64)
        extent = float((points.max(axis=0) - points.min(axis=0)).max())
    if extent < MIN_SIZE_FRACTION * canvas_size:
        pixels = "pixel" if round(extent) == 1 else "pixels"
        return (f"the drawing is too small to read ({extent:.0f} {pixels} across): draw one "
                f"{noun}, large, filling most of the canvas")
    if ink is None and straightness_limit is not None and \
            straightness(pen_trajectory) < straightness_limit:
        return (f"the drawing is a straight line, and no {noun} of the data set is that "
                f"straight: draw the whole {noun} in one stroke")
    return None


def _configuration(data_config, train_config, rule_name: str, inversion=None) -> dict:
    """What the thresholds depend on: the experts, the decision rule and, where it is not
    the engine's default (``InversionConfig()``: one uniform start, the Adam-like step), the
    inversion (several starts or another optimiser reach lower errors: other thresholds)."""
    from mic_core.inversion import InversionConfig
    from mic_core.persistence import configuration
    result = {**configuration(data_config, train_config), "rule": rule_name}
    if inversion is not None and inversion != InversionConfig():
        result["inversion"] = asdict(inversion)
    return result


def thresholds_file(data_config, train_config, rule_name: str, inversion=None) -> str:
    """File name of the thresholds of one configuration (readable prefix + hash)."""
    key = json.dumps(_configuration(data_config, train_config, rule_name, inversion),
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"fit-{data_config.dataset}-{train_config.selection}-seed{train_config.seed}-" \
           f"{digest}.json"


def _deciding_errors(expert_set, dataset, X, inversion=None) -> tuple[np.ndarray, str]:
    """(n, E) deciding errors of X by the app's rule for the data set (inverted by
    ``inversion``, default the engine's), and the rule's name."""
    from mic_core.classify import classify, default_rule
    from mic_core.inversion import InversionConfig
    letters = dataset.standardiser is not None
    rule = default_rule(dataset.name)
    result = classify(expert_set, X, inversion or InversionConfig(), rule=rule,
                      standardiser=dataset.standardiser if letters else None,
                      record="final", batch_size=128)
    return result.deciding_errors, rule.name


def held_out_samples(dataset, expert_set, limit: int = 1000, seed: int = 0) -> np.ndarray:
    """Indices into the training pool of samples the experts never saw (all but exact copies
    of their types), at most ``limit``, seeded."""
    types = {t.tobytes() for t in np.asarray(expert_set.types, np.float32).reshape(
        -1, *dataset.X_train.shape[1:])}
    unseen = np.array([i for i, x in enumerate(dataset.X_train)
                       if np.asarray(x, np.float32).tobytes() not in types])
    if len(unseen) > limit:
        unseen = np.sort(np.random.RandomState(seed).choice(unseen, limit, replace=False))
    return unseen


def measure_thresholds(dataset, expert_set, train_config, limit: int = 1000,
                       seed: int = 0, inversion=None) -> FitThresholds:
    """Invert held-out training-pool samples (``held_out_samples``) by ``inversion``
    (default: the engine's ``InversionConfig()``) and keep the percentiles of their
    winners' deciding errors."""
    X = dataset.X_train[held_out_samples(dataset, expert_set, limit, seed)]
    errors, rule_name = _deciding_errors(expert_set, dataset, X, inversion)
    straight = None
    if dataset.standardiser is not None:
        straight = straightness_threshold(dataset.standardiser.inverse(dataset.X_train))
    return FitThresholds.from_errors(errors.min(axis=1),
                                     _configuration(dataset.config, train_config, rule_name,
                                                    inversion),
                                     straight)


def load_or_measure_thresholds(dataset, expert_set, train_config, cache_dir=None,
                               limit: int = 300, inversion=None) -> FitThresholds:
    """The thresholds of these experts inverted by ``inversion`` (default: the engine's):
    shipped in ``assets/fit``, else cached, else measured now on ``limit`` samples and
    cached (written atomically)."""
    from mic_core.persistence import default_cache_dir
    letters = dataset.standardiser is not None
    rule_name = "free ends" if letters else "plain"
    name = thresholds_file(dataset.config, train_config, rule_name, inversion)
    return stored_or_measured(
        [SHIPPED_THRESHOLDS / name, Path(cache_dir or default_cache_dir()) / "fit" / name],
        _configuration(dataset.config, train_config, rule_name, inversion),
        lambda: measure_thresholds(dataset, expert_set, train_config, limit,
                                   inversion=inversion))


def stored_or_measured(paths: list[Path], wanted: dict, measure) -> FitThresholds:
    """The thresholds of the configuration ``wanted`` from the first of ``paths`` that holds
    them (shipped, then cached: a file of another configuration, corrupt or missing is
    passed over), else ``measure()``'s, written atomically to the last path (the cache)."""
    from mic_core.persistence import atomic_write
    for path in paths:
        try:
            return FitThresholds.from_json(path.read_text(), wanted)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    thresholds = measure()
    atomic_write(paths[-1], lambda f: f.write(thresholds.to_json().encode()))
    return thresholds


def main(argv=None) -> None:
    """Measure and store the thresholds of the shipped experts in ``assets/fit/``, for each
    inversion the app offers (``--starts`` x ``--optimiser``, each optimiser at its default
    step size)."""
    import argparse

    from mic_core.data import load_dataset
    from mic_core.inversion import OPTIMISERS, STARTS, InversionConfig
    from mic_core.persistence import atomic_write, load_or_train
    from mic_core.training import default_train_config
    parser = argparse.ArgumentParser(prog="python -m mic_core.fit_quality",
                                     description=main.__doc__)
    parser.add_argument("--dataset", choices=["characters", "mnist"], nargs="+",
                        default=["characters", "mnist"])
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--starts", choices=STARTS, nargs="+", default=["uniform"])
    parser.add_argument("--optimiser", choices=OPTIMISERS, nargs="+", default=["adam"])
    args = parser.parse_args(argv)
    for name in args.dataset:
        dataset = load_dataset(name)
        train = default_train_config(name)
        experts = load_or_train(dataset, train)
        for starts in args.starts:
            for optimiser in args.optimiser:
                inversion = InversionConfig.with_options(starts, optimiser)
                thresholds = measure_thresholds(dataset, experts, train, args.limit,
                                                inversion=inversion)
                path = SHIPPED_THRESHOLDS / thresholds_file(
                    dataset.config, train, thresholds.configuration["rule"], inversion)
                atomic_write(path, lambda f: f.write(thresholds.to_json().encode()))
                print(json.dumps({"dataset": name, "starts": starts, "optimiser": optimiser,
                                  "file": str(path.name), "n_samples": thresholds.n_samples,
                                  "median": thresholds.percentiles[50],
                                  "no_fit": thresholds.no_fit,
                                  "straightness": thresholds.straightness}), flush=True)

if __name__ == "__main__":
    main()
