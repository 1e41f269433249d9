"""Saving and loading trained experts: one ``.npz`` file per full configuration.

A file holds the stacked weights, the types, the training curve and a JSON header with the
format version and the complete configuration (data, training, expert sizes). Files are
written atomically (temporary file + rename) and read with ``allow_pickle=False``; a file
that is truncated, corrupt, foreign or from another configuration raises
``ExpertFileError`` with the reason, and ``load_or_train`` then trains anew.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

from mic_core.data import DataConfig, Dataset
from mic_core.expert import ExpertConfig, ExpertSet
from mic_core.training import TrainConfig, TrainProgress, train_on_types
from mic_core.type_selection import select_types

FORMAT_VERSION = 1
SHIPPED_EXPERTS = Path(__file__).resolve().parent.parent / "assets" / "experts"
_ARRAYS = ("w_ih", "w_hh", "bias", "w_out", "b_out", "types", "training_curve")


class ExpertFileError(ValueError):
    """A file of trained experts that cannot be used, with the reason."""


def default_cache_dir() -> Path:
    """``$MIC_CACHE_DIR``, or ``~/.cache/mic_studio``."""
    return Path(os.environ.get("MIC_CACHE_DIR", Path.home() / ".cache" / "mic_studio"))


def configuration(data: DataConfig, train: TrainConfig) -> dict:
    """The full configuration that keys a file of trained experts."""
    return {"format_version": FORMAT_VERSION, "data": asdict(data), "train": asdict(train)}


def file_name(data: DataConfig, train: TrainConfig) -> str:
    """Readable prefix + a hash of the full configuration."""
    digest = hashlib.sha256(json.dumps(configuration(data, train), sort_keys=True)
                            .encode()).hexdigest()[:16]
    return f"{data.dataset}-{train.selection}-seed{train.seed}-{digest}.npz"


def atomic_write(path: Path, write: Callable) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over
    ``path``: a reader sees the old file or the whole new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_experts(expert_set: ExpertSet, path: Path, data: DataConfig,
                 train: TrainConfig) -> Path:
    """Write ``expert_set`` to ``path`` atomically; returns the path."""
    header = {**configuration(data, train), "expert": asdict(expert_set.config)}
    arrays = {name: getattr(expert_set, name) for name in _ARRAYS}
    if arrays["training_curve"] is None:
        arrays["training_curve"] = np.zeros((0, expert_set.n_experts), dtype=np.float32)
    return atomic_write(path, lambda f: np.savez(
        f, header=np.array(json.dumps(header, sort_keys=True)),
        class_names=np.array(expert_set.class_names), **arrays))


def load_experts(path: Path, data: DataConfig | None = None,
                 train: TrainConfig | None = None) -> ExpertSet:
    """Read a file written by ``save_experts``; if ``data`` and ``train`` are given, the
    file must have been trained with exactly that configuration."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            contents = {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ExpertFileError(f"{path.name} is not a readable expert file (truncated, "
                              f"corrupt or needing pickle): {exc}") from None
    missing = [k for k in ("header", "class_names", *_ARRAYS) if k not in contents]
    if missing:
        raise ExpertFileError(f"{path.name} is not an expert file: it lacks {missing}")
    try:
        header = json.loads(str(contents["header"]))
        expert_config = ExpertConfig(**header["expert"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ExpertFileError(f"{path.name} has an unreadable header: {exc}") from None
    if header.get("format_version") != FORMAT_VERSION:
        raise ExpertFileError(f"{path.name} has format version "
                              f"{header.get('format_version')}, expected {FORMAT_VERSION}")
    if data is not None and train is not None:
        want = configuration(data, train)
        if {k: header.get(k) for k in want} != want:
            raise ExpertFileError(f"{path.name} was trained with another configuration: "
                                  f"{header['data']} {header['train']}")
    try:
        return ExpertSet(config=expert_config,
                         class_names=tuple(str(c) for c in contents["class_names"]),
                         origin={"data": header.get("data"), "train": header.get("train")},
                         **{name: contents[name] for name in _ARRAYS})
    except (ValueError, TypeError) as exc:
        raise ExpertFileError(f"{path.name} holds inconsistent experts: {exc}") from None


def find_experts(data: DataConfig, train: TrainConfig, cache_dir: Path | None = None):
    """The file of these experts, shipped or cached, or None if they were never trained."""
    name = file_name(data, train)
    for path in (SHIPPED_EXPERTS / name, Path(cache_dir or default_cache_dir()) / name):
        if path.exists():
            return path
    return None


def types_configuration(data: DataConfig, train: TrainConfig) -> dict:
    """What fixes the types: the data, the selection, its seed and metric."""
    return {"format_version": FORMAT_VERSION, "data": asdict(data),
            "selection": train.selection, "seed": train.seed,
            "cluster_metric": train.cluster_metric}


def load_or_select_types(dataset: Dataset, train: TrainConfig,
                         cache_dir: Path | None = None) -> np.ndarray:
    """The types of ``train``'s selection, cached: DTW k-means takes ~20 s for characters,
    and every noise setting of one selection and seed shares them."""
    key = types_configuration(dataset.config, train)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = (Path(cache_dir or default_cache_dir()) /
            f"types-{dataset.name}-{train.selection}-seed{train.seed}-{digest}.npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        try:
            with np.load(path, allow_pickle=False) as f:
                if json.loads(str(f["header"])) == key:
                    return f["types"]
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError):
            pass  # missing or unusable: select anew
        types = select_types(dataset.X_train, dataset.y_train, len(dataset.class_names),
                             train.selection, train.seed, metric=train.cluster_metric)
        atomic_write(path, lambda f: np.savez(
            f, header=np.array(json.dumps(key, sort_keys=True)), types=types))
        return types


def load_or_train(dataset: Dataset, train: TrainConfig, cache_dir: Path | None = None,
                  progress: Callable[[TrainProgress], None] | None = None,
                  log: Callable[[str], None] = lambda message: None) -> ExpertSet:
    """The experts for ``dataset`` and ``train``: shipped in ``assets/experts``, else cached,
    else trained now and cached. Concurrent callers with one configuration train once."""
    name = file_name(dataset.config, train)
    shipped = SHIPPED_EXPERTS / name
    if shipped.exists():
        return load_experts(shipped, dataset.config, train)
    path = Path(cache_dir or default_cache_dir()) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                return load_experts(path, dataset.config, train)
            except ExpertFileError as exc:
                log(f"retraining: {exc}")
        types = load_or_select_types(dataset, train, cache_dir)
        expert_set = train_on_types(types, dataset.class_names, train, progress)
        save_experts(expert_set, path, dataset.config, train)
        return replace(expert_set, origin={"data": asdict(dataset.config),
                                           "train": asdict(train)})
