"""Speed and accuracy benchmark of the engine; ``python -m mic_core bench [--quick]``.

Prints one JSON object. Every figure is measured in this run on this machine (``cpu``: the
processor numba compiles for, e.g. znver4 with AVX-512; ``blas_kernel``: OpenBLAS's choice):
- single_ms: median latency of one character target in all 20 experts, 50 iterations, full
  record (what the app asks for); reference_single_ms: the same work done the original way
  (``benchmarks/reference.py``), and single_speedup, their ratio;
- chars_throughput / mnist_throughput: targets per second, batched, final results only;
  reference_chars_throughput: the original way;
- train_seconds / train_type_mse: training all 20 character experts with the default
  configuration (type selection timed apart, as type_selection_seconds);
- clean_accuracy / drawing_accuracy / drawing_trimmed_accuracy: the shipped default
  character experts on the held-out test set, on those samples rendered as canvas drawings,
  and on drawings without lead-in and lead-out strokes; with the free-ends decision rule
  (the default), and with the plain rule (``*_plain``).
"""
from __future__ import annotations

import os
import platform
import statistics
import time

import numpy as np
import torch

from mic_core.classify import FREE_ENDS, PLAIN
from mic_core.data import DataConfig, load_dataset
from mic_core.evaluation import drawn_test_set, evaluate, seeded_subset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config, train_on_types, type_errors
from mic_core.type_selection import select_types
from benchmarks.reference import reference_invert


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _throughput(fn, n_targets: int) -> float:
    start = time.perf_counter()
    fn()
    return n_targets / (time.perf_counter() - start)


def _processor() -> dict:
    """What the figures depend on: the processor numba compiles for (its SIMD width) and the
    kernel OpenBLAS chose for the inversion's matrix products."""
    import llvmlite.binding
    import scipy.linalg.cython_blas  # noqa: F401  the BLAS that numba calls
    import threadpoolctl
    blas = {info.get("architecture") for info in threadpoolctl.threadpool_info()
            if info.get("internal_api") == "openblas"}
    return {"cpu": llvmlite.binding.get_host_cpu_name(),
            "blas_kernel": ", ".join(sorted(b for b in blas if b))}


def run_bench(quick: bool = False, log=print) -> dict:
    sizes = {"single_repeats": 5 if quick else 21, "reference_targets": 1 if quick else 3,
             "batch": 256 if quick else 512, "mnist_batch": 256 if quick else 2048,
             "accuracy_limit": 200 if quick else None,
             "train_steps": 1500 if quick else default_train_config("characters").steps}
    result = {"quick": quick, "sizes": sizes, "machine": platform.machine(),
              "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
              **_processor()}
    chars = load_dataset(DataConfig(dataset="characters"))
    experts = load_or_train(chars, default_train_config("characters"))
    config = InversionConfig()

    log("warming up the compiled kernels")
    invert(experts, chars.X_test[:2], config)

    log("single target latency")
    one = chars.X_test[:1]
    result["single_ms"] = _median_ms(lambda: invert(experts, one, config, record="full"),
                                     sizes["single_repeats"])
    targets = chars.X_test[: sizes["reference_targets"]]
    result["reference_single_ms"] = _median_ms(
        lambda: reference_invert(experts, one, config), sizes["reference_targets"])
    result["single_speedup"] = result["reference_single_ms"] / result["single_ms"]

    log("batched throughput")
    batch = chars.X_test[np.arange(sizes["batch"]) % len(chars.X_test)]
    result["chars_throughput"] = _throughput(
        lambda: invert(experts, batch, config, record="final"), len(batch))
    result["reference_chars_throughput"] = _throughput(
        lambda: reference_invert(experts, targets, config), len(targets))
    mnist = load_dataset(DataConfig(dataset="mnist"))
    mnist_experts = load_or_train(mnist, default_train_config("mnist"))
    invert(mnist_experts, mnist.X_test[:2], config)
    mnist_batch = mnist.X_test[: sizes["mnist_batch"]]
    result["mnist_throughput"] = _throughput(
        lambda: invert(mnist_experts, mnist_batch, config, record="final"), len(mnist_batch))

    log(f"training 20 character experts for {sizes['train_steps']} steps")
    train = default_train_config("characters", steps=sizes["train_steps"])
    start = time.perf_counter()
    types = select_types(chars.X_train, chars.y_train, len(chars.class_names), train.selection,
                         train.seed, metric=train.cluster_metric)
    result["type_selection_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    trained = train_on_types(types, chars.class_names, train)
    result["train_seconds"] = time.perf_counter() - start
    result["train_steps"] = train.steps
    result["train_type_mse"] = float(type_errors(trained).max())
    result["train_type_mse_mean"] = float(type_errors(trained).mean())

    log("accuracy of the default character experts: clean, drawn, drawn without connections")
    chosen = seeded_subset(len(chars.X_test), sizes["accuracy_limit"], seed=0)
    y = chars.y_test[chosen]
    result["n_test"] = len(chosen)
    test_sets = {"clean": chars.X_test[chosen],
                 "drawing": drawn_test_set(chars, seed=0, indices=chosen),
                 "drawing_trimmed": drawn_test_set(chars, seed=0, trim_connections=True,
                                                   indices=chosen)}
    for name, X in test_sets.items():
        for suffix, rule in (("", FREE_ENDS), ("_plain", PLAIN)):
            result[f"{name}_accuracy{suffix}"] = evaluate(experts, X, y, config,
                                                          chars.standardiser, rule).accuracy
    return result
