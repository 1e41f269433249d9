"""The paper's experiments (METHOD §5-6) on the held-out test set.

A *cell* is one (dataset, selection, noise_in, noise_out, seed): its experts are trained (or
loaded) with that configuration and evaluated as ``mic`` (50 inversion steps, the paper's
rule: the lowest final error wins) and ``mic_0`` (no steps: the uniform start vector
decides); for letters also as ``mic_free_ends`` (50 steps, decided by the app's free-ends
rule, ``Protocol.free_ends_rule``). Each method's decision rule is explicit
(``Protocol.rule``); every row is read from one ``classify.Classification`` record. The baselines never see the training noise:
``nn_mse``, ``nn_dtw`` and ``forward_lstm`` learn from the four types of a (dataset,
selection, seed) and run once for it, their noise columns empty; ``forward_lstm_full`` learns
from the whole training pool and runs once per (dataset, seed), selection empty too.

Each such unit of work is a *job*. Jobs run in worker processes (one thread each, one per
core) or on Ray (``executor="ray"``). Every finished job's rows are added to the results
table (CSV) at once, atomically; rows are keyed by the protocol and the cell, so a rerun
skips what is done and an interrupted grid resumes.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from filelock import FileLock

from mic_core.baselines import ForwardLSTMClassifier, NearestNeighbourDTW, NearestNeighbourMSE
from mic_core.classify import FREE_ENDS, PLAIN, DecisionRule, classify
from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.evaluation import mean_error_matrix, score_predictions, seeded_subset
from mic_core.inversion import InversionConfig
from mic_core.persistence import atomic_write, find_experts, load_or_select_types, load_or_train
from mic_core.training import default_train_config
from mic_core.type_selection import SELECTIONS

RESULTS = Path(__file__).resolve().parent.parent / "results" / "experiments.csv"
SEEDS = (42, 142, 242, 342, 442)
NOISE_IN = (0.0, 0.1, 0.2)
OUTPUT_NOISE = {"characters": 0.1, "mnist": 0.1}  # the one non-zero output noise per data set
TEST_LIMIT = {"characters": None, "mnist": 2000}  # held-out samples per cell (None: all 715)
METHODS = ("mic", "mic_0", "mic_free_ends", "nn_mse", "nn_dtw", "forward_lstm",
           "forward_lstm_full")
JOB_METHODS = {"mic": ("mic", "mic_0", "mic_free_ends"), "types": ("nn_mse", "nn_dtw", "forward_lstm"),
               "full": ("forward_lstm_full",)}
KEY = ("protocol", "dataset", "selection", "noise_in", "noise_out", "seed", "method")
COLUMNS = (*KEY, "accuracy", "mean_error", "n_test", "limit", "seconds",
           "fit_seconds", "experts_cached", "per_class_accuracy", "confusion", "error_matrix",
           "type_error_matrix", "finished")


@dataclass(frozen=True)
class Protocol:
    """Everything besides the cell that fixes a result (rows of two protocols never mix)."""

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

        ``free_ends_rule`` enters the hash only when it differs from the default, so the
        names of protocols hashed before it existed stay valid."""
        if self == Protocol():
            return "paper"
        settings = asdict(self)
        if self.free_ends_rule == FREE_ENDS:
            del settings["free_ends_rule"]
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
        return f"custom-{digest.hexdigest()[:8]}"

    def rule(self, method: str) -> DecisionRule:
        """The decision rule of a MIC method."""
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
        return _key(protocol.name, self.dataset, self.selection, self.noise_in, self.noise_out,
                    self.seed, method)

    def __str__(self):
        parts = [self.kind, self.dataset, self.selection,
                 None if self.noise_in is None else f"in {self.noise_in:g}",
                 None if self.noise_out is None else f"out {self.noise_out:g}",
                 f"seed {self.seed}"]
        return " ".join(p for p in parts if p)


def _key(protocol, dataset, selection, noise_in, noise_out, seed, method) -> tuple:
    """The same tuple for a job and for its row read back from CSV (empty where absent)."""
    def blank(x):
        return x is None or x == "" or (isinstance(x, float) and math.isnan(x))

    def number(x):
        return "" if blank(x) else f"{float(x):g}"
    return (str(protocol), str(dataset), "" if blank(selection) else str(selection),
            number(noise_in), number(noise_out), str(int(float(seed))), str(method))


def grid(datasets: Iterable[str] = DATASETS, selections: Iterable[str] = SELECTIONS,
         seeds: Iterable[int] = SEEDS, noise_in: Iterable[float] = NOISE_IN,
         noise_out: Iterable[str | float] = ("0", "data"),
         methods: Iterable[str] = METHODS) -> list[Job]:
    """The jobs of the grid, slow baselines first within each data set. ``noise_out`` items
    are numbers, or "data" for the data set's OUTPUT_NOISE."""
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


# --- one job -------------------------------------------------------------------------------

@lru_cache(maxsize=2)
def _dataset(name: str):
    return load_dataset(DataConfig(dataset=name))


def _test_set(dataset, protocol: Protocol):
    chosen = seeded_subset(len(dataset.X_test), protocol.test_limit(dataset.name), seed=0)
    return dataset.X_test[chosen], dataset.y_test[chosen]


def _row(job: Job, protocol: Protocol, method: str, y, predicted, class_names, seconds,
         fit_seconds, **extra) -> dict:
    accuracy, per_class, confusion = score_predictions(y, predicted, class_names)
    row = dict(zip(KEY, (protocol.name, job.dataset, job.selection, job.noise_in,
                         job.noise_out, job.seed, method)))
    row.update(accuracy=accuracy, n_test=len(y), limit=protocol.test_limit(job.dataset),
               seconds=seconds, fit_seconds=fit_seconds,
               per_class_accuracy=json.dumps(per_class),
               confusion=json.dumps(confusion.tolist()),
               finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for name, value in extra.items():
        row[name] = json.dumps(np.round(value, 6).tolist()) if isinstance(value, np.ndarray) \
            else value
    return row


def _train_config(job: Job, protocol: Protocol):
    overrides = {"selection": job.selection, "seed": job.seed}
    if job.noise_in is not None:
        overrides.update(noise_in=job.noise_in, noise_out=job.noise_out)
    if protocol.train_steps is not None:
        overrides["steps"] = protocol.train_steps
    return default_train_config(job.dataset, **overrides)


def _run_mic(job: Job, protocol: Protocol, methods, cache_dir) -> list[dict]:
    dataset = _dataset(job.dataset)
    train = _train_config(job, protocol)
    cached = find_experts(dataset.config, train, cache_dir) is not None
    start = time.perf_counter()
    experts = load_or_train(dataset, train, cache_dir)
    fit_seconds = time.perf_counter() - start
    X, y = _test_set(dataset, protocol)
    E, K = experts.types.shape[:2]
    X_types = experts.types.reshape(E * K, *experts.types.shape[2:])
    y_types = np.repeat(np.arange(E), K)
    rows = []
    for method, iterations in (("mic", protocol.iterations), ("mic_0", 0)):
        wanted = [method, "mic_free_ends"] if method == "mic" else [method]
        wanted = [m for m in wanted if m in job.methods and m in methods]
        if not wanted:
            continue
        start = time.perf_counter()
        config = InversionConfig(iterations=iterations)
        # one inversion; each method's row is read from its own decision record
        plain = classify(experts, X, config, PLAIN, dataset.standardiser, record="final",
                         batch_size=256)
        errors = plain.reconstruction_errors
        extra = dict(mean_error=float(errors.min(axis=1).mean()), experts_cached=cached,
                     error_matrix=mean_error_matrix(errors, y, E))
        if method == "mic":  # the loss heat map on the training types, once
            on_types = classify(experts, X_types, config, PLAIN, record="final",
                                batch_size=256)
            extra["type_error_matrix"] = mean_error_matrix(on_types.reconstruction_errors,
                                                           y_types, E)
        decisions = {name: plain if protocol.rule(name) == PLAIN else
                     plain.with_rule(protocol.rule(name)) for name in wanted}
        seconds = time.perf_counter() - start + fit_seconds
        for name in wanted:
            rows.append(_row(job, protocol, name, y, decisions[name].winners,
                             experts.class_names, seconds, fit_seconds, **extra))
    return rows


def _run_types(job: Job, protocol: Protocol, methods, cache_dir) -> list[dict]:
    dataset = _dataset(job.dataset)
    types = load_or_select_types(dataset, _train_config(job, protocol), cache_dir)
    E, K = types.shape[:2]
    X_types, y_types = types.reshape(E * K, *types.shape[2:]), np.repeat(np.arange(E), K)
    X, y = _test_set(dataset, protocol)
    models = {"nn_mse": NearestNeighbourMSE(), "nn_dtw": NearestNeighbourDTW(),
              "forward_lstm": ForwardLSTMClassifier(steps=protocol.forward_lstm_steps,
                                                    seed=job.seed)}
    rows = []
    for method in JOB_METHODS["types"]:
        if method not in methods:
            continue
        model, start = models[method], time.perf_counter()
        model.fit(X_types, y_types)
        fit_seconds = time.perf_counter() - start
        extra = {}
        if method == "nn_mse":  # the nearest type is NN's "reconstruction"
            distances = model.distances(X)
            predicted = y_types[distances.argmin(axis=1)]
            per_class = np.stack([distances[:, y_types == e].min(axis=1) for e in range(E)], 1)
            extra = {"mean_error": float(distances.min(axis=1).mean()),
                     "error_matrix": mean_error_matrix(per_class, y, E)}
        else:
            predicted = model.predict(X)
        rows.append(_row(job, protocol, method, y, predicted, dataset.class_names,
                         time.perf_counter() - start, fit_seconds, **extra))
    return rows


def _run_full(job: Job, protocol: Protocol, methods, cache_dir) -> list[dict]:
    dataset = _dataset(job.dataset)
    X, y = _test_set(dataset, protocol)
    start = time.perf_counter()
    model = ForwardLSTMClassifier(steps=protocol.forward_lstm_full_steps,
                                  batch_size=protocol.forward_lstm_full_batch,
                                  learning_rate=protocol.forward_lstm_full_learning_rate,
                                  max_grad_norm=1.0, seed=job.seed)
    model.fit(dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - start
    predicted = model.predict(X)
    return [_row(job, protocol, "forward_lstm_full", y, predicted, dataset.class_names,
                 time.perf_counter() - start, fit_seconds)]


_RUNNERS = {"mic": _run_mic, "types": _run_types, "full": _run_full}


def run_job(job: Job, protocol: Protocol, methods=METHODS, cache_dir=None) -> list[dict]:
    """The result rows of one job (its methods that are among ``methods``)."""
    return _RUNNERS[job.kind](job, protocol, set(methods), cache_dir)


def _single_threaded():
    """Worker processes take one core each: numba and torch stay on one thread."""
    import numba
    import torch
    numba.set_num_threads(1)
    torch.set_num_threads(1)


def _run_job_in_worker(job, protocol, methods, cache_dir):
    _single_threaded()
    return run_job(job, protocol, methods, cache_dir)


# --- the results table ---------------------------------------------------------------------

def read_results(path: Path = RESULTS) -> pd.DataFrame:
    """The results table (empty, with its columns, if there is none yet)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path} is not a readable results table: {exc}") from None
    missing = [c for c in KEY if c not in table.columns]
    if missing:
        raise ValueError(f"{path} is not a results table: it lacks the columns {missing}")
    return table


def _row_keys(table: pd.DataFrame) -> set:
    return {_key(*values) for values in table[list(KEY)].itertuples(index=False)}


def append_results(rows: list[dict], path: Path = RESULTS) -> None:
    """Add ``rows`` to the table atomically; a row replaces an older one with its key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        table = read_results(path)
        new = pd.DataFrame(rows)
        new_keys = _row_keys(new)
        keep = [_key(*values) not in new_keys
                for values in table[list(KEY)].itertuples(index=False)]
        table = pd.concat([table[keep], new], ignore_index=True) if len(table) else new
        table = table.reindex(columns=[*COLUMNS, *(c for c in table.columns
                                                   if c not in COLUMNS)])
        text = table.to_csv(index=False, float_format="%.10g")
        atomic_write(path, lambda f: f.write(text.encode()))


# --- the runner ----------------------------------------------------------------------------

def pending_jobs(jobs: list[Job], protocol: Protocol, methods, path: Path) -> list[Job]:
    """The jobs with at least one wanted row missing from the table."""
    done = _row_keys(read_results(path))
    return [job for job in jobs
            if any(job.key(protocol, m) not in done for m in job.methods if m in methods)]


def run_grid(jobs: list[Job], protocol: Protocol = Protocol(), methods=METHODS,
             results: Path = RESULTS, cache_dir: Path | None = None, workers: int = 2,
             executor: str = "local", ray_address: str | None = None,
             progress: Callable[[int, int, str], None] | None = None) -> int:
    """Run the ``jobs`` not yet in ``results``; returns how many ran.

    ``executor``: "local" (``workers`` processes, one core each; 1 runs in this process) or
    "ray" (a local Ray instance with ``workers`` CPUs, or the cluster at ``ray_address``).
    ``progress(done, total, what)`` after every job."""
    methods = tuple(methods)
    todo = pending_jobs(jobs, protocol, methods, results)
    if progress is not None:
        progress(0, len(todo), f"{len(jobs) - len(todo)} of {len(jobs)} jobs already done")
    if not todo:
        return 0
    if executor == "ray":
        finished = _run_on_ray(todo, protocol, methods, cache_dir, workers, ray_address)
    elif executor != "local":
        raise ValueError(f"unknown executor {executor!r}; choose local or ray")
    elif workers <= 1:
        finished = ((job, run_job(job, protocol, methods, cache_dir)) for job in todo)
    else:
        finished = _run_in_processes(todo, protocol, methods, cache_dir, workers)
    for done, (job, rows) in enumerate(finished, 1):
        append_results(rows, results)
        if progress is not None:
            progress(done, len(todo), str(job))
    return len(todo)


def _run_in_processes(jobs, protocol, methods, cache_dir, workers):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    # spawn, not fork: a forked copy of a process running torch or numba threads can hang
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_run_job_in_worker, job, protocol, methods, cache_dir): job
                   for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _run_on_ray(jobs, protocol, methods, cache_dir, workers, address):
    try:
        import ray
    except ImportError:
        raise ValueError("the ray executor needs Ray: pip install 'ray==2.60.0' (an optional "
                         "dependency; the local executor needs nothing more)") from None
    root = str(Path(__file__).resolve().parent.parent)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else workers,
                 include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": root}})
    try:
        remote = ray.remote(num_cpus=1)(_run_job_in_worker)
        refs = {remote.remote(job, protocol, methods, cache_dir): job for job in jobs}
        waiting = list(refs)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            yield refs[ready[0]], ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()
