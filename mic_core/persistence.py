"""The policy that decides to load or train experts: shipped in ``assets/experts``, else
cached under ``$MIC_CACHE_DIR``, else trained now (once, under a file lock) and cached; the
selected types are cached the same way.

The file format itself (save, load, validate, atomic writes) is ``mic_core.expert_file``;
its names are re-exported here for the callers that import them from ``persistence``.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

from mic_core.data import DataConfig, Dataset
from mic_core.expert import ExpertSet
from mic_core.expert_file import (FORMAT_VERSION, ExpertFileError, atomic_write,  # noqa: F401
                                  config_digest, configuration, file_name, load_experts,
                                  save_experts)
from mic_core.training import TrainConfig, TrainProgress, train_on_types
from mic_core.type_selection import select_types

SHIPPED_EXPERTS = Path(__file__).resolve().parent.parent / "assets" / "experts"


def default_cache_dir() -> Path:
    """``$MIC_CACHE_DIR``, or ``~/.cache/mic_studio``."""
    return Path(os.environ.get("MIC_CACHE_DIR", Path.home() / ".cache" / "mic_studio"))


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
    path = (Path(cache_dir or default_cache_dir()) /
            f"types-{dataset.name}-{train.selection}-seed{train.seed}-{config_digest(key)}.npz")
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
