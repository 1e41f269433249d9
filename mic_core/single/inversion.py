"""Inversion of the single generator's code, and its two decision rules.

As the experts' inversion (``mic_core.inversion``) but with one network and one code per
target: start from the zero vector (the exposé) or the uniform vector, optionally project
onto the probability simplex every iteration, take the Adam-like step of the experts'
inversion (no bias correction). Decision rules:

- ``"mass"``: the class with the largest mass in the final code (summed over a class's types
  for the type code);
- ``"corners"``: the class whose corner code (its one-hot code; for the type code the best of
  its K type corners) reconstructs the target with the lowest error — no inversion at all.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from mic_core import kernels
from mic_core.inversion import project_to_simplex
from mic_core.single.generator import SingleGenerator

STARTS = ("zero", "uniform")
SINGLE_PROJECTIONS = ("none", "simplex")
RULES = ("mass", "corners")


@dataclass(frozen=True)
class CodeInversionConfig:
    """How the single generator's code is optimised (defaults: the exposé)."""

    iterations: int = 50  # gradient steps per target
    step_size: float = 0.05  # Adam-like step size (the experts' inversion)
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    start: str = "zero"  # "zero" (the exposé) or "uniform"
    projection: str = "none"  # "none" or "simplex" (as the experts' mixture weights)

    def __post_init__(self):
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.start not in STARTS:
            raise ValueError(f"unknown start {self.start!r}; choose one of {STARTS}")
        if self.projection not in SINGLE_PROJECTIONS:
            raise ValueError(f"unknown projection {self.projection!r}; choose one of "
                             f"{SINGLE_PROJECTIONS}")


@dataclass(frozen=True)
class CodeInversionStep:
    """One iteration for all targets."""

    iteration: int
    codes: np.ndarray  # (N, Q)
    errors: np.ndarray  # (N,)
    reconstructions: np.ndarray  # (N, T, D)


@dataclass(frozen=True, eq=False)
class CodeInversionRecord:
    """The inversion of N targets in the single generator over I + 1 recorded iterations.

    codes (N, I+1, Q); errors (N, I+1); reconstructions (N, I+1, T, D) or (N, 1, T, D)
    (final only); targets (N, T, D); class_mass (N, I+1, C), the code summed per class.
    """

    class_names: tuple[str, ...]
    code_labels: tuple[str, ...]
    code_classes: np.ndarray  # (Q,) class of every code entry
    targets: np.ndarray
    codes: np.ndarray
    errors: np.ndarray
    reconstructions: np.ndarray
    config: CodeInversionConfig

    @property
    def class_mass(self) -> np.ndarray:
        C = len(self.class_names)
        mass = np.zeros((*self.codes.shape[:2], C), dtype=self.codes.dtype)
        for c in range(C):
            mass[..., c] = self.codes[..., self.code_classes == c].sum(axis=-1)
        return mass

    @property
    def final_errors(self) -> np.ndarray:
        """(N,) reconstruction error of the final code."""
        return self.errors[:, -1]

    @property
    def final_codes(self) -> np.ndarray:
        return self.codes[:, -1]

    @property
    def winners(self) -> np.ndarray:
        """(N,) the class with the largest mass in the final code (rule "mass")."""
        return self.class_mass[:, -1].argmax(axis=1)

    @property
    def winner_names(self) -> list[str]:
        return [self.class_names[i] for i in self.winners]

    def to_dict(self, n: int = 0) -> dict:
        """Target ``n``'s inversion as JSON-ready lists (export)."""
        return {
            "system": "single_generator",
            "class_names": list(self.class_names),
            "code_labels": list(self.code_labels),
            "config": asdict(self.config),
            "target": self.targets[n].tolist(),
            "errors": self.errors[n].tolist(),  # [iteration]
            "codes": self.codes[n].tolist(),  # [iteration][code entry]
            "class_mass": self.class_mass[n].tolist(),  # [iteration][class]
            "reconstructions": self.reconstructions[n].tolist(),  # [iteration][t][d]
            "winner": self.class_names[int(self.winners[n])],
        }

    def to_frame(self, n: int = 0):
        """Target ``n``'s error and class mass, one row per iteration."""
        import pandas as pd
        frame = pd.DataFrame({"iteration": np.arange(self.codes.shape[1]),
                              "error": self.errors[n]})
        mass = self.class_mass[n]
        for c, name in enumerate(self.class_names):
            frame[f"mass_{name}"] = mass[:, c]
        return frame


def check_targets(generator: SingleGenerator, targets, dtype=np.float32) -> np.ndarray:
    """``targets`` as (N, T, D), or a ValueError naming the expected shape."""
    targets = np.asarray(targets, dtype=dtype)
    if targets.ndim == 2:
        targets = targets[None]
    want = (generator.n_steps, generator.output_size)
    if targets.ndim != 3 or targets.shape[1:] != want:
        raise ValueError(f"targets must have shape (N, {want[0]}, {want[1]}) or "
                         f"({want[0]}, {want[1]}) for this generator, got {targets.shape}")
    if not np.all(np.isfinite(targets)):
        raise ValueError("targets hold NaN or infinite values")
    return np.ascontiguousarray(targets)


def start_codes(generator: SingleGenerator, n_targets: int, config: CodeInversionConfig,
                dtype=np.float32) -> np.ndarray:
    Q = generator.code_size
    value = 0.0 if config.start == "zero" else 1.0 / Q
    return np.full((n_targets, Q), value, dtype=dtype)


def code_error_and_grad(generator: SingleGenerator, codes: np.ndarray, targets: np.ndarray,
                        dtype=np.float32, device: str | None = None):
    """Reconstructions (N, T, D), MSE (N,) and dMSE/dcode (N, Q) of ``codes`` (N, Q).
    ``device``: None (the numba kernels) or "cpu" / "cuda" (torch autograd there,
    ``mic_core.single.torch_engine``)."""
    if device is not None:
        from mic_core.single import torch_engine
        return torch_engine.code_error_and_grad(generator, codes, targets, device, dtype)
    N, (T, D), Q = len(codes), targets.shape[1:], generator.code_size
    recon = np.empty((N, 1, T, D), dtype=dtype)
    errors = np.empty((N, 1), dtype=dtype)
    grad = np.empty((N, 1, Q), dtype=dtype)
    kernels.error_and_input_grad(*generator.kernel_weights(dtype),
                                 np.ascontiguousarray(codes[:, None], dtype=dtype),
                                 np.ascontiguousarray(targets, dtype=dtype), recon, errors, grad)
    return recon[:, 0], errors[:, 0], grad[:, 0]


def invert_code_steps(generator: SingleGenerator, targets,
                      config: CodeInversionConfig = CodeInversionConfig(),
                      dtype=np.float32, device: str | None = None
                      ) -> Iterator[CodeInversionStep]:
    """Yield iterations 0..config.iterations of the code inversion of ``targets``
    (``device``: the engine of ``code_error_and_grad``)."""
    targets = check_targets(generator, targets, dtype)
    vector = start_codes(generator, len(targets), config, dtype)
    m = np.zeros_like(vector)  # Adam-like moments
    s = np.zeros_like(vector)
    for iteration in range(config.iterations + 1):
        code = project_to_simplex(vector).astype(dtype) if config.projection == "simplex" \
            else vector
        recon, errors, grad = code_error_and_grad(generator, code, targets, dtype, device)
        yield CodeInversionStep(iteration, code.copy(), errors, recon)
        m = config.beta1 * m + (1 - config.beta1) * grad
        s = config.beta2 * s + (1 - config.beta2) * grad * grad
        vector = (code - config.step_size * m / (np.sqrt(s) + config.eps)).astype(dtype)


def invert_code(generator: SingleGenerator, targets,
                config: CodeInversionConfig = CodeInversionConfig(), record: str = "full",
                dtype=np.float32, device: str | None = None) -> CodeInversionRecord:
    """Invert ``targets`` (N, T, D) in the single generator. ``record``: "full" (every
    iteration's reconstruction), "errors" (every code and error, the final reconstruction)
    or "final" (the final iteration only). ``device``: None (the numba kernels) or "cpu" /
    "cuda" (torch autograd there)."""
    if record not in ("full", "errors", "final"):
        raise ValueError(f"record must be 'full', 'errors' or 'final', got {record!r}")
    codes, errors, recons = [], [], []
    step = None
    for step in invert_code_steps(generator, targets, config, dtype, device):
        if record != "final":
            codes.append(step.codes)
            errors.append(step.errors)
        if record == "full":
            recons.append(step.reconstructions)
    if record == "final":
        codes, errors = [step.codes], [step.errors]
    if record != "full":
        recons = [step.reconstructions]
    return CodeInversionRecord(
        class_names=generator.class_names, code_labels=tuple(generator.code_labels()),
        code_classes=generator.code_classes(),
        targets=check_targets(generator, targets, dtype), codes=np.stack(codes, axis=1),
        errors=np.stack(errors, axis=1), reconstructions=np.stack(recons, axis=1),
        config=config)


def corner_errors(generator: SingleGenerator, targets, device: str | None = None
                  ) -> np.ndarray:
    """(N, C) for every class, the lowest reconstruction error of its corner codes
    (``device``: None, numba and numpy; or "cpu" / "cuda", torch there)."""
    targets = check_targets(generator, targets)
    if device is not None:
        from mic_core.single import torch_engine
        return torch_engine.corner_errors(generator, targets, device)
    corners = generator.generate(generator.corner_codes())  # (Q, T, D)
    errors = ((targets[:, None] - corners[None]) ** 2).mean(axis=(2, 3))  # (N, Q)
    classes = generator.code_classes()
    return np.stack([errors[:, classes == c].min(axis=1)
                     for c in range(generator.n_classes)], axis=1)


def decide(record: CodeInversionRecord, corner_error: np.ndarray | None = None,
           rule: str = "mass") -> np.ndarray:
    """(N,) predicted class: largest final mass ("mass") or lowest corner error
    ("corners", needs ``corner_error`` (N, C) from ``corner_errors``)."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {RULES}")
    if rule == "mass":
        return record.winners
    if corner_error is None:
        raise ValueError("the corners rule needs corner_errors(generator, targets)")
    return np.asarray(corner_error).argmin(axis=1)


@dataclass(frozen=True, eq=False)
class SingleClassification:
    """The single generator's decision over N targets, with the interface of MIC's
    ``classify.Classification`` (winners, deciding and reconstruction errors per class,
    ``summary`` / ``to_dict`` / ``to_frame`` / ``to_csv``), so pages and exports read both.

    ``inversion``: the code inversion; ``rule``: "mass" or "corners"; ``corner_errors``
    (N, C): each class's best corner error (the generator's plain reconstruction error per
    class); ``generator``: its configuration (code, cells, weights).
    """

    inversion: CodeInversionRecord
    rule: str
    corner_errors: np.ndarray
    generator: dict

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.inversion.class_names

    @property
    def n_targets(self) -> int:
        return len(self.corner_errors)

    @property
    def deciding_errors(self) -> np.ndarray:
        """(N, C) lower decides: the corner errors, or the negative final class mass."""
        if self.rule == "corners":
            return self.corner_errors
        return -self.inversion.class_mass[:, -1]

    @property
    def reconstruction_errors(self) -> np.ndarray:
        return self.corner_errors

    @property
    def winners(self) -> np.ndarray:
        return self.deciding_errors.argmin(axis=1)

    @property
    def winner_names(self) -> list[str]:
        return [self.class_names[i] for i in self.winners]

    def summary(self, n: int = 0) -> dict:
        """Target ``n``'s decision as JSON-ready values."""
        names = self.class_names
        mass = self.inversion.class_mass[n, -1]
        return {"system": "single", "winner": names[int(self.winners[n])], "rule": self.rule,
                "winner_by_mass": names[int(mass.argmax())],
                "winner_by_corners": names[int(self.corner_errors[n].argmin())],
                "class_mass": dict(zip(names, map(float, mass))),
                "corner_errors": dict(zip(names, map(float, self.corner_errors[n]))),
                "final_error": float(self.inversion.final_errors[n]),
                "generator": self.generator,
                "inversion_config": asdict(self.inversion.config)}

    def to_dict(self, n: int = 0) -> dict:
        """The summary plus the target's whole inversion (the export)."""
        record = self.inversion.to_dict(n)
        record.pop("winner")
        return {**self.summary(n), **record}

    def to_frame(self, n: int = 0):
        """One row per recorded iteration: error, class mass; the decision on every row."""
        frame = self.inversion.to_frame(n)
        frame["winner"] = self.class_names[int(self.winners[n])]
        frame["rule"] = self.rule
        return frame

    def to_csv(self, n: int = 0) -> str:
        return self.to_frame(n).to_csv(index=False)


def classify_single(generator: SingleGenerator, targets,
                    config: CodeInversionConfig = CodeInversionConfig(), rule: str = "mass",
                    record: str = "full", batch_size: int | None = None,
                    progress=None) -> SingleClassification:
    """Invert ``targets`` (N, T, D) (or one (T, D)) in the single generator and decide by
    ``rule`` ("mass" or "corners"); ``progress(done, total)`` after each batch."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {RULES}")
    targets = check_targets(generator, targets)
    size = batch_size or max(len(targets), 1)
    parts = []
    for i in range(0, max(len(targets), 1), size):
        parts.append(invert_code(generator, targets[i:i + size], config, record))
        if progress is not None:
            progress(min(i + size, len(targets)), len(targets))
    inversion = parts[0] if len(parts) == 1 else CodeInversionRecord(
        class_names=parts[0].class_names, code_labels=parts[0].code_labels,
        code_classes=parts[0].code_classes, config=config,
        **{name: np.concatenate([getattr(p, name) for p in parts])
           for name in ("targets", "codes", "errors", "reconstructions")})
    described = {"code": generator.code, "hidden_size": generator.hidden_size,
                 "parameters": generator.n_parameters, "classes": generator.n_classes}
    return SingleClassification(inversion, rule, corner_errors(generator, targets), described)
