"""``python -m mic_core {train,classify,evaluate} --system ssl ...``: network inversion's
commands (registered in ``mic_core.systems``; ``mic_core.cli`` dispatches here).

    python -m mic_core train --system ssl --dataset characters
    python -m mic_core classify --system ssl --sample 5 --json
    python -m mic_core evaluate --system ssl --dataset mnist --labels-per-class 5 --limit 2000
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory
from mic_core.evaluation import score_predictions, seeded_subset
from mic_core.inversion_ssl.protocol import LABEL_SELECTIONS, default_config, load_or_fit
from mic_core.inversion_ssl.estimator import InversionSSLFileError


def _bar(progress):
    width = 30
    filled = int(width * progress.fraction)
    end = "\n" if progress.step >= progress.steps else ""
    print(f"\rtraining [{'#' * filled}{'.' * (width - filled)}] {progress.step}/"
          f"{progress.steps} loss {progress.loss:.4f}, {progress.seconds_left:.0f}s left",
          end=end, file=sys.stderr, flush=True)


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The ssl options of ``command`` (``--system`` and ``--json`` come from mic_core.cli)."""
    parser.add_argument("--dataset", choices=DATASETS, default="characters")
    parser.add_argument("--labels-per-class", type=int, default=None,
                        help="labelled samples per class (default: letters 4 = MIC's "
                             "types, digits 5)")
    parser.add_argument("--selection", choices=LABEL_SELECTIONS, default=None,
                        help="clustered/random: MIC's four types; drawn: a seeded draw "
                             "(default: letters clustered, digits drawn)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--alpha", type=float, default=None,
                        help="weight of the cross entropy (default: chosen on validation); "
                             "1 = supervised only")
    parser.add_argument("--beta", type=float, default=None,
                        help="reconstruction vs entropy (default: chosen on validation)")
    parser.add_argument("--supervised", action="store_true",
                        help="the supervised-only network on the same labels (alpha 1)")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    if command == "classify":
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--drawing", type=Path, help="canvas JSON file of a drawing")
        source.add_argument("--sample", type=int, help="index into the held-out test set")
        parser.add_argument("--join-strokes", action="store_true")
    if command == "evaluate":
        parser.add_argument("--limit", type=int, default=None,
                            help="a seeded subset of N samples")


def _model(args):
    torch.set_num_threads(max(1, args.threads))
    dataset = load_dataset(DataConfig(dataset=args.dataset))
    overrides = {k: v for k, v in (("labels_per_class", args.labels_per_class),
                                   ("selection", args.selection),
                                   ("learning_rate", args.learning_rate),
                                   ("steps", args.steps), ("alpha", args.alpha),
                                   ("beta", args.beta)) if v is not None}
    if args.labels_per_class not in (None, 4) and args.selection is None:
        overrides["selection"] = "drawn"
    method = "supervised_small" if args.supervised or args.alpha == 1.0 else "inversion_ssl"
    try:
        config = default_config(args.dataset, method, seed=args.seed, **overrides)
        if config.steps < 1 or config.learning_rate <= 0:
            raise ValueError("--steps must be at least 1 and --learning-rate positive")
        model = load_or_fit(dataset, config, args.cache_dir, progress=_bar,
                            log=lambda m: print(m, file=sys.stderr))
    except (ValueError, InversionSSLFileError) as exc:
        raise SystemExit(f"error: {exc}") from None
    return dataset, config, model


def train(args) -> dict:
    dataset, config, model = _model(args)
    curve = model.curve_
    result = {"system": "ssl", "method": config.method, "dataset": dataset.name,
              "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
              "train_seconds": model.fit_seconds_,
              "validation_accuracy": float(curve[-1, -1]) if len(curve) else None}
    return result


def classify(args) -> dict:
    if args.drawing is not None and args.dataset != "characters":
        raise SystemExit("error: --drawing needs --dataset characters")
    dataset, config, model = _model(args)
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
    proba = model.predict_proba(target)[0]
    names = [dataset.class_names[c] for c in model.classes_]
    winner = names[int(proba.argmax())]
    result = {"winner": winner, "probabilities": dict(zip(names, map(float, proba))),
              "reconstruction_error": float(model.reconstruction_errors(target)[0])}
    if true_class is not None:
        result["true_class"] = true_class
    return result


def evaluate(args) -> dict:
    if args.limit is not None and args.limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    dataset, config, model = _model(args)
    chosen = seeded_subset(len(dataset.X_test), args.limit, seed=0)
    X, y = dataset.X_test[chosen], dataset.y_test[chosen]
    accuracy, per_class, _ = score_predictions(y, model.predict(X), dataset.class_names)
    result = {"system": "ssl", "method": config.method, "accuracy": accuracy,
              "n_test": len(y), "mean_reconstruction_error":
              float(model.reconstruction_errors(X).mean()), "per_class_accuracy": per_class}
    return result


def describe(command: str, result: dict) -> str:
    """The one line printed without ``--json``."""
    if command == "train":
        c = result["config"]
        return (f"{result['method']} network ready (alpha {c['alpha']}, beta {c['beta']}, "
                f"{c['labels_per_class']} labels per class); trained in "
                f"{result['train_seconds']:.0f}s")
    if command == "classify":
        top = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])[:3]
        return (f"winner: {result['winner']}" +
                (f" (true class {result['true_class']})" if "true_class" in result else "") +
                "; " + ", ".join(f"{name} {p:.3f}" for name, p in top))
    return (f"{result['method']}: accuracy {result['accuracy']:.4f} on {result['n_test']} "
            "held-out samples")
