"""The low-data protocol for network inversion: which samples are labelled, which unlabelled,
the validation split, configurations, and trained networks kept on disk.

Letters: the four labelled samples per class are the SAME four types MIC's experts learn
(``persistence.load_or_select_types``: same selection, same seeds); the unlabelled samples
are the rest of the training pool plus the 1429 unlabelled trajectories, all in the character
representation standardised with the pool's statistics (``data.load_dataset``). Digits: N
labelled images per class drawn seeded from the official training set ("drawn"), the other
training images unlabelled.

The validation split (for α, β and the learning rate) is carved from the TRAINING data: a
seeded stratified third of the letters' pool, 2000 MNIST training images; while choosing,
it is left out of the unlabelled data too. The held-out test set is never touched here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

from mic_core.data import Dataset
from mic_core.inversion_ssl.estimator import (InversionSSLClassifier, InversionSSLFileError,
                                              SSLProgress, check_options)
from mic_core.persistence import default_cache_dir, load_or_select_types
from mic_core.training import default_train_config
from mic_core.type_selection import SELECTIONS

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "inversion_ssl"
DEFAULTS_FILE = SHIPPED / "defaults.json"
LABEL_SELECTIONS = (*SELECTIONS, "drawn")  # MIC's types (4 per class), or a seeded draw
METHODS = ("inversion_ssl", "supervised_small")
VALIDATION = {"characters": 1 / 3, "mnist": 2000}  # share of the pool, or a count
VALIDATION_SEED = 0
# Used when assets/inversion_ssl/defaults.json (written by the validation search) is absent.
_FALLBACK = {
    "characters": {"labels_per_class": 4, "selection": "clustered", "steps": 400,
                   "batch_labelled": 40, "batch_unlabelled": 40},
    "mnist": {"labels_per_class": 5, "selection": "drawn", "steps": 400,
              "batch_labelled": 10, "batch_unlabelled": 22},
}


@dataclass(frozen=True)
class SSLConfig:
    """Everything that fixes a trained inversion network (its file's key)."""

    dataset: str = "characters"
    labels_per_class: int = 4
    selection: str = "clustered"  # "clustered"/"random": MIC's types (4 per class); "drawn"
    seed: int = 42  # the labelled draw / MIC's types, initial weights and batches
    alpha: float = 0.5  # 1.0: supervised only
    beta: float = 0.5
    learning_rate: float = 0.003
    steps: int = 1000
    batch_labelled: int = 80
    batch_unlabelled: int = 64
    # Added later: left out of a file's key while at these defaults (``config_key``), so the
    # files made before them keep their names.
    eval_every: int = 50  # steps between validation evaluations (the training curve)
    keep_best: bool = False  # end at the step of best validation accuracy; the validation
    # samples are then never unlabelled data
    lr_schedule: str = "constant"  # or "cosine"
    reduction: str = "mean"  # R in the loss: mean squared error, or "sum" (‖x̂ − x‖², eq. 8)

    def __post_init__(self):
        if self.selection not in LABEL_SELECTIONS:
            raise ValueError(f"unknown selection {self.selection!r}; choose one of "
                             f"{LABEL_SELECTIONS}")
        if self.selection != "drawn" and self.labels_per_class != 4:
            raise ValueError("MIC's types are four per class: use selection 'drawn' for "
                             f"{self.labels_per_class} labels per class")
        if self.labels_per_class < 1:
            raise ValueError("labels_per_class must be at least 1")
        check_options(self.alpha, self.beta, self.lr_schedule, self.reduction)

    @property
    def method(self) -> str:
        """The results table's name: "inversion_ssl", or "supervised_small" when alpha = 1."""
        return "supervised_small" if self.alpha == 1.0 else "inversion_ssl"

    def estimator(self, eval_every: int | None = None) -> InversionSSLClassifier:
        return InversionSSLClassifier(alpha=self.alpha, beta=self.beta,
                                      learning_rate=self.learning_rate, steps=self.steps,
                                      batch_labelled=self.batch_labelled,
                                      batch_unlabelled=self.batch_unlabelled, seed=self.seed,
                                      eval_every=eval_every or self.eval_every,
                                      keep_best=self.keep_best, lr_schedule=self.lr_schedule,
                                      reduction=self.reduction)


_LATER_FIELDS = {"eval_every": 50, "keep_best": False, "lr_schedule": "constant",
                 "reduction": "mean"}


def config_key(config: SSLConfig) -> dict:
    """``config`` as a dict, without the fields added later while they hold their defaults
    (a file's key and stored configuration)."""
    return {k: v for k, v in asdict(config).items()
            if not (k in _LATER_FIELDS and v == _LATER_FIELDS[k])}


def default_config(dataset: str, method: str = "inversion_ssl", **overrides) -> SSLConfig:
    """The configuration chosen on validation (``assets/inversion_ssl/defaults.json``)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    values = dict(_FALLBACK[dataset])
    if DEFAULTS_FILE.exists():
        values.update(json.loads(DEFAULTS_FILE.read_text()).get(dataset, {}).get(method, {}))
    if method == "supervised_small":
        values.update(alpha=1.0, beta=0.0)
    return SSLConfig(dataset=dataset, **{**values, **overrides})


@dataclass(frozen=True, eq=False)
class SSLData:
    """The labelled, unlabelled and validation samples of one configuration."""

    X_labelled: np.ndarray
    y_labelled: np.ndarray
    X_unlabelled: np.ndarray
    X_validation: np.ndarray
    y_validation: np.ndarray


def _balanced_draw(y: np.ndarray, per_class: int, seed: int, n_classes: int) -> np.ndarray:
    rng = np.random.RandomState(seed)
    chosen = []
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} training samples, fewer than "
                             f"{per_class}")
        chosen.extend(rng.choice(members, per_class, replace=False))
    return np.sort(np.array(chosen))


def validation_indices(dataset: Dataset, exclude: np.ndarray) -> np.ndarray:
    """The validation part of the training pool (seeded, stratified for letters), never any
    index in ``exclude``."""
    rng = np.random.RandomState(VALIDATION_SEED)
    free = np.setdiff1d(np.arange(len(dataset.y_train)), exclude)
    size = VALIDATION[dataset.name]
    if isinstance(size, int):
        return np.sort(rng.choice(free, min(size, len(free)), replace=False))
    chosen = []
    for c in np.unique(dataset.y_train):
        members = rng.permutation(free[dataset.y_train[free] == c])
        chosen.extend(members[: int(round(len(members) * size))])
    return np.sort(np.array(chosen))


def ssl_data(dataset: Dataset, config: SSLConfig, choosing: bool = False,
             cache_dir: Path | None = None) -> SSLData:
    """Labelled, unlabelled and validation samples for ``config``.

    ``choosing``: the validation samples are left out of the unlabelled data (while α, β and
    the learning rate are chosen, and whenever ``config.keep_best`` lets them choose the
    number of steps); otherwise every non-labelled training sample is unlabelled data and the
    validation samples only mark the training curve.
    """
    if dataset.name != config.dataset:
        raise ValueError(f"the configuration is for {config.dataset}, the data are "
                         f"{dataset.name}")
    n_classes = len(dataset.class_names)
    if config.selection == "drawn":
        labelled = _balanced_draw(dataset.y_train, config.labels_per_class, config.seed,
                                  n_classes)
        X_l, y_l = dataset.X_train[labelled], dataset.y_train[labelled]
    else:
        train = default_train_config(dataset.name, selection=config.selection,
                                     seed=config.seed)
        types = load_or_select_types(dataset, train, cache_dir)
        X_l = types.reshape(-1, *types.shape[2:])
        y_l = np.repeat(np.arange(types.shape[0]), types.shape[1])
        flat = dataset.X_train.reshape(len(dataset.X_train), -1)
        # 'random' types are pool samples: labelled, so never unlabelled too
        hits = [np.flatnonzero(np.all(flat == t.reshape(1, -1), axis=1)) for t in X_l]
        labelled = np.unique(np.concatenate(hits)) if hits else np.zeros(0, int)
    validation = validation_indices(dataset, labelled)
    choosing = choosing or config.keep_best
    leave_out = np.union1d(labelled, validation) if choosing else labelled
    pool = np.setdiff1d(np.arange(len(dataset.X_train)), leave_out)
    parts = [dataset.X_train[pool]]
    if dataset.X_unlabelled is not None:
        parts.append(dataset.X_unlabelled)
    return SSLData(X_labelled=np.ascontiguousarray(X_l, dtype=np.float32),
                   y_labelled=np.asarray(y_l, dtype=np.int64),
                   X_unlabelled=np.concatenate(parts).astype(np.float32),
                   X_validation=dataset.X_train[validation],
                   y_validation=dataset.y_train[validation])


# --- trained networks on disk ----------------------------------------------------------------

def file_header(dataset: Dataset, config: SSLConfig) -> dict:
    """The full configuration stored in (and checked on reading) a network's file."""
    return {"config": config_key(config), "data": asdict(dataset.config)}


def file_name(dataset: Dataset, config: SSLConfig) -> str:
    """Readable prefix + a hash of the full configuration."""
    digest = hashlib.sha256(json.dumps(file_header(dataset, config), sort_keys=True)
                            .encode()).hexdigest()[:16]
    return (f"{config.dataset}-{config.method}-{config.selection}{config.labels_per_class}"
            f"-seed{config.seed}-{digest}.npz")


def find_network(dataset: Dataset, config: SSLConfig, cache_dir: Path | None = None):
    """The file of this network, shipped or cached, or None if it was never trained."""
    name = file_name(dataset, config)
    for path in (SHIPPED / name, Path(cache_dir or default_cache_dir()) / "inversion_ssl" / name):
        if path.exists():
            return path
    return None


def load_or_fit(dataset: Dataset, config: SSLConfig, cache_dir: Path | None = None,
                progress: Callable[[SSLProgress], None] | None = None,
                log: Callable[[str], None] = lambda message: None) -> InversionSSLClassifier:
    """The network of ``config``: shipped in ``assets/inversion_ssl``, else cached, else
    trained now (on the non-choosing data of ``ssl_data``) and cached. Concurrent callers
    with one configuration train once."""
    header = file_header(dataset, config)
    name = file_name(dataset, config)
    if (SHIPPED / name).exists():
        return InversionSSLClassifier.load(SHIPPED / name, header)
    path = Path(cache_dir or default_cache_dir()) / "inversion_ssl" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                return InversionSSLClassifier.load(path, header)
            except InversionSSLFileError as exc:
                log(f"retraining: {exc}")
        data = ssl_data(dataset, config, cache_dir=cache_dir)
        model = config.estimator().fit(data.X_labelled, data.y_labelled, data.X_unlabelled,
                                       data.X_validation, data.y_validation, progress)
        model.save(path, header)
        return model


def fit_small_run(dataset: Dataset, config: SSLConfig, n_labelled: int, n_unlabelled: int,
                  n_validation: int = 200,
                  progress: Callable[[SSLProgress], None] | None = None,
                  eval_every: int = 10) -> InversionSSLClassifier:
    """A small run on demand (the page's): ``n_labelled`` samples drawn balanced from the
    training pool, ``n_unlabelled`` other pool samples, ``n_validation`` others for the
    curve; nothing is saved. Bounded: at most 1000 of each."""
    if not (10 <= n_labelled <= 1000 and 0 <= n_unlabelled <= 1000 and
            10 <= n_validation <= 1000):
        raise ValueError("a small run takes 10..1000 labelled, 0..1000 unlabelled and "
                         "10..1000 validation samples")
    n_classes = len(dataset.class_names)
    labelled = _balanced_draw(dataset.y_train, max(1, n_labelled // n_classes), config.seed,
                              n_classes)
    rng = np.random.RandomState(config.seed + 1)
    rest = rng.permutation(np.setdiff1d(np.arange(len(dataset.y_train)), labelled))
    validation, unlabelled = rest[:n_validation], rest[n_validation: n_validation + n_unlabelled]
    model = replace(config, selection="drawn").estimator(eval_every=eval_every)
    return model.fit(dataset.X_train[labelled], dataset.y_train[labelled],
                     dataset.X_train[unlabelled], dataset.X_train[validation],
                     dataset.y_train[validation], progress)
