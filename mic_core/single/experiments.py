"""The single generator's rows of the results table (``results/experiments.csv``).

Same protocol as MIC's cells (``mic_core.experiments``): the same data split, types
(selection, seed), held-out test set (``TEST_LIMIT``), and training noise; one cell is
(dataset, selection, noise_in, noise_out, seed, code). Its methods:

- ``single_class`` / ``single_type``: the class code / type code generator, inverted from the
  zero vector without projection (the exposé), 50 iterations, decided by the largest mass;
- ``single_class_corners`` / ``single_type_corners``: the same generator decided by the
  lowest reconstruction error among the class corners (no inversion);
- ``single_class_params`` / ``single_type_params`` (and ``..._params_corners``): the
  equal-parameter variant (as many weights as all experts together, not as many cells).

The generators are trained with the steps and learning rate chosen on validation
(``mic_core.single.validation``; ``--defaults`` names the choices' file). Rows are appended
as each cell's rule finishes (the corners row first: it needs no inversion), keyed like
MIC's, with every sample's prediction beside them, so a rerun skips what is done:
``python -m mic_core.single.experiments --dataset characters --seeds 42 --noise-in 0.1``.
On another machine: ``--results OUT/experiments.csv --cache-dir OUT/cache --known
results/experiments.csv --deadline EPOCH`` (skip cells the repository has, never start a
training that would end after the deadline); ``--merge OUT...`` adds such rows here.
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
from mic_core.experiments.store import encode_predictions, read_predictions
from mic_core.single.generator import (CAPACITIES, CODES, chosen_training,
                                       default_single_config, find_generator,
                                       load_or_train_generator)
from mic_core.single.inversion import CodeInversionConfig, corner_errors, invert_code
from mic_core.single.validation import OutOfTime, deadline_progress
from mic_core.type_selection import SELECTIONS

PROTOCOL = "paper"  # MIC's default protocol: its split, types, test set and 50 iterations
NOISE_IN = (0.0, 0.1)
BATCH = 128


def methods(code: str, capacity: str = "cells") -> tuple[str, str]:
    """The (mass rule, corners rule) method names of a code and capacity.

    >>> methods("type", "parameters")
    ('single_type_params', 'single_type_params_corners')
    """
    stem = f"single_{code}" + ("_params" if capacity == "parameters" else "")
    return stem, f"{stem}_corners"


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


def cell_config(dataset_name: str, selection: str, seed: int, noise_in: float, code: str,
                capacity: str = "cells", defaults: Path | None = None):
    """The generator of one cell: the family's defaults (the validated steps and learning
    rate, from ``defaults`` if given) with the cell's selection, seed and input noise."""
    chosen = chosen_training(dataset_name, code, capacity, defaults) \
        if defaults is not None else {}
    return default_single_config(dataset_name, code, capacity, selection=selection, seed=seed,
                                 noise_in=noise_in, noise_out=0.0, **chosen)


def run_cell(dataset_name: str, selection: str, seed: int, noise_in: float, code: str,
             cache_dir=None, log=lambda m: None, capacity: str = "cells",
             defaults: Path | None = None, deadline: float | None = None,
             write=None, limit: int | None = None) -> list[dict]:
    """Train (or load) one generator and evaluate both its decision rules on the held-out
    test set; ``fit_seconds`` is the training's own wall time (also when loaded from the
    cache, where the file keeps it), ``seconds`` adds the classification of the test set.
    ``write(rows)`` receives each rule's row as soon as it is done (corners first).
    Raises ``OutOfTime`` (before anything is written) if the training would end after
    ``deadline`` (epoch seconds). ``limit``: fewer test samples than the protocol's (a
    quick check of the command; such rows are not the protocol's)."""
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    train = cell_config(dataset_name, selection, seed, noise_in, code, capacity, defaults)
    cached = find_generator(dataset.config, train, cache_dir) is not None

    progress = deadline_progress(deadline, log)
    start = time.perf_counter()
    generator = load_or_train_generator(dataset, train, cache_dir, progress=progress, log=log)
    fit_seconds = generator.train_seconds if math.isfinite(generator.train_seconds) \
        else time.perf_counter() - start
    chosen = seeded_subset(len(dataset.X_test), limit or TEST_LIMIT[dataset_name], seed=0)
    X, y = dataset.X_test[chosen], dataset.y_test[chosen]
    cell = {"dataset": dataset_name, "selection": selection, "noise_in": noise_in,
            "noise_out": 0.0, "seed": seed}
    names = dataset.class_names
    mass_name, corner_name = methods(code, capacity)
    write = write or (lambda rows: None)
    # the class corners: no inversion
    start = time.perf_counter()
    corners = corner_errors(generator, X)
    corner_seconds = time.perf_counter() - start
    predicted = corners.argmin(axis=1)
    rows = [_row(cell, corner_name, y, predicted, names, fit_seconds + corner_seconds,
                 fit_seconds, mean_error=float(corners.min(axis=1).mean()),
                 experts_cached=cached, error_matrix=mean_error_matrix(corners, y, len(names)),
                 predictions=encode_predictions(predicted))]
    write(rows[-1:])
    # the exposé's inversion, decided by the largest mass
    start = time.perf_counter()
    final_errors, predicted = [], []
    for i in range(0, len(X), BATCH):
        record = invert_code(generator, X[i:i + BATCH], CodeInversionConfig(), record="final")
        final_errors.append(record.final_errors)
        predicted.append(record.winners)
    mass_seconds = time.perf_counter() - start
    predicted = np.concatenate(predicted)
    rows.insert(0, _row(cell, mass_name, y, predicted, names, fit_seconds + mass_seconds,
                        fit_seconds, mean_error=float(np.concatenate(final_errors).mean()),
                        experts_cached=cached, predictions=encode_predictions(predicted)))
    write(rows[:1])
    return rows


def merge(folders, results: Path = RESULTS) -> int:
    """Add the rows (and per-sample predictions) of ``folder/experiments.csv`` for every
    folder to ``results``; returns how many rows were added."""
    added = 0
    for folder in folders:
        path = Path(folder) / "experiments.csv"
        if not path.exists():
            continue
        table = read_results(path)
        predictions = read_predictions(path)
        by_key = {_key(*values[1:]): text for values, text in zip(
            predictions[list(KEY)].itertuples(index=False), predictions["predictions"])}
        rows = []
        for row in table.to_dict("records"):
            row = {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
            key = _key(*(row.get(k) for k in KEY[1:]))
            if key in by_key:
                row["predictions"] = by_key[key]
            rows.append(row)
        append_results(rows, results)
        added += len(rows)
    return added


def retire(dataset: str, code: str, capacity: str, reason: str, results: Path = RESULTS,
           archive: Path | None = None) -> int:
    """Remove ALL of this family's rows of ``dataset`` (and their predictions) from the
    table, writing them to ``archive`` (JSON, with ``reason``) first; returns how many rows.

    For a training choice that changed (the table has no column for the steps): call it
    before adding the rows of the new choice, so one method name never mixes trainings.
    Only the single generator's own methods are touched."""
    from filelock import FileLock
    from mic_core.experiments.store import _AS_TEXT, predictions_path
    from mic_core.persistence import atomic_write
    names = set(methods(code, capacity))
    removed = 0
    with FileLock(str(results) + ".lock"):
        for path, dtype in ((Path(results), None), (predictions_path(results), _AS_TEXT)):
            if not path.exists():
                continue
            table = read_results(path, dtype=dtype)
            stale = (table["protocol"] == PROTOCOL) & (table["dataset"] == dataset) & \
                table["method"].isin(names)
            if not stale.any():
                continue
            if path == Path(results):
                removed = int(stale.sum())
                if archive is not None:
                    rows = table[stale].to_dict("records")
                    Path(archive).parent.mkdir(parents=True, exist_ok=True)
                    Path(archive).write_text(json.dumps(
                        {"why": reason, "rows": rows}, indent=1, default=str))
            text = table[~stale].to_csv(index=False, float_format="%.10g")
            atomic_write(path, lambda f, text=text: f.write(text.encode()))
    return removed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mic_core.single.experiments",
                                     description="The single generator's cells of the grid "
                                     "(resumable: finished cells are skipped).")
    parser.add_argument("--dataset", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--capacity", nargs="+", choices=CAPACITIES, default=["cells"])
    parser.add_argument("--noise-in", nargs="+", type=float, default=list(NOISE_IN))
    parser.add_argument("--selection", nargs="+", choices=SELECTIONS, default=list(SELECTIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--code", nargs="+", choices=CODES, default=list(CODES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--known", type=Path, nargs="*", default=[],
                        help="other results tables whose cells count as done where the cell's "
                             "training is --known-training")
    parser.add_argument("--known-training", default="1000:0.01", metavar="STEPS:RATE",
                        help="the steps and learning rate of the --known tables' generators "
                             "(every row before the validated choice: 1000:0.01)")
    parser.add_argument("--defaults", type=Path, default=None,
                        help="the validated steps and learning rates (default: "
                             "assets/single/defaults.json)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--deadline", type=float, default=None,
                        help="epoch seconds: skip a cell whose training would end later")
    parser.add_argument("--threads", type=int, default=1, help="numba threads")
    parser.add_argument("--limit", type=int, default=None,
                        help="test samples (a quick check; the protocol's rows use all)")
    parser.add_argument("--merge", nargs="+", type=Path, default=None, metavar="FOLDER",
                        help="add FOLDER/experiments.csv's rows to --results instead")
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
    if args.merge:
        print(f"added {merge(args.merge, args.results)} rows to {args.results}")
        return
    import numba
    import torch
    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
    torch.set_num_threads(1)

    def log(message):
        print(message, file=sys.stderr, flush=True)
    known_steps, known_rate = args.known_training.split(":")
    for dataset in args.dataset:
        for capacity in args.capacity:
            for noise_in in args.noise_in:
                for selection in args.selection:
                    for seed in args.seeds:
                        for code in args.code:
                            train = cell_config(dataset, selection, seed, noise_in, code,
                                                capacity, args.defaults)
                            same = f"{train.steps}:{train.learning_rate:g}" == \
                                f"{known_steps}:{float(known_rate):g}"
                            done = set().union(*(done_keys(p) for p in
                                                 (args.results, *(args.known if same
                                                                  else ()))))
                            if all(_key(dataset, selection, noise_in, 0.0, seed, m) in done
                                   for m in methods(code, capacity)):
                                continue
                            what = (f"{dataset} {capacity} {selection} seed {seed} in "
                                    f"{noise_in:g} {code}")
                            if args.deadline is not None and time.time() > args.deadline:
                                log(f"deadline passed before {what}")
                                return
                            log(f"cell {what}")
                            try:
                                rows = run_cell(dataset, selection, seed, noise_in, code,
                                                args.cache_dir, log, capacity, args.defaults,
                                                args.deadline,
                                                write=lambda r: append_results(r, args.results),
                                                limit=args.limit)
                            except OutOfTime as exc:
                                log(f"skipped {what}: {exc}")
                                continue
                            log(f"done {what}: " + ", ".join(
                                f"{r['method']} {r['accuracy']:.4f}" for r in rows))


# --- the report: the single generator beside MIC and the nearest neighbours ---------------

SHOWN = ("mic", "single_class", "single_class_corners", "single_type", "single_type_corners",
         "single_class_params", "single_class_params_corners", "single_type_params",
         "single_type_params_corners", "nn_mse", "nn_dtw")


def comparison_table(table):
    """One row per (dataset, selection, input noise, method) where the single generator has
    results: accuracy mean and std over seeds, the seeds, the mean training and classifying
    seconds, the mean paired difference to MIC (points, over the seeds both have) and in
    how many of those seeds the method beats MIC. The nearest neighbours have no training
    noise: their row repeats under each noise.

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
            difference = 100 * float((accuracy[paired] - mic[paired]).mean()) \
                if len(paired) else float("nan")
            out.append({"dataset": dataset, "selection": selection, "noise_in": noise_in,
                        "method": method, "accuracy": round(float(accuracy.mean()), 4),
                        "std": round(float(accuracy.std(ddof=0)), 4), "seeds": len(accuracy),
                        "train_s": round(float(chosen["fit_seconds"].mean()), 1),
                        "classify_s": round(float((chosen["seconds"] -
                                                   chosen["fit_seconds"]).mean()), 1),
                        "vs_mic_points": "" if method == "mic" or not len(paired)
                        else f"{difference:+.1f}",
                        "beats_mic": "" if method == "mic" else f"{wins} of {len(paired)}"})
    return pd.DataFrame(out)


def report_section(table) -> list[str]:
    """The single generator's part of ``python -m mic_core report`` (markdown paragraphs;
    none if the table holds no single-generator rows)."""
    frame = comparison_table(table)
    if frame.empty:
        return []
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in values) + " |"
              for values in frame.itertuples(index=False)]
    return ["## One generator for all classes (issue 11) beside MIC",
            "single_class / single_type: one LSTM for all classes with a class / type code "
            "(as many cells as all experts together), inverted from the zero vector (50 "
            "iterations), the largest class mass wins; *_corners: the class whose corner code "
            "reconstructs best; *_params: as many weights as all experts together. MIC: its "
            "paper rule at the same input noise, output noise 0. vs_mic_points: mean paired "
            "difference to MIC over the seeds both ran; beats_mic: in how many of them it is "
            "higher. Training length chosen on a validation split of the training pool for "
            "the 200-cell generators (results/single/validation-*.json; learning rate 0.01 "
            "throughout); the *_params generators: 1000 steps, not validated. train_s / "
            "classify_s: mean "
            "seconds of the machine that ran the cell (README, issue 11 section).",
            "\n".join(lines)]


if __name__ == "__main__":
    main()
