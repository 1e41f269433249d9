"""Benchmarks of the single generator (issue 11), printing JSON and writing it to
``results/single/``:

  python -m benchmarks.single_generator add-class   # what adding a class costs each design
  python -m benchmarks.single_generator landscape --dataset characters   # irregularity

``add-class``: adding a class to MIC trains one new expert (its four types, the experts'
14000 steps); the single generator must be retrained as a whole on all C+1 classes. Both are
timed in this process, one numba thread, on this machine's processor (named in the JSON);
the generator's steps are timed over ``--probe-steps`` and scaled to its full budget (the
steps chosen on validation), for both codes and both capacities (cells, parameters).

``landscape``: over a seeded subset of held-out targets, the mean number of local minima on
the pair slice of the true class's expert and of the single generator, and how often steepest
descent from each inversion's start ends in the slice's lowest basin / the true class's basin.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "results" / "single"


def machine() -> dict:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = ""
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), platform.processor())
    flags = next((line for line in lscpu.splitlines() if line.startswith("Flags")), "")
    return {"cpu": model, "avx2": " avx2" in flags, "avx512f": " avx512f" in flags,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def add_class(dataset_name: str, probe_steps: int) -> dict:
    from mic_core.data import DataConfig, load_dataset
    from mic_core.persistence import load_or_select_types
    from mic_core.single.generator import default_single_config, train_single_generator
    from mic_core.training import default_train_config, train_on_types
    data = load_dataset(DataConfig(dataset=dataset_name))
    experts_config = default_train_config(dataset_name)
    types = load_or_select_types(data, experts_config)
    result = {"dataset": dataset_name, "machine": machine(), "threads": 1}
    # MIC: one new expert on its four types (the last class stands for the new one)
    start = time.perf_counter()
    train_on_types(types[-1:], data.class_names[-1:], experts_config)
    result["mic_one_expert_seconds"] = time.perf_counter() - start
    result["mic_steps"] = experts_config.steps
    # the single generator: all classes again, timed over probe_steps and scaled to the
    # validated steps of each family (after a two-step warm-up: numba compiles once)
    for capacity in ("cells", "parameters"):
        for code in ("class", "type"):
            config = default_single_config(dataset_name, code, capacity)
            train_single_generator(types, data.class_names, replace(config, steps=2))
            probe = replace(config, steps=probe_steps)
            start = time.perf_counter()
            train_single_generator(types, data.class_names, probe)
            per_step = (time.perf_counter() - start) / probe_steps
            name = f"single_{code}" + ("_params" if capacity == "parameters" else "")
            result[f"{name}_hidden_size"] = config.hidden_size
            result[f"{name}_seconds_per_step"] = per_step
            result[f"{name}_retrain_seconds"] = per_step * config.steps
            result[f"{name}_steps"] = config.steps
            result[f"{name}_ratio_to_one_expert"] = \
                per_step * config.steps / result["mic_one_expert_seconds"]
    result["probe_steps"] = probe_steps
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def landscape(dataset_name: str, n_targets: int, resolution: int, codes,
              slices=("pair", "triangle")) -> dict:
    from mic_core.data import DataConfig, load_dataset
    from mic_core.evaluation import seeded_subset
    from mic_core.persistence import load_or_train
    from mic_core.single.generator import default_single_config, load_or_train_generator
    from mic_core.single.landscape import irregularity
    from mic_core.training import default_train_config
    data = load_dataset(DataConfig(dataset=dataset_name))
    experts = load_or_train(data, default_train_config(dataset_name))
    chosen = seeded_subset(len(data.X_test), n_targets, seed=0)
    X, y = data.X_test[chosen], data.y_test[chosen]
    table = []
    for code in codes:
        config = default_single_config(dataset_name, code)
        generator = load_or_train_generator(data, config, allow_training=False)
        for kind in slices:
            start = time.perf_counter()
            summary = irregularity(experts, generator, X, y, kind, resolution)
            table.append({"code": code, "hidden_size": config.hidden_size, **summary,
                          "seconds": round(time.perf_counter() - start, 1)})
    note = (f"{len(X)} held-out targets (seeded subset, seed 0); slices through the true "
            f"class's expert (spanned by its types that reconstruct the target best) and "
            f"through the generator (the true class's corner and its closest rivals by corner "
            f"error), {resolution}x{resolution} grid; local minima at least 5% of the slice's "
            f"error range deep; shipped configuration (clustered types, seed 42, input noise "
            f"0.1); python -m benchmarks.single_generator landscape --dataset {dataset_name} "
            f"--codes {' '.join(codes)} --slices {' '.join(slices)} --targets {n_targets} "
            f"--resolution {resolution}")
    return {"dataset": dataset_name, "note": note, "table": table, "machine": machine()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.single_generator")
    parser.add_argument("what", choices=("add-class", "landscape"))
    parser.add_argument("--dataset", default="characters", choices=("characters", "mnist"))
    parser.add_argument("--probe-steps", type=int, default=20)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--resolution", type=int, default=21)
    parser.add_argument("--codes", nargs="+", default=["class", "type"])
    parser.add_argument("--slices", nargs="+", default=["pair", "triangle"])
    args = parser.parse_args(argv)
    import numba
    numba.set_num_threads(1)
    if args.what == "add-class":
        result = add_class(args.dataset, args.probe_steps)
        path = OUT / f"add-class-{args.dataset}.json"
    else:
        result = landscape(args.dataset, args.targets, args.resolution, args.codes,
                           args.slices)
        suffix = "" if sorted(args.codes) == ["class", "type"] else "-" + "-".join(args.codes)
        path = OUT / f"landscape-{args.dataset}{suffix}.json"
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
