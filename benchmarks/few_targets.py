"""Inversion cost for few targets (one drawing, a classroom's handful), both kernel layouts.

For N = 1 .. 32 targets in the shipped letter experts (20) and digit experts (10): CPU
seconds of ONE numba thread per kernel call (error, gradient and reconstructions of every
(target, expert) pair, i.e. one inversion iteration's kernel), in the targets layout (SIMD
over targets of one expert) and in the pairs layout (SIMD over (target, expert) pairs), and
which one ``kernels.choose_layout`` picks; then the whole ``invert`` of one letter (20
experts, 50 iterations, full record: the bench's ``single_ms``) in CPU seconds of one thread
and in wall milliseconds with the engine's threads. CPU time of one thread is what other
work on a shared machine does not move. Prints one JSON object::

    python -m benchmarks.few_targets [--repeats 7] [--sizes 1 2 4 8 16 32]
"""
import argparse
import json
import statistics
import time

import numba
import numpy as np

from mic_core import kernels
from mic_core.bench import _processor
from mic_core.data import load_dataset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config


def _cpu_seconds(fn, repeats: int) -> float:
    """Median CPU seconds of ``fn`` over ``repeats`` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _kernel_call(experts, targets, layout):
    N, E, K = len(targets), experts.n_experts, experts.config.n_types
    T, D = experts.n_steps, experts.config.output_size
    inputs = np.full((N, E, K), 1.0 / K, dtype=np.float32)
    recon = np.empty((N, E, T, D), np.float32)
    errors = np.empty((N, E), np.float32)
    dv = np.empty((N, E, K), np.float32)
    weights = experts.kernel_weights(np.float32)
    return lambda: kernels.error_and_input_grad(*weights, inputs, targets, recon, errors, dv,
                                                layout=layout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 3, 4, 6, 8, 12, 16, 24, 32])
    args = parser.parse_args()
    threads = numba.get_num_threads()
    result = {**_processor(), "engine_threads": threads, "repeats": args.repeats,
              "pairs_below": kernels.PAIRS_BELOW, "pair_lanes": kernels.PAIR_LANES,
              "kernel_call_cpu_us_per_target": {}}
    numba.set_num_threads(1)
    for name, dataset in (("chars", "characters"), ("mnist", "mnist")):
        data = load_dataset(dataset)
        experts = load_or_train(data, default_train_config(dataset))
        rows = []
        for n in args.sizes:
            targets = np.ascontiguousarray(data.X_test[:n], dtype=np.float32)
            row = {"targets": n, "chosen": kernels.choose_layout(n, experts.n_experts)}
            for layout in ("targets", "pairs"):
                seconds = _cpu_seconds(_kernel_call(experts, targets, layout), args.repeats)
                row[layout] = seconds / n * 1e6
            rows.append(row)
        result["kernel_call_cpu_us_per_target"][name] = rows
        if name == "chars":
            one = data.X_test[:1]
            config = InversionConfig()
            result["single_cpu_ms_1_thread"] = 1000 * _cpu_seconds(
                lambda: invert(experts, one, config, record="full"), args.repeats)
            numba.set_num_threads(threads)
            wall = []
            for _ in range(3 * args.repeats):
                start = time.perf_counter()
                invert(experts, one, config, record="full")
                wall.append(time.perf_counter() - start)
            result["single_ms"] = 1000 * statistics.median(wall)
            numba.set_num_threads(1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
