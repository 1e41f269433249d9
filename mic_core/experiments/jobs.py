"""What one job of the grid computes: its experts trained or loaded, the held-out subset
inverted or classified, one results row per method (``run_job``)."""
from __future__ import annotations

import json
import time
from functools import lru_cache

import numpy as np

from mic_core.baselines import ForwardLSTMClassifier, NearestNeighbourDTW, NearestNeighbourMSE
from mic_core.data import DataConfig, load_dataset
from mic_core.classify import PLAIN, classify
from mic_core.evaluation import mean_error_matrix, score_predictions, seeded_subset
from mic_core.experiments.grid import JOB_METHODS, METHODS, Job, Protocol
from mic_core.experiments.store import KEY, encode_predictions
from mic_core.inversion import InversionConfig
from mic_core.persistence import find_experts, load_or_select_types, load_or_train
from mic_core.training import default_train_config


@lru_cache(maxsize=2)
def _dataset(name: str):
    return load_dataset(DataConfig(dataset=name))


def _test_set(dataset, protocol: Protocol):
    chosen = seeded_subset(len(dataset.X_test), protocol.test_limit(dataset.name), seed=0)
    return dataset.X_test[chosen], dataset.y_test[chosen]


def _row(job: Job, protocol: Protocol, method: str, y, predicted, class_names, seconds,
         fit_seconds, **extra) -> dict:
    accuracy, per_class, confusion = score_predictions(y, predicted, class_names)
    row = dict(zip(KEY, (protocol.name, job.dataset, job.selection, job.noise_in,
                         job.noise_out, job.seed, method)))
    row.update(accuracy=accuracy, n_test=len(y), limit=protocol.test_limit(job.dataset),
               seconds=seconds, fit_seconds=fit_seconds,
               per_class_accuracy=json.dumps(per_class),
               confusion=json.dumps(confusion.tolist()),
               predictions=encode_predictions(predicted),
               finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for name, value in extra.items():
        row[name] = json.dumps(np.round(value, 6).tolist()) if isinstance(value, np.ndarray) \
            else value
    return row


def _train_config(job: Job, protocol: Protocol):
    overrides = {"selection": job.selection, "seed": job.seed}
    if job.noise_in is not None:
        overrides.update(noise_in=job.noise_in, noise_out=job.noise_out)
    if protocol.train_steps is not None:
        overrides["steps"] = protocol.train_steps
    return default_train_config(job.dataset, **overrides)


def _run_mic(job: Job, protocol: Protocol, methods, cache_dir) -> list[dict]:
    dataset = _dataset(job.dataset)
    train = _train_config(job, protocol)
    cached = find_experts(dataset.config, train, cache_dir) is not None
    start = time.perf_counter()
    experts = load_or_train(dataset, train, cache_dir)
    fit_seconds = time.perf_counter() - start
    X, y = _test_set(dataset, protocol)
    E, K = experts.types.shape[:2]
    X_types = experts.types.reshape(E * K, *experts.types.shape[2:])
    y_types = np.repeat(np.arange(E), K)
    rows = []
    for method, iterations in (("mic", protocol.iterations), ("mic_0", 0)):
        wanted = [method, "mic_free_ends"] if method == "mic" else [method]
        wanted = [m for m in wanted if m in job.methods and m in methods]
        if not wanted:
            continue
        start = time.perf_counter()
        config = InversionConfig(iterations=iterations)
        # one inversion; each method's row is read from its own decision record
        plain = classify(experts, X, config, PLAIN, dataset.standardiser, record="final",
                         batch_size=256)
        errors = plain.reconstruction_errors
        extra = dict(mean_error=float(errors.min(axis=1).mean()), experts_cached=cached,
                     error_matrix=mean_error_matrix(errors, y, E))
        if method == "mic":  # the loss heat map on the training types, once
            on_types = classify(experts, X_types, config, PLAIN, record="final",
                                batch_size=256)
            extra["type_error_matrix"] = mean_error_matrix(on_types.reconstruction_errors,
                                                           y_types, E)
        decisions = {name: plain if protocol.rule(name) == PLAIN else
                     plain.with_rule(protocol.rule(name)) for name in wanted}
        seconds = time.perf_counter() - start + fit_seconds
        for name in wanted:  # the paper's plain rule, or the app's free ends
            rows.append(_row(job, protocol, name, y, decisions[name].winners,
                             experts.class_names, seconds, fit_seconds, **extra))
    return rows


def _run_types(job: Job, protocol: Protocol, methods, cache_dir) -> list[dict]:
    dataset = _dataset(job.dataset)
    types = load_or_select_types(dataset, _train_config(job, protocol), cache_dir)
    E, K = types.shape[:2]
    X_types, y_types = types.reshape(E * K, *types.shape[2:]), np.repeat(np.arange(E), K)
    X, y = _test_set(dataset, protocol)
    models = {"nn_mse": NearestNeighbourMSE(), "nn_dtw": NearestNeighbourDTW(),
              "forward_lstm": ForwardLSTMClassifier(steps=protocol.forward_lstm_steps,
                                                    seed=job.seed)}
    rows = []
    for method in JOB_METHODS["types"]:
        if method not in methods:
            continue
        model, start = models[method], time.perf_counter()
        model.fit(X_types, y_types)
        fit_seconds = time.perf_counter() - start
        extra = {}
        if method == "nn_mse":  # the nearest type is NN's "reconstruction"
            distances = model.distances(X)
            predicted = y_types[distances.argmin(axis=1)]
            per_class = np.stack([distances[:, y_types == e].min(axis=1) for e in range(E)], 1)
            extra = {"mean_error": float(distances.min(axis=1).mean()),
                     "error_matrix": mean_error_matrix(per_class, y, E)}
        else:
            predicted = model.predict(X)
        rows.append(_row(job, protocol, method, y, predicted, dataset.class_names,
                         time.perf_counter() - start, fit_seconds, **extra))
    return rows


def _run_full(job: Job, protocol: Protocol, methods, cache_dir) -> list[dict]:
    dataset = _dataset(job.dataset)
    X, y = _test_set(dataset, protocol)
    start = time.perf_counter()
    model = ForwardLSTMClassifier(steps=protocol.forward_lstm_full_steps,
                                  batch_size=protocol.forward_lstm_full_batch,
                                  learning_rate=protocol.forward_lstm_full_learning_rate,
                                  max_grad_norm=1.0, seed=job.seed)
    model.fit(dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - start
    predicted = model.predict(X)
    return [_row(job, protocol, "forward_lstm_full", y, predicted, dataset.class_names,
                 time.perf_counter() - start, fit_seconds)]


_RUNNERS = {"mic": _run_mic, "types": _run_types, "full": _run_full}


def run_job(job: Job, protocol: Protocol, methods=METHODS, cache_dir=None) -> list[dict]:
    """The result rows of one job (its methods that are among ``methods``)."""
    return _RUNNERS[job.kind](job, protocol, set(methods), cache_dir)
