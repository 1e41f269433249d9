"""How long teaching one expert takes (issue 14's ``teach_seconds``): one letter expert and
one digit expert, each on four drawings, with the shipped set's recipe (14000 steps), plus
the usability check. Prints JSON and writes results/teach/teach_bench.json.

``nice -n 10 python benchmarks/teach_bench.py``. Wall seconds depend on what else runs on
the machine: the JSON records the load average and the process's CPU seconds beside them.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mic_core import load_dataset, load_or_train  # noqa: E402
from mic_core.drawing import pen_trajectory_to_drawing  # noqa: E402
from mic_core.teaching import (check_usability, drawings_to_sequences,  # noqa: E402
                               teach_expert, training_pool_pen_trajectories,
                               usability_limits)
from mic_core.training import default_train_config  # noqa: E402
from benchmarks.teach_leave_one_out import machine, teaching_samples  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    result = {"machine": machine(), "load_average_before": list(os.getloadavg()),
              "command": "nice -n 10 python benchmarks/teach_bench.py"}
    letters = load_dataset("characters")
    train = default_train_config("characters")
    shipped = load_or_train(letters, train)
    pens, labels = training_pool_pen_trajectories(letters.config)
    rng = np.random.RandomState(42)
    k = letters.class_names.index("z")
    drawings = [pen_trajectory_to_drawing(pens[i], rng)
                for i in teaching_samples(labels, len(letters.class_names))[k]]
    sequences = drawings_to_sequences(letters, drawings)
    teach_expert(sequences.sequences, "warm-up", default_train_config("characters", steps=20))
    _, wall, cpu = timed(lambda: teach_expert(sequences.sequences, "z", train))
    result.update(teach_seconds=round(wall, 2), teach_cpu_seconds=round(cpu, 2),
                  teach_steps=train.steps)
    limits, wall, _ = timed(lambda: usability_limits(shipped, letters))
    result["usability_limits_seconds"] = round(wall, 2)  # once per expert set (cached)
    _, wall, _ = timed(lambda: check_usability(shipped, letters, sequences, limits=limits))
    result["usability_check_seconds"] = round(wall, 2)  # per four drawings
    digits = load_dataset("mnist")
    dtrain = default_train_config("mnist")
    images = digits.X_train[digits.y_train == 7][:4]
    teach_expert(images, "warm-up", default_train_config("mnist", steps=20))
    _, wall, cpu = timed(lambda: teach_expert(images, "7", dtrain))
    result.update(teach_digit_seconds=round(wall, 2), teach_digit_cpu_seconds=round(cpu, 2),
                  teach_digit_steps=dtrain.steps)
    result["load_average_after"] = list(os.getloadavg())
    out = ROOT / "results" / "teach" / "teach_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
