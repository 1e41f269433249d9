"""The single generator's commands (``--system single``): train or load the generator of a
configuration, classify a drawing or a held-out sample, evaluate on the held-out set.

The interface of ``mic_core.systems``: ``add_arguments(parser, command)``, ``train``,
``classify``, ``evaluate`` (each returns a JSON-ready dict) and ``describe``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory
from mic_core.evaluation import score_predictions, seeded_subset
from mic_core.single.generator import (CAPACITIES, CODES, GeneratorFileError,
                                       default_single_config, load_generator,
                                       load_or_train_generator, type_errors)
from mic_core.single.inversion import (RULES, SINGLE_PROJECTIONS, STARTS, CodeInversionConfig,
                                       classify_single)
from mic_core.type_selection import SELECTIONS


def _bar(label: str):
    def report(done, total, extra=""):
        filled = int(30 * done / max(total, 1))
        print(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {extra}",
              end="\n" if done >= total else "", file=sys.stderr, flush=True)
    return report


def add_arguments(parser, command: str) -> None:
    parser.add_argument("--dataset", choices=DATASETS, default="characters")
    parser.add_argument("--code", choices=CODES, default="class",
                        help="class: one-hot over classes (the exposé); type: over all "
                             "(class, type) pairs")
    parser.add_argument("--capacity", choices=CAPACITIES, default="cells",
                        help="cells: as many LSTM cells as all experts together (200); "
                             "parameters: as many weights")
    parser.add_argument("--selection", choices=SELECTIONS, default="clustered",
                        help="the experts' types it learns")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--noise-in", type=float, default=0.1)
    parser.add_argument("--noise-out", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 1000)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    if command == "train":
        return
    parser.add_argument("--generator", type=Path, default=None,
                        help="a generator file (.npz, written by train) to use instead of the "
                             "configuration's; it must be a generator of --dataset")
    parser.add_argument("--iterations", type=int, default=50, help="inversion iterations")
    parser.add_argument("--start", choices=STARTS, default="zero")
    parser.add_argument("--projection", choices=SINGLE_PROJECTIONS, default="none")
    parser.add_argument("--rule", choices=RULES, default="mass",
                        help="mass: largest class mass of the final code; corners: lowest "
                             "error among the class corners")
    if command == "classify":
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--drawing", type=Path, help="canvas JSON file of a drawing")
        source.add_argument("--sample", type=int, help="index into the held-out test set")
        parser.add_argument("--join-strokes", action="store_true")
    elif command == "evaluate":
        parser.add_argument("--limit", type=int, default=None,
                            help="a seeded subset of N samples")


def _generator(args):
    dataset = load_dataset(DataConfig(dataset=args.dataset))
    if getattr(args, "generator", None) is not None:
        try:
            generator = load_generator(args.generator, dataset.config)
        except FileNotFoundError:
            raise SystemExit(f"error: no generator file {args.generator}") from None
        except GeneratorFileError as exc:
            raise SystemExit(f"error: {exc}") from None
        if generator.class_names != tuple(dataset.class_names) or \
                generator.types.shape[2:] != dataset.X_test.shape[1:]:
            raise SystemExit(f"error: {args.generator.name} was trained on other classes or "
                             f"sequences than {dataset.name}'s")
        header = default_single_config(args.dataset, generator.code, args.capacity)
        return dataset, replace(header, hidden_size=generator.hidden_size), generator
    overrides = {"selection": args.selection, "seed": args.seed, "noise_in": args.noise_in,
                 "noise_out": args.noise_out}
    if args.steps is not None:
        overrides["steps"] = args.steps
    try:
        config = default_single_config(args.dataset, args.code, args.capacity, **overrides)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    bar = _bar("training")
    generator = load_or_train_generator(
        dataset, config, args.cache_dir,
        progress=lambda p: bar(p.step, p.steps, f"loss {p.loss:.4f}, "
                                                f"{p.seconds_left:.0f}s left"),
        log=lambda m: print(m, file=sys.stderr))
    return dataset, config, generator


def _inversion(args) -> CodeInversionConfig:
    try:
        return CodeInversionConfig(iterations=args.iterations, start=args.start,
                                   projection=args.projection)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def train(args) -> dict:
    dataset, config, generator = _generator(args)
    errors = type_errors(generator)
    return {"system": "single", "dataset": dataset.name, "code": config.code,
            "capacity": config.capacity, "hidden_size": config.hidden_size,
            "parameters": generator.n_parameters, "selection": config.selection,
            "seed": config.seed, "max_type_mse": float(errors.max()),
            "mean_type_mse": float(errors.mean()), "train_seconds": generator.train_seconds}


def classify(args) -> dict:
    if args.drawing is not None and args.dataset != "characters":
        raise SystemExit("error: --drawing needs --dataset characters")
    dataset, config, generator = _generator(args)
    true_class = None
    if args.drawing is not None:
        try:
            pen = drawing_to_pen_trajectory(args.drawing.read_text(),
                                            join_strokes=args.join_strokes)
            target = dataset.pen_trajectories_to_sequences([pen])
        except (DrawingError, ValueError, OSError) as exc:
            raise SystemExit(f"error: {exc}") from None
    else:
        if not 0 <= args.sample < len(dataset.X_test):
            raise SystemExit(f"error: --sample must lie in 0..{len(dataset.X_test) - 1}")
        target = dataset.X_test[args.sample: args.sample + 1]
        true_class = dataset.class_names[dataset.y_test[args.sample]]
    result = classify_single(generator, target, _inversion(args), args.rule,
                             record="final").summary(0)
    if true_class is not None:
        result["true_class"] = true_class
    return result


def evaluate(args) -> dict:
    if args.limit is not None and args.limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    dataset, config, generator = _generator(args)
    chosen = seeded_subset(len(dataset.X_test), args.limit, seed=0)
    X, y = dataset.X_test[chosen], dataset.y_test[chosen]
    start = time.perf_counter()
    predicted = classify_single(generator, X, _inversion(args), args.rule, record="final",
                                batch_size=128, progress=_bar("inverting")).winners
    accuracy, per_class, _ = score_predictions(y, predicted, dataset.class_names)
    return {"system": "single", "code": config.code, "rule": args.rule, "accuracy": accuracy,
            "n_test": int(len(y)), "seconds": time.perf_counter() - start,
            "per_class_accuracy": per_class}


def describe(command: str, result: dict) -> str:
    if command == "train":
        return (f"single generator ({result['code']} code, {result['hidden_size']} cells, "
                f"{result['parameters']} weights) ready; largest type MSE "
                f"{result['max_type_mse']:.4f}, mean {result['mean_type_mse']:.4f}")
    if command == "classify":
        truth = result.get("true_class")
        return (f"winner: {result['winner']}" + (f" (true class {truth})" if truth else "") +
                f" [{result['rule']}]; by mass {result['winner_by_mass']}, by corners "
                f"{result['winner_by_corners']}")
    return (f"accuracy {result['accuracy']:.4f} on {result['n_test']} held-out samples "
            f"({result['seconds']:.1f}s, {result['rule']} rule)")
