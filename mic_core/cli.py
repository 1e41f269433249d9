"""Command line: ``python -m mic_core {train,classify,evaluate,bench,experiments,report}``.

``train``, ``classify`` and ``evaluate`` take ``--system NAME`` (default ``mic``) and hand
over to that system's module (``mic_core.systems``). Progress goes to stderr; with
``--json`` the result is one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mic_core.data import DATASETS
from mic_core.systems import COMMANDS, SYSTEMS, progress_bar as _progress_bar, system
from mic_core.type_selection import SELECTIONS


def _emit(args, result: dict, text: str):
    print(json.dumps(result) if args.json else text)


def _run_system(command: str, args) -> None:
    """``train``/``classify``/``evaluate`` of the chosen system."""
    module = system(args.system)
    result = getattr(module, command)(args)
    describe = getattr(module, "describe", None)
    _emit(args, result, describe(command, result) if describe else json.dumps(result, indent=2))


def cmd_bench(args):
    from mic_core.bench import run_bench
    result = run_bench(quick=args.quick, log=lambda m: print(m, file=sys.stderr),
                       only=args.only)
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
    from mic_core.experiments.validated import report_parts
    try:
        everything = read_results(args.results)
        settings, league = report_parts(everything, args.results)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    table = everything[everything["protocol"] == args.protocol]
    if table.empty and not settings:
        raise SystemExit(f"error: {args.results} holds no rows of protocol {args.protocol}")
    from mic_core.experiments import learning_curve, paper_faithful
    folder = Path(args.results).parent  # issue 15's curve and paper-faithful letters
    curve = learning_curve.read_curve(folder / "learning_curve" / "curve.json")
    paper = paper_faithful.read_summary(folder / "paper_faithful" / "summary.json")
    if args.json:  # issue 15: per setting, MIC against the nearest neighbours, paired
        result = reports.report_dict(table) if len(table) else {}
        print(json.dumps({**result, "settings": settings,
                          "league": league.to_dict(orient="records"),
                          "targets": reports.targets(settings),
                          "learning_curve": curve, "paper_faithful": paper}))
    else:
        validated = "\n\n".join(p for p in (reports.validated_markdown(settings, league),
                                             reports.issue15_markdown(curve, paper)) if p)
        if not len(table):
            print(validated)
            return
        title, about, rest = reports.report_markdown(table).split("\n\n", 2)
        print("\n\n".join(p for p in (title, about, validated, rest) if p))


def build_parser(system_name: str = "mic") -> argparse.ArgumentParser:
    """The parser; ``train``, ``classify`` and ``evaluate`` carry the options of the system
    ``system_name`` (``mic_core.systems``)."""
    parser = argparse.ArgumentParser(prog="python -m mic_core",
                                     description="Modular Inverse Classification engine")
    commands = parser.add_subparsers(dest="command", required=True)

    helps = {"train": "train (or load) the models of a configuration",
             "classify": "classify a drawing or a held-out sample",
             "evaluate": "accuracy on the held-out test set"}
    chosen = system(system_name)
    for command in COMMANDS:
        p = commands.add_parser(command, help=helps[command])
        p.add_argument("--system", choices=sorted(SYSTEMS), default="mic",
                       help="which system (default mic: one expert per class)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        chosen.add_arguments(p, command)
        p.set_defaults(func=lambda args, command=command: _run_system(command, args))

    from mic_core import teaching_cli
    teaching_cli.add_parser(commands)

    p = commands.add_parser("bench", help="speed and accuracy benchmark (JSON)")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for CI")
    p.add_argument("--json", action="store_true", help="compact JSON")
    p.add_argument("--only", choices=["options"], default=None,
                   help="options: only the cost of the inversion's options (issue 15)")
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


def _system_name(argv) -> str:
    """The ``--system`` of the command line (read first: it decides the other options)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--system", default="mic")
    name = pre.parse_known_args(argv)[0].system
    if name not in SYSTEMS:
        raise SystemExit(f"error: unknown system {name!r}; choose one of {sorted(SYSTEMS)}")
    return name


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_system_name(argv)).parse_args(argv)
    if getattr(args, "limit", None) is not None and args.limit < 1:
        raise SystemExit("error: --limit must be at least 1")
    args.func(args)
