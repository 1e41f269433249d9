"""The style memory in the low-data protocol (rows of ``results/experiments.csv``).

``style_memory``: trained on the experts' four types per class (the same selection and seed,
``mic_core.persistence.load_or_select_types``); ``style_memory_full``: trained on the whole
training pool. Both are tested on the protocol's held-out samples (letters: all 715; MNIST:
the seeded 2000-sample subset of ``mic_core.experiments``), with the same columns as MIC's
rows; ``mean_error`` is the mean squared reconstruction error (from the network's own
softmax and style), comparable with MIC's reconstruction MSE. A finished job's row is
appended at once and a rerun skips it, so an interrupted run resumes.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from mic_core.data import DATASETS
from mic_core.experiments import (RESULTS, SEEDS, Job, Protocol, append_results,
                                  read_results)
from mic_core.experiments.jobs import _dataset, _row, _test_set
from mic_core.experiments.store import KEY, read_predictions, row_key, row_keys
from mic_core.style_memory.store import (default_style_config, find_style_memory,
                                         load_or_train_style_memory)
from mic_core.type_selection import SELECTIONS

METHODS = {"types": "style_memory", "full": "style_memory_full"}


def style_jobs(datasets: Iterable[str] = DATASETS, selections: Iterable[str] = SELECTIONS,
               seeds: Iterable[int] = SEEDS, full: bool = True,
               types: bool = True) -> list[Job]:
    """Low-data jobs (kind "types") first, they take seconds; then the whole-pool ones."""
    jobs = []
    for dataset in datasets:
        if types:
            jobs += [Job("types", dataset, seed, selection) for selection in selections
                     for seed in seeds]
    for dataset in datasets:
        if full:
            jobs += [Job("full", dataset, seed) for seed in seeds]
    return jobs


def run_style_job(job: Job, protocol: Protocol = Protocol(), cache_dir=None) -> dict:
    """Train (or load) the style memory of ``job`` and score it: one result row."""
    dataset = _dataset(job.dataset)
    config = default_style_config(job.dataset, job.selection if job.kind == "types" else None,
                                  seed=job.seed)
    cached = find_style_memory(dataset.config, config, cache_dir) is not None
    start = time.perf_counter()
    model = load_or_train_style_memory(dataset, config, cache_dir)
    fit_seconds = time.perf_counter() - start
    X, y = _test_set(dataset, protocol)
    predicted = model.predict(X)
    squared = ((model.reconstruct(X) - X) ** 2).reshape(len(X), -1).mean(axis=1)
    return _row(job, protocol, METHODS[job.kind], y, predicted, dataset.class_names,
                time.perf_counter() - start, fit_seconds, mean_error=float(squared.mean()),
                experts_cached=cached)


def run_style_experiments(datasets=DATASETS, selections=SELECTIONS, seeds=SEEDS,
                          full: bool = True, types: bool = True, results: Path = RESULTS,
                          cache_dir=None, protocol: Protocol = Protocol(),
                          log: Callable[[str], None] = lambda message: None) -> int:
    """Run the style-memory jobs missing from ``results``, in this process (torch as
    configured by the caller); returns how many ran."""
    done = row_keys(read_results(results))
    todo = [job for job in style_jobs(datasets, selections, seeds, full, types)
            if job.key(protocol, METHODS[job.kind]) not in done]
    log(f"{len(todo)} style-memory jobs to run")
    for i, job in enumerate(todo, 1):
        row = run_style_job(job, protocol, cache_dir)
        append_results([row], results)
        log(f"[{i}/{len(todo)}] {job}: accuracy {row['accuracy']:.4f}")
    return len(todo)


def test_indices(dataset: str, protocol: Protocol = Protocol()) -> np.ndarray:
    """Indices into the held-out test set of the protocol's samples (letters: all 715;
    MNIST: the seeded 2000)."""
    from mic_core.evaluation import seeded_subset
    n = len(_dataset(dataset).y_test)
    return seeded_subset(n, protocol.test_limit(dataset), seed=0)


def merge_results(source: Path, results: Path = RESULTS) -> int:
    """Add the rows of another results table (e.g. one written by ``experiments --results``
    on another machine) and their per-sample predictions to ``results``; a row replaces one
    with its key. Returns how many rows were added."""
    table = read_results(source)
    predictions = {row_key(*(r[k] for k in KEY)): r["predictions"]
                   for r in read_predictions(source).to_dict("records")}
    rows = []
    for row in table.to_dict("records"):
        key = row_key(*(row[k] for k in KEY))
        if key in predictions:
            row["predictions"] = predictions[key]
        rows.append(row)
    if rows:
        append_results(rows, results)
    return len(rows)
