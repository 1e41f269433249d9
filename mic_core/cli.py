"""Command line: ``python -m mic_core {train,classify,evaluate,bench} ...``.

Progress goes to stderr; with ``--json`` the result is one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mic_core.classify import DecisionRule, decision_errors
from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory
from mic_core.evaluation import drawn_test_set, evaluate, seeded_subset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config, type_errors
from mic_core.type_selection import SELECTIONS


def _progress_bar(label: str):
    def report(done, total, extra=""):
        width = 30
        filled = int(width * done / max(total, 1))
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {extra}",
              end=end, file=sys.stderr, flush=True)
    return report


def _train_progress():
    bar = _progress_bar("training")
    return lambda p: bar(p.step, p.steps, f"loss {p.loss:.4f}, {p.seconds_left:.0f}s left")


def _add_expert_options(parser):
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
    parser.add_argument("--iterations", type=int, default=50, help="inversion iterations")
    parser.add_argument("--plain", action="store_true",
                        help="decide by the plain final error (no free ends)")
    parser.add_argument("--trim-everything", action="store_true",
                        help="characters: cut lead-in/lead-out strokes from every sequence "
                             "(types, test samples, drawings); measured worse, for comparison")
    parser.add_argument("--experts", type=Path, default=None,
                        help="a named expert set's folder (python -m mic_core teach); "
                             "replaces the configuration options above")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


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
    train = default_train_config(args.dataset, **overrides)
    experts = load_or_train(dataset, train, args.cache_dir, progress=_train_progress(),
                            log=lambda m: print(m, file=sys.stderr))
    return dataset, train, experts


def _emit(args, result: dict, text: str):
    print(json.dumps(result) if args.json else text)


def cmd_train(args):
    dataset, train, experts = _experts(args)
    errors = type_errors(experts)
    result = {"dataset": dataset.name, "selection": train.selection, "seed": train.seed,
              "experts": experts.n_experts, "max_type_mse": float(errors.max()),
              "mean_type_mse": float(errors.mean())}
    _emit(args, result, f"{experts.n_experts} experts ready; largest type MSE "
                        f"{errors.max():.4f}, mean {errors.mean():.4f}")


def cmd_classify(args):
    dataset, _, experts = _experts(args)
    true_class = None
    if args.drawing is not None:
        if dataset.name != "characters":
            raise SystemExit("error: --drawing needs --dataset characters")
        try:
            pen = drawing_to_pen_trajectory(args.drawing.read_text(),
                                            join_strokes=args.join_strokes)
            target = dataset.pen_trajectories_to_sequences([pen])
        except (DrawingError, ValueError) as exc:
            raise SystemExit(f"error: {exc}") from None
    else:
        if not 0 <= args.sample < len(dataset.X_test):
            raise SystemExit(f"error: --sample must lie in 0..{len(dataset.X_test) - 1}")
        target = dataset.X_test[args.sample: args.sample + 1]
        true_class = dataset.class_names[dataset.y_test[args.sample]]
    record = invert(experts, target, InversionConfig(iterations=args.iterations),
                    record="errors")
    deciding = decision_errors(record, dataset.standardiser, DecisionRule(free_ends=not args.plain))
    winner = experts.class_names[int(deciding[0].argmin())]
    errors = {name: float(e) for name, e in zip(experts.class_names, deciding[0])}
    plain = {name: float(e) for name, e in zip(experts.class_names, record.final_errors[0])}
    weights = {name: [round(float(w), 4) for w in ws]
               for name, ws in zip(experts.class_names, record.final_mixture_weights[0])}
    result = {"winner": winner, "errors": errors, "reconstruction_errors": plain,
              "mixture_weights": weights}
    if true_class is not None:
        result["true_class"] = true_class
    ranking = sorted(errors, key=errors.get)[:5]
    _emit(args, result, f"winner: {result['winner']}" +
          (f" (true class {true_class})" if true_class else "") + "; closest: " +
          ", ".join(f"{c} {errors[c]:.4f}" for c in ranking))


def cmd_evaluate(args):
    dataset, _, experts = _experts(args)
    chosen = seeded_subset(len(dataset.X_test), args.limit, seed=0)
    if args.drawn or args.trim_connections:
        X = drawn_test_set(dataset, seed=0, trim_connections=args.trim_connections,
                           indices=chosen)
    else:
        X = dataset.X_test[chosen]
    result = evaluate(experts, X, dataset.y_test[chosen],
                      InversionConfig(iterations=args.iterations), dataset.standardiser,
                      DecisionRule(free_ends=not args.plain),
                      progress=_progress_bar("inverting")).summary()
    _emit(args, result, f"accuracy {result['accuracy']:.4f} on {result['n_test']} held-out "
                        f"samples ({result['seconds']:.1f}s)")


def cmd_bench(args):
    try:
        from benchmarks.bench import run_bench
    except ImportError:
        raise SystemExit("error: bench needs the repository's benchmarks/ folder; run it "
                         "from the repository root") from None
    result = run_bench(quick=args.quick, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=None if args.json else 2))


def _protocol(args):
    from mic_core.experiments import Protocol
    return Protocol(iterations=args.iterations, train_steps=args.train_steps, limit=args.limit,
                    forward_lstm_steps=args.forward_lstm_steps,
                    forward_lstm_full_steps=args.forward_lstm_full_steps)


def cmd_experiments(args):
    from mic_core.experiments import grid, run_grid
    protocol = _protocol(args)
    try:
        jobs = grid(args.dataset, args.selection, args.seeds, args.noise_in, args.noise_out,
                    args.methods)
        bar = _progress_bar("jobs")
        ran = run_grid(jobs, protocol, args.methods, args.results, args.cache_dir,
                       args.workers, args.executor, args.ray_address,
                       progress=lambda done, total, what: bar(done, total, what))
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    result = {"protocol": protocol.name, "jobs": len(jobs), "ran": ran,
              "results": str(args.results)}
    _emit(args, result, f"{ran} of {len(jobs)} jobs ran (protocol {protocol.name}); "
                        f"results in {args.results}")


def cmd_report(args):
    from mic_core import reports
    from mic_core.experiments import read_results
    try:
        table = read_results(args.results)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    table = table[table["protocol"] == args.protocol]
    if table.empty:
        raise SystemExit(f"error: {args.results} holds no rows of protocol {args.protocol}")
    if args.json:
        print(json.dumps(reports.report_dict(table)))
    else:
        print(reports.report_markdown(table))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mic_core",
                                     description="Modular Inverse Classification engine")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train", help="train (or load) the experts of a configuration")
    _add_expert_options(p)
    p.set_defaults(func=cmd_train)

    p = commands.add_parser("classify", help="classify a drawing or a held-out sample")
    _add_expert_options(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--drawing", type=Path, help="canvas JSON file of a drawing")
    source.add_argument("--sample", type=int, help="index into the held-out test set")
    p.add_argument("--join-strokes", action="store_true",
                   help="join several strokes in drawing order instead of refusing")
    p.set_defaults(func=cmd_classify)

    p = commands.add_parser("evaluate", help="accuracy on the held-out test set")
    _add_expert_options(p)
    p.add_argument("--limit", type=int, default=None, help="a seeded subset of N samples")
    p.add_argument("--drawn", action="store_true",
                   help="characters: classify the samples rendered as canvas drawings")
    p.add_argument("--trim-connections", action="store_true",
                   help="characters: drawn without their lead-in/lead-out strokes")
    p.set_defaults(func=cmd_evaluate)

    from mic_core import teaching_cli
    teaching_cli.add_parser(commands)

    p = commands.add_parser("bench", help="speed and accuracy benchmark (JSON)")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for CI")
    p.add_argument("--json", action="store_true", help="compact JSON")
    p.set_defaults(func=cmd_bench)
    from mic_core.experiments import METHODS, NOISE_IN, RESULTS, SEEDS, TEST_LIMIT
    p = commands.add_parser("experiments", help="run (or resume) the paper's experiment grid",
                            description="Train and evaluate every cell of the grid; rows are "
                            "appended to the results table as jobs finish, and a rerun skips "
                            "what is done.")
    p.add_argument("--dataset", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument("--selection", nargs="+", choices=SELECTIONS, default=list(SELECTIONS))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--noise-in", nargs="+", type=float, default=list(NOISE_IN))
    p.add_argument("--noise-out", nargs="+", default=["0", "data"],
                   help="output noise values; 'data' is the data set's own value")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--limit", type=int, default=None,
                   help=f"held-out samples per cell (default {TEST_LIMIT})")
    p.add_argument("--iterations", type=int, default=50, help="inversion iterations of mic")
    p.add_argument("--train-steps", type=int, default=None,
                   help="expert training steps (default: the data set's default)")
    p.add_argument("--forward-lstm-steps", type=int, default=300)
    p.add_argument("--forward-lstm-full-steps", type=int, default=1500)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes (one core each); 1 runs in this process")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--ray-address", default=None,
                   help="a running Ray cluster (default: start a local one)")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_experiments)

    p = commands.add_parser("report", help="the paper's tables from the results table")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--protocol", default="paper", help="whose rows to report")
    p.add_argument("--json", action="store_true", help="one JSON object instead of markdown")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if getattr(args, "limit", None) is not None and args.limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    args.func(args)
