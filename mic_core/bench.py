"""Speed and accuracy benchmark of the engine; ``python -m mic_core bench [--quick] [--json]``.

Prints one JSON object. Every figure is measured in this run, in this process, on this machine
(``cpu``: the processor numba compiles for, e.g. znver4; ``cpu_model`` and ``cpu_simd``: what
the kernel reports, e.g. AMD EPYC with AVX-512; ``blas_kernel``: OpenBLAS's choice):

- single_ms: median latency of one character target in all 20 experts, 50 iterations, full
  record (what the app asks for); reference_single_ms: the same work done the original way
  (``torch_peers.reference_invert``, one Python loop per expert), and single_speedup, their
  ratio;
- chars_throughput / mnist_throughput: targets per second, batched, final results only, on
  ``sizes.batch`` held-out characters / ``sizes.mnist_batch`` MNIST test images;
  torch_chars_throughput / torch_mnist_throughput: the same targets through the peer a
  PyTorch user writes (``torch_peers.batched_torch_invert``: per expert all targets in one
  ``torch.nn.LSTM`` batch, autograd on the input vectors, ``torch.set_num_threads`` equal to
  the engine's threads); chars_speedup_vs_torch / mnist_speedup_vs_torch: engine / peer,
  each the median over ``sizes.repeats`` interleaved (engine, peer) pairs, with every pair's
  ratio in ``*_speedup_vs_torch_runs``; ``*_max_error_difference_vs_torch_float64``: the
  largest difference between the engine's and the peer's final errors in float64 on the
  first 4 targets (the proof that they compute the same thing); in float32, on all targets,
  the largest, median and 99th-percentile differences and how often the winners agree
  (50 normalised steps amplify float32 rounding on a few near-flat targets);
- sgemm_gflops: the machine's float32 matrix-multiply rate (numpy, ``sizes.sgemm_n`` square,
  the engine's threads, median of 5); engine_chars_gflops / engine_mnist_gflops: the engine's
  arithmetic rate from ``flops_per_classification``; *_fraction_of_peak: their ratio;
- train_seconds / train_type_mse: training all 20 character experts with the default
  configuration (type selection timed apart, as type_selection_seconds);
- inversion_options: the cost of the inversion's options (issue 15) as ratios to the plain
  inversion (one uniform start, the Adam-like step) measured in the same run, candidates
  interleaved repeat by repeat: ``single_ms`` one letter as the Compete page asks for it
  (full record, free ends) and ``batch_throughput`` (``sizes.options_batch`` letters, final
  results only, plain rule), for starts uniform | uniform+corners x optimiser adam |
  exponentiated (each at its default step size); ``*_ratio``: the option's time over the
  plain one's (throughput: the plain one's over the option's), and
  ``single_ms_within_100`` whether one letter stays within 100 ms with each option;
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

import numba
import numpy as np
import torch

from mic_core.classify import FREE_ENDS, PLAIN, classify
from mic_core.data import DataConfig, load_dataset
from mic_core.expert import ExpertConfig
from mic_core.evaluation import drawn_test_set, evaluate, seeded_subset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config, train_on_types, type_errors
from mic_core.type_selection import select_types
from mic_core.torch_peers import batched_torch_invert, reference_invert


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
    """What the figures depend on: the processor (its model and SIMD width, as the kernel
    reports them, and the name numba compiles for) and the kernel OpenBLAS chose."""
    import llvmlite.binding
    import scipy.linalg.cython_blas  # noqa: F401  the BLAS that numba calls
    import threadpoolctl
    blas = {info.get("architecture") for info in threadpoolctl.threadpool_info()
            if info.get("internal_api") == "openblas"}
    model, flags = platform.processor(), set()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else \
        "AVX" if "avx" in flags else "unknown"
    return {"cpu": llvmlite.binding.get_host_cpu_name(), "cpu_model": model, "cpu_simd": simd,
            "cpu_avx_flags": sorted(f for f in flags if f.startswith("avx")),
            "blas_kernel": ", ".join(sorted(b for b in blas if b))}


def flops_per_classification(config: ExpertConfig, n_steps: int, n_experts: int,
                             iterations: int) -> int:
    """Floating-point operations the inversion of ONE target does (the arithmetic that is
    needed, whoever computes it), with H hidden cells, G = 4H gates, K types, D outputs,
    T steps.

    Per expert and per evaluation of the error and its gradient (one iteration):

    - forward, gate pre-activations: step 0 reads the input vector, 2KG (multiply-add
      counted as 2); steps 1..T-1 the recurrent product, 2HG each; plus G bias additions
      per step;
    - forward, activations and cell: 4H nonlinearities (counted 1 each) and
      c = f c_prev + i g, tanh(c), h = o tanh(c): 5H per step;
    - read-out: 2HD + D per step; error and its gradient: 4D per step (difference, square,
      sum, scaled gradient);
    - backward through time: read-out transposed 2DH per step, plus H to add the gradient
      from the next step; cell and gate derivatives 16H per step (dc: 4, the four gate
      derivatives: 11, the gradient to the previous cell: 1); recurrent product
      transposed 2GH at steps 1..T-1 and the input gradient 2GK at step 0.

    Summed, per (expert, target, evaluation):
    forward 2KG + 2HG(T-1) + T(G + 9H + 2HD + 5D), backward 2GK + 2GH(T-1) + T(2DH + 17H).
    An inversion of I iterations evaluates I + 1 times (the last is the error of the final
    projected vector), in each of the E experts. The Adam-like step and the projection (a
    few dozen operations per expert and iteration) are left out. Characters (H 10, K 4,
    D 2, T 100, E 20, I 50): 198 040 per evaluation, 202 MFLOP per target; MNIST (H 20,
    D 28, T 28, E 10): 257 520 per evaluation, 131 MFLOP per target.

    >>> flops_per_classification(ExpertConfig(4, 10, 2), 100, 20, 50)
    202000800
    """
    H, K, D, T = config.hidden_size, config.n_types, config.output_size, n_steps
    G = 4 * H
    forward = 2 * K * G + (T - 1) * 2 * H * G + T * (G + 4 * H + 5 * H + 2 * H * D + D + 4 * D)
    backward = T * (2 * D * H + H + 16 * H) + (T - 1) * 2 * G * H + 2 * G * K
    return n_experts * (iterations + 1) * (forward + backward)


def sgemm_gflops(n: int, threads: int, repeats: int = 5) -> tuple[float, float]:
    """(median, best) GFLOP/s of a float32 (n, n) @ (n, n) product with numpy's BLAS
    limited to ``threads`` threads: the machine's practical float32 peak."""
    import threadpoolctl
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    rates = []
    with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
        np.matmul(a, b, out=out)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            rates.append(2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates), max(rates)


def _versus_torch(name: str, experts, targets, config: InversionConfig, repeats: int,
                  log) -> dict:
    """Engine and batched PyTorch peer on the same targets, interleaved ``repeats`` times:
    throughputs (median), the ratio of each adjacent pair and their median, and how far
    the two's final errors are apart."""
    engine, peer, ratios = [], [], []
    for r in range(repeats):
        log(f"{name}: engine and PyTorch peer on {len(targets)} targets ({r + 1}/{repeats})")
        start = time.perf_counter()
        record = invert(experts, targets, config, record="final")
        engine.append(len(targets) / (time.perf_counter() - start))
        start = time.perf_counter()
        torch_errors, _ = batched_torch_invert(experts, targets, config)
        peer.append(len(targets) / (time.perf_counter() - start))
        ratios.append(engine[-1] / peer[-1])
    difference = np.abs(record.final_errors - torch_errors)
    relative = difference / np.maximum(np.abs(torch_errors), 1e-12)
    # float32 inversions are chaotic on a few targets (50 normalised steps amplify rounding);
    # in float64 both must agree to rounding: the proof that they compute the same thing
    few = targets[:4]
    exact = invert(experts, few, config, record="final", dtype=np.float64).final_errors
    exact_torch, _ = batched_torch_invert(experts, few, config, dtype=torch.float64)
    return {f"{name}_throughput": statistics.median(engine),
            f"{name}_throughput_runs": engine,
            f"torch_{name}_throughput": statistics.median(peer),
            f"torch_{name}_throughput_runs": peer,
            f"{name}_speedup_vs_torch": statistics.median(ratios),
            f"{name}_speedup_vs_torch_runs": ratios,
            f"{name}_max_error_difference_vs_torch": float(difference.max()),
            f"{name}_median_relative_error_difference_vs_torch": float(np.median(relative)),
            f"{name}_p99_relative_error_difference_vs_torch": float(np.percentile(relative, 99)),
            f"{name}_max_error_difference_vs_torch_float64": float(
                np.abs(exact - exact_torch).max()),
            f"{name}_winners_agree_with_torch": float(
                np.mean(record.final_errors.argmin(axis=1) == torch_errors.argmin(axis=1)))}


INVERSION_OPTIONS = {name: InversionConfig.with_options(starts, optimiser) for name, starts,
                     optimiser in (("plain", "uniform", "adam"),
                                   ("corners", "uniform+corners", "adam"),
                                   ("exponentiated", "uniform", "exponentiated"),
                                   ("corners_exponentiated", "uniform+corners",
                                    "exponentiated"))}


def inversion_options_cost(experts, one: np.ndarray, batch: np.ndarray, standardiser,
                           repeats: int, batch_repeats: int, log=print,
                           rule=FREE_ENDS) -> dict:
    """The cost of each of ``INVERSION_OPTIONS`` against the plain inversion, measured here,
    candidates interleaved repeat by repeat (so that a change of the machine's load falls
    on all of them): one target ``one`` (1, T, D) classified as the Compete page asks
    (full record, ``rule``: free ends for letters) and ``batch`` (N, T, D) inverted for
    final results only. Ratios: the option's time over the plain one's."""
    names = list(INVERSION_OPTIONS)
    for config in INVERSION_OPTIONS.values():  # warm-up (compiled kernels, first calls)
        classify(experts, one, config, rule, standardiser, record="full")
    single = {name: [] for name in names}
    log(f"inversion options: one letter, {repeats} interleaved repeats")
    for _ in range(repeats):
        for name in names:
            start = time.perf_counter()
            classify(experts, one, INVERSION_OPTIONS[name], rule, standardiser,
                     record="full")
            single[name].append((time.perf_counter() - start) * 1000)
    throughput = {name: [] for name in names}
    for r in range(batch_repeats):
        log(f"inversion options: {len(batch)} letters ({r + 1}/{batch_repeats})")
        for name in names:
            start = time.perf_counter()
            invert(experts, batch, INVERSION_OPTIONS[name], record="final")
            throughput[name].append(len(batch) / (time.perf_counter() - start))
    single_ms = {name: statistics.median(v) for name, v in single.items()}
    batch_rate = {name: statistics.median(v) for name, v in throughput.items()}
    return {"configs": {name: {"starts": c.starts, "optimiser": c.optimiser,
                               "step_size": c.step_size}
                        for name, c in INVERSION_OPTIONS.items()},
            "single_ms": single_ms, "single_ms_runs": single,
            "single_ratio": {name: single_ms[name] / single_ms["plain"] for name in names},
            "single_ms_within_100": {name: single_ms[name] <= 100.0 for name in names},
            "batch_targets": len(batch), "batch_throughput": batch_rate,
            "batch_throughput_runs": throughput,
            "batch_ratio": {name: batch_rate["plain"] / batch_rate[name] for name in names}}


def run_bench(quick: bool = False, log=print, only: str | None = None) -> dict:
    """Every figure of the module docstring; ``only="options"``: the machine and
    ``inversion_options`` alone."""
    sizes = {"single_repeats": 5 if quick else 21, "reference_targets": 1 if quick else 3,
             "batch": 64 if quick else 512, "mnist_batch": 128 if quick else 2048,
             "repeats": 1 if quick else 3, "sgemm_n": 1024 if quick else 2048,
             "accuracy_limit": 200 if quick else None, "options_batch": 32 if quick else 256,
             "options_batch_repeats": 1 if quick else 3,
             "train_steps": 1500 if quick else default_train_config("characters").steps}
    threads = numba.get_num_threads()
    torch.set_num_threads(threads)  # the peer gets exactly the engine's threads
    result = {"quick": quick, "sizes": sizes, "machine": platform.machine(),
              "cpus": os.cpu_count(), "engine_threads": threads,
              "torch_threads": torch.get_num_threads(), **_processor()}
    chars = load_dataset(DataConfig(dataset="characters"))
    experts = load_or_train(chars, default_train_config("characters"))
    config = InversionConfig()

    log("warming up the compiled kernels")
    invert(experts, chars.X_test[:2], config)

    one = chars.X_test[:1]
    log("the cost of the inversion's options")
    result["inversion_options"] = inversion_options_cost(
        experts, one, chars.X_test[np.arange(sizes["options_batch"]) % len(chars.X_test)],
        chars.standardiser, sizes["single_repeats"], sizes["options_batch_repeats"], log)
    if only == "options":
        return result

    log("single target latency")
    result["single_ms"] = _median_ms(lambda: invert(experts, one, config, record="full"),
                                     sizes["single_repeats"])
    targets = chars.X_test[: sizes["reference_targets"]]
    result["reference_single_ms"] = _median_ms(
        lambda: reference_invert(experts, one, config), sizes["reference_targets"])
    result["single_speedup"] = result["reference_single_ms"] / result["single_ms"]
    result["reference_chars_throughput"] = _throughput(
        lambda: reference_invert(experts, targets, config), len(targets))

    log("batched throughput, against the batched PyTorch peer")
    batch = chars.X_test[np.arange(sizes["batch"]) % len(chars.X_test)]
    result.update(_versus_torch("chars", experts, batch, config, sizes["repeats"], log))
    mnist = load_dataset(DataConfig(dataset="mnist"))
    mnist_experts = load_or_train(mnist, default_train_config("mnist"))
    invert(mnist_experts, mnist.X_test[:2], config)
    mnist_batch = mnist.X_test[: sizes["mnist_batch"]]
    result.update(_versus_torch("mnist", mnist_experts, mnist_batch, config, sizes["repeats"],
                                log))

    log("the machine's float32 matrix-multiply rate, and the engine's")
    result["sgemm_gflops"], result["sgemm_gflops_best"] = sgemm_gflops(sizes["sgemm_n"],
                                                                       threads)
    for name, expert_set in (("chars", experts), ("mnist", mnist_experts)):
        flops = flops_per_classification(expert_set.config, expert_set.n_steps,
                                         expert_set.n_experts, config.iterations)
        result[f"{name}_flops_per_classification"] = flops
        result[f"engine_{name}_gflops"] = flops * result[f"{name}_throughput"] / 1e9
        result[f"{name}_fraction_of_peak"] = (result[f"engine_{name}_gflops"]
                                              / result["sgemm_gflops"])

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
