"""MIC's commands for the command line (``--system mic``, the default): train or load the
experts of a configuration, classify a drawing or a held-out sample, evaluate.

Every result is read from the one ``classify.Classification`` record, so ``classify
--json`` names the winner that the Compete page shows and its exports write.
"""
from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from mic_core.classify import PLAIN, classify as classify_targets, default_rule
from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory
from mic_core.evaluation import drawn_test_set, evaluate as evaluate_targets, seeded_subset
from mic_core.inversion import OPTIMISERS, STARTS, STEP_SIZES, InversionConfig
from mic_core.persistence import load_or_train
from mic_core.systems import progress_bar, train_progress
from mic_core.training import default_train_config, type_errors
from mic_core.type_selection import SELECTIONS



def add_expert_options(parser) -> None:
    """The options that choose a set of experts (the shared low-data protocol: data set,
    selection and seed of the four labelled examples per class) and how they train."""
    parser.add_argument("--dataset", choices=DATASETS, default="characters")
    parser.add_argument("--selection", choices=SELECTIONS, default="clustered",
                        help="how each expert's four types are chosen")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--noise-in", type=float, default=0.1,
                        help="std of the input noise during training")
    parser.add_argument("--noise-out", type=float, default=0.0,
                        help="std of the output noise during training")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default: the data set's default)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where trained experts are kept (default $MIC_CACHE_DIR or "
                             "~/.cache/mic_studio)")
    parser.add_argument("--trim-everything", action="store_true",
                        help="characters: cut lead-in/lead-out strokes from every sequence "
                             "(types, test samples, drawings); measured worse, for comparison")


def add_arguments(parser, command: str) -> None:
    add_expert_options(parser)
    if command == "train":
        return
    parser.add_argument("--experts", type=Path, default=None,
                        help="a named expert set's folder (python -m mic_core teach); "
                             "replaces the configuration options above")
    parser.add_argument("--iterations", type=int, default=50, help="inversion iterations")
    parser.add_argument("--starts", choices=STARTS, default="uniform",
                        help="uniform start only (today), or also each type's corner, "
                             "keeping the best (issue 15)")
    parser.add_argument("--optimiser", choices=OPTIMISERS, default="adam",
                        help="the Adam-like step (today) or the exponentiated-gradient step "
                             "on the simplex")
    parser.add_argument("--step-size", type=float, default=None,
                        help="the optimiser's step size (default: adam 0.05, exponentiated "
                             f"{STEP_SIZES['exponentiated']}, chosen on validation: "
                             "results/inversion_choices.json)")
    parser.add_argument("--plain", action="store_true",
                        help="decide by the plain final error (letters decide with free ends "
                             "by default; for MNIST free ends do not apply)")
    if command == "classify":
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--drawing", type=Path, help="canvas JSON file of a drawing")
        source.add_argument("--sample", type=int, help="index into the held-out test set")
        parser.add_argument("--join-strokes", action="store_true",
                            help="join several strokes in drawing order instead of refusing")
    elif command == "evaluate":
        parser.add_argument("--limit", type=int, default=None,
                            help="a seeded subset of N samples")
        parser.add_argument("--drawn", action="store_true",
                            help="characters: classify the samples rendered as canvas drawings")
        parser.add_argument("--trim-connections", action="store_true",
                            help="characters: drawn without their lead-in/lead-out strokes")


def _inversion_config(args) -> InversionConfig:
    """The inversion the options ask for (their defaults: today's)."""
    step_size = STEP_SIZES[args.optimiser] if args.step_size is None else args.step_size
    try:
        return InversionConfig(iterations=args.iterations, starts=args.starts,
                               optimiser=args.optimiser, step_size=step_size)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def _experts(args):
    if getattr(args, "experts", None) is not None:
        from mic_core.teaching_cli import experts_from_set
        return experts_from_set(args.experts, args.dataset)
    dataset = load_dataset(DataConfig(dataset=args.dataset,
                                      trim_connections=args.trim_everything))
    overrides = {"selection": args.selection, "seed": args.seed, "noise_in": args.noise_in,
                 "noise_out": args.noise_out}
    if args.steps is not None:
        overrides["steps"] = args.steps
    train_config = default_train_config(args.dataset, **overrides)
    experts = load_or_train(dataset, train_config, args.cache_dir, progress=train_progress(),
                            log=lambda m: print(m, file=sys.stderr))
    return dataset, train_config, experts


def _rule(args):
    return PLAIN if args.plain else default_rule(args.dataset)


def train(args) -> dict:
    dataset, train_config, experts = _experts(args)
    errors = type_errors(experts)
    return {"dataset": dataset.name, "selection": train_config.selection,
            "seed": train_config.seed, "experts": experts.n_experts,
            "max_type_mse": float(errors.max()), "mean_type_mse": float(errors.mean())}


def classify(args) -> dict:
    """The ``Classification.summary`` of one drawing or held-out sample (plus its true
    class)."""
    dataset, _, experts = _experts(args)
    true_class = None
    if args.drawing is not None:
        if dataset.name != "characters":
            raise SystemExit("error: --drawing needs --dataset characters")
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
    record = classify_targets(experts, target, _inversion_config(args),
                              _rule(args), dataset.standardiser, record="final")
    result = record.summary(0)
    if true_class is not None:
        result["true_class"] = true_class
    return result


def evaluate(args) -> dict:
    dataset, _, experts = _experts(args)
    if args.limit is not None and args.limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    chosen = seeded_subset(len(dataset.X_test), args.limit, seed=0)
    if args.drawn or args.trim_connections:
        X = drawn_test_set(dataset, seed=0, trim_connections=args.trim_connections,
                           indices=chosen)
    else:
        X = dataset.X_test[chosen]
    rule, config = _rule(args), _inversion_config(args)
    result = evaluate_targets(experts, X, dataset.y_test[chosen], config,
                              dataset.standardiser, rule,
                              progress=progress_bar("inverting")).summary()
    return {**result, "rule": rule.name, "inversion_config": asdict(config)}


def describe(command: str, result: dict) -> str:
    if command == "train":
        return (f"{result['experts']} experts ready; largest type MSE "
                f"{result['max_type_mse']:.4f}, mean {result['mean_type_mse']:.4f}")
    if command == "classify":
        errors = result["deciding_errors"]
        true_class = result.get("true_class")
        return (f"winner: {result['winner']}" +
                (f" (true class {true_class})" if true_class else "") +
                f" [{result['rule']['name']}]; closest: " +
                ", ".join(f"{c} {errors[c]:.4f}" for c in sorted(errors, key=errors.get)[:5]))
    return (f"accuracy {result['accuracy']:.4f} on {result['n_test']} held-out samples "
            f"({result['seconds']:.1f}s, {result['rule']} rule)")
