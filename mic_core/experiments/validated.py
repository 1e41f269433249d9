"""The validation-chosen protocol (issue 15): every choice is made on a VALIDATION split
carved from the training data, and the test set is touched once per reported number.

For one (dataset, selection) the same four types per class as the ``paper`` protocol (same
selection, same seeds: the shared low-data protocol) are used, and:

1. **validation split**: a seeded (``VALIDATION_SEED``), class-stratified part of the
   training pool (letters: a quarter of the 714; MNIST: ``VALIDATION_SIZE`` of the 60 000
   training images), less any sample that is one of that seed's types (the experts learnt
   those; clustered types are k-means centres, not samples, so the pool shaped them: a mild
   optimism shared by every candidate);
2. **MIC's choices** on it, from the experts of the ``choice_seeds``: the noise setting
   (input noise ``NOISE_IN`` x output noise 0 or the data set's), the starts of the
   inversion ("uniform" or "uniform+corners", Adam-like step) and, for letters, the decision
   rule (plain or free ends). One inversion with every start gives both starts' results
   (the uniform start is start 0). Rule: the highest mean validation accuracy over the
   choice seeds; ties go to the earlier candidate (less noise, uniform start, plain rule);
3. **the forward LSTM's** learning rate and steps on it (seed ``choice_seeds[0]``'s types):
   ``LSTM_LEARNING_RATES`` x ``LSTM_STEPS`` (the steps are checkpoints of one run);
   the nearest neighbours (1-NN by MSE and by DTW) have nothing to choose;
4. **the test**: for every seed, the chosen MIC, NN-MSE, NN-DTW and the chosen forward
   LSTM on the same held-out samples,
   each row with its per-sample predictions (``store``), protocol ``validated``.
   Held-out samples: ``TEST_LIMIT`` (letters: all 715; MNIST: the seeded 2 000 of the paper
   protocol, so that the other systems' rows pair with these).

Each piece of work is a *unit* (``plan``): the nearest neighbours of one (setting, seed),
MIC's validation of one noise setting, a setting's choice, MIC's test of one seed, the
forward LSTM's validation and tests. Workers (one process and one core each, any number on
one machine) share a folder: each takes the first unit that is ready and not taken, writes
its JSON there atomically as soon as it is done (and a copy into its own output folder), and
stops when nothing is left. A rerun skips what is done, so a worker killed at any moment
leaves complete partial results. ``merge`` puts the test rows of any number of output
folders into the results table (through ``store.append_results``) and the validation
scores and choices into one JSON.

    python -m mic_core.experiments.validated work --out OUT1 --shared validated-queue &
    python -m mic_core.experiments.validated work --out OUT2 --shared validated-queue &
    python -m mic_core.experiments.validated merge OUT1 OUT2 [--results ...] [--choices ...]
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mic_core.classify import FREE_ENDS, PLAIN, decide
from mic_core.data import DATASETS, DataConfig, load_dataset, stratified_split
from mic_core.evaluation import score_predictions, seeded_subset
from mic_core.experiments.grid import NOISE_IN, OUTPUT_NOISE, SEEDS
from mic_core.experiments.store import KEY, RESULTS, append_results, encode_predictions
from mic_core.inversion import InversionConfig, invert
from mic_core.type_selection import SELECTIONS

VALIDATION_SEED = 15  # the number (the held-out split uses split_seed 0)
VALIDATION_FRACTION = 0.25  # letters: of the training pool
VALIDATION_SIZE = {"mnist": 500}  # MNIST: images of the training set (stratified)
STARTS = ("uniform", "uniform+corners")
TEST_LIMIT = {"characters": None, "mnist": 2000}  # held-out samples (None: all 715 letters);
#   MNIST: the paper protocol's seeded 2 000 (the multi-start inversion of all 10 000 for
#   five seeds and two selections did not fit the one batch of CPU time we had)
LSTM_LEARNING_RATES = (0.003, 0.01, 0.03)
LSTM_STEPS = (100, 300)
CHOICES = Path(__file__).resolve().parent.parent.parent / "results" / "validated" / \
    "choices.json"


@dataclass(frozen=True)
class ValidatedProtocol:
    """What fixes the numbers besides the data: the defaults are the protocol
    ``validated``; anything else (small runs, tests) gets a name of its own."""

    iterations: int = 50  # inversion steps
    train_steps: int | None = None  # None: the data set's default expert training
    validation_limit: int | None = None  # None: the whole validation split
    test_limit: int | None = None  # None: the data set's TEST_LIMIT
    choice_seeds: tuple = (42,)  # whose experts' validation scores choose

    @property
    def name(self) -> str:
        """"validated" for the defaults, else "validated-" and a hash of the settings.

        >>> ValidatedProtocol().name, ValidatedProtocol(test_limit=20).name[:10]
        ('validated', 'validated-')
        """
        if self == ValidatedProtocol():
            return "validated"
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        return f"validated-{digest.hexdigest()[:8]}"


# MNIST on all 10 000 test images: the same protocol on the whole test set, under its own
# name (``work --dataset mnist --test-limit 10000``); the report prefers it where it covers
# every seed of the 2 000-image rows (``reports.paired_settings``)
FULL_TEST = {"mnist": ValidatedProtocol(test_limit=10_000)}


# --- the data: validation split and test samples ------------------------------------------

def validation_indices(dataset, types: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Indices into ``dataset.X_train``: a seeded, class-stratified validation split of the
    training samples that are not one of ``types`` (E, K, T, D), at most ``limit`` (a
    stratified part of it) if given."""
    type_bytes = {t.tobytes() for t in np.ascontiguousarray(
        types.reshape(-1, *types.shape[2:]), dtype=dataset.X_train.dtype)}
    candidates = np.array([i for i, x in enumerate(dataset.X_train)
                           if x.tobytes() not in type_bytes])
    size = VALIDATION_SIZE.get(dataset.name)
    fraction = VALIDATION_FRACTION if size is None else min(size / len(candidates), 1.0)
    _, chosen = stratified_split(dataset.y_train[candidates], fraction, VALIDATION_SEED)
    chosen = candidates[chosen]
    if limit is not None and limit < len(chosen):
        _, part = stratified_split(dataset.y_train[chosen], limit / len(chosen), VALIDATION_SEED)
        chosen = chosen[part]
    return np.sort(chosen)


def held_out_samples(dataset, protocol: ValidatedProtocol):
    """(X, y) of the held-out samples the protocol reports on (seeded subset if limited)."""
    chosen = seeded_subset(len(dataset.X_test), _test_limit(dataset.name, protocol), seed=0)
    return dataset.X_test[chosen], dataset.y_test[chosen]


def _test_limit(dataset: str, protocol: ValidatedProtocol) -> int | None:
    return protocol.test_limit if protocol.test_limit is not None else TEST_LIMIT[dataset]


# --- MIC's candidates ----------------------------------------------------------------------

def noise_candidates(dataset: str) -> list[tuple[float, float]]:
    """(noise_in, noise_out) pairs, least noise first."""
    return [(float(a), float(b)) for a, b in
            itertools.product(NOISE_IN, (0.0, OUTPUT_NOISE[dataset]))]


def rules(dataset: str) -> tuple[str, ...]:
    return ("plain", "free ends") if dataset == "characters" else ("plain",)


def mic_predictions(experts, X: np.ndarray, standardiser, iterations: int,
                    rule_names=("plain",), chunk: int = 256) -> dict:
    """Predicted classes for every (starts, rule) from ONE inversion with every start:
    {"uniform/plain": (N,), "uniform+corners/plain": (N,), ...}. The uniform start is
    start 0 of the multi-start inversion; its final reconstruction (free ends) is generated
    from its final mixture weights."""
    config = InversionConfig(iterations=iterations, starts="uniform+corners")
    rule_names = tuple(dict.fromkeys(("plain", *rule_names)))  # plain always: it is free
    out = {f"{s}/{r}": [] for s in STARTS for r in rule_names}
    for i in range(0, len(X), chunk):
        record = invert(experts, X[i: i + chunk], config, record="errors")
        uniform_errors = record.start_errors[:, :, 0, -1]
        out["uniform+corners/plain"].append(record.final_errors.argmin(axis=1))
        out["uniform/plain"].append(uniform_errors.argmin(axis=1))
        if "free ends" in rule_names:
            out["uniform+corners/free ends"].append(
                decide(record, FREE_ENDS, standardiser).winners)
            weights = record.start_mixture_weights[:, :, 0, -1]  # (N, E, K), projected
            uniform = experts.generate(weights)[:, :, None]  # (N, E, 1, T, D)
            uniform_record = type(record)(
                class_names=record.class_names, targets=record.targets,
                mixture_weights=weights[:, :, None], errors=uniform_errors[:, :, None],
                reconstructions=uniform, config=record.config)
            out["uniform/free ends"].append(decide(uniform_record, FREE_ENDS,
                                                   standardiser).winners)
    return {name: np.concatenate(v) if v else np.zeros(0, int) for name, v in out.items()}


def chosen_mic_predictions(experts, X: np.ndarray, standardiser, chosen: dict,
                           iterations: int, chunk: int = 256):
    """(MIC's predicted classes (N,) with the ``chosen`` starts and rule, the uniform
    start's alone from the same inversions or None where only the uniform start was
    chosen). ``chosen``: a choice of ``choose`` ({"starts", "rule", ...})."""
    if chosen["starts"] == "uniform":
        rule = FREE_ENDS if chosen["rule"] == "free ends" else PLAIN
        config = InversionConfig(iterations=iterations)
        return np.concatenate([
            decide(invert(experts, X[i: i + chunk], config, record="final"), rule,
                   standardiser).winners for i in range(0, len(X), chunk)]), None
    both = mic_predictions(experts, X, standardiser, iterations, (chosen["rule"],), chunk)
    return both[f"uniform+corners/{chosen['rule']}"], both[f"uniform/{chosen['rule']}"]


def choose(scores: list[dict], keys=("noise_in", "noise_out", "starts", "rule")) -> dict:
    """The candidate with the highest mean validation accuracy over seeds. ``scores``: one
    dict per (seed, candidate) with ``keys`` and ``accuracy``, in candidate order; ties go
    to the earliest candidate.

    >>> choose([{"a": 1, "accuracy": 0.5}, {"a": 2, "accuracy": 1.0},
    ...         {"a": 1, "accuracy": 1.0}, {"a": 2, "accuracy": 0.5}], keys=("a",))
    {'a': 1, 'validation_accuracy': 0.75, 'seeds': 2}
    """
    order, totals = [], {}
    for row in scores:
        key = tuple(row[k] for k in keys)
        if key not in totals:
            order.append(key)
            totals[key] = []
        totals[key].append(row["accuracy"])
    best = max(order, key=lambda k: (np.mean(totals[k]), -order.index(k)))
    return {**dict(zip(keys, best)), "validation_accuracy": float(np.mean(totals[best])),
            "seeds": len(totals[best])}


# --- units of work --------------------------------------------------------------------------

# --- units of work and the workers that share them ----------------------------------------

@dataclass(frozen=True)
class Unit:
    """One unit of work: its file name, the units it needs, and what it computes."""

    name: str
    needs: tuple
    kind: str  # "nn", "validate-mic", "choice-mic", "test-mic", "validate-lstm", "test-lstm"
    dataset: str
    selection: str
    seed: int | None = None
    noise: tuple | None = None


def plan(datasets, selections, seeds, protocol: ValidatedProtocol, systems=("nn", "mic",
                                                                          "lstm")) -> list:
    """Every unit, in the order workers take them (the first ready one): the cheap nearest
    neighbours, MIC's validation (setting by setting, so that each setting's choice comes
    early), the choices, MIC's tests seed by seed across settings (a batch cut short leaves
    every setting with its first seeds), then the forward LSTM's validation and tests."""
    settings = [(d, s) for d in datasets for s in selections]
    tag = {(d, s): f"{protocol.name}-{d}-{s}" for d, s in settings}
    units = []
    if "nn" in systems:
        units += [Unit(f"test-nn-{tag[d, s]}-seed{seed}", (), "nn", d, s, seed)
                  for seed in seeds for d, s in settings]
    if "mic" in systems:
        validate = {}
        for d, s in settings:
            validate[d, s] = [Unit(f"validate-mic-{tag[d, s]}-seed{seed}-in{n[0]:g}-out{n[1]:g}",
                                   (), "validate-mic", d, s, seed, n)
                              for seed in protocol.choice_seeds for n in noise_candidates(d)]
            units += validate[d, s]
        units += [Unit(f"choice-mic-{tag[d, s]}", tuple(u.name for u in validate[d, s]),
                       "choice-mic", d, s) for d, s in settings]
        units += [Unit(f"test-mic-{tag[d, s]}-seed{seed}", (f"choice-mic-{tag[d, s]}",),
                       "test-mic", d, s, seed) for seed in seeds for d, s in settings]
    if "lstm" in systems:
        units += [Unit(f"validate-forward_lstm-{tag[d, s]}", (), "validate-lstm", d, s,
                       protocol.choice_seeds[0]) for d, s in settings]
        units += [Unit(f"test-forward_lstm-{tag[d, s]}-seed{seed}",
                       (f"validate-forward_lstm-{tag[d, s]}",), "test-lstm", d, s, seed)
                  for seed in seeds for d, s in settings]
    return units


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


_DATASETS: dict = {}


def _dataset(name: str):
    if name not in _DATASETS:
        _DATASETS[name] = load_dataset(DataConfig(dataset=name))
    return _DATASETS[name]


def _train_config(dataset: str, selection: str, seed: int, protocol: ValidatedProtocol,
                  noise=(None, None)):
    from mic_core.training import default_train_config
    overrides = {"selection": selection, "seed": seed}
    if noise is not None and noise[0] is not None:
        overrides.update(noise_in=noise[0], noise_out=noise[1])
    if protocol.train_steps is not None:
        overrides["steps"] = protocol.train_steps
    return default_train_config(dataset, **overrides)


def _types(dataset, selection, seed, protocol, cache_dir):
    from mic_core.persistence import load_or_select_types
    return load_or_select_types(dataset, _train_config(dataset.name, selection, seed,
                                                       protocol), cache_dir)


def _row(protocol, dataset, selection, seed, method, y, predicted, seconds, fit_seconds,
         noise=(None, None), **extra) -> dict:
    accuracy, per_class, confusion = score_predictions(y, predicted, dataset.class_names)
    row = dict(zip(KEY, (protocol.name, dataset.name, selection, noise[0], noise[1], seed,
                         method)))
    row.update(accuracy=accuracy, n_test=len(y), limit=_test_limit(dataset.name, protocol),
               seconds=seconds, fit_seconds=fit_seconds,
               per_class_accuracy=json.dumps(per_class),
               confusion=json.dumps(confusion.tolist()),
               predictions=encode_predictions(predicted),
               finished=time.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
    return row


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def add_work_parser(commands):
    """The ``work`` sub-command that every work queue of this package shares (this protocol,
    the learning curve, the paper-faithful run): one worker's ``--out`` and the ``--shared``
    folder of the machine's workers. Returns the parser for the queue's own options."""
    p = commands.add_parser("work", help="one worker: run units until none is left")
    p.add_argument("--out", type=Path, required=True, help="this worker's output folder")
    p.add_argument("--shared", type=Path, default=None,
                   help="the folder that the workers of this machine share (default --out)")
    return p


def collect_units(folders, units: Path, pattern: str) -> None:
    """Copy the unit files (``pattern``) of workers' ``folders`` into the committed ``units``
    folder (a summary reads that folder alone)."""
    units.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        for path in Path(folder).glob(pattern):
            shutil.copyfile(path, units / path.name)


def read_json(path: Path) -> dict | None:
    """A committed summary (JSON), or None if there is none yet."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


class Queue:
    """Units shared by the workers through a folder ``shared`` on one machine: a unit is
    done when ``shared/<name>.json`` exists (written atomically), taken while
    ``shared/claims/<name>`` names a living process; a worker also copies each unit it
    finishes into its own output folder ``out``."""

    def __init__(self, shared: Path, out: Path):
        self.shared, self.out = Path(shared), Path(out)
        for folder in (self.shared / "claims", self.shared / "failed", self.out):
            folder.mkdir(parents=True, exist_ok=True)

    def done(self, name: str) -> bool:
        return (self.shared / f"{name}.json").exists()

    def failed(self, name: str) -> bool:
        return (self.shared / "failed" / name).exists()

    def load(self, name: str) -> dict:
        return json.loads((self.shared / f"{name}.json").read_text())

    def claim(self, name: str) -> bool:
        """Take ``name`` unless a living process holds it (a dead one's claim is void)."""
        claim = self.shared / "claims" / name
        for _ in range(2):
            try:
                os.mkdir(claim)
            except FileExistsError:
                try:
                    holder = int((claim / "pid").read_text())
                except (OSError, ValueError):
                    return False  # being written: someone is taking it now
                if _pid_alive(holder):
                    return False
                (claim / "pid").unlink(missing_ok=True)
                claim.rmdir()
                continue
            (claim / "pid").write_text(str(os.getpid()))
            return True
        return False

    def release(self, name: str) -> None:
        """Drop the claim on a finished (or failed) unit."""
        claim = self.shared / "claims" / name
        (claim / "pid").unlink(missing_ok=True)
        try:
            claim.rmdir()
        except OSError:
            pass

    def held_by_another(self, name: str) -> bool:
        try:
            return _pid_alive(int((self.shared / "claims" / name / "pid").read_text()))
        except (OSError, ValueError):
            return (self.shared / "claims" / name).exists()

    def save(self, name: str, value: dict) -> None:
        text = json.dumps(value)
        for folder in (self.out, self.shared):  # the copy that marks it done goes last
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(text)
            os.replace(tmp, folder / f"{name}.json")

    def fail(self, name: str, message: str) -> None:
        (self.shared / "failed" / name).write_text(message)
        (self.out / f"failed-{name}.txt").write_text(message)


def work(queue: Queue, units: list, protocol: ValidatedProtocol, cache: Path,
         poll: float = 2.0, runners: dict | None = None) -> int:
    """Take and run ready units until none is left to take; returns how many this worker
    ran. Waits while others hold units that the remaining ones need. ``runners``: unit kind
    -> ``f(unit, queue, protocol, cache)`` returning the unit's JSON (default: this
    protocol's; any object with ``name``, ``needs`` and ``kind`` is a unit)."""
    runners = _RUN if runners is None else runners
    ran = 0
    by_name = {u.name: u for u in units}

    def blocked(name: str) -> bool:  # a unit it needs failed, or is itself blocked
        if name not in by_name:  # needed but not planned: only its result can come
            return not queue.done(name)
        return any(queue.failed(n) or blocked(n) for n in by_name[name].needs)
    while True:
        waiting = False
        for unit in units:
            if queue.done(unit.name) or queue.failed(unit.name):
                continue
            if blocked(unit.name):
                continue  # never runnable
            if not all(queue.done(n) for n in unit.needs) or not queue.claim(unit.name):
                waiting = True
                continue
            start = time.perf_counter()
            try:
                queue.save(unit.name, runners[unit.kind](unit, queue, protocol, cache))
            except Exception as exc:  # noqa: BLE001 - record it; the others go on
                import traceback
                queue.fail(unit.name, traceback.format_exc())
                _log(f"FAILED {unit.name}: {exc!r}")
            else:
                _log(f"{unit.name} ({time.perf_counter() - start:.0f} s)")
            queue.release(unit.name)
            ran += 1
            break
        else:
            if not waiting:
                return ran
            time.sleep(poll)


def _run_nn(unit: Unit, queue, protocol, cache) -> dict:
    from mic_core.baselines import NearestNeighbourDTW, NearestNeighbourMSE
    dataset = _dataset(unit.dataset)
    X_types, y_types = _flat_types(dataset, unit, protocol, cache)
    X, y = held_out_samples(dataset, protocol)
    rows = []
    for method, model in (("nn_mse", NearestNeighbourMSE()), ("nn_dtw", NearestNeighbourDTW())):
        start = time.perf_counter()
        predicted = model.fit(X_types, y_types).predict(X)
        rows.append(_row(protocol, dataset, unit.selection, unit.seed, method, y, predicted,
                         time.perf_counter() - start, 0.0))
    return {"rows": rows}


def _flat_types(dataset, unit, protocol, cache):
    types = _types(dataset, unit.selection, unit.seed, protocol, cache)
    E, K = types.shape[:2]
    return types.reshape(E * K, *types.shape[2:]), np.repeat(np.arange(E), K)


def _run_validate_mic(unit: Unit, queue, protocol, cache) -> dict:
    from mic_core.persistence import load_or_train
    dataset = _dataset(unit.dataset)
    types = _types(dataset, unit.selection, unit.seed, protocol, cache)
    val = validation_indices(dataset, types, protocol.validation_limit)
    X, y = dataset.X_train[val], dataset.y_train[val]
    start = time.perf_counter()
    experts = load_or_train(dataset, _train_config(unit.dataset, unit.selection, unit.seed,
                                                   protocol, unit.noise), cache)
    fit = time.perf_counter() - start
    predicted = mic_predictions(experts, X, dataset.standardiser, protocol.iterations,
                                rules(unit.dataset))
    return {"dataset": unit.dataset, "selection": unit.selection, "seed": unit.seed,
            "noise_in": unit.noise[0], "noise_out": unit.noise[1], "n_validation": len(y),
            "fit_seconds": fit, "seconds": time.perf_counter() - start,
            "accuracy": {c: float(np.mean(p == y)) for c, p in predicted.items()}}


def _run_choice_mic(unit: Unit, queue, protocol, cache) -> dict:
    order = list(itertools.product(noise_candidates(unit.dataset), STARTS, rules(unit.dataset)))
    scores = []
    for name in unit.needs:
        result = queue.load(name)
        for candidate, accuracy in result["accuracy"].items():
            starts, rule = candidate.split("/")
            scores.append({"noise_in": result["noise_in"], "noise_out": result["noise_out"],
                           "starts": starts, "rule": rule, "accuracy": accuracy,
                           "seed": result["seed"], "n_validation": result["n_validation"]})
    scores.sort(key=lambda r: (order.index(((r["noise_in"], r["noise_out"]), r["starts"],
                                            r["rule"])), r["seed"]))
    return {"dataset": unit.dataset, "selection": unit.selection, "system": "mic",
            "chosen_on": "validation", "choice_seeds": list(protocol.choice_seeds),
            "rule": "highest mean validation accuracy over the choice seeds; ties: less "
                    "noise, uniform start, plain rule",
            "chosen": choose(scores), "scores": scores,
            "validation": {"seed": VALIDATION_SEED, "fraction": VALIDATION_FRACTION,
                           "size": VALIDATION_SIZE.get(unit.dataset), "stratified": True,
                           "types_excluded": True}}


def _run_test_mic(unit: Unit, queue, protocol, cache) -> dict:
    from mic_core.persistence import load_or_train
    chosen = queue.load(unit.needs[0])["chosen"]
    dataset = _dataset(unit.dataset)
    noise = (chosen["noise_in"], chosen["noise_out"])
    X, y = held_out_samples(dataset, protocol)
    start = time.perf_counter()
    experts = load_or_train(dataset, _train_config(unit.dataset, unit.selection, unit.seed,
                                                   protocol, noise), cache)
    fit = time.perf_counter() - start
    predicted, uniform = chosen_mic_predictions(experts, X, dataset.standardiser, chosen,
                                                protocol.iterations)
    seconds = time.perf_counter() - start
    rows = [_row(protocol, dataset, unit.selection, unit.seed, "mic", y, predicted, seconds,
                 fit, noise, mean_error=None)]
    if uniform is not None:  # reported beside, never chosen on: what the corners add
        rows.append(_row(protocol, dataset, unit.selection, unit.seed, "mic_uniform_start", y,
                         uniform, seconds, fit, noise, mean_error=None))
    return {"rows": rows}


def _run_validate_lstm(unit: Unit, queue, protocol, cache) -> dict:
    import torch

    from mic_core.baselines import ForwardLSTMClassifier
    torch.set_num_threads(1)
    dataset = _dataset(unit.dataset)
    types = _types(dataset, unit.selection, unit.seed, protocol, cache)
    X_types, y_types = _flat_types(dataset, unit, protocol, cache)
    val = validation_indices(dataset, types, protocol.validation_limit)
    X_val, y_val = dataset.X_train[val], dataset.y_train[val]
    scores = []
    for lr in LSTM_LEARNING_RATES:
        model = ForwardLSTMClassifier(learning_rate=lr, seed=unit.seed, warm_start=True)
        done = 0
        for steps in LSTM_STEPS:  # checkpoints of one run
            model.set_params(steps=steps - done).fit(X_types, y_types)
            done = steps
            scores.append({"learning_rate": lr, "steps": steps, "seed": unit.seed,
                           "accuracy": float(np.mean(model.predict(X_val) == y_val))})
    return {"dataset": unit.dataset, "selection": unit.selection, "system": "forward_lstm",
            "chosen_on": "validation", "choice_seeds": [unit.seed],
            "n_validation": len(y_val), "chosen": choose(scores, ("learning_rate", "steps")),
            "rule": "highest validation accuracy; ties: smaller learning rate, fewer steps",
            "scores": scores}


def _run_test_lstm(unit: Unit, queue, protocol, cache) -> dict:
    import torch

    from mic_core.baselines import ForwardLSTMClassifier
    torch.set_num_threads(1)
    chosen = queue.load(unit.needs[0])["chosen"]
    dataset = _dataset(unit.dataset)
    X_types, y_types = _flat_types(dataset, unit, protocol, cache)
    X, y = held_out_samples(dataset, protocol)
    start = time.perf_counter()
    model = ForwardLSTMClassifier(learning_rate=chosen["learning_rate"],
                                  steps=chosen["steps"], seed=unit.seed).fit(X_types, y_types)
    fit = time.perf_counter() - start
    predicted = model.predict(X)
    return {"rows": [_row(protocol, dataset, unit.selection, unit.seed, "forward_lstm", y,
                          predicted, time.perf_counter() - start, fit)]}


_RUN = {"nn": _run_nn, "validate-mic": _run_validate_mic, "choice-mic": _run_choice_mic,
        "test-mic": _run_test_mic, "validate-lstm": _run_validate_lstm,
        "test-lstm": _run_test_lstm}


def run(out: Path, shared: Path | None = None, datasets=DATASETS, selections=SELECTIONS,
        seeds=SEEDS, protocol: ValidatedProtocol = ValidatedProtocol(),
        systems=("nn", "mic", "lstm"), committed: tuple | None = None) -> int:
    """One worker: run units of the plan until none is left (see ``work``). ``shared``:
    the folder the workers of one machine share (default: ``out`` itself, one worker).
    ``committed``: (results table, choices JSON) whose units count as done
    (``skip_committed``), so that a fresh machine carries on where the last one stopped."""
    shared = Path(shared or out)
    queue = Queue(shared, out)
    units = plan(datasets, selections, seeds, protocol, systems)
    if committed is not None:
        units = skip_committed(units, queue, protocol, *committed)
    return work(queue, units, protocol, shared / "cache")


def skip_committed(units: list, queue: Queue, protocol: ValidatedProtocol,
                   results: Path = RESULTS, choices: Path = CHOICES) -> list:
    """The units still to run when the committed results count: a committed choice of
    ``protocol`` is written into the queue's shared folder (its tests can start; its
    validation units are not run), and a test unit whose rows are all in the results
    table is left out."""
    from mic_core.experiments.store import read_results
    table = read_results(results)
    table = table[table["protocol"] == protocol.name]
    have = {(d, s, int(seed), m) for d, s, seed, m in
            table[["dataset", "selection", "seed", "method"]].itertuples(index=False)}
    chosen = {}
    for c in read_choices(choices, protocol.name):
        kind = "choice-mic" if c["system"] == "mic" else "validate-forward_lstm"
        chosen[f"{kind}-{protocol.name}-{c['dataset']}-{c['selection']}"] = {
            k: v for k, v in c.items() if k != "protocol"}
    methods = {"nn": ("nn_mse", "nn_dtw"), "test-mic": ("mic",),
               "test-lstm": ("forward_lstm",)}
    keep = []
    for unit in units:
        if unit.name in chosen:
            if not queue.done(unit.name):
                queue.save(unit.name, chosen[unit.name])
            continue
        if unit.kind == "validate-mic" and \
                f"choice-mic-{protocol.name}-{unit.dataset}-{unit.selection}" in chosen:
            continue
        if unit.kind in methods and all((unit.dataset, unit.selection, unit.seed, m) in have
                                        for m in methods[unit.kind]):
            continue
        keep.append(unit)
    return keep


def merge(outs, results: Path = RESULTS, choices: Path = CHOICES) -> dict:
    """Put every test row found in the output directories ``outs`` into the results table
    (through the store) and every choice into the JSON ``choices`` (each with the name of
    its protocol; the choices already there for other (protocol, setting, system) keys are
    kept, not overwritten); returns what it did. A unit found in several folders (a
    worker's copy and the shared folder's) counts once."""
    units = {}
    for out in outs:
        for path in sorted(Path(out).glob("*.json")):
            if path.name.startswith(("test-", "choice-", "validate-forward_lstm-")):
                units[path.name] = path
    rows, chosen = [], []
    for name, path in sorted(units.items()):
        unit = json.loads(path.read_text())
        if name.startswith("test-"):
            rows += unit["rows"]
        else:
            chosen.append({"protocol": choice_protocol(name, unit), **unit})
    if rows:
        append_results(rows, results)
    if chosen:
        choices = Path(choices)
        choices.parent.mkdir(parents=True, exist_ok=True)
        kept = {_choice_key(c): c for c in read_choices(choices, protocol=None)}
        count = len(chosen)
        chosen = list({**kept, **{_choice_key(c): c for c in chosen}}.values())
        chosen.sort(key=lambda c: (c["protocol"], c["dataset"], c["selection"], c["system"]))
        choices.write_text(json.dumps({"protocol": "validated", "choices": chosen}, indent=1))
        return {"rows": len(rows), "choices": count}
    return {"rows": len(rows), "choices": 0}


def _choice_key(choice: dict) -> tuple:
    return (choice.get("protocol", "validated"), choice["dataset"], choice["selection"],
            choice["system"])


def choice_protocol(file_name: str, unit: dict) -> str:
    """The protocol in the file name of a choice unit.

    >>> choice_protocol("choice-mic-validated-1a2b-mnist-random.json",
    ...                 {"dataset": "mnist", "selection": "random"})
    'validated-1a2b'
    """
    stem = file_name.removesuffix(".json")
    for prefix in ("choice-mic-", "validate-forward_lstm-"):
        stem = stem.removeprefix(prefix)
    return stem.removesuffix(f"-{unit['dataset']}-{unit['selection']}")


def read_choices(path: Path = CHOICES, protocol: str | None = "validated") -> list[dict]:
    """The committed choices of ``protocol`` (every protocol's if None; a choice without a
    protocol name is the ``validated`` protocol's); empty if there are none."""
    path = Path(path)
    if not path.exists():
        return []
    return [c for c in json.loads(path.read_text())["choices"]
            if protocol is None or c.get("protocol", "validated") == protocol]


def chosen_starts(dataset: str, selection: str, noise_in: float, noise_out: float,
                  rule: str, choices: list[dict] | None = None) -> dict:
    """The inversion's starts for experts of this setting decided by ``rule``, as chosen on
    validation (the app's default): among the committed validation scores of MIC for
    (``dataset``, ``selection``) at this noise setting and rule, the starts with the highest
    mean accuracy over the choice seeds (ties: the uniform start, as ``choose``); where this
    noise setting was not validated, the setting's own choice; "uniform" where nothing was.

    Returns ``{"starts", "basis"}`` and, when chosen from scores, each candidate's
    ``validation_accuracy`` (``{starts: accuracy}``) and ``n_validation``.

    >>> scores = [{"noise_in": 0.1, "noise_out": 0.0, "rule": "plain", "starts": s,
    ...            "accuracy": a, "seed": 42, "n_validation": 10}
    ...           for s, a in (("uniform", 0.8), ("uniform+corners", 0.9))]
    >>> choice = {"dataset": "mnist", "selection": "random", "system": "mic",
    ...           "chosen": {"starts": "uniform"}, "scores": scores}
    >>> chosen_starts("mnist", "random", 0.1, 0.0, "plain", [choice])["starts"]
    'uniform+corners'
    >>> chosen_starts("mnist", "random", 0.2, 0.0, "plain", [choice])["basis"]
    'the setting'
    """
    choices = read_choices() if choices is None else choices
    for choice in choices:
        if (choice.get("dataset"), choice.get("selection"), choice.get("system")) != \
                (dataset, selection, "mic"):
            continue
        scores = [s for s in choice.get("scores", [])
                  if np.isclose(s["noise_in"], noise_in) and np.isclose(s["noise_out"], noise_out)
                  and s["rule"] == rule and s["starts"] in STARTS]
        if not scores:
            return {"starts": choice["chosen"]["starts"], "basis": "the setting"}
        scores.sort(key=lambda s: STARTS.index(s["starts"]))  # ties: the uniform start
        best = choose(scores, keys=("starts",))
        accuracy = {s: float(np.mean([r["accuracy"] for r in scores if r["starts"] == s]))
                    for s in STARTS if any(r["starts"] == s for r in scores)}
        return {"starts": best["starts"], "basis": "these experts' noise setting",
                "validation_accuracy": accuracy,
                "n_validation": int(scores[0].get("n_validation", 0))}
    return {"starts": "uniform", "basis": "nothing validated"}


@lru_cache(maxsize=4)
def _held_out_labels(dataset: str) -> np.ndarray:
    return _dataset(dataset).y_test


def held_out_subset(dataset: str, n_test: int):
    """(indices into the data set's held-out samples, their true classes) of the seeded
    subset of ``n_test`` that every protocol of the grid uses (``seeded_subset``, seed 0;
    all of them in order when ``n_test`` is their number), or None for an unknown data set
    or a size larger than the held-out set."""
    if dataset not in DATASETS:
        return None
    y = _held_out_labels(dataset)
    if n_test > len(y):
        return None
    chosen = seeded_subset(len(y), n_test, seed=0)
    return chosen, y[chosen]


def report_parts(table, results: Path = RESULTS, test_subset=held_out_subset,
                 n_resamples: int = 10_000):
    """(``reports.paired_settings``, ``reports.league_table``) for the results table
    ``table`` read from ``results``: its per-sample predictions and the choices committed
    beside it (``<results folder>/validated/choices.json``)."""
    from mic_core import reports
    from mic_core.experiments.store import read_predictions
    predictions = read_predictions(results)
    choices = read_choices(Path(results).parent / "validated" / "choices.json", None)
    settings = reports.paired_settings(table, predictions, test_subset, choices, n_resamples,
                                       {d: p.name for d, p in FULL_TEST.items()})
    league = reports.league_table(table, predictions, test_subset)
    return settings, league


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mic_core.experiments.validated",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = add_work_parser(commands)
    p.add_argument("--dataset", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument("--selection", nargs="+", choices=SELECTIONS, default=list(SELECTIONS))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--systems", nargs="+", choices=("nn", "mic", "lstm"),
                   default=["nn", "mic", "lstm"])
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--train-steps", type=int, default=None)
    p.add_argument("--validation-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--choice-seeds", nargs="+", type=int, default=[42])
    p.add_argument("--skip-committed", action="store_true",
                   help="count the committed choices (results/validated/choices.json) and "
                        "test rows (results/experiments.csv) as done")
    p = commands.add_parser("merge", help="test rows into the results table, choices to JSON")
    p.add_argument("outs", nargs="+", type=Path)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--choices", type=Path, default=CHOICES)
    args = parser.parse_args(argv)
    if args.command == "merge":
        print(json.dumps(merge(args.outs, args.results, args.choices)))
        return
    import numba
    import torch
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    protocol = ValidatedProtocol(iterations=args.iterations, train_steps=args.train_steps,
                                 validation_limit=args.validation_limit,
                                 test_limit=args.test_limit,
                                 choice_seeds=tuple(args.choice_seeds))
    ran = run(args.out, args.shared, args.dataset, args.selection, args.seeds, protocol,
              tuple(args.systems), (RESULTS, CHOICES) if args.skip_committed else None)
    _log(f"worker {os.getpid()} done: {ran} units")


if __name__ == "__main__":
    main()
