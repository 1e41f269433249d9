"""Does the single generator's reconstruction fit? Thresholds from its own errors.

The single generator always names a class, even when its inverted code reconstructs a
stray line (the teacher test: a clean "o" read as "e" or "v", with no word that it failed).
As for the experts (``mic_core.fit_quality``), a reconstruction is judged against the
distribution of the generator's own errors on samples it never saw: the training pool's
samples other than the types it learnt. The test set is not touched. The error judged is the
reconstruction error of the final inverted code (plain mean squared error, the one the
page's error curve ends on), by the same inversion (start, projection, iterations) as the
verdict. Its distribution is the generator's, not the experts': the single generator fits
its data set's letters far more loosely (shipped letters' class code, zero start: median
final error 1.02, 99th percentile 3.57, on 300 held-out training-pool letters; the experts'
free-ends deciding errors, another measure, have a median of 0.02), so a fit is "close" or
"loose" relative to what this generator usually achieves, and "does not fit" above the 99th
percentile of its own errors.

The thresholds of the shipped generators (default inversion) are stored in
``assets/single/fit/`` (written by ``python -m mic_core.single.fit``); other configurations
are measured on demand (``limit`` samples) and cached under ``$MIC_CACHE_DIR/single-fit``,
each file keyed by its full configuration (hash in the name, configuration inside, checked on
read) and written atomically.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from mic_core.fit_quality import (FitQuality, FitThresholds, fit_quality, held_out_samples,
                                  stored_or_measured)

SHIPPED_SINGLE_THRESHOLDS = Path(__file__).resolve().parents[2] / "assets" / "single" / "fit"
ON_DEMAND_LIMIT = 150  # held-out samples measured on demand (~10-25 s on one core here)


def fit_configuration(data_config, train_config, inversion) -> dict:
    """What the thresholds depend on: the generator (its file's configuration), the code
    inversion and the error judged (JSON-normalised, as stored)."""
    from mic_core.single.generator import configuration
    return json.loads(json.dumps({**configuration(data_config, train_config),
                                  "inversion": asdict(inversion),
                                  "error": "final inverted code, plain"}, sort_keys=True))


def fit_file(data_config, train_config, inversion) -> str:
    """File name of one configuration's thresholds (readable prefix + hash)."""
    key = json.dumps(fit_configuration(data_config, train_config, inversion), sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return (f"fit-single-{train_config.code}-{train_config.capacity}-{data_config.dataset}-"
            f"{train_config.selection}-seed{train_config.seed}-{digest}.json")


def measure_single_thresholds(dataset, generator, train_config, inversion,
                              limit: int = ON_DEMAND_LIMIT, seed: int = 0,
                              batch_size: int = 100) -> FitThresholds:
    """Invert ``limit`` held-out training-pool samples (``held_out_samples``: all but exact
    copies of the generator's types, seeded) by ``inversion`` and keep the percentiles of
    their final reconstruction errors."""
    from mic_core.single.inversion import classify_single
    X = dataset.X_train[held_out_samples(dataset, generator, limit, seed)]
    decision = classify_single(generator, X, inversion, record="final", batch_size=batch_size)
    return FitThresholds.from_errors(decision.inversion.final_errors,
                                     fit_configuration(dataset.config, train_config,
                                                       inversion))


def load_or_measure_single_thresholds(dataset, generator, train_config, inversion,
                                      cache_dir=None, limit: int = ON_DEMAND_LIMIT
                                      ) -> FitThresholds:
    """The thresholds of this generator and inversion: shipped in ``assets/single/fit``,
    else cached, else measured now on ``limit`` samples and cached (written atomically)."""
    from mic_core.persistence import default_cache_dir
    name = fit_file(dataset.config, train_config, inversion)
    return stored_or_measured(
        [SHIPPED_SINGLE_THRESHOLDS / name,
         Path(cache_dir or default_cache_dir()) / "single-fit" / name],
        fit_configuration(dataset.config, train_config, inversion),
        lambda: measure_single_thresholds(dataset, generator, train_config, inversion, limit))


def single_fit_quality(error: float, thresholds: FitThresholds,
                       noun: str = "letter") -> FitQuality:
    """Judge the single generator's final reconstruction ``error`` against its own errors
    on held-out samples (percentile and label as ``fit_quality``; the sentence names the
    single generator).

    >>> t = FitThresholds.from_errors(np.linspace(0.0, 4.0, 101), {})
    >>> single_fit_quality(3.8, t).sentence[:73]
    "The single generator's reconstruction is a loose fit by its own yardstick"
    >>> single_fit_quality(3.99, t).fits
    False
    """
    quality = fit_quality(error, thresholds, noun)
    if not np.isfinite(error):
        return replace(quality, label="no fit", sentence="The single generator's error is "
                       "not a number: nothing could be reconstructed.")
    better = int(round(quality.percentile))
    # its own yardstick, said with numbers: it reconstructs most letters loosely, so "close"
    # here may still look far from the drawing (and from the experts' fits; teacher test)
    numbers = (f" (error {error:.3g}; its median on the data set's own {noun}s "
               f"{thresholds.percentiles[50]:.3g})")
    if not quality.fits:
        return replace(quality, label="no fit", sentence=(
            f"The single generator does not fit this {noun}: its reconstruction is further "
            f"from it than its reconstructions of 99 in 100 of the data set's own {noun}s are "
            f"from theirs{numbers}, so its verdicts are guesses."))
    if quality.label == "a close fit":
        words = f"closer than for {100 - better} in 100 of the data set's own {noun}s"
    elif quality.label == "a fair fit":
        words = (f"within its usual range, though it reconstructs {better} in 100 of the "
                 f"data set's own {noun}s more closely")
    else:
        words = (f"looser than for {better} in 100 of the data set's own {noun}s: its "
                 f"verdicts are doubtful")
    return replace(quality, sentence=f"The single generator's reconstruction is "
                                     f"{quality.label} by its own yardstick: {words}"
                                     f"{numbers}.")


def main(argv=None) -> None:
    """Measure and store the thresholds of the shipped single generators (default
    inversion; with ``--all-inversions`` every start and projection the app offers) in
    ``assets/single/fit/``."""
    import argparse

    import torch

    from mic_core.data import load_dataset
    from mic_core.persistence import atomic_write
    from mic_core.single.generator import default_single_config, find_generator, \
        load_generator
    from mic_core.single.inversion import SINGLE_PROJECTIONS, STARTS, CodeInversionConfig
    parser = argparse.ArgumentParser(prog="python -m mic_core.single.fit",
                                     description=main.__doc__)
    parser.add_argument("--dataset", choices=["characters", "mnist"], nargs="+",
                        default=["characters", "mnist"])
    parser.add_argument("--code", choices=["class", "type"], nargs="+",
                        default=["class", "type"])
    parser.add_argument("--all-inversions", action="store_true")
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    inversions = [CodeInversionConfig(start=s, projection=p) for s in STARTS
                  for p in SINGLE_PROJECTIONS] if args.all_inversions \
        else [CodeInversionConfig()]
    for name in args.dataset:
        dataset = load_dataset(name)
        for code in args.code:
            train = default_single_config(name, code=code)
            found = find_generator(dataset.config, train)
            if found is None:
                continue
            generator = load_generator(found)
            for inversion in inversions:
                path = SHIPPED_SINGLE_THRESHOLDS / fit_file(dataset.config, train, inversion)
                if path.exists():  # resumable: one file per configuration
                    continue
                t = measure_single_thresholds(dataset, generator, train, inversion,
                                              args.limit)
                atomic_write(path, lambda f: f.write(t.to_json().encode()))
                print(json.dumps({"dataset": name, "code": code, "start": inversion.start,
                                  "projection": inversion.projection, "file": path.name,
                                  "n_samples": t.n_samples, "median": t.percentiles[50],
                                  "no_fit": t.no_fit}), flush=True)


if __name__ == "__main__":
    main()
