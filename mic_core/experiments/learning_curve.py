"""The learning curve (issue 15): MIC and the nearest neighbours (MSE, DTW) with 4, 8 and 16
types per class, on the held-out samples of the validation-chosen protocol.

MIC's settings are those chosen on validation for four types (``results/validated/
choices.json``: noise, starts, decision rule); they are not chosen again for 8 or 16 types
(that would be three validations more per point), and the report says so. For 8 and 16 the
types are drawn as for four (the same selection and seed: ``select_types`` with
``n_types``), the experts get 8 or 16 one-hot inputs, and the nearest neighbours search the
same types. The point at four types is the ``validated`` protocol's own rows (the same
settings, samples and seeds), so it is not run again.

Each unit is one (dataset, selection, number of types, seed): train, invert, the two nearest
neighbours, rows with per-sample predictions; a JSON file each, through the workers and the
queue of ``validated`` (resumable, any number of one-core workers). ``summarise`` pairs the
units with the four-type rows: per point, accuracy and MIC − NN with the 95 % interval and
the exact sign-flip p-value over the seeds (``paired_statistics.compare_runs``).

    python -m mic_core.experiments.learning_curve work --out OUT1 --shared curve-queue &
    python -m mic_core.experiments.learning_curve summarise OUT1 ...  # -> results/learning_curve
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mic_core.experiments.store import RESULTS
from mic_core.experiments.validated import (CHOICES, Queue, ValidatedProtocol, _dataset,
                                            _log, _row, _train_config, add_work_parser,
                                            chosen_mic_predictions, collect_units,
                                            held_out_samples, held_out_subset, read_choices,
                                            read_json, work)

N_TYPES = (8, 16)  # four: the validated protocol's own rows
SETTINGS = (("characters", "clustered"), ("characters", "random"), ("mnist", "clustered"))
SEEDS = (42, 142)
FOLDER = Path(__file__).resolve().parent.parent.parent / "results" / "learning_curve"
METHODS = ("mic", "nn_mse", "nn_dtw")


@dataclass(frozen=True)
class CurveUnit:
    """One point of one seed: (dataset, selection) with ``n_types`` types per class."""

    name: str
    dataset: str
    selection: str
    seed: int
    n_types: int
    needs: tuple = ()
    kind: str = "curve"


def plan(settings=SETTINGS, seeds=SEEDS, n_types=N_TYPES,
         protocol: ValidatedProtocol = ValidatedProtocol()) -> list[CurveUnit]:
    """Every unit, seed by seed (a batch cut short leaves whole seeds), the smaller number of
    types first.

    >>> [u.name for u in plan([("mnist", "clustered")], [42], [8, 16])]
    ['curve-validated-mnist-clustered-types8-seed42', 'curve-validated-mnist-clustered-types16-seed42']
    """
    return [CurveUnit(f"curve-{protocol.name}-{d}-{s}-types{k}-seed{seed}", d, s, seed, k)
            for seed in seeds for k in n_types for d, s in settings]


def chosen_settings(dataset: str, selection: str, choices=CHOICES) -> dict:
    """MIC's choice on validation for (dataset, selection) from the committed choices."""
    for choice in read_choices(choices):
        if (choice["dataset"], choice["selection"], choice["system"]) == \
                (dataset, selection, "mic"):
            return choice["chosen"]
    raise ValueError(f"no validation choice for MIC on {dataset}, {selection} in {choices}: "
                     f"run the validated protocol first")


def run_unit(unit: CurveUnit, protocol: ValidatedProtocol, choices=CHOICES) -> dict:
    """Train the experts on ``unit.n_types`` types per class with the chosen settings,
    classify the held-out samples with MIC and both nearest neighbours: the unit's JSON."""
    from mic_core.baselines import NearestNeighbourDTW, NearestNeighbourMSE
    from mic_core.training import train_on_types
    from mic_core.type_selection import select_types
    chosen = chosen_settings(unit.dataset, unit.selection, choices)
    dataset = _dataset(unit.dataset)
    noise = (chosen["noise_in"], chosen["noise_out"])
    config = _train_config(unit.dataset, unit.selection, unit.seed, protocol, noise)
    start = time.perf_counter()
    types = select_types(dataset.X_train, dataset.y_train, len(dataset.class_names),
                         unit.selection, unit.seed, n_types=unit.n_types,
                         metric=config.cluster_metric)
    experts = train_on_types(types, dataset.class_names, config)
    fit = time.perf_counter() - start
    X, y = held_out_samples(dataset, protocol)
    predicted, uniform = chosen_mic_predictions(experts, X, dataset.standardiser, chosen,
                                                protocol.iterations)
    seconds = time.perf_counter() - start
    rows = [_row(protocol, dataset, unit.selection, unit.seed, "mic", y, predicted, seconds,
                 fit, noise)]
    if uniform is not None:
        rows.append(_row(protocol, dataset, unit.selection, unit.seed, "mic_uniform_start",
                         y, uniform, seconds, fit, noise))
    E, K = types.shape[:2]
    flat, labels = types.reshape(E * K, *types.shape[2:]), np.repeat(np.arange(E), K)
    for method, model in (("nn_mse", NearestNeighbourMSE()), ("nn_dtw", NearestNeighbourDTW())):
        start = time.perf_counter()
        rows.append(_row(protocol, dataset, unit.selection, unit.seed, method, y,
                         model.fit(flat, labels).predict(X), time.perf_counter() - start, 0.0))
    for row in rows:
        row.update(protocol=f"{protocol.name}-{unit.n_types}types", n_types=unit.n_types)
    return {"dataset": unit.dataset, "selection": unit.selection, "seed": unit.seed,
            "n_types": unit.n_types, "chosen": chosen, "chosen_on": "validation (four types)",
            "rows": rows}


def run(out: Path, shared: Path | None = None, settings=SETTINGS, seeds=SEEDS,
        n_types=N_TYPES, protocol: ValidatedProtocol = ValidatedProtocol(),
        choices=CHOICES) -> int:
    """One worker: run the curve's units until none is left (``validated.work``)."""
    shared = Path(shared or out)
    runners = {"curve": lambda unit, queue, protocol, cache: run_unit(unit, protocol,
                                                                      choices)}
    return work(Queue(shared, out), plan(settings, seeds, n_types, protocol), protocol,
                shared / "cache", runners=runners)


# --- the curve: pairing the units with the four-type rows --------------------------------

def _correct(dataset: str, predicted: np.ndarray) -> np.ndarray:
    indices, y = held_out_subset(dataset, len(predicted))
    return np.asarray(predicted) == y


def _four_type_outcomes(results: Path, protocol: str) -> dict:
    """(dataset, selection, method, seed) -> correct (bool per held-out sample) of the
    ``protocol`` rows of the results table that carry predictions."""
    from mic_core.experiments import read_predictions
    from mic_core.experiments.store import decode_predictions
    predictions = read_predictions(results)
    if predictions.empty:
        return {}
    rows = predictions[(predictions["protocol"] == protocol) &
                       predictions["method"].isin(METHODS)]
    out = {}
    for row in rows.itertuples(index=False):
        if isinstance(row.predictions, str) and row.predictions:
            out[(row.dataset, row.selection, row.method, int(float(row.seed)))] = _correct(
                row.dataset, decode_predictions(row.predictions))
    return out


def _unit_outcomes(folders) -> dict:
    """(dataset, selection, n_types, method, seed) -> correct, from curve unit JSONs."""
    from mic_core.experiments.store import decode_predictions
    out = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("curve-*.json")):
            unit = json.loads(path.read_text())
            for row in unit["rows"]:
                if row["method"] in METHODS:
                    out[(unit["dataset"], unit["selection"], unit["n_types"], row["method"],
                         int(unit["seed"]))] = _correct(unit["dataset"],
                                                        decode_predictions(row["predictions"]))
    return out


def curve_points(outcomes: dict, settings=SETTINGS, seeds=SEEDS,
                 n_types=(4, *N_TYPES), n_resamples: int = 10_000) -> list[dict]:
    """Per (dataset, selection, number of types): each method's mean accuracy, and MIC −
    NN-MSE, MIC − NN-DTW (``compare_runs``: estimate, 95 % interval, p-value), over the
    seeds of ``seeds`` that have all three methods at every number of types of the setting
    that has any (so that a curve's points share their seeds). ``outcomes``: (dataset,
    selection, n_types, method, seed) -> correct (bool per held-out sample)."""
    from mic_core.paired_statistics import compare_runs
    points = []
    for dataset, selection in settings:
        complete = {k: {s for s in seeds if all((dataset, selection, k, m, s) in outcomes
                                                for m in METHODS)} for k in n_types}
        shared = set.intersection(*(v for v in complete.values() if v)) if any(
            complete.values()) else set()
        for k in n_types:
            have = [s for s in seeds if s in shared and s in complete[k]]
            if not have:
                continue
            correct = {m: np.array([outcomes[dataset, selection, k, m, s] for s in have])
                       for m in METHODS}
            point = {"dataset": dataset, "selection": selection, "n_types": k,
                     "seeds": have, "n_test": int(correct["mic"].shape[1]),
                     "accuracy": {m: float(c.mean()) for m, c in correct.items()},
                     "per_seed": {m: [float(x) for x in c.mean(axis=1)]
                                  for m, c in correct.items()}}
            for baseline in ("nn_mse", "nn_dtw"):
                point[f"mic_minus_{baseline}"] = compare_runs(
                    correct["mic"], correct[baseline], n_resamples).to_dict()
            points.append(point)
    return points


def summarise(folders, results: Path = RESULTS, seeds=SEEDS, protocol: str = "validated",
              n_resamples: int = 10_000) -> dict:
    """The curve from the unit folders ``folders`` (8 and 16 types) and the results table's
    ``protocol`` rows (four types)."""
    outcomes = {(d, s, 4, m, seed): c
                for (d, s, m, seed), c in _four_type_outcomes(results, protocol).items()}
    outcomes.update(_unit_outcomes(folders))
    choices = {f"{c['dataset']}, {c['selection']}": c["chosen"]
               for c in read_choices(Path(results).parent / "validated" / "choices.json")
               if c["system"] == "mic"}
    return {"about": "MIC and the nearest neighbours with 4, 8 and 16 types per class on the "
                     "validated protocol's held-out samples; MIC's settings chosen on "
                     "validation for four types and kept; four types: the validated rows",
            "chosen": choices, "points": curve_points(outcomes, seeds=seeds,
                                                      n_resamples=n_resamples)}


def read_curve(path: Path = FOLDER / "curve.json") -> dict | None:
    """The committed curve (None if there is none yet)."""
    return read_json(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mic_core.experiments.learning_curve",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = add_work_parser(commands)
    p.add_argument("--dataset", nargs="+", default=None,
                   help="only these data sets of the curve's settings")
    p.add_argument("--selection", nargs="+", default=None,
                   help="only these selections of the curve's settings")
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--types", nargs="+", type=int, default=list(N_TYPES))
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--train-steps", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--choices", type=Path, default=CHOICES)
    p = commands.add_parser("summarise", help="the curve (JSON) from unit folders")
    p.add_argument("folders", nargs="*", type=Path)
    p.add_argument("--units", type=Path, default=FOLDER / "units",
                   help="the committed units: the folders' units are copied here first")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--out", type=Path, default=FOLDER / "curve.json")
    args = parser.parse_args(argv)
    if args.command == "summarise":
        collect_units(args.folders, args.units, "curve-*.json")
        curve = summarise([args.units], args.results, tuple(args.seeds))
        args.out.write_text(json.dumps(curve, indent=1))
        print(json.dumps({"points": len(curve["points"]), "out": str(args.out)}))
        return
    import numba
    import torch
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    settings = [s for s in SETTINGS if (args.dataset is None or s[0] in args.dataset) and
                (args.selection is None or s[1] in args.selection)]
    protocol = ValidatedProtocol(iterations=args.iterations, train_steps=args.train_steps,
                                 test_limit=args.test_limit)
    ran = run(args.out, args.shared, settings, args.seeds, args.types, protocol, args.choices)
    _log(f"worker {os.getpid()} done: {ran} units")


if __name__ == "__main__":
    main()
