"""The file format of saved experts: one ``.npz`` file per full configuration.

A file holds the stacked weights, the types, the training curve and a JSON header with the
format version and the complete configuration (data, training, expert sizes). Files are
written atomically (temporary file + rename) and read with ``allow_pickle=False``; a file
that is truncated, corrupt, foreign or from another configuration raises
``ExpertFileError`` with the reason. Whether to load, train or cache is the policy of
``mic_core.persistence``, not of this module.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np

from mic_core.data import DataConfig
from mic_core.expert import ExpertConfig, ExpertSet
from mic_core.training import TrainConfig

FORMAT_VERSION = 1
_ARRAYS = ("w_ih", "w_hh", "bias", "w_out", "b_out", "types", "training_curve")


class ExpertFileError(ValueError):
    """A file of trained experts that cannot be used, with the reason."""


def configuration(data: DataConfig, train: TrainConfig) -> dict:
    """The full configuration that keys a file of trained experts."""
    return {"format_version": FORMAT_VERSION, "data": asdict(data), "train": asdict(train)}


def config_digest(key: dict) -> str:
    """16 hex digits of the SHA-256 of a configuration's canonical JSON.

    >>> config_digest({"b": 1, "a": [2, 3]}) == config_digest({"a": [2, 3], "b": 1})
    True
    """
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def file_name(data: DataConfig, train: TrainConfig) -> str:
    """Readable prefix + a hash of the full configuration.

    >>> file_name(DataConfig("characters"), TrainConfig()).startswith("characters-clustered-seed42-")
    True
    """
    return f"{data.dataset}-{train.selection}-seed{train.seed}-" \
           f"{config_digest(configuration(data, train))}.npz"


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
