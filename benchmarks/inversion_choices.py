"""Which inversion? Several starts and the exponentiated step, chosen on VALIDATION (issue 15).

For the shipped letter experts (``default_train_config("characters")``), a validation split
is carved from the letters' training pool (stratified by class, seeded; any pool sample that
is one of the experts' types is left out: the experts learnt those). On it every candidate
inversion is scored: accuracy by the paper's plain rule and by the free-ends rule (the app's
letters rule), and ms per single classification (one target, full record, free ends: what
the Compete page does), all in the same run so the times compare as ratios. Also the mean
error of each expert inverted on its own types (the one-hot corner's error beside it).

The candidate with the best free-ends validation accuracy (ties: plain accuracy, then speed)
is chosen; only then is the held-out test set touched, ONCE, for the chosen candidate and for
today's setting (uniform start, Adam-like step). Writes one JSON object:

    nice python -m benchmarks.inversion_choices [--out results/inversion_choices.json]

``--timing-only`` touches no data set for accuracy: it times one target's inversion alone
(what ``python -m mic_core bench`` calls ``single_ms``: ``invert``, full record, no decision),
today's setting and the named ones interleaved repeat by repeat so that the machine's load
falls on both alike, and writes results/inversion_choices_timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mic_core.classify import FREE_ENDS, PLAIN, classify
from mic_core.data import load_dataset, stratified_split
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config

VALIDATION_FRACTION = 0.25
VALIDATION_SEED = 15  # the number; the held-out split uses split_seed 0
EXPONENTIATED_STEPS = (0.1, 0.3, 1.0)


def candidates() -> dict[str, InversionConfig]:
    """Today's inversion first, then the new options."""
    found = {"uniform/adam (today)": InversionConfig(),
             "uniform+corners/adam": InversionConfig(starts="uniform+corners")}
    for eta in EXPONENTIATED_STEPS:
        found[f"uniform/exponentiated eta={eta}"] = InversionConfig(
            optimiser="exponentiated", step_size=eta)
    return found


def validation_split(dataset, experts) -> np.ndarray:
    """Indices into the training pool: a seeded, stratified ``VALIDATION_FRACTION`` of the
    pool samples that are not one of the experts' types."""
    types = experts.types.reshape(-1, *experts.types.shape[2:])
    is_type = np.array([np.any(np.all(np.isclose(types, x, atol=1e-6), axis=(1, 2)))
                        for x in dataset.X_train])
    candidates_ = np.flatnonzero(~is_type)
    _, chosen = stratified_split(dataset.y_train[candidates_], VALIDATION_FRACTION,
                                 VALIDATION_SEED)
    return candidates_[chosen]


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def score(experts, X, y, config, standardiser) -> dict:
    start = time.perf_counter()
    record = classify(experts, X, config, PLAIN, standardiser, record="final", batch_size=256)
    seconds = time.perf_counter() - start
    free = record.with_rule(FREE_ENDS)
    result = {"accuracy_plain": float(np.mean(record.winners == y)),
              "accuracy_free_ends": float(np.mean(free.winners == y)),
              "n": int(len(y)), "bulk_seconds": seconds}
    if record.inversion.start_index is not None:
        won = record.inversion.start_index[np.arange(len(y)), y]
        result["own_expert_won_from_uniform"] = float(np.mean(won == 0))
    return result


def own_type_errors(experts, config) -> dict:
    """Mean error of every expert inverted on its own types, and its one-hot corner error."""
    E, K = experts.n_experts, experts.config.n_types
    targets = experts.types.reshape(E * K, *experts.types.shape[2:])
    own = np.repeat(np.arange(E), K)
    record = invert(experts, targets, config, record="final")
    corner = ((experts.generate_types().reshape(E * K, *targets.shape[1:]) - targets) ** 2
              ).mean(axis=(1, 2))
    reached = record.final_errors[np.arange(E * K), own]
    return {"mean_own_type_error": float(reached.mean()),
            "max_own_type_error": float(reached.max()),
            "mean_one_hot_error": float(corner.mean())}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    return {"cpu": model, "avx2": " avx2" in flags, "avx512f": " avx512f" in flags,
            "cpus": os.cpu_count(), "platform": platform.platform(),
            "note": "shared 2-core machine, heavily loaded by other agents while this ran: "
                    "compare times as ratios to today's setting from the same run"}


def timing(names, repeats: int) -> dict:
    """Median ms of one target's inversion (bench's ``single_ms``) per candidate, interleaved."""
    data = load_dataset("characters")
    experts = load_or_train(data, default_train_config("characters"))
    configs = candidates()
    configs["uniform+corners/exponentiated eta=1.0"] = InversionConfig(
        starts="uniform+corners", optimiser="exponentiated", step_size=1.0)
    names = ["uniform/adam (today)", *[n for n in names if n != "uniform/adam (today)"]]
    one = data.X_test[:1]  # timing only: the decision is never read
    invert(experts, one, InversionConfig(iterations=2))  # compile the kernels
    times = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            start = time.perf_counter()
            invert(experts, one, configs[name], record="full")
            times[name].append((time.perf_counter() - start) * 1000)
    today = statistics.median(times["uniform/adam (today)"])
    return {"what": "median ms of invert(experts, one target, record='full'), the bench's "
                    "single_ms; candidates interleaved repeat by repeat",
            "repeats": repeats, "machine": machine(),
            "single_ms": {n: statistics.median(t) for n, t in times.items()},
            "ratio_to_today": {n: statistics.median(t) / today for n, t in times.items()}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/inversion_choices.json"))
    parser.add_argument("--repeats", type=int, default=7, help="single-classification timings")
    parser.add_argument("--skip-test", action="store_true",
                        help="validation only; the test set is not touched")
    parser.add_argument("--timing-only", nargs="*", metavar="CANDIDATE", default=None,
                        help="only time one target's inversion of these candidates")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    if args.timing_only is not None:
        result = timing(args.timing_only, max(args.repeats, 3))
        out = args.out.with_name(args.out.stem + "_timing.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        print(json.dumps(result["ratio_to_today"]))
        return result

    data = load_dataset("characters")
    train = default_train_config("characters")
    experts = load_or_train(data, train)
    val = validation_split(data, experts)
    X_val, y_val = data.X_train[val], data.y_train[val]
    result = {"experts": {"dataset": "characters", **asdict(train)},
              "validation": {"from": "the letters' training pool (714), types excluded",
                             "fraction": VALIDATION_FRACTION, "seed": VALIDATION_SEED,
                             "stratified": True, "n": int(len(val))},
              "machine": machine(), "candidates": {}}
    configs = candidates()
    classify(experts, X_val[:2], InversionConfig(iterations=2), PLAIN)  # compile kernels

    def measure(name, config):
        row = {"config": asdict(config)}
        row["validation"] = score(experts, X_val, y_val, config, data.standardiser)
        row["own_types"] = own_type_errors(experts, config)
        one = data.X_train[val[:1]]
        row["single_ms"] = _median_ms(
            lambda: classify(experts, one, config, FREE_ENDS, data.standardiser),
            args.repeats)
        result["candidates"][name] = row
        print(name, json.dumps(row["validation"]), row["own_types"], round(row["single_ms"], 1),
              flush=True)

    for name, config in configs.items():
        measure(name, config)
    # corners with the exponentiated step, at the step size validation prefers
    eg = max((n for n in result["candidates"] if "exponentiated" in n),
             key=lambda n: result["candidates"][n]["validation"]["accuracy_free_ends"])
    eta = result["candidates"][eg]["config"]["step_size"]
    configs[f"uniform+corners/exponentiated eta={eta}"] = config = InversionConfig(
        starts="uniform+corners", optimiser="exponentiated", step_size=eta)
    measure(f"uniform+corners/exponentiated eta={eta}", config)

    today = result["candidates"]["uniform/adam (today)"]["single_ms"]
    for row in result["candidates"].values():
        row["single_ms_ratio_to_today"] = row["single_ms"] / today

    def rank(name):
        v = result["candidates"][name]["validation"]
        return (v["accuracy_free_ends"], v["accuracy_plain"],
                -result["candidates"][name]["single_ms"])
    chosen = max(result["candidates"], key=rank)
    result["chosen"] = {"name": chosen, "chosen_on": "validation",
                        "rule": "highest free-ends validation accuracy; ties: plain "
                                "accuracy, then the faster"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    if not args.skip_test:
        # the held-out test set, touched once: the chosen setting and today's
        test = {}
        for name in dict.fromkeys([chosen, "uniform/adam (today)"]):
            test[name] = score(experts, data.X_test, data.y_test, configs[name],
                               data.standardiser)
            print("TEST", name, json.dumps(test[name]), flush=True)
        result["test"] = {"touched": "once, after the choice, for the chosen setting and "
                                     "today's only", "n": int(len(data.y_test)),
                          "results": test}
        args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["chosen"]))
    return result


if __name__ == "__main__":
    main()
