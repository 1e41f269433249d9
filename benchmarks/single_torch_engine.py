"""The single generator's torch engine (``mic_core.single.torch_engine``) against the numba
kernels at the grid's real sizes, printing JSON (and writing it with ``--out``):

  python -m benchmarks.single_torch_engine --device cpu --steps 3
  python -m benchmarks.single_torch_engine --device cuda --steps 50 --processes 1 4 8

For the four families of the grid (letters / MNIST x class / type code, 200 cells; random
weights, the real batch, code size, steps and outputs): the seconds of one training step
(the batch's loss and gradients, then numpy's clipping and Adam, as
``train_single_generator`` does them) with the numba kernels (``--numba-steps``, one
thread) and with torch on ``--device``; the largest relative difference of the two
engines' gradients; one inversion iteration over the whole held-out set (letters 715,
MNIST 2000 targets; ``code_error_and_grad``) with torch, and with numba on 128 targets. From
these, an estimate of one grid unit (training + 51 inversion iterations) per engine.
``--processes P``: P processes each time the letters type-code step at once (sharing the
device), the aggregate steps per second for every P — how parts of a batch share one GPU.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FAMILIES = {  # name: (dataset, C, K, T, D, code_size, training steps, test targets)
    "letters/class": ("characters", 20, 4, 100, 2, 20, 1000, 715),
    "letters/type": ("characters", 20, 4, 100, 2, 80, 1000, 715),
    "mnist/class": ("mnist", 10, 4, 28, 28, 10, 2000, 2000),
    "mnist/type": ("mnist", 10, 4, 28, 28, 40, 1000, 2000),
}
HIDDEN = 200
ITERATIONS = 51  # the inversion's 50 steps: 51 error evaluations


def _problem(family: str, seed: int = 0):
    from mic_core.expert import ExpertConfig
    from mic_core.training import _init_weights
    _, C, K, T, D, Q, _, _ = FAMILIES[family]
    rng = np.random.RandomState(seed)
    params = _init_weights(ExpertConfig(n_types=Q, hidden_size=HIDDEN, output_size=D), 1, rng)
    codes = np.repeat(np.eye(Q, dtype=np.float32), C * K // Q, axis=0)
    inputs = np.clip(codes + 0.1 * rng.randn(*codes.shape), 0, 1).astype(np.float32)
    targets = (0.5 * rng.randn(C * K, T, D)).astype(np.float32)
    return params, inputs, targets


def _step_seconds(gradients, params, inputs, targets, steps: int) -> float:
    """Seconds per training step: gradients, then the numpy clip and Adam of training."""
    from mic_core.training import _adam, _clip_per_expert
    params = [p.copy() for p in params]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    grads = [np.empty_like(p) for p in params]
    gradients(params, inputs, targets, grads)  # warm-up (compilation, cuDNN plans)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        gradients(params, inputs, targets, grads)
        _clip_per_expert(grads, 1.0)
        _adam(params, grads, moments, step, 0.01)
    return (time.perf_counter() - start) / steps


def _generator(family: str, params):
    from mic_core.single.generator import SingleGenerator
    dataset, C, K, T, D, Q, _, _ = FAMILIES[family]
    w_ih, w_hh_t, bias, w_out, b_out = (p[0] for p in params)
    names = tuple(f"c{i}" for i in range(C))
    return SingleGenerator(code="class" if Q == C else "type", class_names=names, w_ih=w_ih,
                           w_hh=np.ascontiguousarray(w_hh_t.T), bias=bias, w_out=w_out,
                           b_out=b_out, types=np.zeros((C, K, T, D), dtype=np.float32))


def family_timings(family: str, device: str, steps: int, numba_steps: int) -> dict:
    from mic_core.single.generator import _batch_loss_and_grads, _chunks
    from mic_core.single.inversion import code_error_and_grad
    from mic_core.single.torch_engine import TrainingGradients
    _, C, K, T, D, Q, train_steps, n_test = FAMILIES[family]
    params, inputs, targets = _problem(family)
    P = _chunks(C * K)
    engine = TrainingGradients(Q, HIDDEN, D, device)
    out = {"family": family, "batch": C * K, "code_size": Q, "hidden": HIDDEN, "steps_T": T,
           "outputs": D, "training_steps": train_steps, "test_targets": n_test}
    # the two engines' gradients at the same weights
    want = [np.empty_like(p) for p in params]
    got = [np.empty_like(p) for p in params]
    want_loss = _batch_loss_and_grads(params, inputs, targets, want, P)
    loss = engine(params, inputs, targets, got)
    out["loss_relative_difference"] = abs(loss - want_loss) / abs(want_loss)
    out["gradient_max_relative_difference"] = max(
        float(np.abs(g - w).max() / np.abs(w).max()) for g, w in zip(got, want))
    out["torch_step_s"] = _step_seconds(engine, params, inputs, targets, steps)
    if numba_steps:
        out["numba_step_s"] = _step_seconds(
            lambda p, i, t, g: _batch_loss_and_grads(p, i, t, g, P), params, inputs, targets,
            numba_steps)
    # one inversion iteration over the whole test set
    generator = _generator(family, params)
    rng = np.random.RandomState(1)
    codes = (0.1 * rng.rand(n_test, Q)).astype(np.float32)
    test = (0.5 * rng.randn(n_test, T, D)).astype(np.float32)
    code_error_and_grad(generator, codes[:8], test[:8], device=device)  # warm-up
    start = time.perf_counter()
    _, errors, grad = code_error_and_grad(generator, codes, test, device=device)
    out["torch_inversion_iteration_s"] = time.perf_counter() - start
    if numba_steps:
        code_error_and_grad(generator, codes[:8], test[:8])  # compilation
        start = time.perf_counter()
        _, want_errors, want_grad = code_error_and_grad(generator, codes[:128], test[:128])
        out["numba_inversion_iteration_s"] = (time.perf_counter() - start) * n_test / 128
        out["inversion_gradient_max_relative_difference"] = float(
            np.abs(grad[:128] - want_grad).max() / np.abs(want_grad).max())
    for engine_name in ("torch", "numba"):
        if f"{engine_name}_step_s" in out:
            out[f"{engine_name}_unit_estimate_s"] = round(
                train_steps * out[f"{engine_name}_step_s"] +
                ITERATIONS * out[f"{engine_name}_inversion_iteration_s"], 1)
    return out


def _worker(device: str, seconds: float) -> None:
    """One process of ``--processes``: letters type-code steps for ``seconds``."""
    from mic_core.single.torch_engine import TrainingGradients
    from mic_core.training import _adam, _clip_per_expert
    params, inputs, targets = _problem("letters/type")
    engine = TrainingGradients(80, HIDDEN, 2, device)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    grads = [np.empty_like(p) for p in params]
    engine(params, inputs, targets, grads)
    print("ready", flush=True)
    sys.stdin.readline()  # all processes start timing together
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        steps += 1
        engine(params, inputs, targets, grads)
        _clip_per_expert(grads, 1.0)
        _adam(params, grads, moments, steps, 0.01)
    print(json.dumps({"steps": steps, "seconds": time.perf_counter() - start}), flush=True)


def shared_device(device: str, processes: int, seconds: float) -> dict:
    command = [sys.executable, "-m", "benchmarks.single_torch_engine", "--device", device,
               "--worker", str(seconds)]
    workers = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True) for _ in range(processes)]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    for w in workers:
        w.stdin.write("go\n")
        w.stdin.flush()
    done = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    total = sum(d["steps"] / d["seconds"] for d in done)
    return {"processes": processes, "letters_type_steps_per_s_total": round(total, 1),
            "per_process_step_s": round(processes / total, 4)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.single_torch_engine")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--steps", type=int, default=20, help="timed torch steps")
    parser.add_argument("--numba-steps", type=int, default=2, help="timed numba steps (0: none)")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--processes", type=int, nargs="*", default=[])
    parser.add_argument("--seconds", type=float, default=10.0, help="per --processes run")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import numba
    import torch
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    if args.worker is not None:
        return _worker(args.device, args.worker)
    from benchmarks.single_generator import machine
    from mic_core.single.torch_engine import check_device, engine_name
    check_device(args.device)
    report = {"command": "python -m benchmarks.single_torch_engine " + " ".join(
        argv if argv is not None else sys.argv[1:]), "machine": machine(),
        "engine": engine_name(args.device), "numba": numba.__version__, "threads": 1,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "families": []}
    for family in args.families:
        report["families"].append(family_timings(family, args.device, args.steps,
                                                 args.numba_steps))
        print(json.dumps(report["families"][-1]), file=sys.stderr, flush=True)
    report["shared_device"] = [shared_device(args.device, p, args.seconds)
                               for p in args.processes]
    text = json.dumps(report, indent=1)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
