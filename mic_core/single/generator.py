"""One generator for all classes (the exposé's design): one LSTM whose first-step input is a
*code* over all classes, trained on the experts' types, and its persistence.

Two codes: ``"class"`` (a one-hot vector over the C classes; all four types of a class are
trained with their class's code, so the generator learns a class prototype) and ``"type"`` (a
one-hot vector over all C·K (class, type) pairs, so it learns exactly the sequences the
experts learn). Capacity: ``"cells"`` (as many LSTM cells as all experts together: 200 for
letters and MNIST) or ``"parameters"`` (as many weights as all experts together).

The network is an ``Expert`` with a bigger input (``module()`` gives it as a torch module);
training and inversion run in the experts' numba kernels as one "expert" (E = 1) with
C·K sequences, which is as fast as torch's ``nn.LSTM`` here (measured: README).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from filelock import FileLock

from mic_core import kernels
from mic_core.data import DataConfig, Dataset
from mic_core.expert import Expert, ExpertConfig
from mic_core.persistence import atomic_write, default_cache_dir, load_or_select_types
from mic_core.training import (TrainProgress, _adam, _clip_per_expert, _init_weights,
                               default_train_config)

CODES = ("class", "type")
CAPACITIES = ("cells", "parameters")
FORMAT_VERSION = 1
KIND = "single_generator"  # stored in every file: an expert file is refused by name
SHIPPED_GENERATORS = Path(__file__).resolve().parents[2] / "assets" / "single"
# The training length and learning rate chosen on validation (mic_core.single.validation
# --adopt); a family without an entry keeps SingleTrainConfig's 1000 steps at 0.01.
CHOSEN_TRAINING = SHIPPED_GENERATORS / "defaults.json"
GRADIENT_CHUNKS = 4  # the batch is split into this many chunks (threads), summed in order
_ARRAYS = ("w_ih", "w_hh", "bias", "w_out", "b_out", "types", "training_curve")
EXPERT_HIDDEN = {"characters": 10, "mnist": 20}  # the experts' cells (METHOD §2)


class GeneratorFileError(ValueError):
    """A single-generator file that cannot be used, with the reason."""


def expert_parameters(n_classes: int, n_types: int, hidden: int, output: int) -> int:
    """Weights of all C experts together: C * (4H(K + H + 1) + D(H + 1))."""
    return n_classes * (4 * hidden * (n_types + hidden + 1) + output * (hidden + 1))


def generator_parameters(code_size: int, hidden: int, output: int) -> int:
    """Weights of one LSTM(code_size -> hidden) with a read-out to ``output``."""
    return 4 * hidden * (code_size + hidden + 1) + output * (hidden + 1)


def hidden_size_for(dataset: str, code: str, capacity: str, n_classes: int, output: int,
                    n_types: int = 4) -> int:
    """Cells of the single generator: all experts' cells together (``"cells"``), or the
    number whose weights come closest to all experts' weights (``"parameters"``).

    >>> hidden_size_for("characters", "class", "parameters", 20, 2)
    46
    """
    if code not in CODES:
        raise ValueError(f"unknown code {code!r}; choose one of {CODES}")
    if capacity not in CAPACITIES:
        raise ValueError(f"unknown capacity {capacity!r}; choose one of {CAPACITIES}")
    h = EXPERT_HIDDEN[dataset]
    if capacity == "cells":
        return n_classes * h
    budget = expert_parameters(n_classes, n_types, h, output)
    code_size = n_classes * (n_types if code == "type" else 1)
    # 4H^2 + (4(code_size + 1) + D) H + D - budget = 0
    b = 4 * (code_size + 1) + output
    root = (-b + math.sqrt(b * b - 16 * (output - budget))) / 8
    return min((math.floor(root), math.ceil(root)),
               key=lambda H: abs(generator_parameters(code_size, H, output) - budget))


@dataclass(frozen=True)
class SingleTrainConfig:
    """How the single generator is trained (with the DataConfig, its persistence key)."""

    code: str = "class"  # "class": one-hot over classes; "type": over (class, type) pairs
    capacity: str = "cells"  # how hidden_size was chosen: "cells" or "parameters"
    hidden_size: int = 200  # LSTM cells
    selection: str = "clustered"  # the experts' types: "clustered" or "random"
    seed: int = 42  # types, initial weights and noise (as the experts)
    noise_in: float = 0.1  # std of Gaussian noise on the code (clipped to [0, 1])
    noise_out: float = 0.0  # std of Gaussian noise on the target sequence
    cluster_metric: str = "dtw"  # k-means metric of the types
    steps: int = 1000  # full-batch Adam steps over all C·K types
    learning_rate: float = 0.01  # Adam step size, decayed to a tenth by a cosine schedule
    max_grad_norm: float = 1.0  # the gradient is clipped to this norm

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown code {self.code!r}; choose one of {CODES}")
        if self.capacity not in CAPACITIES:
            raise ValueError(f"unknown capacity {self.capacity!r}; choose one of {CAPACITIES}")
        if self.hidden_size < 1 or self.steps < 1:
            raise ValueError("hidden_size and steps must be at least 1")

    def experts_config(self, dataset: str):
        """The experts' TrainConfig with this selection: it fixes the same types."""
        return default_train_config(dataset, selection=self.selection, seed=self.seed,
                                    cluster_metric=self.cluster_metric,
                                    noise_in=self.noise_in, noise_out=self.noise_out)


def chosen_training(dataset: str, code: str, capacity: str,
                    path: Path | None = None) -> dict:
    """The steps and learning rate chosen on validation for this family (``{}`` if none):
    ``assets/single/defaults.json``, written by ``python -m mic_core.single.validation
    --adopt``. A missing or unreadable file means no choice (the config's defaults)."""
    path = CHOSEN_TRAINING if path is None else Path(path)
    try:
        chosen = json.loads(path.read_text())["families"][f"{dataset}/{code}/{capacity}"]
        return {"steps": int(chosen["steps"]), "learning_rate": float(chosen["learning_rate"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def default_single_config(dataset: str, code: str = "class", capacity: str = "cells",
                          **overrides) -> SingleTrainConfig:
    """The defaults for ``dataset``: the experts' selection, seed and noise; ``capacity``
    fixes the cells (both data sets: 20 classes x 10 cells or 10 x 20 = 200); the steps and
    learning rate chosen on validation for this family (``chosen_training``)."""
    n_classes, output = {"characters": (20, 2), "mnist": (10, 28)}[dataset]
    hidden = hidden_size_for(dataset, code, capacity, n_classes, output)
    metric = "euclidean" if dataset == "mnist" else "dtw"
    overrides = {**chosen_training(dataset, code, capacity), **overrides}
    return replace(SingleTrainConfig(code=code, capacity=capacity, hidden_size=hidden,
                                     cluster_metric=metric), **overrides)


@dataclass(frozen=True, eq=False)
class SingleGenerator:
    """The trained single generator: weights (PyTorch layout, H cells, code size Q, D
    outputs) ``w_ih`` (4H, Q), ``w_hh`` (4H, H), ``bias`` (4H,) (= b_ih + b_hh),
    ``w_out`` (D, H), ``b_out`` (D,); the types it learnt, ``types`` (C, K, T, D)."""

    code: str
    class_names: tuple[str, ...]
    w_ih: np.ndarray
    w_hh: np.ndarray
    bias: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray
    types: np.ndarray
    training_curve: np.ndarray | None = None  # (n_records,) training loss
    train_seconds: float = float("nan")  # wall time of the training (NaN if unknown)
    _kernel_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown code {self.code!r}; choose one of {CODES}")
        C, H, D = len(self.class_names), self.w_hh.shape[-1], self.w_out.shape[0]
        if self.types.ndim != 4 or self.types.shape[0] != C or self.types.shape[3] != D:
            raise ValueError(f"types has shape {self.types.shape}, expected ({C}, K, T, {D})")
        expected = {"w_ih": (4 * H, self.code_size), "w_hh": (4 * H, H), "bias": (4 * H,),
                    "w_out": (D, H), "b_out": (D,)}
        for name, shape in expected.items():
            got = getattr(self, name).shape
            if got != shape:
                raise ValueError(f"SingleGenerator.{name} has shape {got}, expected {shape}")
        for name in (*expected, "types"):
            array = getattr(self, name)
            if not np.all(np.isfinite(array)):
                raise ValueError(f"SingleGenerator.{name} holds NaN or infinite values")
            array.setflags(write=False)  # shared between app sessions: never mutated

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_types(self) -> int:
        return self.types.shape[1]

    @property
    def code_size(self) -> int:
        """C for the class code, C·K for the type code."""
        return self.n_classes * (self.n_types if self.code == "type" else 1)

    @property
    def hidden_size(self) -> int:
        return self.w_hh.shape[1]

    @property
    def n_steps(self) -> int:
        return self.types.shape[2]

    @property
    def output_size(self) -> int:
        return self.types.shape[3]

    @property
    def n_parameters(self) -> int:
        return generator_parameters(self.code_size, self.hidden_size, self.output_size)

    def code_labels(self) -> list[str]:
        """One label per code entry: the class, or "class/type k"."""
        if self.code == "class":
            return list(self.class_names)
        return [f"{c}/{k + 1}" for c in self.class_names for k in range(self.n_types)]

    def code_classes(self) -> np.ndarray:
        """(Q,) the class of every code entry."""
        return np.repeat(np.arange(self.n_classes), 1 if self.code == "class" else self.n_types)

    def corner_codes(self) -> np.ndarray:
        """(Q, Q) every one-hot code: the corners of the code simplex."""
        return np.eye(self.code_size, dtype=np.float32)

    def class_mass(self, codes: np.ndarray) -> np.ndarray:
        """(..., C) the mass of every class in ``codes`` (..., Q): summed over its types."""
        codes = np.asarray(codes)
        if self.code == "class":
            return codes
        return codes.reshape(*codes.shape[:-1], self.n_classes, self.n_types).sum(axis=-1)

    def kernel_weights(self, dtype=np.float32) -> tuple[np.ndarray, ...]:
        """Weights in ``mic_core.kernels``' layout as one expert (E = 1), cached."""
        key = np.dtype(dtype).name
        if key not in self._kernel_cache:
            arrays = (self.w_ih, self.w_hh.T, self.bias, self.w_out, self.b_out)
            self._kernel_cache[key] = tuple(np.ascontiguousarray(a[None], dtype=dtype)
                                            for a in arrays)
        return self._kernel_cache[key]

    def check_codes(self, codes) -> np.ndarray:
        """``codes`` as a float32 (N, Q) array, or a ValueError naming the expected size."""
        codes = np.asarray(codes, dtype=np.float32)
        if codes.ndim == 1:
            codes = codes[None]
        if codes.ndim != 2 or codes.shape[1] != self.code_size:
            raise ValueError(f"this generator's {self.code} code has {self.code_size} entries "
                             f"({self.n_classes} classes" +
                             (f" x {self.n_types} types)" if self.code == "type" else ")") +
                             f"; got codes of shape {codes.shape}")
        if not np.all(np.isfinite(codes)):
            raise ValueError("codes hold NaN or infinite values")
        return np.ascontiguousarray(codes)

    def generate(self, codes, n_steps: int | None = None) -> np.ndarray:
        """Sequences for ``codes`` (N, Q) (or (Q,)): returns (N, T, D)."""
        codes = self.check_codes(codes)
        return kernels.generate(*self.kernel_weights(), codes[:, None],
                                n_steps or self.n_steps)[:, 0]

    def module(self) -> Expert:
        """The generator as a float64 PyTorch ``Expert`` (reference and inspection)."""
        net = Expert(ExpertConfig(n_types=self.code_size, hidden_size=self.hidden_size,
                                  output_size=self.output_size)).double()
        state = {"lstm.weight_ih_l0": self.w_ih, "lstm.weight_hh_l0": self.w_hh,
                 "lstm.bias_ih_l0": self.bias, "lstm.bias_hh_l0": np.zeros_like(self.bias),
                 "readout.weight": self.w_out, "readout.bias": self.b_out}
        net.load_state_dict({k: torch.tensor(np.array(v), dtype=torch.float64)
                             for k, v in state.items()})
        return net.eval()


def training_codes(n_classes: int, n_types: int, code: str) -> np.ndarray:
    """(C·K, Q) the code of every type, types in class-major order.

    >>> training_codes(2, 2, "class").tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    """
    if code == "type":
        return np.eye(n_classes * n_types, dtype=np.float32)
    return np.repeat(np.eye(n_classes, dtype=np.float32), n_types, axis=0)


def type_errors(generator: SingleGenerator) -> np.ndarray:
    """(C, K) MSE of the generator on every type, given that type's exact code."""
    C, K = generator.n_classes, generator.n_types
    recon = generator.generate(training_codes(C, K, generator.code))  # (C·K, T, D)
    return ((recon - generator.types.reshape(C * K, *generator.types.shape[2:])) ** 2) \
        .mean(axis=(1, 2)).reshape(C, K)


def _chunks(n_sequences: int) -> int:
    """How many equal chunks the batch is split into: the largest divisor of
    ``n_sequences`` up to ``GRADIENT_CHUNKS`` (fixed, so results do not depend on threads)."""
    return max(p for p in range(1, GRADIENT_CHUNKS + 1) if n_sequences % p == 0)


def _batch_loss_and_grads(params, inputs, targets, grads, P: int) -> float:
    """Loss and gradient of the whole batch (inputs (B, Q), targets (B, T, D)) by the
    experts' kernel, the batch split into ``P`` equal chunks run as ``P`` "experts" sharing
    the weights (one per thread); the chunks' gradients are summed in a fixed order.
    ``grads`` (the (1, ...) buffers) receive the batch's gradient; returns its loss."""
    B = len(inputs)
    shared = [np.ascontiguousarray(np.broadcast_to(p, (P, *p.shape[1:]))) for p in params]
    parts = [np.empty((P, *g.shape[1:]), dtype=g.dtype) for g in grads]
    losses = kernels.loss_and_weight_grads(
        *shared, np.ascontiguousarray(inputs.reshape(P, B // P, -1)),
        np.ascontiguousarray(targets.reshape(P, B // P, *targets.shape[1:])), *parts)
    for g, part in zip(grads, parts):
        g[0] = part[0]
        for q in range(1, P):
            g[0] += part[q]
        g /= P  # each chunk's loss is the mean over its B / P sequences
    return float(np.sum(losses, dtype=np.float64) / P)


def _save_checkpoint(path: Path, config: SingleTrainConfig, step: int, params, moments,
                     rng: np.random.RandomState, curve, seconds: float) -> None:
    state = rng.get_state()
    arrays = {f"param{i}": p for i, p in enumerate(params)}
    arrays.update({f"m{i}": m for i, (m, _) in enumerate(moments)})
    arrays.update({f"v{i}": v for i, (_, v) in enumerate(moments)})
    atomic_write(path, lambda f: np.savez(
        f, config=np.array(json.dumps(asdict(config), sort_keys=True)), step=np.array(step),
        rng_keys=state[1], rng_pos=np.array(state[2]), rng_gauss=np.array(state[3]),
        rng_cached=np.array(state[4]), curve=np.asarray(curve, dtype=np.float32),
        seconds=np.array(seconds), **arrays))


def _load_checkpoint(path: Path, config: SingleTrainConfig, params, moments,
                     rng: np.random.RandomState):
    """Restore a checkpoint of exactly ``config`` into ``params``/``moments``/``rng``;
    returns (step, curve, seconds) or None (no usable checkpoint: start afresh)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if json.loads(str(f["config"])) != json.loads(json.dumps(asdict(config))):
                return None
            for i, (p, (m, v)) in enumerate(zip(params, moments)):
                p[...], m[...], v[...] = f[f"param{i}"], f[f"m{i}"], f[f"v{i}"]
            rng.set_state(("MT19937", f["rng_keys"], int(f["rng_pos"]), int(f["rng_gauss"]),
                           float(f["rng_cached"])))
            return int(f["step"]), list(f["curve"]), float(f["seconds"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None


def train_single_generator(types: np.ndarray, class_names, config: SingleTrainConfig,
                           progress: Callable[[TrainProgress], None] | None = None,
                           progress_every: int = 10, checkpoint: Path | None = None,
                           checkpoint_every: int = 100,
                           device: str | None = None) -> SingleGenerator:
    """Train the single generator on ``types`` (C, K, T, D): every step one full batch of all
    C·K types with their codes (input noise clipped to [0, 1], as the experts), then Adam.
    Deterministic for a given config (the batch's gradient is summed over a fixed number
    of chunks, so the numba thread count does not change it).

    ``checkpoint``: a file that keeps the training's state every ``checkpoint_every`` steps;
    a later call with the same config resumes from it (the result is the same as without
    interruption), and it is removed at the end.

    ``device``: None (the numba kernels, the default) or "cpu" / "cuda": the batch's loss
    and gradients by torch autograd there (``mic_core.single.torch_engine``); everything
    else (noise draws, clipping, schedule, Adam, checkpoints) is the same numpy code. The
    two engines round differently, so their trainings end in slightly different weights.
    """
    C, K, T, D = types.shape
    if len(class_names) != C:
        raise ValueError(f"{len(class_names)} class names for types of {C} classes")
    Q = C * (K if config.code == "type" else 1)
    shape = ExpertConfig(n_types=Q, hidden_size=config.hidden_size, output_size=D)
    rng = np.random.RandomState(config.seed)
    params = _init_weights(shape, 1, rng)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    grads = [np.empty_like(p) for p in params]
    codes = np.ascontiguousarray(training_codes(C, K, config.code))  # (C·K, Q)
    clean_targets = np.ascontiguousarray(types.reshape(C * K, T, D), dtype=np.float32)
    P = _chunks(C * K)
    if device is not None:
        from mic_core.single.torch_engine import TrainingGradients
        torch_gradients = TrainingGradients(Q, config.hidden_size, D, device)
    curve, first, seconds_before = [], 1, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        restored = _load_checkpoint(Path(checkpoint), config, params, moments, rng)
        if restored is not None:
            done, curve, seconds_before = restored
            first = done + 1
    start = time.perf_counter() - seconds_before
    for step in range(first, config.steps + 1):
        # noisy codes and targets, fresh every step (the same draws as one (1, C·K) batch)
        inputs, targets = codes, clean_targets
        if config.noise_in > 0:
            inputs = np.clip(codes + config.noise_in * rng.randn(1, *codes.shape)[0], 0.0,
                             1.0).astype(np.float32)
        if config.noise_out > 0:
            targets = (clean_targets + config.noise_out *
                       rng.randn(1, *clean_targets.shape)[0]).astype(np.float32)
        # forward, backprop and update the parameters
        if device is None:
            loss = _batch_loss_and_grads(params, inputs, targets, grads, P)
        else:
            loss = torch_gradients(params, inputs, targets, grads)
        _clip_per_expert(grads, config.max_grad_norm)
        lr = config.learning_rate * (0.55 + 0.45 * float(np.cos(np.pi * step / config.steps)))
        _adam(params, grads, moments, step, lr)
        if step % progress_every == 0 or step == config.steps:
            curve.append(loss)
            if progress is not None:
                progress(TrainProgress(step, config.steps, loss, time.perf_counter() - start))
        if checkpoint is not None and step % checkpoint_every == 0 and step < config.steps:
            _save_checkpoint(Path(checkpoint), config, step, params, moments, rng, curve,
                             time.perf_counter() - start)
    w_ih, w_hh_t, bias, w_out, b_out = (p[0] for p in params)
    generator = SingleGenerator(code=config.code, class_names=tuple(class_names), w_ih=w_ih,
                                w_hh=np.ascontiguousarray(w_hh_t.T), bias=bias, w_out=w_out,
                                b_out=b_out, types=np.asarray(types, dtype=np.float32),
                                training_curve=np.asarray(curve, dtype=np.float32),
                                train_seconds=time.perf_counter() - start)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    return generator


# --- persistence: the experts' policy (persistence.py), a file kind of its own -------------

def configuration(data: DataConfig, train: SingleTrainConfig) -> dict:
    """The full configuration that keys a single-generator file."""
    return {"format_version": FORMAT_VERSION, "kind": KIND, "data": asdict(data),
            "train": asdict(train)}


def file_name(data: DataConfig, train: SingleTrainConfig) -> str:
    digest = hashlib.sha256(json.dumps(configuration(data, train), sort_keys=True)
                            .encode()).hexdigest()[:16]
    return (f"single-{train.code}-{train.capacity}-{data.dataset}-{train.selection}-"
            f"seed{train.seed}-{digest}.npz")


def save_generator(generator: SingleGenerator, path: Path, data: DataConfig,
                   train: SingleTrainConfig) -> Path:
    """Write ``generator`` to ``path`` atomically; returns the path."""
    header = configuration(data, train)
    arrays = {name: getattr(generator, name) for name in _ARRAYS}
    if arrays["training_curve"] is None:
        arrays["training_curve"] = np.zeros(0, dtype=np.float32)
    arrays["train_seconds"] = np.array(generator.train_seconds)
    return atomic_write(path, lambda f: np.savez(
        f, header=np.array(json.dumps(header, sort_keys=True)),
        class_names=np.array(generator.class_names), **arrays))


def load_generator(path: Path, data: DataConfig | None = None,
                   train: SingleTrainConfig | None = None) -> SingleGenerator:
    """Read a file written by ``save_generator``; with ``data`` and ``train``, the file
    must hold exactly that configuration. Raises ``GeneratorFileError`` with the reason."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            contents = {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise GeneratorFileError(f"{path.name} is not a readable generator file (truncated, "
                                 f"corrupt or needing pickle): {exc}") from None
    try:
        header = json.loads(str(contents["header"]))
    except (KeyError, ValueError) as exc:
        raise GeneratorFileError(f"{path.name} has no readable header: {exc}") from None
    if header.get("kind") != KIND:
        what = "a file of experts" if "expert" in header else "not a single-generator file"
        raise GeneratorFileError(f"{path.name} is {what}, not a single generator")
    if header.get("format_version") != FORMAT_VERSION:
        raise GeneratorFileError(f"{path.name} has format version "
                                 f"{header.get('format_version')}, expected {FORMAT_VERSION}")
    missing = [k for k in ("class_names", *_ARRAYS) if k not in contents]
    if missing:
        raise GeneratorFileError(f"{path.name} lacks {missing}")
    if data is not None and header.get("data", {}).get("dataset") != data.dataset:
        raise GeneratorFileError(f"{path.name} is a generator of the "
                                 f"{header.get('data', {}).get('dataset')!r} data set, not of "
                                 f"{data.dataset!r}")
    if data is not None and train is not None:
        want = configuration(data, train)
        if {k: header.get(k) for k in want} != want:
            raise GeneratorFileError(f"{path.name} was trained with another configuration: "
                                     f"{header.get('data')} {header.get('train')}")
    try:
        return SingleGenerator(code=header["train"]["code"],
                               class_names=tuple(str(c) for c in contents["class_names"]),
                               train_seconds=float(contents.get("train_seconds", np.nan)),
                               **{name: contents[name] for name in _ARRAYS})
    except (ValueError, TypeError, KeyError) as exc:
        raise GeneratorFileError(f"{path.name} holds an inconsistent generator: {exc}") \
            from None


def find_generator(data: DataConfig, train: SingleTrainConfig, cache_dir: Path | None = None):
    """The file of this generator, shipped or cached, or None if it was never trained."""
    name = file_name(data, train)
    for path in (SHIPPED_GENERATORS / name, Path(cache_dir or default_cache_dir()) / name):
        if path.exists():
            return path
    return None


def load_or_train_generator(dataset: Dataset, train: SingleTrainConfig,
                            cache_dir: Path | None = None,
                            progress: Callable[[TrainProgress], None] | None = None,
                            log: Callable[[str], None] = lambda message: None,
                            allow_training: bool = True,
                            device: str | None = None) -> SingleGenerator:
    """The generator for ``dataset`` and ``train``: shipped in ``assets/single``, else
    cached, else trained now on the experts' types and cached (unless ``allow_training``
    is False: then a ValueError says that this configuration was never trained). An
    interrupted training resumes from its checkpoint beside the file. ``device``: the
    training's engine (``train_single_generator``); a file found is used whatever engine
    trained it."""
    name = file_name(dataset.config, train)
    shipped = SHIPPED_GENERATORS / name
    if shipped.exists():
        return load_generator(shipped, dataset.config, train)
    path = Path(cache_dir or default_cache_dir()) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            try:
                return load_generator(path, dataset.config, train)
            except GeneratorFileError as exc:
                if not allow_training:
                    raise  # the reason, not "never trained"
                log(f"retraining: {exc}")
        if not allow_training:
            raise ValueError(f"the single generator ({train.code} code, {train.hidden_size} "
                             f"cells, {dataset.name} {train.selection} seed {train.seed}, "
                             f"input noise {train.noise_in:g}) was never trained: train it "
                             f"first (python -m mic_core train --system single ...)")
        types = load_or_select_types(dataset, train.experts_config(dataset.name), cache_dir)
        generator = train_single_generator(types, dataset.class_names, train, progress,
                                           checkpoint=path.with_name(path.name + ".part.npz"),
                                           device=device)
        save_generator(generator, path, dataset.config, train)
        return generator
