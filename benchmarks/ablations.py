"""Where does MIC fall short of the nearest neighbour, and what helps? (issue: experiments)

For one trained expert set and a seeded subset of held-out samples, measures the accuracy
(default decision rule, and the plain lowest final error) of variants of the inversion:
more iterations, other step sizes, restarts from each type's one-hot vector, and the
experts' own reconstructions of their types used as a nearest-neighbour set (how faithful
the experts are, apart from inversion). With ``--hidden`` it also trains experts with other
hidden sizes. Prints one JSON object; ``--out`` also writes it.

    python -m benchmarks.ablations --dataset characters --selection random --seed 42 \
        --noise-in 0.1 --limit 300 [--hidden 20] [--out results/ablations-....json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from mic_core.baselines import NearestNeighbourMSE
from mic_core.classify import decide, default_rule
from mic_core.data import DataConfig, load_dataset
from mic_core.evaluation import seeded_subset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_select_types, load_or_train
from mic_core.training import default_train_config


def _accuracies(record_errors, deciding, y) -> dict:
    return {"accuracy": float(np.mean(deciding.argmin(axis=1) == y)),
            "accuracy_plain": float(np.mean(record_errors.argmin(axis=1) == y))}


def _invert(experts, X, config, data, start=None):
    """(plain final errors, deciding errors by the data set's rule), each (n, E)."""
    record = invert(experts, X, config, start=start, record="final")
    decision = decide(record, default_rule(data.name), data)
    return decision.reconstruction_errors, decision.deciding_errors


def run(dataset_name, selection, seed, noise_in, noise_out, limit, hidden_sizes=(),
        cache_dir=None, log=lambda m: None) -> dict:
    data = load_dataset(DataConfig(dataset=dataset_name))
    chosen = seeded_subset(len(data.X_test), limit, seed=0)
    X, y = data.X_test[chosen], data.y_test[chosen]
    train = default_train_config(dataset_name, selection=selection, seed=seed,
                                 noise_in=noise_in, noise_out=noise_out)
    experts = load_or_train(data, train, cache_dir)
    E, K = experts.n_experts, experts.config.n_types
    out = {"dataset": dataset_name, "selection": selection, "seed": seed,
           "noise_in": noise_in, "noise_out": noise_out, "n_test": len(y), "variants": {}}

    def measure(name, errors, deciding, seconds):
        out["variants"][name] = {**_accuracies(errors, deciding, y),
                                 "mean_error": float(errors.min(axis=1).mean()),
                                 "seconds": round(seconds, 2)}
        log(f"{name}: {out['variants'][name]}")

    # the nearest neighbour on the types (the baseline to beat)
    types = load_or_select_types(data, train, cache_dir)
    nn = NearestNeighbourMSE().fit(types.reshape(E * K, *types.shape[2:]), np.repeat(np.arange(E), K))
    distances = nn.distances(X)
    per_expert = distances.reshape(len(X), E, K).min(axis=2)
    measure("nn_mse on the types", per_expert, per_expert, 0.0)

    # the same with each expert's own reconstructions of its types (one-hot inputs): how
    # faithful the experts are, before any inversion
    starts = [np.eye(K, dtype=np.float32)[k] for k in range(K)]
    t0 = time.perf_counter()
    vertex = [_invert(experts, X, InversionConfig(iterations=0), data, s)
              for s in starts]
    measure("nearest reconstructed type (one-hot inputs, 0 steps)",
            np.min([v[0] for v in vertex], axis=0), np.min([v[1] for v in vertex], axis=0),
            time.perf_counter() - t0)

    for iterations in (0, 50, 100, 200):
        t0 = time.perf_counter()
        errors, deciding = _invert(experts, X, InversionConfig(iterations=iterations),
                                   data)
        measure(f"iterations {iterations} (step 0.05)", errors, deciding,
                time.perf_counter() - t0)
    for step_size in (0.02, 0.1, 0.2):
        t0 = time.perf_counter()
        errors, deciding = _invert(experts, X, InversionConfig(step_size=step_size),
                                   data)
        measure(f"step size {step_size} (50 iterations)", errors, deciding,
                time.perf_counter() - t0)

    # restarts: from the uniform vector and from each type's one-hot vector, keep the
    # lowest deciding error per expert
    t0 = time.perf_counter()
    runs = [_invert(experts, X, InversionConfig(), data, s)
            for s in [None, *starts]]
    measure("5 restarts (uniform + 4 one-hot starts), 50 iterations",
            np.min([r[0] for r in runs], axis=0), np.min([r[1] for r in runs], axis=0),
            time.perf_counter() - t0)

    for hidden in hidden_sizes:
        t0 = time.perf_counter()
        bigger = load_or_train(data, replace(train, hidden_size=hidden), cache_dir,
                               log=log)
        trained = time.perf_counter() - t0
        errors, deciding = _invert(bigger, X, InversionConfig(), data)
        measure(f"hidden size {hidden} (50 iterations)", errors, deciding,
                time.perf_counter() - t0 - trained)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("characters", "mnist"), default="characters")
    parser.add_argument("--selection", choices=("clustered", "random"), default="clustered")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--noise-in", type=float, default=0.1)
    parser.add_argument("--noise-out", type=float, default=0.0)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--hidden", type=int, nargs="*", default=[])
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.dataset, args.selection, args.seed, args.noise_in, args.noise_out,
                 args.limit, args.hidden, args.cache_dir,
                 log=lambda m: print(m, file=sys.stderr, flush=True))
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
