"""Choosing the single generator's training length and learning rate on a validation split.

The rule, fixed before any candidate was scored:

- **Validation samples** are carved from the TRAINING pool, never the held-out test set: a
  seeded (seed 0), stratified subset of ``VALIDATION_PER_CLASS`` samples per class (letters
  10 x 20 = 200 of the 714-sample pool, MNIST 50 x 10 = 500 training images). The clustered
  types are k-means centres of each class's whole pool, so they have seen these samples as
  part of their cluster; every candidate shares that.
- **Candidates** are full trainings of a family's (data set, code, capacity) default
  configuration — clustered types, seed 42, input noise 0.1, the shipped one — that differ
  only in ``steps`` and ``learning_rate`` (the cosine schedule runs over the steps, so a
  candidate is its own training, not a checkpoint of a longer one). Which candidates were
  tried is bounded by CPU time and written beside the scores.
- **Score**: the mean of the validation accuracies of the two decision rules the results
  rows report (``mass``: the exposé's inversion from zero, 50 iterations, largest class mass;
  ``corners``: the best class corner). **Choice**: the highest score; candidates within one
  validation sample of it count as tied, and the tie goes to fewer steps, then to the lower
  learning rate.

``python -m mic_core.single.validation --dataset mnist --code class --candidates 1000:0.01
2000:0.01 --out DIR`` scores the candidates (writing ``DIR/validation-<family>.json`` after
each one, so an interrupted run keeps what it finished) and records the family's choice in
``DIR/defaults.json``; ``--adopt DIR...`` merges such choices into
``assets/single/defaults.json``, which ``default_single_config`` reads.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mic_core.data import DATASETS, DataConfig, Dataset, load_dataset
from mic_core.persistence import atomic_write
from mic_core.single.generator import (CAPACITIES, CHOSEN_TRAINING, CODES,
                                       default_single_config, load_or_train_generator,
                                       type_errors)
from mic_core.single.inversion import CodeInversionConfig, corner_errors, invert_code

VALIDATION_PER_CLASS = {"characters": 10, "mnist": 50}
VALIDATION_SEED = 0
BATCH = 128


class OutOfTime(RuntimeError):
    """Raised by a progress callback when a training would end after the deadline."""


def deadline_progress(deadline: float | None, log=lambda m: None, margin: float = 30.0):
    """A training progress callback that logs every 100 steps and raises ``OutOfTime`` once
    the pace since step 20 (after numba's compilation) says the training would end after
    ``deadline`` (epoch seconds) less ``margin``; from step 40 on."""
    marks = {}

    def progress(p):
        if p.step % 100 == 0:
            log(f"  step {p.step}/{p.steps} loss {p.loss:.4f} ({p.seconds_left:.0f} s left)")
        if deadline is None:
            return
        if "step" not in marks and p.step >= 20:
            marks.update(step=p.step, time=time.time())
        elif "step" in marks and p.step >= marks["step"] + 20:
            pace = (time.time() - marks["time"]) / (p.step - marks["step"])
            left = pace * (p.steps - p.step)
            if time.time() + left + margin > deadline:
                raise OutOfTime(f"{p.steps} steps would end {left:.0f} s from now")
    return progress


def validation_indices(dataset: Dataset, per_class: int | None = None,
                       seed: int = VALIDATION_SEED) -> np.ndarray:
    """Sorted indices into the training pool: ``per_class`` seeded samples of every class.

    Never indices of the test set: only ``dataset.y_train`` is read.
    """
    per_class = per_class or VALIDATION_PER_CLASS[dataset.name]
    rng = np.random.RandomState(seed)
    chosen = []
    for c in range(len(dataset.class_names)):
        members = np.flatnonzero(dataset.y_train == c)
        chosen.extend(rng.choice(members, min(per_class, len(members)), replace=False))
    return np.sort(np.array(chosen, dtype=int))


def score_generator(generator, X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy of both decision rules on (X, y), the mean final inversion error and the
    training fit (mean and largest type MSE)."""
    predicted, final = [], []
    for i in range(0, len(X), BATCH):
        record = invert_code(generator, X[i:i + BATCH], CodeInversionConfig(), record="final")
        predicted.append(record.winners)
        final.append(record.final_errors)
    mass = float(np.mean(np.concatenate(predicted) == y))
    corners = float(np.mean(corner_errors(generator, X).argmin(axis=1) == y))
    fit = type_errors(generator)
    return {"mass_accuracy": mass, "corners_accuracy": corners,
            "score": (mass + corners) / 2, "mean_final_error":
            float(np.concatenate(final).mean()), "mean_type_mse": float(fit.mean()),
            "max_type_mse": float(fit.max())}


def choose(candidates: list[dict], n_validation: int) -> dict:
    """The chosen candidate among scored ones (dicts with ``score``, ``steps``,
    ``learning_rate``): the best score, ties (within one validation sample) to fewer steps,
    then to the lower learning rate.

    >>> choose([{"score": 0.50, "steps": 1000, "learning_rate": 0.01},
    ...         {"score": 0.504, "steps": 2000, "learning_rate": 0.01},
    ...         {"score": 0.60, "steps": 4000, "learning_rate": 0.03}], 100)["steps"]
    4000
    >>> choose([{"score": 0.50, "steps": 1000, "learning_rate": 0.01},
    ...         {"score": 0.504, "steps": 2000, "learning_rate": 0.01}], 100)["steps"]
    1000
    """
    if not candidates:
        raise ValueError("no scored candidate to choose from")
    best = max(c["score"] for c in candidates)
    tied = [c for c in candidates if c["score"] >= best - 1.0 / n_validation - 1e-12]
    return min(tied, key=lambda c: (c["steps"], c["learning_rate"]))


def family(dataset: str, code: str, capacity: str) -> str:
    return f"{dataset}/{code}/{capacity}"


def _write_json(path: Path, value) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(value, indent=1, sort_keys=True)
                                         .encode()))


def record_choice(defaults: Path, name: str, chosen: dict, source: str) -> None:
    """Add (or replace) family ``name``'s choice in a defaults file."""
    try:
        table = json.loads(Path(defaults).read_text())
    except (OSError, ValueError):
        table = {}
    table.setdefault("families", {})[name] = {
        "steps": int(chosen["steps"]), "learning_rate": float(chosen["learning_rate"]),
        "validation_score": chosen["score"], "source": source}
    table["note"] = ("steps and learning rate of the single generator, chosen on a validation "
                     "split of the training pool (mic_core.single.validation)")
    Path(defaults).parent.mkdir(parents=True, exist_ok=True)
    _write_json(Path(defaults), table)


def run(dataset_name: str, code: str, capacity: str, candidates, out: Path, cache_dir=None,
        deadline: float | None = None, log=lambda m: None,
        per_class: int | None = None) -> dict:
    """Score every (steps, learning_rate) candidate of the family on validation (training
    the ones not shipped or cached), writing ``out/validation-<family>.json`` after each
    and the choice into ``out/defaults.json``. A candidate whose training would end after
    ``deadline`` (epoch seconds) is left out (said in the JSON). Returns the JSON."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    chosen = validation_indices(dataset, per_class)
    X, y = dataset.X_train[chosen], dataset.y_train[chosen]
    name = family(dataset_name, code, capacity)
    path = out / f"validation-{name.replace('/', '-')}.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        result = {"family": name, "n_validation": int(len(y)), "candidates": [],
                  "skipped": [], "rule": __doc__.split("The rule,")[1].split("``python")[0]
                  .strip()}
    done = {(c["steps"], c["learning_rate"]) for c in result["candidates"]}
    for steps, rate in candidates:
        if (steps, rate) in done:
            continue
        train = default_single_config(dataset_name, code, capacity, selection="clustered",
                                      seed=42, noise_in=0.1, noise_out=0.0, steps=steps,
                                      learning_rate=rate)
        log(f"{name}: {steps} steps at {rate:g}")

        progress = deadline_progress(deadline, log)
        try:
            generator = load_or_train_generator(dataset, train, cache_dir, progress=progress,
                                                log=log)
        except OutOfTime as exc:
            result["skipped"].append({"steps": steps, "learning_rate": rate,
                                      "reason": f"out of time: {exc}"})
            _write_json(path, result)
            log(f"  skipped: {exc}")
            continue
        start = time.perf_counter()
        scores = score_generator(generator, X, y)
        result["candidates"].append({
            "steps": steps, "learning_rate": rate, **scores,
            "train_seconds": generator.train_seconds if np.isfinite(generator.train_seconds)
            else None,  # a shipped file from before the time was kept
            "validate_seconds": time.perf_counter() - start,
            "training_curve": [round(float(v), 5) for v in generator.training_curve[::10]],
            "config": asdict(train)})
        _write_json(path, result)
        log(f"  validation: mass {scores['mass_accuracy']:.3f}, corners "
            f"{scores['corners_accuracy']:.3f}, type MSE {scores['mean_type_mse']:.4f}")
    if result["candidates"]:
        result["chosen"] = {k: v for k, v in choose(result["candidates"],
                                                    result["n_validation"]).items()
                            if k in ("steps", "learning_rate", "score")}
        _write_json(path, result)
        record_choice(out / "defaults.json", name, result["chosen"], path.name)
    return result


def adopt(folders, defaults: Path = CHOSEN_TRAINING) -> dict:
    """Merge the choices recorded in ``folder/defaults.json`` of every folder into
    ``defaults`` (the shipped ``assets/single/defaults.json``); returns the merged table."""
    for folder in folders:
        table = json.loads((Path(folder) / "defaults.json").read_text())
        for name, chosen in table["families"].items():
            record_choice(defaults, name, {**chosen, "score": chosen["validation_score"]},
                          chosen["source"])
    return json.loads(Path(defaults).read_text())


def _candidate(text: str) -> tuple[int, float]:
    try:
        steps, rate = text.split(":")
        return int(steps), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a candidate is STEPS:LEARNING_RATE, got {text!r}") \
            from None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mic_core.single.validation",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="characters")
    parser.add_argument("--code", nargs="+", choices=CODES, default=list(CODES))
    parser.add_argument("--capacity", choices=CAPACITIES, default="cells")
    parser.add_argument("--candidates", nargs="+", type=_candidate,
                        default=[(1000, 0.01), (2000, 0.01)])
    parser.add_argument("--out", type=Path, default=Path("results") / "single")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--deadline", type=float, default=None,
                        help="epoch seconds: leave out a training that would end later")
    parser.add_argument("--per-class", type=int, default=None,
                        help="validation samples per class (default: 10 letters, 50 digits)")
    parser.add_argument("--threads", type=int, default=1,
                        help="numba threads (the batch runs in up to 4 chunks)")
    parser.add_argument("--adopt", nargs="+", type=Path, default=None, metavar="FOLDER",
                        help="merge the choices in FOLDER/defaults.json into "
                             "assets/single/defaults.json instead of running")
    args = parser.parse_args(argv)
    if args.adopt:
        print(json.dumps(adopt(args.adopt), indent=1))
        return
    import numba
    import torch
    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
    torch.set_num_threads(1)
    for code in args.code:
        result = run(args.dataset, code, args.capacity, args.candidates, args.out,
                     args.cache_dir, args.deadline,
                     log=lambda m: print(m, file=sys.stderr, flush=True),
                     per_class=args.per_class)
        print(json.dumps({k: result.get(k) for k in ("family", "chosen", "skipped")}))


if __name__ == "__main__":
    main()
