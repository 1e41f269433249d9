"""Teaching a new class: four drawings become the types of one new expert, which joins a
*named expert set* (a base set plus the taught experts), saved on disk.

The modular design's promise: a new class needs one new expert and leaves the others
untouched. Training (``mic_core.training``) updates every expert from its own types only
(its own loss, its own gradient clipping, elementwise Adam), so an expert trained alone on
four drawings with the base set's recipe (``TrainConfig``) is exactly the expert the set
would have had for that class, up to its seeded random draws; the base experts are copied
bit for bit.

The four drawings go through the same representation as the set they join: pen
trajectories -> ``Dataset.pen_trajectories_to_sequences`` (arc-length resampling, shape
normalisation, the training pool's standardisation) for letters, ``raster_to_mnist`` for
digits.

A named set is one directory holding one file, ``expert_set.npz`` (written atomically): a
JSON header (format, kind, the set's name, the data configuration, the base's training
configuration, what was taught) and the arrays of the base experts and of the taught ones.
Loading composes them: a taught expert whose name is a base class *replaces* that expert
(your own handwriting for an existing letter), any other is appended. The shipped and
cached base files are only ever read.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from mic_core.classify import classify, default_rule
from mic_core.data import DataConfig, Dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory, raster_to_mnist
from mic_core.expert import ExpertConfig, ExpertSet
from mic_core.inversion import InversionConfig
from mic_core.persistence import atomic_write, default_cache_dir
from mic_core.training import TrainConfig, TrainProgress, train_on_types

N_DRAWINGS = 4  # one drawing per type
SET_FILE = "expert_set.npz"
SET_KIND = "mic-named-expert-set"
SET_FORMAT_VERSION = 1
MAX_SETS = 200  # a shared server: a visitor cannot fill the disk with sets
MAX_TAUGHT = 40  # taught experts per set
_SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_ARRAYS = ("w_ih", "w_hh", "bias", "w_out", "b_out", "types")


class TeachingError(ValueError):
    """Input that cannot be taught, or a set file that cannot be used, with the reason."""


# ----------------------------------------------------------------------------- names

def check_set_name(name: str) -> str:
    """A set's name is its directory's name: 1-40 letters, digits, '-' or '_', starting
    with a letter or digit (nothing that could leave the sets folder or hide a file)."""
    if not isinstance(name, str) or not _SET_NAME.fullmatch(name):
        raise TeachingError(f"the set name {str(name)[:60]!r} is not allowed: use 1-40 "
                            f"letters, digits, '-' or '_', starting with a letter or digit")
    return name


def check_class_name(name: str) -> str:
    """A class's name: 1-20 printable characters, not only spaces or dots, no slashes.

    >>> check_class_name(" f ")
    'f'
    >>> check_class_name("..")
    Traceback (most recent call last):
    ...
    mic_core.teaching.TeachingError: the class name '..' is only dots: give it a letter, a digit or a symbol's name
    """
    if not isinstance(name, str):
        raise TeachingError("the class name must be text")
    stripped = name.strip()
    if not stripped:
        raise TeachingError("give the new class a name (for example the letter 'f')")
    if len(stripped) > 20:
        raise TeachingError(f"the class name is {len(stripped)} characters long; use at "
                            f"most 20")
    if set(stripped) <= {"."}:  # a path's parent or itself, unreadable in every figure
        raise TeachingError(f"the class name {stripped!r} is only dots: give it a letter, a "
                            f"digit or a symbol's name")
    if any(not (ch.isprintable() or ch == " ") or ch in "/\\" for ch in name):
        raise TeachingError(f"the class name {stripped[:20]!r} holds a slash or a control "
                            f"character")
    return stripped


# ----------------------------------------------------------------------------- drawings

@dataclass(frozen=True)
class TeachingInput:
    """Four drawings in the representation of the set they join."""

    sequences: np.ndarray  # (4, T, D) float32, standardised like the training pool
    sizes: tuple[int, ...]  # per drawing: distinct pointer positions (letters) or inked
    #                         pixels of the 28 x 28 image (digits)


def drawings_to_sequences(dataset: Dataset, drawings, join_strokes: bool = False
                          ) -> TeachingInput:
    """Four canvas drawings -> the sequences a new expert is trained on.

    ``drawings``: for letters, four canvas JSONs (dicts or text); for digits, four ink
    images (H, W) in [0, 1] (or already 28 x 28). Raises TeachingError naming the drawing
    that cannot be read (empty, one point, several strokes, NaN ...) or if there are not
    exactly four.
    """
    drawings = list(drawings)
    if len(drawings) != N_DRAWINGS:
        raise TeachingError(f"teaching needs {N_DRAWINGS} drawings of the new class, got "
                            f"{len(drawings)}")
    sequences, sizes = [], []
    for i, drawing in enumerate(drawings, start=1):
        try:
            if dataset.name == "mnist":
                image = raster_to_mnist(drawing)
                sequences.append(image.astype(np.float32))
                sizes.append(int((image > 0.3).sum()))
            else:
                pen = drawing_to_pen_trajectory(drawing, join_strokes=join_strokes)
                sequences.append(dataset.pen_trajectories_to_sequences([pen])[0])
                sizes.append(int(len(np.unique(pen, axis=0))))
        except (DrawingError, ValueError) as exc:
            raise TeachingError(f"drawing {i}: {exc}") from None
    return TeachingInput(np.stack(sequences).astype(np.float32), tuple(sizes))


# ----------------------------------------------------------------------------- usability

@dataclass(frozen=True)
class UsabilityConfig:
    """When four drawings are flagged before teaching (thresholds from the training pool)."""

    min_size: dict = field(default_factory=lambda: {"characters": 12, "mnist": 20})
    claim_quantile: float = 0.9  # a drawing is claimed by an expert that wins it with an
    #   error below this quantile of the errors with which experts win their own samples
    spread_quantile: float = 0.95  # too different: mean pairwise distance above this
    #   quantile of the same for four samples of one class
    samples_per_class: int = 5  # training-pool samples per class for the thresholds
    seed: int = 0


@dataclass(frozen=True)
class Usability:
    """Whether four drawings are fit to teach; the teacher may go ahead regardless."""

    too_short: tuple[int, ...]  # 1-based drawings with too few points / too little ink
    claimed_by: dict  # 1-based drawing -> the existing class whose expert claims it
    spread: float  # mean pairwise distance between the four sequences
    spread_limit: float
    outlier: int  # 1-based drawing farthest from the others
    claim_limit: float
    winners: tuple[str, ...]  # the existing expert that wins each drawing

    @property
    def too_different(self) -> bool:
        return self.spread > self.spread_limit

    @property
    def usable(self) -> bool:
        return not (self.too_short or self.claimed_by or self.too_different)

    def messages(self) -> list[str]:
        """One sentence per problem (empty when the drawings are usable)."""
        out = []
        if self.too_short:
            out.append(f"Drawing{'s' if len(self.too_short) > 1 else ''} "
                       f"{', '.join(map(str, self.too_short))} "
                       f"{'are' if len(self.too_short) > 1 else 'is'} too short: draw the "
                       f"whole symbol, larger.")
        if self.claimed_by:
            by = {}
            for i, c in self.claimed_by.items():
                by.setdefault(c, []).append(str(i))
            out.append("Too similar to an existing class: " + "; ".join(
                f"the expert of '{c}' already claims drawing{'s' if len(d) > 1 else ''} "
                f"{', '.join(d)}" for c, d in by.items()) + ".")
        if self.too_different:
            out.append(f"The four drawings are too different from each other (mean distance "
                       f"{self.spread:.2f}, four samples of one class stay below "
                       f"{self.spread_limit:.2f}); drawing {self.outlier} is farthest from "
                       f"the others.")
        return out


def _mean_pairwise(groups: np.ndarray) -> np.ndarray:
    """(G, 4, T, D) -> (G,) mean MSE over the six pairs of drawings of each group."""
    i, j = np.triu_indices(groups.shape[1], k=1)
    return ((groups[:, i] - groups[:, j]) ** 2).mean(axis=(2, 3)).mean(axis=1)


@dataclass(frozen=True)
class UsabilityLimits:
    """The thresholds of the usability check, from the training pool (never the test set):
    they depend on the experts and the data set only, so a page computes them once."""

    claim_limit: float  # an expert winning a drawing below this error claims it
    spread_limit: float  # four drawings farther apart than this are too different


def usability_limits(experts: ExpertSet, dataset: Dataset,
                     config: UsabilityConfig = UsabilityConfig(),
                     inversion: InversionConfig = InversionConfig()) -> UsabilityLimits:
    """``claim_limit``: the ``claim_quantile`` of the errors with which the experts win
    their own class's samples (a seeded handful per class); ``spread_limit``: the
    ``spread_quantile`` of the mean pairwise distance of four samples of one class."""
    rng = np.random.RandomState(config.seed)
    picks, groups = [], []
    for c in range(len(dataset.class_names)):
        members = np.flatnonzero(dataset.y_train == c)
        picks.extend(rng.choice(members, min(config.samples_per_class, len(members)),
                                replace=False))
        for _ in range(20):
            groups.append(rng.choice(members, N_DRAWINGS, replace=False))
    pool = dataset.X_train[np.asarray(groups)]  # (G, 4, T, D)
    spread_limit = float(np.quantile(_mean_pairwise(pool), config.spread_quantile))
    picks = np.asarray(picks)
    own = _deciding(experts, dataset, dataset.X_train[picks], inversion)
    base_names = list(dataset.class_names)
    own_class = [experts.class_names.index(base_names[c]) if base_names[c] in
                 experts.class_names else -1 for c in dataset.y_train[picks]]
    won = [own[n, e] for n, e in enumerate(own_class) if e >= 0 and own[n].argmin() == e]
    return UsabilityLimits(float(np.quantile(won, config.claim_quantile)) if won else 0.0,
                           spread_limit)


def _deciding(experts, dataset, X, inversion):
    return classify(experts, X, inversion, default_rule(dataset.name), dataset.standardiser,
                    record="final").deciding_errors


def check_usability(experts: ExpertSet, dataset: Dataset, taught: TeachingInput,
                    config: UsabilityConfig = UsabilityConfig(),
                    inversion: InversionConfig = InversionConfig(),
                    limits: UsabilityLimits | None = None) -> Usability:
    """Flag drawings that are too short, claimed by an existing expert (say which), or too
    different from each other. ``limits`` from ``usability_limits`` (computed here if
    None)."""
    limits = limits or usability_limits(experts, dataset, config, inversion)
    errors = _deciding(experts, dataset, taught.sequences, inversion)
    winners = tuple(experts.class_names[int(e)] for e in errors.argmin(axis=1))
    claimed = {i + 1: winners[i] for i in range(N_DRAWINGS)
               if errors[i].min() <= limits.claim_limit}
    minimum = config.min_size.get(dataset.name, 12)
    short = tuple(i + 1 for i, s in enumerate(taught.sizes) if s < minimum)
    seq = taught.sequences
    distance = ((seq[:, None] - seq[None]) ** 2).mean(axis=(2, 3))
    spread = float(_mean_pairwise(seq[None])[0])
    return Usability(too_short=short, claimed_by=claimed, spread=spread,
                     spread_limit=limits.spread_limit,
                     outlier=int(distance.sum(axis=1).argmax()) + 1,
                     claim_limit=limits.claim_limit, winners=winners)


# ----------------------------------------------------------------------------- training

def teach_expert(sequences: np.ndarray, class_name: str, train: TrainConfig,
                 progress: Callable[[TrainProgress], None] | None = None) -> ExpertSet:
    """Train one expert on four sequences (4, T, D) as its types, with the recipe ``train``
    of the set it joins. Returns a one-expert ExpertSet.

    Runs on one numba thread: a single expert has no parallel work, and waking the thread
    pool every step costs more than the step (measured, benchmarks/teach_bench.py).
    """
    import numba
    sequences = np.asarray(sequences, dtype=np.float32)
    if sequences.ndim != 3 or len(sequences) != N_DRAWINGS:
        raise TeachingError(f"teaching needs {N_DRAWINGS} sequences (4, T, D), got shape "
                            f"{sequences.shape}")
    if not np.all(np.isfinite(sequences)):
        raise TeachingError("the drawings hold NaN or infinite values")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return train_on_types(sequences[None], [check_class_name(class_name)], train, progress)
    finally:
        numba.set_num_threads(threads)


# ----------------------------------------------------------------------------- named sets

def _subset(experts: ExpertSet, indices) -> ExpertSet:
    indices = list(indices)
    return ExpertSet(config=experts.config,
                     class_names=tuple(experts.class_names[i] for i in indices),
                     **{name: np.array(getattr(experts, name)[indices]) for name in _ARRAYS})


def _concatenate(parts: list[ExpertSet], config: ExpertConfig) -> ExpertSet:
    return ExpertSet(config=config,
                     class_names=tuple(n for p in parts for n in p.class_names),
                     **{name: np.concatenate([getattr(p, name) for p in parts])
                        for name in _ARRAYS})


def without_expert(experts: ExpertSet, class_name: str) -> ExpertSet:
    """The set less one expert (a leave-one-out base); the others copied bit for bit."""
    if class_name not in experts.class_names:
        raise TeachingError(f"the set has no expert {class_name!r}")
    return _subset(experts, [i for i, n in enumerate(experts.class_names) if n != class_name])


@dataclass(frozen=True, eq=False)
class NamedExpertSet:
    """A base set plus taught experts; ``experts`` composes them.

    ``taught`` holds one expert per taught class, in teaching order; a taught class that
    the base also has replaces the base expert in place, any other is appended.
    """

    name: str
    data: DataConfig
    base_train: TrainConfig  # the recipe of the base set, and of every taught expert
    base: ExpertSet
    taught: ExpertSet | None = None
    taught_seconds: dict = field(default_factory=dict)  # class -> training wall time

    @property
    def taught_names(self) -> tuple[str, ...]:
        return () if self.taught is None else self.taught.class_names

    @property
    def experts(self) -> ExpertSet:
        """The composed set that competes (base order, replacements in place, new ones
        appended)."""
        if self.taught is None:
            return self.base
        parts, taught = [], list(self.taught.class_names)
        for i, name in enumerate(self.base.class_names):
            source = (self.taught, [taught.index(name)]) if name in taught else (self.base, [i])
            parts.append(_subset(*source))
        new = [i for i, n in enumerate(taught) if n not in self.base.class_names]
        if new:
            parts.append(_subset(self.taught, new))
        return _concatenate(parts, self.base.config)

    def with_taught(self, expert: ExpertSet, replace_existing: bool = False,
                    seconds: float | None = None) -> "NamedExpertSet":
        """A copy with ``expert`` (one expert) taught. A name the set already has is
        refused unless ``replace_existing`` (reteach a taught class, or replace a base
        expert's types by your own handwriting)."""
        (name,) = expert.class_names
        if expert.config != self.base.config:
            raise TeachingError(f"the taught expert has sizes {expert.config}, the set "
                                f"{self.base.config}")
        if name in self.experts.class_names and not replace_existing:
            raise TeachingError(f"the set {self.name!r} already has an expert {name!r}: "
                                f"choose another name, or replace its types")
        if len(self.taught_names) >= MAX_TAUGHT and name not in self.taught_names:
            raise TeachingError(f"a set holds at most {MAX_TAUGHT} taught experts")
        kept = [i for i, n in enumerate(self.taught_names) if n != name]
        parts = ([_subset(self.taught, kept)] if kept else []) + [expert]
        times = {k: v for k, v in self.taught_seconds.items() if k != name}
        if seconds is not None:
            times[name] = float(seconds)
        return replace(self, taught=_concatenate(parts, self.base.config),
                       taught_seconds=times)

    def without_taught(self, class_name: str) -> "NamedExpertSet":
        """A copy without the taught expert ``class_name`` (a replaced base expert comes
        back)."""
        if class_name not in self.taught_names:
            raise TeachingError(f"{class_name!r} is not a taught expert of the set "
                                f"{self.name!r} (taught: {', '.join(self.taught_names) or 'none'})")
        kept = [i for i, n in enumerate(self.taught_names) if n != class_name]
        return replace(self, taught=_subset(self.taught, kept) if kept else None,
                       taught_seconds={k: v for k, v in self.taught_seconds.items()
                                       if k != class_name})


def base_set(experts: ExpertSet, data: DataConfig, train: TrainConfig,
             name: str = "base") -> NamedExpertSet:
    """A named set with nothing taught yet, over ``experts`` (shipped or cached, trained
    with ``train``)."""
    return NamedExpertSet(name=check_set_name(name), data=data, base_train=train,
                          base=_subset(experts, range(experts.n_experts)))


def sets_dir(cache_dir: Path | None = None) -> Path:
    """Where the app keeps named sets: ``<cache dir>/sets``."""
    return Path(cache_dir or default_cache_dir()) / "sets"


def _header(named: NamedExpertSet) -> dict:
    return {"kind": SET_KIND, "format_version": SET_FORMAT_VERSION, "name": named.name,
            "data": asdict(named.data), "base_train": asdict(named.base_train),
            "expert": asdict(named.base.config), "base_classes": list(named.base.class_names),
            "taught_classes": list(named.taught_names),
            "taught_seconds": named.taught_seconds}


def save_set(named: NamedExpertSet, directory: Path) -> Path:
    """Write ``named`` to ``directory/expert_set.npz`` atomically (a reader sees the old
    set or the new one); the directory's name must be the set's name. Returns the file."""
    directory = Path(directory)
    if directory.name != named.name:
        raise TeachingError(f"the set {named.name!r} must be saved in a folder of that name, "
                            f"not {directory.name!r}")
    check_set_name(named.name)
    arrays = {f"base_{k}": getattr(named.base, k) for k in _ARRAYS}
    if named.taught is not None:
        arrays.update({f"taught_{k}": getattr(named.taught, k) for k in _ARRAYS})
    header = json.dumps(_header(named), sort_keys=True)
    return atomic_write(directory / SET_FILE, lambda f: np.savez(
        f, header=np.array(header), **arrays))


def load_set(directory: Path, dataset: str | DataConfig | None = None) -> NamedExpertSet:
    """Read a set written by ``save_set``. With ``dataset`` (a name or a DataConfig), a set
    of another data set (or another representation) is refused. Raises TeachingError with
    the reason for a missing, corrupt, foreign or inconsistent file."""
    directory = Path(directory)
    path = directory / SET_FILE if directory.is_dir() or not directory.suffix else directory
    if not path.exists():
        raise TeachingError(f"{directory} holds no expert set (no {SET_FILE})")
    try:
        with np.load(path, allow_pickle=False) as f:
            contents = {k: f[k] for k in f.files}
        header = json.loads(str(contents["header"]))
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise TeachingError(f"{path} is not a readable expert set (truncated, corrupt or "
                            f"needing pickle): {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise TeachingError(f"{path} is not a readable expert set: {exc}") from None
    if not isinstance(header, dict) or header.get("kind") != SET_KIND:
        raise TeachingError(f"{path} is not an expert set file (kind "
                            f"{header.get('kind') if isinstance(header, dict) else None!r})")
    if header.get("format_version") != SET_FORMAT_VERSION:
        raise TeachingError(f"{path} has set format {header.get('format_version')}, expected "
                            f"{SET_FORMAT_VERSION}")
    try:
        data = DataConfig(**header["data"])
        base_train = TrainConfig(**header["base_train"])
        config = ExpertConfig(**header["expert"])
        name = check_set_name(header["name"])
        if name != path.parent.name:
            raise TeachingError(f"the set in folder {path.parent.name!r} calls itself "
                                f"{name!r}")
        want = dataset if isinstance(dataset, (DataConfig, type(None))) else None
        if isinstance(dataset, str) and data.dataset != dataset:
            raise TeachingError(f"the set {name!r} belongs to the {data.dataset} data set, "
                                f"not {dataset}")
        if want is not None and data != want:
            raise TeachingError(f"the set {name!r} was taught on {data}, not {want}")
        base = ExpertSet(config=config, class_names=tuple(header["base_classes"]),
                         **{k: contents[f"base_{k}"] for k in _ARRAYS})
        taught = None
        if header["taught_classes"]:
            taught = ExpertSet(config=config, class_names=tuple(header["taught_classes"]),
                               **{k: contents[f"taught_{k}"] for k in _ARRAYS})
            for c in taught.class_names:
                check_class_name(c)
        if len(set(base.class_names)) != len(base.class_names) or (
                taught is not None and len(set(taught.class_names)) != taught.n_experts):
            raise TeachingError("duplicate class names")
        seconds = {str(k): float(v) for k, v in header.get("taught_seconds", {}).items()}
    except TeachingError as exc:
        raise TeachingError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise TeachingError(f"{path} holds an inconsistent expert set: {exc}") from None
    return NamedExpertSet(name=name, data=data, base_train=base_train, base=base,
                          taught=taught, taught_seconds=seconds)


def list_sets(directory: Path | None = None, dataset: str | None = None) -> list[str]:
    """Names of the readable sets under ``directory`` (default ``sets_dir()``), of one data
    set if given, sorted."""
    directory = Path(directory) if directory is not None else sets_dir()
    if not directory.is_dir():
        return []
    names = []
    for sub in sorted(directory.iterdir()):
        if sub.is_dir() and _SET_NAME.fullmatch(sub.name) and (sub / SET_FILE).exists():
            try:
                load_set(sub, dataset)
            except TeachingError:
                continue
            names.append(sub.name)
    return names


def delete_set(directory: Path) -> None:
    """Remove a saved set's folder (its file first, so a half-removed set is never read)."""
    directory = Path(directory)
    check_set_name(directory.name)
    (directory / SET_FILE).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)


def _same_set(named: NamedExpertSet, directory: Path) -> bool:
    """Whether ``directory`` holds exactly ``named`` (so that teaching into it loses no
    expert that was saved there since ``named`` was read)."""
    try:
        saved = load_set(directory)
    except TeachingError:
        return False
    a, b = saved.experts, named.experts
    return (saved.name == named.name and a.class_names == b.class_names and
            saved.taught_names == named.taught_names and
            all(np.array_equal(getattr(a, k), getattr(b, k)) for k in _ARRAYS))


@dataclass(frozen=True)
class TeachResult:
    """What ``teach`` did."""

    named: NamedExpertSet
    path: Path
    seconds: float  # wall time of the expert's training
    replaced: bool  # the class existed (reteach, or your handwriting for a base class)


def teach(base: NamedExpertSet, dataset: Dataset, class_name: str, drawings,
          directory: Path, replace_existing: bool = False, join_strokes: bool = False,
          train: TrainConfig | None = None,
          progress: Callable[[TrainProgress], None] | None = None) -> TeachResult:
    """Teach ``class_name`` from four drawings into the set ``base`` and save it in
    ``directory`` (whose name is the set's name; a new set when it differs from
    ``base.name``). ``train`` defaults to the base's recipe. Nothing is written when the
    input is refused."""
    check_set_name(Path(directory).name)
    class_name = check_class_name(class_name)
    if dataset.config != base.data:
        raise TeachingError(f"the set {base.name!r} belongs to {base.data.dataset}, not "
                            f"{dataset.name}")
    exists = class_name in base.experts.class_names
    if exists and not replace_existing:
        raise TeachingError(f"the set already has an expert {class_name!r}: choose another "
                            f"name, or replace its types")
    taught_input = drawings_to_sequences(dataset, drawings, join_strokes)
    if taught_input.sequences.shape[1:] != base.base.types.shape[2:]:
        raise TeachingError(f"the drawings give sequences {taught_input.sequences.shape[1:]},"
                            f" the set's experts {base.base.types.shape[2:]}")
    directory = Path(directory)
    if (directory / SET_FILE).exists() and not _same_set(base, directory):
        raise TeachingError(f"a set called {directory.name!r} exists already (or changed "
                            f"since it was read): choose it to add to it, or another name")
    if not (directory / SET_FILE).exists() and directory.parent.is_dir() and sum(
            1 for d in directory.parent.iterdir() if (d / SET_FILE).exists()) >= MAX_SETS:
        raise TeachingError(f"{directory.parent} holds {MAX_SETS} sets already: add to one "
                            f"of them or delete one")
    named = replace(base, name=directory.name)
    start = time.perf_counter()
    expert = teach_expert(taught_input.sequences, class_name, train or base.base_train,
                          progress)
    seconds = time.perf_counter() - start
    named = named.with_taught(expert, replace_existing=True, seconds=seconds)
    path = save_set(named, directory)
    return TeachResult(named, path, seconds, exists)


def training_pool_pen_trajectories(config: DataConfig = DataConfig()):
    """The letters' training pool as raw pen positions (list of (T_i, 2), y up) and labels,
    in the order of ``load_dataset(config).X_train`` (same split): four of them, drawn
    through the canvas path, stand in for a teacher's drawings in the measurements."""
    from mic_core.data import load_character_pen_trajectories, stratified_split
    pens, labels, _ = load_character_pen_trajectories()
    labelled = np.flatnonzero(labels >= 0)
    train, _ = stratified_split(labels[labelled], config.test_fraction, config.split_seed)
    train = labelled[train]
    return [pens[i] for i in train], labels[train]


def single_generator_retraining(dataset: str, results: Path | None = None) -> dict | None:
    """What adding a class costs the single generator (issue 11), which must retrain as a
    whole, as measured by ``python -m benchmarks.single_generator add-class`` (its JSON in
    results/single); None where it was not measured."""
    path = (Path(results) if results else Path(__file__).resolve().parent.parent / "results"
            / "single") / f"add-class-{dataset}.json"
    try:
        measured = json.loads(path.read_text())
        return {"retrain_seconds": float(measured["single_class_retrain_seconds"]),
                "steps": int(measured["single_class_steps"]),
                "one_expert_seconds": float(measured["mic_one_expert_seconds"]),
                "ratio": float(measured["single_class_ratio_to_one_expert"]),
                "load_average": measured.get("machine", {}).get("load_average")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


LEAVE_ONE_OUT = Path(__file__).resolve().parent.parent / "results" / "teach" / \
    "leave_one_out.csv"


def leave_one_out_table(path: Path = LEAVE_ONE_OUT, rule: str = "free_ends"):
    """The leave-one-out measurement (benchmarks/teach_leave_one_out.py) for one decision
    rule ("plain" or "free_ends"): one row per letter, accuracies of the full set and of the
    set whose expert of that letter was taught from four drawings; None if not measured.

    Columns: letter, held-out samples of it, its accuracy (full, taught), accuracy on the
    other letters (full, taught), others' samples the taught expert now takes, others'
    samples the left-out expert took that are now right or elsewhere, teaching seconds.
    """
    import pandas as pd
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    columns = {"letter": "letter", "n_heldout": "held-out samples",
               f"{rule}_class_full": "its accuracy, full set",
               f"{rule}_class_taught": "its accuracy, taught",
               f"{rule}_others_full": "others' accuracy, full set",
               f"{rule}_others_taught": "others' accuracy, taught",
               f"{rule}_others_now_taken_by_new": "others now taken by the taught expert",
               f"{rule}_others_freed_from_new": "others no longer taken by it",
               "teach_seconds": "teaching seconds"}
    if not set(columns) <= set(table.columns):
        return None
    return table[list(columns)].rename(columns=columns)
