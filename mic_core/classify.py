"""One decision, one record: classify targets by inverting them in every expert.

``classify`` inverts targets in all experts and decides by a ``DecisionRule``; it returns a
``Classification``, the one record that the Compete page, the CLI, the evaluation, the
experiments and every export (JSON, CSV) read, so they always name the same winner.

The plain rule (METHOD §3, the paper's): the expert with the lowest final reconstruction
error wins. With *free ends* (pen trajectories only), an expert's error is the lowest over
crops of its final reconstruction that drop up to a quarter of the path at either end, each
crop re-normalised like a drawing and its error weighted by ``1 + penalty * (cut fraction)``:
people draw a single letter without the connecting lead-in and lead-out strokes that the
data set's cursive samples carry, and a plain comparison point by point then misreads it.
Whether free ends apply is the rule's own setting (``DecisionRule.free_ends``); it needs the
data set's standardiser, and for MNIST it does not apply (``default_rule("mnist")`` is plain).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from mic_core.data import Standardiser, normalise_shape
from mic_core.expert import ExpertSet
from mic_core.inversion import InversionConfig, InversionRecord, invert
from mic_core.time_series import check_time_series
from mic_core.training import TrainConfig, train_experts


@dataclass(frozen=True)
class DecisionRule:
    """How the experts' inversions are compared: the plain rule (the paper's, the default)
    or free ends (pen trajectories only: a target may leave out its connecting strokes)."""

    free_ends: bool = False  # decide by the best crop of each reconstruction (letters)
    cut_fractions: tuple = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)  # cut at each end, of the path
    penalty: float = 4.0  # a crop's error is multiplied by 1 + penalty * (start + end cut)

    @property
    def name(self) -> str:
        """"free ends" or "plain"."""
        return "free ends" if self.free_ends else "plain"


PLAIN = DecisionRule(free_ends=False)
FREE_ENDS = DecisionRule(free_ends=True)


def default_rule(dataset: str) -> DecisionRule:
    """The app's rule for a data set: free ends for letters (pen trajectories), plain for
    MNIST, where free ends do not apply.

    >>> default_rule("characters").name, default_rule("mnist").name
    ('free ends', 'plain')
    """
    return FREE_ENDS if dataset == "characters" else PLAIN


def _crop(reconstructions: np.ndarray, start: float, end: float) -> np.ndarray:
    """(N, E, T, d) -> the part from ``start`` to ``1 - end`` of each sequence, resampled to
    T steps (the experts' output is close to evenly spaced along the path)."""
    T = reconstructions.shape[2]
    where = np.linspace(start * (T - 1), (1 - end) * (T - 1), T)
    lo = np.floor(where).astype(int)
    hi = np.minimum(lo + 1, T - 1)
    w = (where - lo)[:, None]
    return reconstructions[:, :, lo] * (1 - w) + reconstructions[:, :, hi] * w


def _crop_like_a_drawing(raw: np.ndarray, start: float, end: float,
                         standardiser: Standardiser) -> np.ndarray:
    """Crop raw (N, E, T, 2) reconstructions, re-normalise the crop like a drawing and
    standardise it."""
    crop = raw if start == end == 0 else _crop(raw, start, end)
    return standardiser.transform(normalise_shape(crop))


def free_end_search(reconstructions: np.ndarray, targets: np.ndarray,
                    standardiser: Standardiser, rule: DecisionRule = FREE_ENDS):
    """(errors (N, E), crops (N, E, 2)): for every reconstruction (N, E, T, 2) against its
    target (N, T, 2), both in standardised units, the lowest weighted error over crops and
    the (start, end) cut fractions of the crop that gave it."""
    raw = standardiser.inverse(reconstructions.astype(np.float64))
    best = np.full(reconstructions.shape[:2], np.inf)
    crops = np.zeros((*reconstructions.shape[:2], 2))
    for start in rule.cut_fractions:
        for end in rule.cut_fractions:
            shape = _crop_like_a_drawing(raw, start, end, standardiser)
            error = ((shape - targets[:, None]) ** 2).mean(axis=(2, 3))
            error = error * (1 + rule.penalty * (start + end))
            better = error < best
            best = np.where(better, error, best)
            crops[better] = (start, end)
    return best, crops


def free_end_errors(reconstructions: np.ndarray, targets: np.ndarray,
                    standardiser: Standardiser, rule: DecisionRule = FREE_ENDS) -> np.ndarray:
    """(N, E) the free-end errors of ``free_end_search``."""
    return free_end_search(reconstructions, targets, standardiser, rule)[0]


def experts_configuration(expert_set: ExpertSet) -> dict:
    """JSON-ready configuration of the experts: data set, selection, seed, noise in and out
    (where known: experts loaded or trained through ``mic_core.persistence``), sizes."""
    origin = expert_set.origin or {}
    data, train = origin.get("data") or {}, origin.get("train") or {}
    return {"dataset": data.get("dataset"), "selection": train.get("selection"),
            "seed": train.get("seed"), "noise_in": train.get("noise_in"),
            "noise_out": train.get("noise_out"), "expert": asdict(expert_set.config),
            "class_names": list(expert_set.class_names), "data": data or None,
            "train": train or None}


@dataclass(frozen=True, eq=False)
class Classification:
    """One decision over N targets and E experts, and everything it rests on.

    ``inversion``: the experts' inversions (mixture weights, errors, reconstructions);
    ``rule``: the decision rule used; ``deciding_errors`` (N, E): the errors that decided;
    ``deciding_crops`` (N, E, 2): with free ends, the (start, end) cut fractions of the crop
    of each final reconstruction that gave its deciding error (None for the plain rule);
    ``experts``: the experts' configuration (``experts_configuration``);
    ``free_ends_apply``: whether the targets are pen trajectories (for MNIST free ends do
    not apply); ``standardiser``: the data set's, for pen trajectories.
    """

    inversion: InversionRecord
    rule: DecisionRule
    deciding_errors: np.ndarray
    deciding_crops: np.ndarray | None
    experts: dict
    free_ends_apply: bool
    standardiser: Standardiser | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.inversion.class_names

    @property
    def n_targets(self) -> int:
        return len(self.deciding_errors)

    @property
    def winners(self) -> np.ndarray:
        """(N,) index of the winning expert of every target: the predicted class."""
        return self.deciding_errors.argmin(axis=1)

    @property
    def winner_names(self) -> list[str]:
        return [self.class_names[i] for i in self.winners]

    @property
    def reconstruction_errors(self) -> np.ndarray:
        """(N, E) the plain error of every expert's final reconstruction."""
        return self.inversion.final_errors

    @property
    def plain_winners(self) -> np.ndarray:
        """(N,) the winners by the plain rule (for comparison: not the decision unless
        ``rule.free_ends`` is off)."""
        return self.reconstruction_errors.argmin(axis=1)

    def with_rule(self, rule: DecisionRule) -> "Classification":
        """The same inversions decided by another rule."""
        return decide(self.inversion, rule, self.standardiser, self.experts)

    def deciding_reconstruction(self, n: int, expert: int) -> np.ndarray:
        """(T, D) the part of ``expert``'s final reconstruction of target ``n`` that was
        compared with the target (with free ends: its deciding crop, resampled and
        re-normalised like a drawing; else the whole reconstruction)."""
        final = self.inversion.reconstructions[n, expert, -1]
        if self.deciding_crops is None:
            return final
        start, end = self.deciding_crops[n, expert]
        raw = self.standardiser.inverse(final.astype(np.float64))[None, None]
        return _crop_like_a_drawing(raw, start, end, self.standardiser)[0, 0]

    def _rule_dict(self) -> dict:
        return {"name": self.rule.name, **asdict(self.rule),
                "free_ends_apply": self.free_ends_apply}

    def summary(self, n: int = 0) -> dict:
        """Target ``n``'s decision as JSON-ready values (no per-iteration arrays)."""
        names = self.class_names
        winner = int(self.winners[n])
        result = {
            "winner": names[winner],
            "rule": self._rule_dict(),
            "deciding_errors": dict(zip(names, map(float, self.deciding_errors[n]))),
            "reconstruction_errors": dict(zip(names, map(float,
                                                         self.reconstruction_errors[n]))),
            "mixture_weights": {name: [round(float(w), 4) for w in ws] for name, ws in
                                zip(names, self.inversion.final_mixture_weights[n])},
            "experts": self.experts,
            "inversion_config": asdict(self.inversion.config),
        }
        if self.deciding_crops is not None:
            result["deciding_crops"] = {name: {"start": float(s), "end": float(e)} for
                                        name, (s, e) in zip(names, self.deciding_crops[n])}
            result["winner_crop"] = result["deciding_crops"][names[winner]]
        return result

    def to_dict(self, n: int = 0) -> dict:
        """Target ``n``'s record as JSON-ready values (the export): the ``summary`` plus the
        target and every recorded iteration's errors, mixture weights and reconstructions."""
        record = self.inversion
        return {
            **self.summary(n),
            "class_names": list(self.class_names),
            "target": record.targets[n].tolist(),
            "errors": record.errors[n].tolist(),  # [expert][iteration]
            "mixture_weights_per_iteration": record.mixture_weights[n].tolist(),
            #                                   [expert][iteration][type]
            "reconstructions": record.reconstructions[n].tolist(),  # [expert][iteration][t][d]
            "recorded_iterations": self._iterations().tolist(),
        }

    def _iterations(self) -> np.ndarray:
        recorded = self.inversion.errors.shape[2]
        return np.arange(recorded) if recorded > 1 else np.array([self.inversion.config.iterations])

    def to_frame(self, n: int = 0):
        """Target ``n``'s record as a table, one row per (expert, recorded iteration):
        ``error`` (the plain error at that iteration), the mixture weights, and per expert
        its ``deciding_error``, ``reconstruction_error`` (plain, final) and ``winner``
        (True on the winning expert's rows); with free ends the deciding crop."""
        import pandas as pd
        record = self.inversion
        E, I, K = record.mixture_weights.shape[1:]
        winner = int(self.winners[n])
        frame = pd.DataFrame({
            "expert": np.repeat(self.class_names, I),
            "iteration": np.tile(self._iterations(), E),
            "error": record.errors[n].ravel(),
        })
        for k in range(K):
            frame[f"weight_type_{k + 1}"] = record.mixture_weights[n, :, :, k].ravel()
        frame["deciding_error"] = np.repeat(self.deciding_errors[n], I)
        frame["reconstruction_error"] = np.repeat(self.reconstruction_errors[n], I)
        frame["winner"] = np.repeat(np.arange(E) == winner, I)
        frame["rule"] = self.rule.name
        if self.deciding_crops is not None:
            frame["crop_start"] = np.repeat(self.deciding_crops[n, :, 0], I)
            frame["crop_end"] = np.repeat(self.deciding_crops[n, :, 1], I)
        return frame

    def to_csv(self, n: int = 0) -> str:
        """``to_frame(n)`` as CSV text (the export)."""
        return self.to_frame(n).to_csv(index=False)


def _check_rule(rule: DecisionRule, standardiser: Standardiser | None, values: int) -> bool:
    """Whether free ends apply (pen trajectories: a standardiser, 2 values per step); a
    clear error if ``rule`` asks for them where they do not."""
    free_ends_apply = standardiser is not None and values == 2
    if rule.free_ends and not free_ends_apply:
        raise ValueError("free ends apply to pen trajectories only: pass the data set's "
                         "standardiser, or decide by the plain rule (DecisionRule())")
    return free_ends_apply


def decide(inversion: InversionRecord, rule: DecisionRule = PLAIN,
           standardiser: Standardiser | None = None,
           experts: dict | None = None) -> Classification:
    """Decide between the experts of an inversion by ``rule``.

    ``standardiser``: the data set's (pen trajectories); free ends need it and raise a
    ``ValueError`` without it. ``experts``: their configuration, for the record."""
    free_ends_apply = _check_rule(rule, standardiser, inversion.targets.shape[-1])
    if rule.free_ends:
        deciding, crops = free_end_search(inversion.reconstructions[:, :, -1],
                                          inversion.targets, standardiser, rule)
    else:
        deciding, crops = inversion.final_errors, None
    return Classification(inversion=inversion, rule=rule, deciding_errors=deciding,
                          deciding_crops=crops, experts=experts or {},
                          free_ends_apply=free_ends_apply,
                          standardiser=standardiser if free_ends_apply else None)


def _concatenate(records: list[InversionRecord]) -> InversionRecord:
    first = records[0]
    if len(records) == 1:
        return first
    starts = ("start_index", "start_errors", "start_mixture_weights")  # several starts
    return InversionRecord(
        class_names=first.class_names, config=first.config,
        **{name: np.concatenate([getattr(r, name) for r in records])
           for name in ("targets", "mixture_weights", "errors", "reconstructions")},
        **{name: np.concatenate([getattr(r, name) for r in records])
           for name in starts if getattr(first, name) is not None})


def classify(expert_set: ExpertSet, targets, inversion_config: InversionConfig = InversionConfig(),
             rule: DecisionRule = PLAIN, standardiser: Standardiser | None = None,
             record: str = "full", batch_size: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Classification:
    """Invert ``targets`` (N, T, D) (or one (T, D)) in every expert and decide by ``rule``.

    ``record``: what the inversion keeps ("full", "errors", "final"; see
    ``inversion.invert``). ``batch_size``: invert that many targets at a time (bulk
    evaluation), calling ``progress(done, total)`` after each batch. Free ends need the
    data set's ``standardiser``; for MNIST use the plain rule (``default_rule``).
    """
    targets = np.asarray(targets, dtype=np.float32)
    if targets.ndim == 2:
        targets = targets[None]
    _check_rule(rule, standardiser, expert_set.config.output_size)
    size = batch_size or max(len(targets), 1)
    inversions, decisions = [], []
    for i in range(0, max(len(targets), 1), size):
        inversion = invert(expert_set, targets[i: i + size], inversion_config, record=record)
        decisions.append(decide(inversion, rule, standardiser))
        inversions.append(inversion)
        if progress is not None:
            progress(min(i + size, len(targets)), len(targets))
    return Classification(
        inversion=_concatenate(inversions), rule=rule,
        deciding_errors=np.concatenate([d.deciding_errors for d in decisions]),
        deciding_crops=None if decisions[0].deciding_crops is None else
        np.concatenate([d.deciding_crops for d in decisions]),
        experts=experts_configuration(expert_set), free_ends_apply=decisions[0].free_ends_apply,
        standardiser=decisions[0].standardiser)


class MICClassifier(ClassifierMixin, BaseEstimator):
    """Modular Inverse Classification: the class whose expert reconstructs best.

    ``fit(X, y)`` selects four types per class from (X, y) and trains one expert per
    class; ``from_experts`` wraps experts trained (or loaded) elsewhere. X is (n_ts, sz, d)
    (or (n_ts, sz): univariate). ``classify(X)`` returns the ``Classification`` record;
    ``predict`` its winners. ``predict_proba`` is a softmax of the negative deciding errors
    divided by ``temperature``: an ordering of the experts, not a calibrated probability.
    ``decision_rule`` with free ends needs the data set's ``standardiser``. The
    configurations are frozen dataclasses; None stands for their defaults (``TrainConfig()``,
    ``InversionConfig()``, the plain ``DecisionRule()``).

    Fitted attributes: ``experts_`` (ExpertSet), ``classes_`` (the labels, one per expert).
    """

    def __init__(self, train_config: TrainConfig | None = None,
                 inversion_config: InversionConfig | None = None,
                 decision_rule: DecisionRule | None = None,
                 standardiser: Standardiser | None = None,
                 temperature: float = 0.05, batch_size: int = 256):
        self.train_config = train_config
        self.inversion_config = inversion_config
        self.decision_rule = decision_rule
        self.standardiser = standardiser
        self.temperature = temperature
        self.batch_size = batch_size

    def fit(self, X, y, class_names=None, progress=None) -> "MICClassifier":
        X, y = check_time_series(self, X, y, reset=True)
        self.classes_, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
        config = self.train_config or TrainConfig()
        n_types = 4
        if counts.min() < n_types:
            c = int(counts.argmin())
            raise ValueError(f"MIC needs at least {n_types} samples of every class (one per "
                             f"type); class {self.classes_[c]} has {counts[c]} sample(s)")
        names = class_names or [str(c) for c in self.classes_]
        self.experts_ = train_experts(X, y_index, names, config, progress)
        return self

    @classmethod
    def from_experts(cls, experts: ExpertSet, **params) -> "MICClassifier":
        model = cls(**params)
        model.experts_ = experts
        model.classes_ = np.arange(experts.n_experts)
        model.n_features_in_ = experts.n_steps
        return model

    def classify(self, X, progress=None) -> Classification:
        """The record of the classification of X (final inversion results only), in
        batches; ``progress(done, total)`` after each batch."""
        check_is_fitted(self, "experts_")
        X = check_time_series(self, X)
        return classify(self.experts_, X, self.inversion_config or InversionConfig(),
                        self.decision_rule or PLAIN, self.standardiser, record="final",
                        batch_size=self.batch_size, progress=progress)

    def deciding_errors(self, X) -> np.ndarray:
        """(n_ts, n_experts) the error that decides, of every expert."""
        return self.classify(X).deciding_errors

    def predict_proba(self, X) -> np.ndarray:
        scores = -self.deciding_errors(X) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        winners = self.classify(X).winners
        return self.classes_[winners]
