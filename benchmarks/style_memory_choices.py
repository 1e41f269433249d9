"""How the style memory's settings were chosen: on validation splits carved from the training
pool only (the held-out test set is never read here). Prints one JSON object.

* letters, whole pool: noise, learning rate and augmentation (rotation, scale, re-timing)
  on a stratified 20 % validation split of the 714-sample pool (seed 0), each fit keeping
  its best validation epoch;
* low-data (four samples per class): settings picked on "simulated protocols": four random
  samples per class drawn from one part of the training pool (seeds 0, 1), validated on
  the rest of the pool, for both data sets (MNIST validation: 2000 pool samples).
MNIST's whole-pool run uses one setting (8 epochs, lr 1e-3, noise 0.1) whose epoch is chosen
on its own 5000-sample validation split; a sweep there would not fit the CPU budget.

    nice -n 10 python benchmarks/style_memory_choices.py > results/style_memory_choices.json
"""
from __future__ import annotations

import itertools
import json
import sys
import time

import numpy as np
import torch

from mic_core.data import load_dataset, stratified_split
from mic_core.style_memory.estimator import StyleMemoryClassifier


def _log(message):
    print(message, file=sys.stderr, flush=True)


def whole_pool_letters(seeds=(0,)):
    data = load_dataset("characters")
    rows = []
    settings = [(0.0, 1e-3, 0.0, 30), (0.1, 1e-3, 0.0, 30), (0.2, 1e-3, 0.0, 30),
                (0.1, 3e-3, 0.0, 30), (0.1, 1e-3, 0.1, 40), (0.1, 3e-3, 0.2, 40),
                (0.1, 3e-3, 0.3, 80)]
    for noise, lr, augment, n_epochs in settings:
        accuracies, epochs = [], []
        for seed in seeds:
            model = StyleMemoryClassifier(noise=noise, learning_rate=lr, epochs=n_epochs,
                                          batch_size=32, validation_fraction=0.2,
                                          augment=augment, seed=seed)
            model.fit(data.X_train, data.y_train)
            best = next(h for h in model.history_ if h["epoch"] == model.best_epoch_)
            accuracies.append(best["valid_accuracy"])
            epochs.append(model.best_epoch_)
        rows.append({"noise": noise, "learning_rate": lr, "augment": augment,
                     "epochs": n_epochs, "valid_accuracy": accuracies,
                     "mean_valid_accuracy": float(np.mean(accuracies)), "best_epochs": epochs})
        _log(json.dumps(rows[-1]))
    return rows


def _four_per_class(y, pool, seed):
    rng = np.random.RandomState(seed)
    return np.concatenate([rng.choice(pool[y[pool] == c], 4, replace=False)
                           for c in np.unique(y)])


def low_data(name, seeds=(0, 1), n_valid=2000, settings=None, augment=0.0):
    data = load_dataset(name)
    rows = []
    for epochs, noise in settings or itertools.product((100, 300), (0.1, 0.3)):
        accuracies = []
        for seed in seeds:
            pool, valid = stratified_split(data.y_train, 0.5, seed + 1000)
            chosen = _four_per_class(data.y_train, pool, seed)
            valid = np.random.RandomState(seed).permutation(valid)[:n_valid]
            model = StyleMemoryClassifier(noise=noise, epochs=epochs, batch_size=16,
                                          validation_fraction=0.0, augment=augment,
                                          seed=seed)
            model.fit(data.X_train[chosen], data.y_train[chosen])
            accuracies.append(float(np.mean(model.predict(data.X_train[valid]) ==
                                            data.y_train[valid])))
        rows.append({"dataset": name, "epochs": epochs, "noise": noise, "augment": augment,
                     "valid_accuracy": accuracies,
                     "mean_valid_accuracy": float(np.mean(accuracies))})
        _log(json.dumps(rows[-1]))
    return rows


if __name__ == "__main__":
    torch.set_num_threads(1)
    start = time.perf_counter()
    which = sys.argv[1:] or ["letters", "low_data"]
    result = {}
    if "letters" in which:
        result["whole_pool_letters"] = whole_pool_letters()
    if "low_data" in which:
        result["low_data"] = low_data("characters") + low_data("mnist")
    if "low_data_augment" in which:  # letters: the whole pool's augmentation, four per class
        result["low_data_augment"] = low_data("characters", settings=[(300, 0.3)],
                                              augment=0.3)
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result, indent=1))
