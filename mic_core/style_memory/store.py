"""Style memories trained on demand, cached and shipped: one ``.npz`` per full configuration.

A file holds the weights (float16: half the size, accuracy measured unchanged) and a JSON
header with the format version, the complete configuration (data + training), the classes,
the input shape and the validation history. It is written atomically and read with
``allow_pickle=False``; a truncated, corrupt, foreign or differently configured file raises
``StyleMemoryFileError`` with the reason. Training checkpoints (``.ckpt.pt`` beside the
cached file, read with ``weights_only=True``) make an interrupted training resume.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from filelock import FileLock

from mic_core.data import DataConfig, Dataset
from mic_core.persistence import atomic_write, default_cache_dir, load_or_select_types
from mic_core.style_memory.estimator import StyleMemoryClassifier
from mic_core.style_memory.network import StyleMemoryNet
from mic_core.training import TrainProgress, default_train_config

FORMAT_VERSION = 1
SHIPPED_STYLE_MEMORIES = Path(__file__).resolve().parents[2] / "assets" / "style_memory"
_WEIGHT = "weight:"


class StyleMemoryFileError(ValueError):
    """A style-memory file that cannot be used, with the reason."""


@dataclass(frozen=True)
class StyleMemoryConfig:
    """What a style memory is trained on and how (with the DataConfig, its file's key)."""

    dataset: str = "characters"  # "characters" or "mnist"
    selection: str | None = None  # None: the whole training pool; "clustered" or "random":
    #   the experts' four types per class (the low-data protocol)
    seed: int = 42  # weights, minibatches, noise, validation split (and the types' seed)
    n_style: int = 16  # logistic style neurons (paper: 16)
    alpha: float = 0.05  # weight of the reconstruction distance (paper: 0.05)
    noise: float = 0.1  # std of the Gaussian input noise (denoising)
    epochs: int = 8
    learning_rate: float = 1e-3  # Adam, cosine-decayed to a tenth (paper: 1e-5, 250 epochs)
    batch_size: int = 128
    validation_fraction: float = 0.1  # carved from the training data to choose the epoch
    augment: float = 0.0  # pen trajectories: random rotation / scale of training samples
    # added later (a file's key holds them only where they differ from these defaults, which
    # are the paper's network, so files trained before them keep their names):
    decoder: str = "mirror"  # "mirror" (paper) or "smooth" (pen paths from cosines)
    n_basis: int = 24  # cosines per coordinate of the smooth decoder
    class_input: str = "softmax"  # decoder's class vector in training: "softmax" or "label"
    style_noise: float = 0.0  # std of the noise on the style the decoder reads in training
    adversary: float = 0.0  # weight of the reversed gradient of the style critic

    def estimator_params(self) -> dict:
        fields = ("n_style", "alpha", "noise", "epochs", "learning_rate", "batch_size",
                  "validation_fraction", "augment", "decoder", "n_basis", "class_input",
                  "style_noise", "adversary", "seed")
        return {name: getattr(self, name) for name in fields}


_ADDED_LATER = ("decoder", "n_basis", "class_input", "style_noise", "adversary")


# Chosen on validation splits carved from the training pool (benchmarks/style_memory_choices.py)
_DEFAULTS = {
    ("mnist", None): dict(epochs=8, batch_size=128, noise=0.1, validation_fraction=1 / 12),
    ("characters", None): dict(epochs=80, batch_size=32, noise=0.1, learning_rate=3e-3,
                               augment=0.3, decoder="smooth", class_input="label",
                               adversary=1.0),  # benchmarks/style_memory_decoder.py
    ("mnist", "types"): dict(epochs=100, batch_size=16, noise=0.3, validation_fraction=0.0),
    ("characters", "types"): dict(epochs=100, batch_size=16, noise=0.3,
                                  validation_fraction=0.0),
}


def default_style_config(dataset: str, selection: str | None = None,
                         **overrides) -> StyleMemoryConfig:
    """The chosen settings for ``dataset`` trained on its whole pool (``selection`` None)
    or on the four types per class of ``selection``."""
    base = _DEFAULTS[(dataset, None if selection is None else "types")]
    return replace(StyleMemoryConfig(dataset=dataset, selection=selection),
                   **{**base, **overrides})


def configuration(data: DataConfig, config: StyleMemoryConfig) -> dict:
    """The full configuration that keys a style-memory file."""
    style = asdict(config)
    for name in _ADDED_LATER:
        if style[name] == StyleMemoryConfig.__dataclass_fields__[name].default:
            del style[name]
    return {"format_version": FORMAT_VERSION, "data": asdict(data), "style": style}


def file_name(data: DataConfig, config: StyleMemoryConfig) -> str:
    """Readable prefix + a hash of the full configuration."""
    digest = hashlib.sha256(json.dumps(configuration(data, config), sort_keys=True)
                            .encode()).hexdigest()[:16]
    return f"style-{data.dataset}-{config.selection or 'full'}-seed{config.seed}-{digest}.npz"


def training_data(dataset: Dataset, config: StyleMemoryConfig, cache_dir=None):
    """(X, y): the whole training pool, or the four types per class of ``selection`` (the
    same selection and seed as the experts')."""
    if config.selection is None:
        return dataset.X_train, dataset.y_train
    train = default_train_config(dataset.name, selection=config.selection, seed=config.seed)
    types = load_or_select_types(dataset, train, cache_dir)  # (E, K, sz, d)
    E, K = types.shape[:2]
    return types.reshape(E * K, *types.shape[2:]), np.repeat(np.arange(E), K)


def save_style_memory(model: StyleMemoryClassifier, path: Path, data: DataConfig,
                      config: StyleMemoryConfig) -> Path:
    """Write a fitted ``model`` to ``path`` atomically; returns the path."""
    header = {**configuration(data, config), "classes": model.classes_.tolist(),
              "input_shape": list(model.input_shape_),
              "architecture": model.network_.architecture,
              "history": model.history_, "best_epoch": model.best_epoch_}
    weights = {_WEIGHT + k: v.detach().numpy().astype(np.float16)
               for k, v in model.network_.state_dict().items()
               if not k.startswith("style_critic.")}  # the critic only served training
    return atomic_write(path, lambda f: np.savez(
        f, header=np.array(json.dumps(header, sort_keys=True)), **weights))


def load_style_memory(path: Path, data: DataConfig | None = None,
                      config: StyleMemoryConfig | None = None) -> StyleMemoryClassifier:
    """Read a file written by ``save_style_memory``; with ``data`` and ``config`` it must
    have been trained with exactly that configuration."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            contents = {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise StyleMemoryFileError(f"{path.name} is not a readable style-memory file "
                                   f"(truncated, corrupt or needing pickle): {exc}") from None
    if "header" not in contents:
        raise StyleMemoryFileError(f"{path.name} is not a style-memory file: it has no header")
    try:
        header = json.loads(str(contents["header"]))
        stored = StyleMemoryConfig(**header["style"])
        classes, shape = np.asarray(header["classes"]), tuple(header["input_shape"])
        architecture = header["architecture"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StyleMemoryFileError(f"{path.name} is not a style-memory file (its header is "
                                   f"unreadable: {exc})") from None
    if header.get("format_version") != FORMAT_VERSION:
        raise StyleMemoryFileError(f"{path.name} has format version "
                                   f"{header.get('format_version')}, expected {FORMAT_VERSION}")
    if data is not None and config is not None:
        # fields added to the configuration later take their defaults (which keep the old
        # behaviour), so a file from before them still matches
        if stored != config or header.get("data") != asdict(data):
            raise StyleMemoryFileError(f"{path.name} was trained with another configuration: "
                                       f"{header['data']} {header['style']}")
    model = StyleMemoryClassifier(**stored.estimator_params(), architecture=architecture)
    try:
        network = StyleMemoryNet(shape, len(classes), stored.n_style, architecture,
                                 stored.decoder, stored.n_basis)
        state = {k[len(_WEIGHT):]: torch.from_numpy(v.astype(np.float32))
                 for k, v in contents.items() if k.startswith(_WEIGHT)}
        network.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, TypeError, AssertionError) as exc:
        raise StyleMemoryFileError(f"{path.name} holds weights that do not fit its "
                                   f"network: {exc}") from None
    network.eval()
    model.network_, model.classes_, model.input_shape_ = network, classes, shape
    model.history_, model.best_epoch_ = header.get("history", []), header.get("best_epoch")
    return model


def find_style_memory(data: DataConfig, config: StyleMemoryConfig, cache_dir=None):
    """The file of this style memory, shipped or cached, or None if never trained."""
    name = file_name(data, config)
    for path in (SHIPPED_STYLE_MEMORIES / name, Path(cache_dir or default_cache_dir()) / name):
        if path.exists():
            return path
    return None


def load_or_train_style_memory(dataset: Dataset, config: StyleMemoryConfig, cache_dir=None,
                               progress: Callable[[TrainProgress], None] | None = None,
                               log: Callable[[str], None] = lambda message: None
                               ) -> StyleMemoryClassifier:
    """The style memory of ``config``: shipped in ``assets/style_memory``, else cached, else
    trained now (resuming from a checkpoint if one was left) and cached. Concurrent callers
    with one configuration train once."""
    if config.dataset != dataset.name:
        raise ValueError(f"the configuration is for {config.dataset}, the data set is "
                         f"{dataset.name}")
    name = file_name(dataset.config, config)
    shipped = SHIPPED_STYLE_MEMORIES / name
    if shipped.exists():
        return load_style_memory(shipped, dataset.config, config)
    path = Path(cache_dir or default_cache_dir()) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                return load_style_memory(path, dataset.config, config)
            except StyleMemoryFileError as exc:
                log(f"retraining: {exc}")
        X, y = training_data(dataset, config, cache_dir)
        checkpoint = path.with_suffix(".ckpt.pt")
        model = StyleMemoryClassifier(**config.estimator_params())
        try:
            model.fit(X, y, progress=progress, checkpoint=checkpoint)
        except ValueError as exc:
            if "checkpoint" not in str(exc):
                raise
            log(f"{exc}: starting afresh")
            checkpoint.unlink(missing_ok=True)
            model.fit(X, y, progress=progress, checkpoint=checkpoint)
        save_style_memory(model, path, dataset.config, config)
        checkpoint.unlink(missing_ok=True)
        return load_style_memory(path, dataset.config, config)  # as stored (float16)
