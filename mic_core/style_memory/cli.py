"""Commands of the style memory: ``python -m mic_core {train,classify,evaluate} --system
style ...`` (the interface of ``mic_core.systems``: ``add_arguments(parser, command)``,
``train``, ``classify``, ``evaluate``, each returning a JSON-ready dict, and ``describe``),
plus its rows of the results table: ``python -m mic_core.style_memory experiments``.

Progress goes to stderr; with ``--json`` the result is one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory
from mic_core.evaluation import seeded_subset
from mic_core.style_memory.analysis import (dtw_reader, evaluate_style_memory, label_swap,
                                            neighbour_class_counts, roughness)
from mic_core.style_memory.store import (StyleMemoryFileError, default_style_config,
                                         load_or_train_style_memory)
from mic_core.type_selection import SELECTIONS


def _progress():
    def report(p):
        width = 30
        filled = int(width * p.step / max(p.steps, 1))
        end = "\n" if p.step >= p.steps else ""
        print(f"\rtraining [{'#' * filled}{'.' * (width - filled)}] {p.step}/{p.steps} "
              f"loss {p.loss:.4f}, {p.seconds_left:.0f}s left", end=end, file=sys.stderr,
              flush=True)
    return report


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The options of ``command`` ("train", "classify" or "evaluate")."""
    parser.add_argument("--dataset", choices=DATASETS, default="characters")
    parser.add_argument("--selection", choices=("full", *SELECTIONS), default="full",
                        help="train on the whole training pool, or on the experts' four "
                             "types per class (the low-data protocol)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the data set's chosen value)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where trained style memories are kept (default $MIC_CACHE_DIR "
                             "or ~/.cache/mic_studio)")
    if command == "classify":
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--drawing", type=Path, help="canvas JSON file of a letter")
        source.add_argument("--image", type=Path,
                            help="a 28 x 28 .npy digit image in [0, 1]")
        source.add_argument("--sample", type=int, help="index into the held-out test set")
        parser.add_argument("--join-strokes", action="store_true",
                            help="join several strokes in drawing order instead of refusing")
    elif command == "evaluate":
        parser.add_argument("--limit", type=int, default=None,
                            help="a seeded subset of N samples")
        parser.add_argument("--neighbours", action="store_true",
                            help="also the input- vs style-space neighbour class counts")
        parser.add_argument("-k", type=int, default=97, help="neighbours per query (paper: 97)")
        parser.add_argument("--label-swap", action="store_true",
                            help="also redraw every sample's style under every label and "
                                 "read the drawings (letters: 1-NN DTW on the training pool; "
                                 "both: the network itself)")


def _model(args):
    import torch
    torch.set_num_threads(max(1, args.threads))
    dataset = load_dataset(DataConfig(dataset=args.dataset))
    overrides = {"seed": args.seed}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    config = default_style_config(args.dataset, None if args.selection == "full"
                                  else args.selection, **overrides)
    try:
        model = load_or_train_style_memory(dataset, config, args.cache_dir,
                                           progress=_progress(),
                                           log=lambda m: print(m, file=sys.stderr))
    except (StyleMemoryFileError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    return dataset, config, model


def _emit(args, result: dict, text: str):
    print(json.dumps(result) if args.json else text)


def describe(command: str, result: dict) -> str:
    """The one line printed without ``--json``."""
    if command == "train":
        return (f"style memory ready ({result['dataset']}, {result['selection']}, seed "
                f"{result['seed']}); best validation epoch {result['best_epoch']}")
    if command == "classify":
        return (f"predicted: {result['predicted']} ({result['confidence']:.1%})" +
                (f" (true class {result['true_class']})" if "true_class" in result else "") +
                f"; reconstruction error {result['reconstruction_error']:.3f}")
    return (f"accuracy {result['accuracy']:.4f} on {result['n_test']} held-out samples; "
            f"reconstruction error {result['reconstruction_error']:.3f}; AUROC of the error "
            f"for misclassification {result['misclassification_auroc']:.3f}")


def train(args) -> dict:
    from mic_core.style_memory.store import training_data
    dataset, config, model = _model(args)
    best = next((h for h in model.history_ if h["epoch"] == model.best_epoch_), {})
    last = model.history_[-1] if model.history_ else {}
    result = {"dataset": dataset.name, "selection": args.selection, "seed": config.seed,
              "config": asdict(config), "best_epoch": model.best_epoch_,
              "valid_accuracy": best.get("valid_accuracy"),
              "valid_accuracy_stored_float16": model.validation_accuracy(
                  *training_data(dataset, config, args.cache_dir)),
              "train_seconds": last.get("seconds"), "train_cpu_seconds": last.get("cpu_seconds"),
              "history": model.history_}
    return result


def _target(args, dataset):
    """The sample to classify: a held-out sample, a canvas drawing (letters) or an image
    file (digits, a 28 x 28 .npy array)."""
    if args.drawing is not None:
        if dataset.name != "characters":
            raise SystemExit("error: --drawing needs --dataset characters; digits take --image")
        try:
            pen = drawing_to_pen_trajectory(args.drawing.read_text(),
                                            join_strokes=args.join_strokes)
            return dataset.pen_trajectories_to_sequences([pen])[0], None
        except (DrawingError, ValueError, OSError) as exc:
            raise SystemExit(f"error: {exc}") from None
    if args.image is not None:
        try:
            image = np.load(args.image, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"error: {args.image} is not a readable .npy array: {exc}") \
                from None
        return image, None
    if not 0 <= args.sample < len(dataset.X_test):
        raise SystemExit(f"error: --sample must lie in 0..{len(dataset.X_test) - 1}")
    return dataset.X_test[args.sample], dataset.class_names[dataset.y_test[args.sample]]


def classify(args) -> dict:
    dataset, _, model = _model(args)
    x, true_class = _target(args, dataset)
    try:
        proba = model.predict_proba(np.asarray(x, dtype=np.float32)[None])[0]
        error = float(model.reconstruction_error(np.asarray(x, dtype=np.float32)[None])[0])
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    names = [dataset.class_names[c] for c in model.classes_]
    best = int(proba.argmax())
    result = {"predicted": names[best], "confidence": float(proba[best]),
              "probabilities": {n: float(p) for n, p in zip(names, proba)},
              "reconstruction_error": error}
    if true_class is not None:
        result["true_class"] = true_class
    return result


def evaluate(args) -> dict:
    if args.limit is not None and args.limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    dataset, _, model = _model(args)
    chosen = seeded_subset(len(dataset.X_test), args.limit, seed=0)
    X, y = dataset.X_test[chosen], dataset.y_test[chosen]
    result = evaluate_style_memory(model, X, y).summary()
    if args.neighbours:
        result["neighbours"] = neighbour_class_counts(model, X, y, k=args.k)
    if args.label_swap:
        result["label_swap_self"] = label_swap(model, X, y, model)
        if dataset.name == "characters":
            reader = dtw_reader(dataset.X_train, dataset.y_train)
            result["label_swap_dtw"] = label_swap(model, X, y, reader)
            result["roughness"] = roughness(model.reconstruct(X))
            result["roughness_of_letters"] = roughness(X)
    return result


def cmd_experiments(args):
    import torch
    from mic_core.style_memory.experiments import run_style_experiments
    torch.set_num_threads(max(1, args.threads))
    ran = run_style_experiments(args.dataset_list, args.selection_list, args.seeds,
                                full=not args.no_full, types=not args.no_types,
                                results=args.results, cache_dir=args.cache_dir,
                                log=lambda m: print(m, file=sys.stderr))
    _emit(args, {"ran": ran, "results": str(args.results)},
          f"{ran} style-memory jobs ran; results in {args.results}")


def cmd_merge(args):
    from mic_core.style_memory.experiments import merge_results
    added = sum(merge_results(source, args.results) for source in args.sources)
    _emit(args, {"added": added, "results": str(args.results)},
          f"{added} rows added to {args.results}")


def _run(command: str):
    def run(args):
        result = globals()[command](args)
        _emit(args, result, describe(command, result))
    return run


def build_parser() -> argparse.ArgumentParser:
    """``python -m mic_core.style_memory``: the three commands, and ``experiments``."""
    parser = argparse.ArgumentParser(prog="python -m mic_core.style_memory",
                                     description="Style memory: a classifier that can also "
                                                 "draw what it saw")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("train", "classify", "evaluate"):
        p = commands.add_parser(command)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        add_arguments(p, command)
        p.set_defaults(func=_run(command))

    from mic_core.experiments import RESULTS, SEEDS
    p = commands.add_parser("experiments", help="rows style_memory(_full) of the results "
                                                "table (resumable)")
    p.add_argument("--dataset", dest="dataset_list", nargs="+", choices=DATASETS,
                   default=list(DATASETS))
    p.add_argument("--selection", dest="selection_list", nargs="+", choices=SELECTIONS,
                   default=list(SELECTIONS))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--no-full", action="store_true", help="skip style_memory_full")
    p.add_argument("--no-types", action="store_true", help="skip style_memory (four types)")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_experiments)

    p = commands.add_parser("merge", help="add the rows of results tables written elsewhere "
                                          "(experiments --results) to the results table")
    p.add_argument("sources", nargs="+", type=Path)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_merge)
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)
