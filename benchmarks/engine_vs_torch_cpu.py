"""Engine against the batched PyTorch peer in CPU time, one thread each.

On a shared machine wall-clock ratios move with the other work: a multi-threaded PyTorch
step that waits at a barrier for a descheduled thread loses far more than the engine, whose
threads each take whole (expert, block) items. CPU seconds of one thread are what each side
needs, whatever runs beside it. Prints one JSON object::

    python -m benchmarks.engine_vs_torch_cpu [--chars N] [--mnist N]
"""
import argparse
import json
import time

import numba
import numpy as np
import torch

from mic_core.bench import _processor
from mic_core.data import load_dataset
from mic_core.inversion import invert
from mic_core.persistence import load_or_train
from mic_core.torch_peers import batched_torch_invert
from mic_core.training import default_train_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=128)
    parser.add_argument("--mnist", type=int, default=256)
    args = parser.parse_args()
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    result = {"threads": 1, **_processor()}
    for name, dataset, n in (("chars", "characters", args.chars), ("mnist", "mnist", args.mnist)):
        data = load_dataset(dataset)
        experts = load_or_train(data, default_train_config(dataset))
        targets = data.X_test[:n]
        invert(experts, targets[:2], record="final")  # compile
        start = time.process_time()
        record = invert(experts, targets, record="final")
        engine = n / (time.process_time() - start)
        start = time.process_time()
        errors, _ = batched_torch_invert(experts, targets)
        peer = n / (time.process_time() - start)
        result.update({f"{name}_targets": n,
                       f"{name}_targets_per_cpu_second": engine,
                       f"torch_{name}_targets_per_cpu_second": peer,
                       f"{name}_speedup_vs_torch_cpu": engine / peer,
                       f"{name}_winners_agree_with_torch": float(
                           np.mean(record.final_errors.argmin(axis=1) == errors.argmin(axis=1)))})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
