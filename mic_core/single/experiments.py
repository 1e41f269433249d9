"""The single generator's rows of the results table (``results/experiments.csv``).

Same protocol as MIC's cells (``mic_core.experiments``): the same data split, types
(selection, seed), held-out test set (``TEST_LIMIT``), and training noise; one cell is
(dataset, selection, noise_in, noise_out, seed, code). Its methods:

- ``single_class`` / ``single_type``: the class code / type code generator, inverted from the
  zero vector without projection (the exposé), 50 iterations, decided by the largest mass;
- ``single_class_corners`` / ``single_type_corners``: the same generator decided by the
  lowest reconstruction error among the class corners (no inversion).

Rows are appended as each cell finishes, keyed like MIC's, so a rerun skips what is done:
``python -m mic_core.single.experiments --dataset characters --seeds 42 --noise-in 0.1``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.evaluation import mean_error_matrix, score_predictions, seeded_subset
from mic_core.experiments import KEY, RESULTS, SEEDS, TEST_LIMIT, append_results, read_results
from mic_core.single.generator import (CODES, default_single_config, find_generator,
                                       load_or_train_generator)
from mic_core.single.inversion import CodeInversionConfig, corner_errors, invert_code
from mic_core.type_selection import SELECTIONS

PROTOCOL = "paper"  # MIC's default protocol: its split, types, test set and 50 iterations
NOISE_IN = (0.0, 0.1)
BATCH = 128


def methods(code: str) -> tuple[str, str]:
    return f"single_{code}", f"single_{code}_corners"


def _key(dataset, selection, noise_in, noise_out, seed, method) -> tuple:
    def number(x):
        return "" if x is None or (isinstance(x, float) and math.isnan(x)) or x == "" \
            else f"{float(x):g}"
    return (PROTOCOL, str(dataset), str(selection), number(noise_in), number(noise_out),
            str(int(float(seed))), str(method))


def done_keys(path: Path = RESULTS) -> set:
    table = read_results(path)
    return {_key(*values[1:]) for values in table[list(KEY)].itertuples(index=False)
            if str(values[0]) == PROTOCOL}


def _row(cell: dict, method: str, y, predicted, class_names, seconds, fit_seconds,
         **extra) -> dict:
    accuracy, per_class, confusion = score_predictions(y, predicted, class_names)
    row = dict(zip(KEY, (PROTOCOL, cell["dataset"], cell["selection"], cell["noise_in"],
                         cell["noise_out"], cell["seed"], method)))
    row.update(accuracy=accuracy, n_test=len(y), limit=TEST_LIMIT[cell["dataset"]],
               seconds=seconds, fit_seconds=fit_seconds,
               per_class_accuracy=json.dumps(per_class),
               confusion=json.dumps(confusion.tolist()),
               finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for name, value in extra.items():
        row[name] = json.dumps(np.round(value, 6).tolist()) if isinstance(value, np.ndarray) \
            else value
    return row


def run_cell(dataset_name: str, selection: str, seed: int, noise_in: float, code: str,
             cache_dir=None, log=lambda m: None) -> list[dict]:
    """Train (or load) one generator and evaluate both its decision rules on the held-out
    test set; ``fit_seconds`` is the training's own wall time (also when loaded from the
    cache, where the file keeps it), ``seconds`` adds the classification of the test set."""
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    train = default_single_config(dataset_name, code, "cells", selection=selection, seed=seed,
                                  noise_in=noise_in, noise_out=0.0)
    cached = find_generator(dataset.config, train, cache_dir) is not None

    def progress(p):
        if p.step % 100 == 0:
            log(f"  step {p.step}/{p.steps} loss {p.loss:.4f} ({p.seconds_left:.0f} s left)")
    start = time.perf_counter()
    generator = load_or_train_generator(dataset, train, cache_dir, progress=progress, log=log)
    fit_seconds = generator.train_seconds if math.isfinite(generator.train_seconds) \
        else time.perf_counter() - start
    chosen = seeded_subset(len(dataset.X_test), TEST_LIMIT[dataset_name], seed=0)
    X, y = dataset.X_test[chosen], dataset.y_test[chosen]
    cell = {"dataset": dataset_name, "selection": selection, "noise_in": noise_in,
            "noise_out": 0.0, "seed": seed}
    # the exposé's inversion, decided by the largest mass
    start = time.perf_counter()
    final_errors, predicted = [], []
    for i in range(0, len(X), BATCH):
        record = invert_code(generator, X[i:i + BATCH], CodeInversionConfig(), record="final")
        final_errors.append(record.final_errors)
        predicted.append(record.winners)
    mass_seconds = time.perf_counter() - start
    # the class corners: no inversion
    start = time.perf_counter()
    corners = corner_errors(generator, X)
    corner_seconds = time.perf_counter() - start
    names = dataset.class_names
    mass_name, corner_name = methods(code)
    return [
        _row(cell, mass_name, y, np.concatenate(predicted), names, fit_seconds + mass_seconds,
             fit_seconds, mean_error=float(np.concatenate(final_errors).mean()),
             experts_cached=cached),
        _row(cell, corner_name, y, corners.argmin(axis=1), names,
             fit_seconds + corner_seconds, fit_seconds,
             mean_error=float(corners.min(axis=1).mean()), experts_cached=cached,
             error_matrix=mean_error_matrix(corners, y, len(names))),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mic_core.single.experiments",
                                     description="The single generator's cells of the grid "
                                     "(resumable: finished cells are skipped).")
    parser.add_argument("--dataset", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--selection", nargs="+", choices=SELECTIONS, default=list(SELECTIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--noise-in", nargs="+", type=float, default=list(NOISE_IN))
    parser.add_argument("--code", nargs="+", choices=CODES, default=list(CODES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--report", action="store_true",
                        help="print the comparison with MIC and the nearest neighbours "
                             "(markdown) instead of running")
    args = parser.parse_args(argv)
    if args.report:
        frame = comparison_table(read_results(args.results))
        print("| " + " | ".join(frame.columns) + " |")
        print("|" + "---|" * len(frame.columns))
        for values in frame.itertuples(index=False):
            print("| " + " | ".join(str(v) for v in values) + " |")
        return
    import numba
    import torch
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    for dataset in args.dataset:
        for selection in args.selection:
            for seed in args.seeds:
                for noise_in in args.noise_in:
                    for code in args.code:
                        done = done_keys(args.results)
                        if all(_key(dataset, selection, noise_in, 0.0, seed, m) in done
                               for m in methods(code)):
                            continue
                        what = f"{dataset} {selection} seed {seed} in {noise_in:g} {code}"
                        print(f"cell {what}", file=sys.stderr, flush=True)
                        rows = run_cell(dataset, selection, seed, noise_in, code,
                                        args.cache_dir,
                                        log=lambda m: print(m, file=sys.stderr, flush=True))
                        append_results(rows, args.results)
                        print(f"done {what}: " + ", ".join(
                            f"{r['method']} {r['accuracy']:.4f}" for r in rows),
                            file=sys.stderr, flush=True)


# --- the report: the single generator beside MIC and the nearest neighbours ---------------

SHOWN = ("mic", "single_class", "single_class_corners", "single_type", "single_type_corners",
         "nn_mse", "nn_dtw")


def comparison_table(table):
    """One row per (dataset, selection, input noise, method) where the single generator has
    results: accuracy mean and std over seeds, the seeds, the mean training and classifying
    seconds, and in how many seeds (paired) the method beats MIC. The nearest neighbours
    have no training noise: their row repeats under each noise.

    Returns a pandas DataFrame (empty if the table holds no single-generator rows).
    """
    import pandas as pd
    rows = table[table["protocol"] == PROTOCOL]
    single = rows[rows["method"].astype(str).str.startswith("single_")]
    out = []
    cells = single[["dataset", "selection", "noise_in"]].drop_duplicates().sort_values(
        ["dataset", "selection", "noise_in"])
    for dataset, selection, noise_in in cells.itertuples(index=False):
        setting = rows[(rows["dataset"] == dataset) & (rows["selection"] == selection)]
        mic = setting[(setting["method"] == "mic") & (setting["noise_in"] == noise_in) &
                      (setting["noise_out"] == 0)].set_index("seed")["accuracy"]
        for method in SHOWN:
            chosen = setting[setting["method"] == method]
            if not method.startswith("nn_"):
                chosen = chosen[(chosen["noise_in"] == noise_in) & (chosen["noise_out"] == 0)]
            if chosen.empty:
                continue
            accuracy = chosen.set_index("seed")["accuracy"]
            paired = accuracy.index.intersection(mic.index)
            wins = int((accuracy[paired] > mic[paired]).sum())
            out.append({"dataset": dataset, "selection": selection, "noise_in": noise_in,
                        "method": method, "accuracy": round(float(accuracy.mean()), 4),
                        "std": round(float(accuracy.std(ddof=0)), 4), "seeds": len(accuracy),
                        "train_s": round(float(chosen["fit_seconds"].mean()), 1),
                        "classify_s": round(float((chosen["seconds"] -
                                                   chosen["fit_seconds"]).mean()), 1),
                        "beats_mic": "" if method == "mic" else f"{wins} of {len(paired)}"})
    return pd.DataFrame(out)


if __name__ == "__main__":
    main()
