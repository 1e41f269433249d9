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
training that would end after the deadline); ``--merge OUT... --machine LABEL=DESCRIPTION``
adds such rows here and notes their machine in ``results/single/machines.json`` (a row
without an entry ran here), so the report names the machine beside their seconds.
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
DEVICE_BATCH = 1024  # targets per inversion call with a torch engine (one GPU launch each)


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
             write=None, limit: int | None = None, device: str | None = None) -> list[dict]:
    """Train (or load) one generator and evaluate both its decision rules on the held-out
    test set; ``fit_seconds`` is the training's own wall time (also when loaded from the
    cache, where the file keeps it), ``seconds`` adds the classification of the test set.
    ``write(rows)`` receives each rule's row as soon as it is done (corners first).
    Raises ``OutOfTime`` (before anything is written) if the training would end after
    ``deadline`` (epoch seconds). ``limit``: fewer test samples than the protocol's (a
    quick check of the command; such rows are not the protocol's). ``device``: None (the
    numba kernels) or "cpu" / "cuda" (the torch engine for the training's gradients, the
    inversion and the corners; ``mic_core.single.torch_engine``): the rows' seconds are
    then that engine's, and whoever merges them names it (``--machine``)."""
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    train = cell_config(dataset_name, selection, seed, noise_in, code, capacity, defaults)
    cached = find_generator(dataset.config, train, cache_dir) is not None

    progress = deadline_progress(deadline, log)
    start = time.perf_counter()
    generator = load_or_train_generator(dataset, train, cache_dir, progress=progress, log=log,
                                        device=device)
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
    corners = corner_errors(generator, X, device)
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
    batch = BATCH if device is None else DEVICE_BATCH
    for i in range(0, len(X), batch):
        record = invert_code(generator, X[i:i + batch], CodeInversionConfig(), record="final",
                             device=device)
        final_errors.append(record.final_errors)
        predicted.append(record.winners)
    mass_seconds = time.perf_counter() - start
    predicted = np.concatenate(predicted)
    rows.insert(0, _row(cell, mass_name, y, predicted, names, fit_seconds + mass_seconds,
                        fit_seconds, mean_error=float(np.concatenate(final_errors).mean()),
                        experts_cached=cached, predictions=encode_predictions(predicted)))
    write(rows[:1])
    return rows


HERE = "here"  # the label of rows that ran on the repository's own machine


def machines_path(results: Path = RESULTS) -> Path:
    """Where the machine of each single-generator row is kept (``results/single/``)."""
    return Path(results).parent / "single" / "machines.json"


def _row_id(key: tuple) -> str:
    return "|".join(key)


def read_machines(path: Path) -> dict:
    """``{"machines": {label: description}, "rows": {row id: label}}`` (empty parts if the
    file is missing); a row without an entry ran on this machine (``HERE``)."""
    try:
        found = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        found = {}
    return {"machines": dict(found.get("machines", {})), "rows": dict(found.get("rows", {}))}


def record_machine(rows, label: str = HERE, description: str | None = None,
                   path: Path = machines_path()) -> None:
    """Note that ``rows`` (dicts with the key columns) ran on the machine ``label``
    (described by ``description``); ``HERE`` removes their entries (a rerun here)."""
    from filelock import FileLock
    from mic_core.persistence import atomic_write
    path = Path(path)
    with FileLock(str(path) + ".lock"):
        found = read_machines(path)
        if label != HERE and description:
            found["machines"][label] = description
        for row in rows:
            row_id = _row_id(_key(*(row.get(k) for k in KEY[1:])))
            if label == HERE:
                found["rows"].pop(row_id, None)
            else:
                found["rows"][row_id] = label
        if not found["rows"] and not path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        found["rows"] = dict(sorted(found["rows"].items()))
        text = json.dumps(found, indent=1) + "\n"
        atomic_write(path, lambda f: f.write(text.encode()))


def machine_labels(table, path: Path) -> list[str]:
    """The machine label of every row of ``table`` (``HERE`` where none is recorded)."""
    rows = read_machines(path)["rows"]
    return [rows.get(_row_id(_key(*values[1:])), HERE)
            for values in table[list(KEY)].itertuples(index=False)]


def merge(folders, results: Path = RESULTS, machine: tuple[str, str] | None = None) -> int:
    """Add the rows (and per-sample predictions) of ``folder/experiments.csv`` for every
    folder to ``results``; returns how many rows were added. ``machine``: (label,
    description) of the machine that ran them, kept in ``machines_path(results)`` so that
    the report names it beside their seconds."""
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
        if machine is not None:
            record_machine(rows, *machine, path=machines_path(results))
        added += len(rows)
    return added


def compare_rows(folder: Path, results: Path = RESULTS) -> list[dict]:
    """The rows of ``folder/experiments.csv`` that ``results`` also has (the same cell and
    method, run again elsewhere, e.g. with another engine), side by side: both accuracies,
    their difference in points, both seconds, the machine of the ``results`` row, and on how
    many held-out samples the two predicted the same class (where both kept predictions).
    A check of an engine against the numba kernels, never merged into ``results``."""
    from mic_core.experiments.store import decode_predictions, read_predictions
    def own(table):  # the single generator's rows of this protocol
        return table[(table["protocol"] == PROTOCOL) &
                     table["method"].astype(str).str.startswith("single_")]
    theirs = own(read_results(results))
    labels = dict(zip((_key(*v[1:]) for v in theirs[list(KEY)].itertuples(index=False)),
                      machine_labels(theirs, machines_path(results))))
    by_key = {_key(*v[1:]): row for v, row in zip(
        theirs[list(KEY)].itertuples(index=False), theirs.to_dict("records"))}

    def predictions(path):
        table = own(read_predictions(path))
        return {_key(*v[1:]): text for v, text in zip(
            table[list(KEY)].itertuples(index=False), table["predictions"])}
    mine_predicted, their_predicted = predictions(Path(folder) / "experiments.csv"), \
        predictions(results)
    out = []
    mine = own(read_results(Path(folder) / "experiments.csv"))
    for values, row in zip(mine[list(KEY)].itertuples(index=False), mine.to_dict("records")):
        key = _key(*values[1:])
        if key not in by_key:
            continue
        other = by_key[key]
        entry = {"dataset": key[1], "selection": key[2], "noise_in": float(key[3]),
                 "seed": int(key[5]), "method": key[6], "accuracy": float(row["accuracy"]),
                 "accuracy_results": float(other["accuracy"]),
                 "difference_points": round(100 * (float(row["accuracy"]) -
                                                   float(other["accuracy"])), 2),
                 "fit_seconds": float(row["fit_seconds"]), "seconds": float(row["seconds"]),
                 "fit_seconds_results": float(other["fit_seconds"]),
                 "seconds_results": float(other["seconds"]),
                 "machine_results": labels.get(key, HERE)}
        if key in mine_predicted and key in their_predicted:
            a = decode_predictions(mine_predicted[key])
            b = decode_predictions(their_predicted[key])
            if len(a) == len(b):
                entry["same_prediction"] = round(float((a == b).mean()), 4)
        out.append(entry)
    return out


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


def _write_here(rows, results: Path) -> None:
    """Add rows made on this machine (a rerun here replaces another machine's row)."""
    append_results(rows, results)
    record_machine(rows, HERE, path=machines_path(results))


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
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="run the training's gradients and the inversion in torch on "
                             "this device (default: the numba kernels); merge such rows "
                             "with a --machine that names the engine")
    parser.add_argument("--limit", type=int, default=None,
                        help="test samples (a quick check; the protocol's rows use all)")
    parser.add_argument("--merge", nargs="+", type=Path, default=None, metavar="FOLDER",
                        help="add FOLDER/experiments.csv's rows to --results instead")
    parser.add_argument("--machine", default=None, metavar="LABEL=DESCRIPTION",
                        help="with --merge: the machine that ran the merged rows (e.g. "
                             "'xeon16=Intel Xeon, 16 CPUs, AVX-512, torch 2.11')")
    parser.add_argument("--compare", type=Path, default=None, metavar="FOLDER",
                        help="print FOLDER/experiments.csv's rows beside the same cells of "
                             "--results (JSON; e.g. another engine's check), merge nothing")
    parser.add_argument("--report", action="store_true",
                        help="print the grid's coverage and the comparison with MIC and the "
                             "nearest neighbours (markdown) instead of running")
    args = parser.parse_args(argv)
    if args.compare is not None:
        print(json.dumps({"command": "python -m mic_core.single.experiments " +
                          " ".join(sys.argv[1:] if argv is None else argv),
                          "rows": compare_rows(args.compare, args.results)}, indent=1))
        return
    if args.report:  # the grid's coverage, then the comparison
        table = read_results(args.results)
        print(_markdown_table(coverage_table(table)) + "\n")
        print(_markdown_table(comparison_table(table, machines_path(args.results))))
        return
    if args.merge:
        machine = None
        if args.machine:
            label, _, description = args.machine.partition("=")
            if not label.strip() or not description.strip() or label.strip() == HERE:
                parser.error(f"--machine needs LABEL=DESCRIPTION with a label other than "
                             f"{HERE!r}, got {args.machine!r}")
            machine = (label.strip(), description.strip())
        print(f"added {merge(args.merge, args.results, machine)} rows to {args.results}")
        return
    import numba
    import torch
    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
    torch.set_num_threads(1)

    def log(message):
        print(message, file=sys.stderr, flush=True)
    if args.device is not None:
        from mic_core.single.torch_engine import check_device, engine_name
        try:
            check_device(args.device)
        except ValueError as exc:
            parser.error(str(exc))
        log(f"engine: {engine_name(args.device)}")
        # beside the rows, for whoever merges them (--machine names the engine)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        (args.results.parent / "engine.json").write_text(json.dumps(
            {"engine": engine_name(args.device), "device": args.device,
             "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")
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
                                                write=lambda r: _write_here(r, args.results),
                                                limit=args.limit, device=args.device)
                            except OutOfTime as exc:
                                log(f"skipped {what}: {exc}")
                                continue
                            log(f"done {what}: " + ", ".join(
                                f"{r['method']} {r['accuracy']:.4f}" for r in rows))


# --- the report: the single generator beside MIC and the nearest neighbours ---------------

SHOWN = ("mic", "single_class", "single_class_corners", "single_type", "single_type_corners",
         "single_class_params", "single_class_params_corners", "single_type_params",
         "single_type_params_corners", "nn_mse", "nn_dtw")


FAMILIES = (("class", "cells"), ("type", "cells"), ("class", "parameters"),
            ("type", "parameters"))


def _seconds(chosen, labels) -> tuple[str, str]:
    """Mean training and classifying seconds of ``chosen`` rows, per machine label
    ("314.6 here ×2; 95.0 xeon16 ×3"; a plain "314.6" where the labels are empty)."""
    import pandas as pd
    frame = pd.DataFrame({"fit": chosen["fit_seconds"].to_numpy(dtype=float),
                          "classify": (chosen["seconds"] - chosen["fit_seconds"])
                          .to_numpy(dtype=float), "machine": labels})
    groups = list(frame.groupby("machine", sort=True))
    if len(groups) == 1 and not groups[0][0]:
        return (f"{groups[0][1]['fit'].mean():.1f}", f"{groups[0][1]['classify'].mean():.1f}")
    return tuple("; ".join(f"{g[what].mean():.1f} {m} ×{len(g)}" for m, g in groups)
                 for what in ("fit", "classify"))


def comparison_table(table, machines: Path | None = None):
    """One row per (dataset, selection, input noise, method) where the single generator has
    results: accuracy mean and std over seeds, the seeds, the mean training and classifying
    seconds (per machine, ``machines``: the file of ``record_machine``; the experts' and the
    neighbours' rows as the table has them), the mean paired difference to MIC (points,
    over the seeds both have) and in how many of those seeds the method beats MIC. The
    nearest neighbours have no training noise: their row repeats under each noise.

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
            labels = machine_labels(chosen, machines) \
                if machines is not None and method.startswith("single_") else [""] * len(chosen)
            train_s, classify_s = _seconds(chosen, labels)
            out.append({"dataset": dataset, "selection": selection, "noise_in": noise_in,
                        "method": method, "accuracy": round(float(accuracy.mean()), 4),
                        "std": round(float(accuracy.std(ddof=0)), 4), "seeds": len(accuracy),
                        "train_s": train_s, "classify_s": classify_s,
                        "vs_mic_points": "" if method == "mic" or not len(paired)
                        else f"{difference:+.1f}",
                        "beats_mic": "" if method == "mic" else f"{wins} of {len(paired)}"})
    return pd.DataFrame(out)


def coverage_table(table):
    """Which cells of the issue's grid have rows: per (dataset, selection, input noise) and
    family (code, capacity), the seeds whose two rules (mass and corners) are both there,
    e.g. "3 (42, 142, 242)", or "–"; every cell of the grid is listed, done or not.

    Returns a pandas DataFrame.
    """
    import pandas as pd
    from mic_core.type_selection import SELECTIONS as ALL_SELECTIONS
    rows = table[table["protocol"] == PROTOCOL]
    out = []
    for dataset in DATASETS:
        for selection in ALL_SELECTIONS:
            for noise_in in NOISE_IN:
                setting = rows[(rows["dataset"] == dataset) & (rows["selection"] == selection)
                               & (rows["noise_in"] == noise_in) & (rows["noise_out"] == 0)]
                entry = {"dataset": dataset, "selection": selection, "noise_in": noise_in}
                for code, capacity in FAMILIES:
                    seeds = None
                    for method in methods(code, capacity):
                        found = {int(x) for x in setting[setting["method"] == method]["seed"]}
                        seeds = found if seeds is None else seeds & found
                    name = methods(code, capacity)[0]
                    entry[name] = f"{len(seeds)} ({', '.join(map(str, sorted(seeds)))})" \
                        if seeds else "–"
                out.append(entry)
    return pd.DataFrame(out)


def paired_with_mic(table, predictions, test_subset, n_resamples: int = 2000):
    """Each single-generator method against MIC on the same held-out samples and seeds:
    MIC's rows of the ``validated`` protocol (its every choice made on validation; the
    only MIC rows with per-sample predictions) against the method's rows of the same
    (dataset, selection) that have predictions, whatever the input noise. Per method:
    {estimate, ci_low, ci_high, p_value, runs, ...} in accuracy units
    (``paired_statistics.compare_runs``), or None where they share no seed.

    Returns a pandas DataFrame (dataset, selection, noise_in, method, seeds, versus MIC).
    """
    import pandas as pd
    from mic_core.reports import _comparison, _outcomes, _prediction_lookup
    lookup = _prediction_lookup(predictions)
    single = table[(table["protocol"] == PROTOCOL) &
                   table["method"].astype(str).str.startswith("single_")]
    out = []
    cells = single[["dataset", "selection", "noise_in", "method"]].drop_duplicates()
    for dataset, selection, noise_in, method in cells.sort_values(
            ["dataset", "selection", "noise_in", "method"]).itertuples(index=False):
        mic_rows = table[(table["protocol"] == "validated") & (table["method"] == "mic") &
                         (table["dataset"] == dataset) & (table["selection"] == selection)]
        mine = single[(single["dataset"] == dataset) & (single["selection"] == selection) &
                      (single["noise_in"] == noise_in) & (single["method"] == method)]
        a, b = _outcomes(mine, lookup, test_subset), _outcomes(mic_rows, lookup, test_subset)
        shared = sorted(set(a) & set(b))
        result = _comparison(a, b, n_resamples) if shared else None
        out.append({"dataset": dataset, "selection": selection, "noise_in": noise_in,
                    "method": method, "seeds": ", ".join(map(str, shared)) or "–",
                    "result": result})
    return pd.DataFrame(out)


def _markdown_table(frame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in values) + " |"
              for values in frame.itertuples(index=False)]
    return "\n".join(lines)


def _engine_check(path: Path) -> list[str]:
    """The report's paragraph on cells run twice, once by the torch engine on a GPU and once
    by the numba kernels (``--compare``'s JSON at ``path``; nothing if it is missing)."""
    try:
        found = json.loads(Path(path).read_text())
        rows = found["rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not rows:
        return []
    import pandas as pd
    frame = pd.DataFrame(rows)
    columns = [c for c in ("dataset", "selection", "noise_in", "seed", "method", "accuracy",
                           "accuracy_results", "difference_points", "same_prediction",
                           "fit_seconds", "fit_seconds_results", "machine_results")
               if c in frame.columns]
    frame = frame[columns].round({"fit_seconds": 1, "fit_seconds_results": 1})
    return ["The engines checked against each other: cells that the table already had (numba "
            "kernels on a CPU, `machine_results`) run again with the torch engine on the GPU "
            "into a separate file, never merged (`" + found.get("command", "") + "`). "
            "accuracy: the GPU run; accuracy_results: the table's row; same_prediction: the "
            "share of held-out samples both predicted alike. Where the table's generator is "
            "a shipped one (clustered, seed 42, input noise 0.1) the GPU run loaded it, so "
            "only the inversion and the corners ran on the GPU (fit_seconds: the shipped "
            "file's own training time where the file keeps one, else the seconds to load "
            "it); elsewhere the generator was trained again, and the "
            "two engines' rounding (float32, different summation orders) makes the two "
            "trainings end in different weights.", _markdown_table(frame)]


def report_section(table, results: Path = RESULTS) -> list[str]:
    """The single generator's part of ``python -m mic_core report`` (markdown paragraphs;
    none if the table holds no single-generator rows). ``results``: the table file whose
    machines (``machines_path``), per-sample predictions and MIC rows of the ``validated``
    protocol the per-sample comparison uses."""
    frame = comparison_table(table, machines_path(results))
    if frame.empty:
        return []
    machines = read_machines(machines_path(results))["machines"]
    where = [f"{HERE}: the repository's shared 2-core machine (AMD EPYC, AVX-512, one "
             f"thread, loaded by the session's other jobs)"]
    where += [f"{label}: {text}" for label, text in sorted(machines.items())]
    parts = ["## One generator for all classes (issue 11) beside MIC",
             "single_class / single_type: one LSTM for all classes with a class / type code "
             "(as many cells as all experts together), inverted from the zero vector (50 "
             "iterations), the largest class mass wins; *_corners: the class whose corner "
             "code reconstructs best; *_params: as many weights as all experts together. "
             "MIC: its paper rule at the same input noise, output noise 0. vs_mic_points: "
             "mean paired difference to MIC over the seeds both ran; beats_mic: in how many "
             "of them it is higher. Training length chosen on a validation split of the "
             "training pool for the 200-cell generators (results/single/validation-*.json; "
             "learning rate 0.01 throughout); the *_params generators: 1000 steps, not "
             "validated. train_s / classify_s: mean seconds per machine that ran the rows "
             "(" + "; ".join(where) + "); MIC's and the neighbours' as their rows have them.",
             "Coverage of the grid (seeds with both rules' rows; the issue asks for five "
             "seeds in every cell):", _markdown_table(coverage_table(table)),
             _markdown_table(frame)]
    parts += _engine_check(Path(results).parent / "single" / "engine-check.json")
    try:
        from mic_core.experiments import read_results as read
        from mic_core.experiments.store import read_predictions
        from mic_core.experiments.validated import held_out_subset
        everything = read(results)
        paired = paired_with_mic(everything, read_predictions(results), held_out_subset)
    except (OSError, ValueError):
        paired = None
    if paired is not None and len(paired):
        from mic_core.reports import _points
        paired = paired.assign(**{"method − MIC (validated), points (95 % interval), p":
                                  [_points(r) for r in paired.pop("result")]})
        parts += ["Per sample, paired with MIC on the same held-out samples and seeds: MIC's "
                  "rows of the `validated` protocol (the only MIC rows with per-sample "
                  "predictions; its noise chosen on validation, so it may differ from the "
                  "generator's), against the generator's rows that have per-sample "
                  "predictions (the earliest rows have none). Interval: bootstrap over "
                  "samples; p: exact sign-flip test over the seeds (McNemar with one).",
                  _markdown_table(paired)]
    return parts


if __name__ == "__main__":
    main()
