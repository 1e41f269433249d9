"""Leave one class out, for every letter: the full shipped set less that class's expert is
the base (19 experts, each trained only on its own types: tests/test_teaching.py proves the
training independent), the 20th expert is taught from four of the class's training-pool
samples rendered as canvas drawings (``pen_trajectory_to_drawing``) and read back through
the canvas path. Accuracy on the class's held-out samples and on the other classes, against
the full set trained from data, by both decision rules (plain final error: the paper's;
free ends: the app's and the CLI's).

Every expert inverts on its own, so the old experts' errors in the composed set are the full
set's: the full set is inverted once, the taught expert alone on all held-out samples, and
each letter checks on 24 samples that the composed set inverted as a whole gives exactly
the same errors. Each taught set is saved under results/teach/taught/ (small) so that a
number can be re-derived with ``python -m mic_core evaluate --experts DIR``.

Resumable: one CSV row per letter in results/teach/leave_one_out.csv; a rerun skips the
letters done. ``nice -n 10 python benchmarks/teach_leave_one_out.py [--letters a b]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mic_core import load_dataset, load_or_train  # noqa: E402
from mic_core.classify import FREE_ENDS, classify  # noqa: E402
from mic_core.drawing import pen_trajectory_to_drawing  # noqa: E402
from mic_core.evaluation import seeded_subset  # noqa: E402
from mic_core.teaching import (_subset, base_set, save_set, drawings_to_sequences, teach_expert,  # noqa: E402
                               training_pool_pen_trajectories, without_expert)
from mic_core.training import default_train_config  # noqa: E402

OUT = ROOT / "results" / "teach"
SEED = 42  # the protocol's first seed: the four samples are the 'random' selection's


def teaching_samples(y_pool: np.ndarray, n_classes: int, seed: int = SEED) -> list:
    """Per class, the pool indices of the four samples the 'random' type selection with
    ``seed`` takes (mic_core.type_selection: one RandomState, classes in order)."""
    rng = np.random.RandomState(seed)
    picks = []
    for c in range(n_classes):
        members = np.flatnonzero(y_pool == c)
        picks.append(members[rng.choice(len(members), 4, replace=False)])
    return picks


def machine() -> str:
    try:
        model = [l for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
        flags = open("/proc/cpuinfo").read()
        ext = [f for f in ("avx2", "avx512f") if f" {f}" in flags]
        return f"{model.split(':', 1)[1].strip()} ({', '.join(ext)}), {os.cpu_count()} cores"
    except (OSError, IndexError):
        return platform.processor()


def errors_of(experts, data, indices=None):
    """(plain, free ends) errors, each (n, E), of the held-out samples (in batches of 256)."""
    X = data.X_test if indices is None else data.X_test[indices]
    record = classify(experts, X, rule=FREE_ENDS, standardiser=data.standardiser,
                      record="final", batch_size=256)
    return record.reconstruction_errors, record.deciding_errors


def letter_folder(letter: str) -> str:
    return f"leave-out-{letter}"


def order_inverse(order):
    """Columns in full-set order -> columns in composed order."""
    inverse = np.empty(len(order), dtype=int)
    inverse[np.asarray(order)] = np.arange(len(order))
    return inverse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: "
                        "the shipped set's recipe)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    CSV, FULL = out / "leave_one_out.csv", out / "full_set_errors.npz"
    data = load_dataset("characters")
    train = default_train_config("characters")
    if args.steps:
        from dataclasses import replace
        train = replace(train, steps=args.steps)
    full = load_or_train(data, default_train_config("characters"))
    names = list(full.class_names)
    if FULL.exists():
        with np.load(FULL, allow_pickle=False) as f:
            plain_full, free_full = f["plain"], f["free_ends"]
    else:
        plain_full, free_full = errors_of(full, data)
        np.savez(FULL, plain=plain_full, free_ends=free_full)
    pens, y_pool = training_pool_pen_trajectories(data.config)
    picks = teaching_samples(y_pool, len(names))
    done = set(pd.read_csv(CSV)["letter"]) if CSV.exists() else set()
    y = data.y_test
    for j, letter in enumerate(names):
        if letter in done or (args.letters and letter not in args.letters):
            continue
        rng = np.random.RandomState(SEED + j)
        drawings = [pen_trajectory_to_drawing(pens[i], rng) for i in picks[j]]
        base = without_expert(full, letter)
        sequences = drawings_to_sequences(data, drawings).sequences
        start = time.perf_counter()
        expert = teach_expert(sequences, letter, train)
        seconds = time.perf_counter() - start
        named = base_set(base, data.config, train, letter_folder(letter)).with_taught(
            expert, seconds=seconds)
        composed = named.experts
        order = [list(composed.class_names).index(n) for n in names]  # back to full order
        identical = all(np.array_equal(getattr(composed, k)[order[i]], getattr(full, k)[i])
                        for k in ("w_ih", "w_hh", "bias", "w_out", "b_out", "types")
                        for i in range(len(names)) if i != j)
        # Every expert inverts on its own (one work item per expert and block of targets),
        # so the old experts' errors in the composed set are the full set's, bit for bit:
        # invert only the taught expert on all samples, and check the claim on a few
        # samples by inverting the whole composed set.
        new = list(composed.class_names).index(letter)
        alone_plain, alone_free = errors_of(_subset(composed, [new]), data)
        plain, free = plain_full.copy(), free_full.copy()
        plain[:, j], free[:, j] = alone_plain[:, 0], alone_free[:, 0]
        plain, free = plain[:, order_inverse(order)], free[:, order_inverse(order)]
        # the check: on 24 samples, the composed set inverted as a whole against the full
        # set's and the taught expert's own errors on the same 24 (the same blocks of
        # targets: BLAS rounds a product differently for another block size). The
        # inversion's errors agree bit for bit; the free-end errors are numpy reductions
        # over arrays of another shape (1 expert or 20), which round differently (~1e-7).
        check = seeded_subset(len(y), 24, seed=j)
        direct = errors_of(composed, data, check)
        parts = [errors_of(full, data, check), errors_of(_subset(composed, [new]), data, check)]
        combined = []
        for r in range(2):
            c = parts[0][r].copy()
            c[:, j] = parts[1][r][:, 0]
            combined.append(c[:, order_inverse(order)])
        free_gap = float(np.abs(direct[1] - combined[1]).max())
        verified = bool(np.array_equal(direct[0], combined[0]) and free_gap < 1e-5 and
                        np.array_equal(direct[1].argmin(1), combined[1].argmin(1)))
        save_set(named, out / "taught" / letter_folder(letter))
        row = {"letter": letter, "n_heldout": int((y == j).sum()),
               "teach_seconds": round(seconds, 2), "train_steps": train.steps,
               "old_experts_bit_identical": identical,
               "composed_set_checked_on_24": verified,
               "free_ends_check_max_difference": free_gap}
        for rule, taught_err, full_err in (("plain", plain, plain_full),
                                           ("free_ends", free, free_full)):
            before = full_err.argmin(axis=1)
            after = np.array([names.index(composed.class_names[k])
                              for k in taught_err.argmin(axis=1)])
            own, others = y == j, y != j
            changed = others & (before != after)
            involve = (before == j) | (after == j)
            row.update({
                f"{rule}_class_full": round(float((before[own] == j).mean()), 4),
                f"{rule}_class_taught": round(float((after[own] == j).mean()), 4),
                f"{rule}_others_full": round(float((before[others] == y[others]).mean()), 4),
                f"{rule}_others_taught": round(float((after[others] == y[others]).mean()), 4),
                f"{rule}_others_changed": int(changed.sum()),
                f"{rule}_others_changed_not_via_new": int((changed & ~involve).sum()),
                f"{rule}_others_now_taken_by_new": int((others & (after == j) &
                                                        (before != j)).sum()),
                f"{rule}_others_freed_from_new": int((others & (before == j) &
                                                      (after != j)).sum()),
            })
        frame = pd.DataFrame([row])
        frame.to_csv(CSV, mode="a", header=not CSV.exists(), index=False)
        print(json.dumps(row), flush=True)
    if CSV.exists():
        table = pd.read_csv(CSV)
        summary = {"machine": machine(), "letters": len(table),
                   "command": "nice -n 10 python benchmarks/teach_leave_one_out.py",
                   "mean_teach_seconds": round(float(table["teach_seconds"].mean()), 2)}
        for rule in ("plain", "free_ends"):
            for col in ("class_full", "class_taught", "others_full", "others_taught"):
                summary[f"{rule}_{col}_mean"] = round(float(table[f"{rule}_{col}"].mean()), 4)
        (out / "leave_one_out_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
