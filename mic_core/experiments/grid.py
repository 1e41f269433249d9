"""The experiment grid: which jobs the paper's experiments are (METHOD §5-6), and the
protocol that fixes everything besides the cell.

A *cell* is one (dataset, selection, noise_in, noise_out, seed): its experts are trained (or
loaded) with that configuration and evaluated as ``mic`` (50 inversion steps, the paper's
rule: the lowest final error wins) and ``mic_0`` (no steps: the uniform start vector
decides); for letters also as ``mic_free_ends`` (50 steps, decided by the app's free-ends
rule, ``classify.DecisionRule``). The baselines never see the training noise:
``nn_mse``, ``nn_dtw`` and ``forward_lstm`` learn from the four types of a (dataset,
selection, seed) and run once for it, their noise columns empty; ``forward_lstm_full`` learns
from the whole training pool and runs once per (dataset, seed), selection empty too.
Each such unit of work is a *job* (``jobs.run_job`` computes its rows).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Iterable

from mic_core.classify import FREE_ENDS, PLAIN, DecisionRule
from mic_core.data import DATASETS
from mic_core.experiments.store import row_key
from mic_core.type_selection import SELECTIONS

SEEDS = (42, 142, 242, 342, 442)
NOISE_IN = (0.0, 0.1, 0.2)
OUTPUT_NOISE = {"characters": 0.1, "mnist": 0.1}  # the one non-zero output noise per data set
TEST_LIMIT = {"characters": None, "mnist": 2000}  # held-out samples per cell (None: all 715)
METHODS = ("mic", "mic_0", "mic_free_ends", "nn_mse", "nn_dtw", "forward_lstm",
           "forward_lstm_full")
JOB_METHODS = {"mic": ("mic", "mic_0", "mic_free_ends"), "types": ("nn_mse", "nn_dtw", "forward_lstm"),
               "full": ("forward_lstm_full",)}


@dataclass(frozen=True)
class Protocol:
    """Everything besides the cell that fixes a result (rows of two protocols never mix).

    >>> Protocol().name, Protocol(limit=20).name.startswith("custom-")
    ('paper', True)
    """

    iterations: int = 50  # inversion steps of "mic"
    train_steps: int | None = None  # None: the data set's default training steps
    limit: int | None = None  # held-out samples (seeded subset); None: TEST_LIMIT
    forward_lstm_steps: int = 300  # full-batch Adam steps on the types
    forward_lstm_full_steps: int = 1500  # minibatch Adam steps on the whole training pool
    forward_lstm_full_batch: int = 64
    forward_lstm_full_learning_rate: float = 0.003  # with gradients clipped to norm 1
    free_ends_rule: DecisionRule = FREE_ENDS  # the rule of "mic_free_ends" (letters only);
    #   "mic" and "mic_0" decide by the paper's plain rule

    @property
    def name(self) -> str:
        """"paper" for the defaults, else a readable hash of the settings.

        ``free_ends_rule`` enters the hash only where it differs from the default, so the
        names of protocols hashed before it existed stay valid."""
        if self == Protocol():
            return "paper"
        settings = asdict(self)
        if self.free_ends_rule == FREE_ENDS:
            del settings["free_ends_rule"]
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
        return f"custom-{digest.hexdigest()[:8]}"

    def rule(self, method: str) -> DecisionRule:
        """The decision rule of a MIC method: ``free_ends_rule`` for "mic_free_ends", the
        plain rule for the others.

        >>> Protocol().rule("mic").name, Protocol().rule("mic_free_ends").name
        ('plain', 'free ends')
        """
        return self.free_ends_rule if method == "mic_free_ends" else PLAIN

    def test_limit(self, dataset: str) -> int | None:
        return self.limit if self.limit is not None else TEST_LIMIT[dataset]


@dataclass(frozen=True)
class Job:
    """One unit of work: ``kind`` "mic" (a cell), "types" or "full" (baselines)."""

    kind: str
    dataset: str
    seed: int
    selection: str | None = None
    noise_in: float | None = None
    noise_out: float | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        if self.kind == "mic" and self.dataset == "mnist":  # free ends: pen trajectories only
            return ("mic", "mic_0")
        return JOB_METHODS[self.kind]

    def key(self, protocol: Protocol, method: str) -> tuple:
        return row_key(protocol.name, self.dataset, self.selection, self.noise_in,
                       self.noise_out, self.seed, method)

    def __str__(self):
        parts = [self.kind, self.dataset, self.selection,
                 None if self.noise_in is None else f"in {self.noise_in:g}",
                 None if self.noise_out is None else f"out {self.noise_out:g}",
                 f"seed {self.seed}"]
        return " ".join(p for p in parts if p)


def grid(datasets: Iterable[str] = DATASETS, selections: Iterable[str] = SELECTIONS,
         seeds: Iterable[int] = SEEDS, noise_in: Iterable[float] = NOISE_IN,
         noise_out: Iterable[str | float] = ("0", "data"),
         methods: Iterable[str] = METHODS) -> list[Job]:
    """The jobs of the grid, slow baselines first within each data set. ``noise_out`` items
    are numbers, or "data" for the data set's OUTPUT_NOISE.

    >>> [str(job) for job in grid(["characters"], ["random"], [42], [0.1], ["0"], ["mic"])]
    ['mic characters random in 0.1 out 0 seed 42']
    """
    methods = set(methods)
    unknown = methods - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    jobs = []
    for dataset in datasets:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
        outs = sorted({OUTPUT_NOISE[dataset] if o == "data" else float(o) for o in noise_out})
        if methods & set(JOB_METHODS["full"]):
            jobs += [Job("full", dataset, seed) for seed in seeds]
        for selection in selections:
            if selection not in SELECTIONS:
                raise ValueError(f"unknown selection {selection!r}; choose one of {SELECTIONS}")
            if methods & set(JOB_METHODS["types"]):
                jobs += [Job("types", dataset, seed, selection) for seed in seeds]
            if methods & set(JOB_METHODS["mic"]):
                jobs += [Job("mic", dataset, seed, selection, float(n_in), n_out)
                         for seed in seeds for n_in in noise_in for n_out in outs]
    return jobs
