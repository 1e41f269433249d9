"""The validation search and the held-out results of network inversion (resumable).

``choose``: α, β and the learning rate of ``inversion_ssl`` (and the learning rate of
``supervised_small``) on the validation split carved from the training data (``protocol``),
with seed 42's labelled samples; every finished trial is kept in
``results/inversion_ssl/choose-<dataset>.json`` (a rerun skips it), the winners go to
``assets/inversion_ssl/defaults.json``. Stage 1: (α, β) on a grid at one learning rate
(``GRID``); stage 2: the learning rates ``RATES`` at the best (α, β), and for the
supervised-only network.

``run``: for each seed, both networks with the chosen settings, trained on the labelled +
unlabelled data and tested once on the held-out set. Letters rows go to
``results/experiments.csv`` (the shared table, MIC's columns), digits rows to
``results/inversion_ssl/mnist.csv``; training time and the process's peak memory to
``results/inversion_ssl/runs-<dataset>.json``.

    nice -n 10 python -m mic_core.inversion_ssl.experiments choose --dataset characters
    nice -n 10 python -m mic_core.inversion_ssl.experiments run --dataset characters
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mic_core.data import DataConfig, load_dataset
from mic_core.evaluation import score_predictions
from mic_core.experiments import COLUMNS, KEY, RESULTS, append_results, read_results, row_key
from mic_core.inversion_ssl.estimator import CURVE_COLUMNS
from mic_core.inversion_ssl.protocol import (DEFAULTS_FILE, METHODS, config_key,
                                             default_config, find_network, load_or_fit,
                                             ssl_data)
from mic_core.persistence import atomic_write

OUT = Path(__file__).resolve().parents[2] / "results" / "inversion_ssl"
GRID = {  # stage 1: (alphas, betas, learning rate), a CPU-bounded subset of the paper's search
    "characters": ((0.3, 0.5, 0.7), (0.2, 0.5), 0.003),
    "mnist": ((0.7, 0.5), (0.2, 0.5), 0.01),
}
RATES = {"characters": (0.003, 0.01), "mnist": (0.003, 0.001)}  # stage 2 and supervised
CHOOSE_STEPS = {"characters": 200, "mnist": 150}  # stage 1
# stage 2 and supervised: letters as stage 1; digits at the full length, since lr 0.01 chosen
# after 150 steps collapsed to chance before step 50 of the 400-step seed-42 run (its
# validation curve; results/inversion_ssl/*collapsed*)
RATE_STEPS = {"characters": 200, "mnist": 400}
FINAL_STEPS = {"characters": 400, "mnist": 400}
SEEDS = {"characters": (42, 142, 242, 342, 442), "mnist": (42, 142, 242)}
# Digits, longer training (``--candidate``): the number of steps chosen on validation within
# each run (``keep_best``: the weights at the evaluation of best validation accuracy, the
# validation images left out of the unlabelled data), up to a bound set by the CPU budget.
CANDIDATE = {"mnist": {
    "inversion_ssl": {"alpha": 0.7, "beta": 0.2, "learning_rate": 0.003, "steps": 2500,
                      "batch_labelled": 10, "batch_unlabelled": 22, "eval_every": 100,
                      "keep_best": True},
    "supervised_small": {"learning_rate": 0.003, "steps": 2500, "batch_labelled": 10,
                         "eval_every": 100, "keep_best": True}}}
# ``grid``: the paper's (α, β) search on seed 42's validation split
# (all 15 pairs, ordered so that a grid cut short still spans α and β)
PAPER_GRID = ((0.7, 0.2), (0.5, 0.5), (0.6, 0.3), (0.3, 0.2), (0.7, 0.5), (0.4, 0.3),
              (0.5, 0.2), (0.6, 0.5), (0.3, 0.5), (0.7, 0.3), (0.4, 0.2), (0.5, 0.3),
              (0.6, 0.2), (0.4, 0.5), (0.3, 0.3))
PAPER_TABLE2 = {  # the paper's Table 2 (MNIST, 50 labels; supervised column: 1000 labels)
    "SmallCNNmean": (99.07, "(0.7, 0.2)", 94.9), "SmallCNNmax": (98.63, "(0.7, 0.2)", 95.0),
    "mean over 12 networks": (98.768, "", 95.266)}


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


def _read_json(path: Path, empty):
    return json.loads(path.read_text()) if path.exists() else empty


def _write_json(path: Path, value) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(value, indent=1).encode()))


def _trial(dataset, config, trials: list, path: Path) -> float:
    key = config_key(config)
    for t in trials:
        if t["config"] == key:
            return t["validation_accuracy"]
    data = ssl_data(dataset, config, choosing=True)
    validation = (data.X_validation, data.y_validation) if config.keep_best else (None, None)
    model = config.estimator().fit(data.X_labelled, data.y_labelled, data.X_unlabelled,
                                   *validation, progress=_curve_writer(path.parent, config)
                                   if config.keep_best else None)
    accuracy = float(np.mean(model.predict(data.X_validation) == data.y_validation))
    trials.append({"config": key, "validation_accuracy": accuracy,
                   "best_step": int(model.best_step_),
                   "curve": model.curve_[:, [0, -1]].tolist() if config.keep_best else None,
                   "n_validation": len(data.y_validation),
                   "n_unlabelled": len(data.X_unlabelled), "fit_seconds": model.fit_seconds_})
    _write_json(path, trials)
    _log(f"{config.method} a={config.alpha} b={config.beta} lr={config.learning_rate} "
         f"{config.reduction} {config.lr_schedule}: validation {accuracy:.4f} at step "
         f"{model.best_step_} ({model.fit_seconds_:.0f}s)")
    return accuracy


def choose(dataset_name: str, seed: int = 42) -> dict:
    """Stage 1 (α, β), stage 2 learning rate, and the supervised learning rate; returns and
    stores the winners."""
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    alphas, betas, first_rate = GRID[dataset_name]
    path = OUT / f"choose-{dataset_name}.json"
    trials = _read_json(path, [])
    base = default_config(dataset_name, seed=seed, steps=CHOOSE_STEPS[dataset_name],
                          learning_rate=first_rate)
    pairs = [(a, b) for a in alphas for b in betas]
    if dataset_name == "mnist":  # CPU-bounded: the paper's SmallCNN pair and the centre
        pairs = [(0.7, 0.2), (0.5, 0.5)]
    scores = {(a, b): _trial(dataset, replace(base, alpha=a, beta=b), trials, path)
              for a, b in pairs}
    alpha, beta = max(scores, key=scores.get)  # the first best in grid order
    best = replace(base, alpha=alpha, beta=beta, steps=RATE_STEPS[dataset_name])
    by_rate = {lr: _trial(dataset, replace(best, learning_rate=lr), trials, path)
               for lr in RATES[dataset_name]}
    supervised = replace(best, alpha=1.0, beta=0.0)
    by_rate_sup = {lr: _trial(dataset, replace(supervised, learning_rate=lr), trials, path)
                   for lr in RATES[dataset_name]}
    chosen = {"inversion_ssl": {"alpha": alpha, "beta": beta,
                                "learning_rate": max(by_rate, key=by_rate.get),
                                "steps": FINAL_STEPS[dataset_name]},
              "supervised_small": {"learning_rate": max(by_rate_sup, key=by_rate_sup.get),
                                   "steps": FINAL_STEPS[dataset_name]}}
    defaults = _read_json(DEFAULTS_FILE, {})
    defaults[dataset_name] = chosen
    _write_json(DEFAULTS_FILE, defaults)
    _log(f"chosen for {dataset_name}: {chosen}")
    return chosen


def grid(dataset_name: str, pairs=PAPER_GRID, seed: int = 42, out: Path | None = None,
         overrides: dict | None = None, name: str | None = None) -> dict:
    """The (α, β) search on the validation split (seed ``seed``'s labels), each pair
    trained with the ``overrides`` (e.g. the digits' ``CANDIDATE``); every finished pair is
    kept in ``<out>/grid-<dataset>.json`` at once. Returns {(α, β): validation accuracy}."""
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    path = Path(out or OUT) / f"{name or 'grid-' + dataset_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    trials = _read_json(path, [])
    base = default_config(dataset_name, seed=seed, **(overrides or {}))
    return {(a, b): _trial(dataset, replace(base, alpha=a, beta=b), trials, path)
            for a, b in pairs}


def _results_path(dataset_name: str, out: Path | None = None) -> Path:
    if out is not None:
        return Path(out) / f"{dataset_name}.csv"
    return RESULTS if dataset_name == "characters" else OUT / "mnist.csv"


def _row(dataset, config, y, predicted, mean_error, seconds, fit_seconds, cached) -> dict:
    accuracy, per_class, confusion = score_predictions(y, predicted, dataset.class_names)
    row = dict(zip(KEY, ("paper", dataset.name, config.selection, None, None, config.seed,
                         config.method)))
    row.update(accuracy=accuracy, mean_error=mean_error, n_test=len(y), limit=None,
               seconds=seconds, fit_seconds=fit_seconds, experts_cached=cached,
               per_class_accuracy=json.dumps(per_class),
               confusion=json.dumps(confusion.tolist()),
               finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return {c: row.get(c) for c in COLUMNS}


def run(dataset_name: str, seeds=None, methods=METHODS, selection: str | None = None,
        out: Path | None = None, candidate: bool = False, settings: dict | None = None) -> int:
    """Train and test every (seed, method) not yet in the results table; returns how many
    ran. ``out``: the results table, the runs' JSON and the trained networks go there
    (a directory of their own) instead of the repository. ``candidate``: the settings of
    ``CANDIDATE`` instead of ``assets/inversion_ssl/defaults.json``; ``settings``: more
    SSLConfig fields for both methods (e.g. a tiny run to test the command)."""
    dataset = load_dataset(DataConfig(dataset=dataset_name))
    path = _results_path(dataset_name, out)
    runs_path = Path(out or OUT) / f"runs-{dataset_name}.json"
    cache_dir = Path(out) if out is not None else None
    ran = 0
    for seed in seeds or SEEDS[dataset_name]:
        for method in methods:
            overrides = dict(CANDIDATE[dataset_name][method]) if candidate else {}
            overrides.update(settings or {})
            if selection:
                overrides["selection"] = selection
            config = default_config(dataset_name, method, seed=seed, **overrides)
            table = read_results(path)[list(KEY)]
            done = {row_key(*values) for values in table.itertuples(index=False)}
            if row_key("paper", dataset_name, config.selection, None, None, seed,
                       method) in done:
                continue
            cached = find_network(dataset, config, cache_dir) is not None
            start = time.perf_counter()
            model = load_or_fit(dataset, config, cache_dir, log=_log,
                                progress=_curve_writer(runs_path.parent, config))
            fit_seconds = time.perf_counter() - start
            predicted = model.predict(dataset.X_test)
            errors = model.reconstruction_errors(dataset.X_test)
            seconds = time.perf_counter() - start
            row = _row(dataset, config, dataset.y_test, predicted, float(errors.mean()),
                       seconds, fit_seconds, cached)
            append_results([row], path)
            runs = _read_json(runs_path, [])
            runs = [r for r in runs if r["config"] != config_key(config)]
            runs.append({"dataset": dataset_name, "seed": seed, "method": method,
                         "config": config_key(config), "accuracy": row["accuracy"],
                         "mean_reconstruction_error": row["mean_error"],
                         "train_seconds": model.fit_seconds_, "loaded_from_file": cached,
                         "best_step": int(getattr(model, "best_step_", config.steps)),
                         "validation_curve": model.curve_[:, [0, -1]].tolist(),
                         "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                         / 1024, "torch_threads": torch.get_num_threads(),
                         "machine": _machine(), "torch": torch.__version__,
                         "finished": row["finished"]})
            _write_json(runs_path, runs)
            _log(f"{dataset_name} seed {seed} {method}: accuracy {row['accuracy']:.4f} "
                 f"(train {model.fit_seconds_:.0f}s)")
            ran += 1
    return ran


def _machine() -> str:
    """The CPU model, its core count and whether it has AVX-512 (from /proc/cpuinfo)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), platform.machine())
    flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {info.count('processor')} CPUs, {simd}"


def _curve_writer(folder: Path, config):
    """A progress callback that keeps the validation curve of a running training in
    ``<folder>/progress-<dataset>-seed<seed>-<method>.json`` (so a run killed before its end
    still leaves how far it got)."""
    path = Path(folder) / f"progress-{config.dataset}-seed{config.seed}-{config.method}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(p):
        if p.curve is not None and len(p.curve):
            _write_json(path, {"config": config_key(config), "columns": list(CURVE_COLUMNS),
                               "seconds": p.seconds, "curve": p.curve.tolist()})
    return write


def merge(folders, ship: bool = False) -> None:
    """Bring the results of ``run``/``grid`` parts run elsewhere (``--out`` folders) into
    the repository: rows into the results table (through the store), runs and grid trials
    into their JSON files. ``ship``: the seed-42 digits networks of the ``CANDIDATE``
    settings become the shipped defaults (copied to ``assets/inversion_ssl`` after loading
    them with their full configuration, and the settings written to defaults.json)."""
    import shutil
    from mic_core.inversion_ssl.estimator import InversionSSLClassifier
    from mic_core.inversion_ssl.protocol import SHIPPED, file_header, file_name
    for folder in map(Path, folders):
        for name in ("characters", "mnist"):
            table = folder / f"{name}.csv"
            if table.exists():
                rows = read_results(table)
                append_results([{c: (None if pd_isna(v) else v) for c, v in r.items()}
                                for r in rows.to_dict("records")], _results_path(name))
                _log(f"{folder}: {len(rows)} {name} rows")
            for kind in ("runs", "grid"):
                part = _read_json(folder / f"{kind}-{name}.json", [])
                if part:
                    target = OUT / f"{kind}-{name}.json"
                    kept = [r for r in _read_json(target, [])
                            if all(r["config"] != p["config"] for p in part)]
                    _write_json(target, kept + part)
                    _log(f"{folder}: {len(part)} {kind} entries for {name}")
    if ship:
        dataset = load_dataset(DataConfig(dataset="mnist"))
        defaults = _read_json(DEFAULTS_FILE, {})
        for method in METHODS:
            config = default_config("mnist", method, seed=42, **CANDIDATE["mnist"][method])
            name = file_name(dataset, config)
            found = [f / "inversion_ssl" / name for f in map(Path, folders)
                     if (f / "inversion_ssl" / name).exists()]
            if not found:
                raise FileNotFoundError(f"no part holds {name}")
            InversionSSLClassifier.load(found[0], file_header(dataset, config))
            shutil.copyfile(found[0], SHIPPED / name)
            defaults.setdefault("mnist", {})[method] = {
                k: v for k, v in CANDIDATE["mnist"][method].items()}
            _log(f"shipped {name}")
        _write_json(DEFAULTS_FILE, defaults)


def pd_isna(value) -> bool:
    return isinstance(value, float) and np.isnan(value)


SAME_LABELS = ("mic", "mic_free_ends", "nn_mse", "nn_dtw", "forward_lstm", "inversion_ssl",
               "supervised_small")


def same_labels_table(rows, dataset: str = "characters", selection: str = "clustered",
                      mic_noise: tuple[float, float] = (0.1, 0.0)):
    """Held-out accuracy of every system that learnt from the same four labelled samples
    per class (MIC's types of ``selection``): mean, std and seeds, best first. MIC at
    ``mic_noise`` (input, output; the app's default experts); the others have no noise."""
    import pandas as pd
    rows = rows[(rows["dataset"] == dataset) & rows["method"].isin(SAME_LABELS)]
    if dataset == "characters" or "mic" in set(rows["method"]):
        rows = rows[rows["selection"] == selection]
    mic = rows["method"].str.startswith("mic")
    at = (rows["noise_in"].astype(float) == mic_noise[0]) & \
        (rows["noise_out"].astype(float) == mic_noise[1])
    rows = rows[~mic | at]
    if rows.empty:
        return pd.DataFrame(columns=["method", "mean", "std", "seeds"])
    table = rows.groupby("method")["accuracy"].agg(["mean", "std", "count"])
    return (table.rename(columns={"count": "seeds"}).reset_index()
            .sort_values("mean", ascending=False, kind="stable").reset_index(drop=True))


DIGITS_COMMANDS = """\
# four parts, one core each (16-core x86-64, torch 2.11; see the README), then merged here:
python -m mic_core.inversion_ssl.experiments run --dataset mnist --candidate --seeds 42 --methods inversion_ssl --out OUT1
python -m mic_core.inversion_ssl.experiments run --dataset mnist --candidate --seeds 142 --methods inversion_ssl --out OUT2
python -m mic_core.inversion_ssl.experiments run --dataset mnist --candidate --seeds 242 --methods inversion_ssl --out OUT3
python -m mic_core.inversion_ssl.experiments run --dataset mnist --candidate --seeds 42 142 242 --methods supervised_small --out OUT4
python -m mic_core.inversion_ssl.experiments grid --dataset mnist --candidate --steps 500 --out OUT4
python -m mic_core.inversion_ssl.experiments merge --folders OUT1 OUT2 OUT3 OUT4 --ship
python -m mic_core.inversion_ssl.experiments report"""


def digits_table(path: Path | None = None):
    """The digits' held-out accuracy per seed (50 labels): both methods, the steps they
    ended at (chosen on validation), the difference in points, and a mean row."""
    import pandas as pd
    path = Path(path or _results_path("mnist"))
    columns = ["seed", "inversion_ssl", "supervised_small", "difference (points)"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    pivot = read_results(path).pivot_table(index="seed", columns="method", values="accuracy")
    if not {"inversion_ssl", "supervised_small"} <= set(pivot.columns):
        return pd.DataFrame(columns=columns)
    pivot = pivot.dropna()
    table = pd.DataFrame({"seed": pivot.index.astype(int).astype(str),
                          "inversion_ssl": pivot["inversion_ssl"].to_numpy(),
                          "supervised_small": pivot["supervised_small"].to_numpy()})
    table["difference (points)"] = 100 * (table["inversion_ssl"] - table["supervised_small"])
    mean = {"seed": "mean", **{c: table[c].mean() for c in columns[1:]}}
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True)


def _mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return "–"
    return f"{values.mean():.3f}" if len(values) == 1 else \
        f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def _digits_table(mnist, title: str, runs: list) -> list[str]:
    """Per seed: both methods' test accuracy, the step each run ended at (chosen on
    validation, where it was), the difference."""
    pivot = mnist.pivot_table(index="seed", columns="method", values="accuracy")
    step = {(r["seed"], r["method"]): r.get("best_step") for r in runs}
    lines = [title, "", "| seed | inversion_ssl | its step | supervised_small | its step | "
             "difference (points) |", "|---|---|---|---|---|---|"]
    for seed, r in pivot.iterrows():
        ours, sup = r.get("inversion_ssl", np.nan), r.get("supervised_small", np.nan)
        lines.append(f"| {seed} | {ours:.4f} | {step.get((seed, 'inversion_ssl')) or '–'} | "
                     f"{sup:.4f} | {step.get((seed, 'supervised_small')) or '–'} | "
                     f"{100 * (ours - sup):+.1f} |")
    if {"inversion_ssl", "supervised_small"} <= set(pivot.columns):
        both = pivot.dropna()
        lines.append(f"| mean | {_mean_std(both['inversion_ssl'])} | | "
                     f"{_mean_std(both['supervised_small'])} | | "
                     f"{100 * (both['inversion_ssl'] - both['supervised_small']).mean():+.1f} |")
    return lines + [""]


def report_markdown() -> str:
    """The README's tables: letters beside MIC and the baselines on the same types; digits
    per seed beside the paper's Table 2; training time and peak memory."""
    lines = []
    table = read_results(RESULTS)
    table = table[table["protocol"] == "paper"]
    for selection in ("clustered", "random"):
        rows = same_labels_table(table, "characters", selection)
        if rows.empty:
            continue
        lines += [f"Letters, {selection} types (4 labelled per class), 715 held-out samples, "
                  "mean ± std over seeds:", "", "| method | accuracy | seeds |", "|---|---|---|"]
        for _, r in rows.iterrows():
            seeds = table[(table["dataset"] == "characters") & (table["method"] == r["method"])
                          & (table["selection"] == selection)]
            if r["method"].startswith("mic"):
                seeds = seeds[(seeds["noise_in"] == 0.1) & (seeds["noise_out"] == 0.0)]
            lines.append(f"| {r['method']} | {_mean_std(seeds['accuracy'])} | "
                         f"{int(r['seeds'])} |")
        lines.append("")
    for path, title in ((_results_path("mnist"), "Digits, 50 labels (5 per class), 10 000 "
                         "test images (steps chosen on validation within each run):"),
                        (OUT / "mnist-400steps.csv", "Earlier: the same, a fixed 400 steps:")):
        if path.exists():
            lines += _digits_table(read_results(path), title,
                                   _read_json(path.with_name(
                                       path.name.replace("mnist", "runs-mnist")
                                       .replace(".csv", ".json")), []))
    grids = {where: {(t["config"]["alpha"], t["config"]["beta"]): t["validation_accuracy"]
                     for t in _read_json(OUT / name, [])}
             for where, name in (("lent 16-core machine", "grid-mnist.json"),
                                 ("this machine", "grid-mnist-local.json"))}
    if any(grids.values()):
        lines += ["Digits, the paper's (α, β) grid on the 2 000 validation images (seed 42's "
                  "labels, 500 steps, best evaluation), on two machines:", "",
                  "| (α, β) | " + " | ".join(grids) + " |", "|---|" + "---|" * len(grids)]
        for pair in sorted(set().union(*grids.values()), key=lambda ab: (-ab[0], ab[1])):
            lines.append(f"| ({pair[0]}, {pair[1]}) | " + " | ".join(
                f"{g[pair]:.4f}" if pair in g else "–" for g in grids.values()) + " |")
        lines.append("")
    if _results_path("mnist").exists():
        lines += ["The paper's Table 2 (50 labels; its supervised column: 1000 labels):", "",
                  "| network | 50 labels | (α, β) | supervised, 1000 labels |", "|---|---|---|---|"]
        lines += [f"| {name} | {a} | {ab} | {s} |" for name, (a, ab, s) in PAPER_TABLE2.items()]
        lines.append("")
    lines += ["| data set | method | seed | steps (ended at) | train seconds | peak RSS (MB) "
              "| machine |", "|---|---|---|---|---|---|---|"]
    for name in ("characters", "mnist-400steps", "mnist", "mnist-local"):
        for r in _read_json(OUT / f"runs-{name}.json", []):
            steps = r["config"]["steps"]
            ended = f"{steps} ({r['best_step']})" if "best_step" in r else f"{steps}"
            lines.append(f"| {name} {r['config']['selection']} | {r['method']} | {r['seed']} | "
                         f"{ended} | {r['train_seconds']:.0f} | {r['peak_rss_mb']:.0f} | "
                         f"{r['machine'] if 'torch' in r else 'this 2-core AMD EPYC, shared'} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mic_core.inversion_ssl.experiments",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("choose", "run", "grid", "merge", "report"))
    parser.add_argument("--dataset", choices=("characters", "mnist"), default="characters")
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--selection", choices=("clustered", "random", "drawn"), default=None,
                        help="run: the labelled samples (default: letters clustered = MIC's "
                             "types, digits drawn)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1-2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="run/grid: write results and networks to this folder instead "
                             "of the repository (a part run elsewhere; see merge)")
    parser.add_argument("--candidate", action="store_true",
                        help="run/grid: the CANDIDATE settings (digits: longer training, "
                             "steps chosen on validation) instead of defaults.json")
    parser.add_argument("--pairs", nargs="+", default=None, metavar="ALPHA,BETA",
                        help="grid: the (α, β) pairs (default: the paper's 15)")
    parser.add_argument("--steps", type=int, default=None, help="grid: steps per pair")
    parser.add_argument("--set", nargs="+", default=(), metavar="FIELD=VALUE",
                        help="run/grid: more SSLConfig settings, e.g. reduction=sum "
                             "lr_schedule=cosine batch_unlabelled=54")
    parser.add_argument("--file", default=None,
                        help="grid: the trials' file name in --out (default grid-<dataset>)")
    parser.add_argument("--folders", nargs="+", type=Path, default=(),
                        help="merge: the --out folders of the parts")
    parser.add_argument("--ship", action="store_true",
                        help="merge: ship the seed-42 digits networks as the defaults")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = {}
    for setting in args.set:
        field, _, value = setting.partition("=")
        try:
            settings[field] = json.loads(value)
        except json.JSONDecodeError:
            settings[field] = value
    if args.stage == "report":
        print(report_markdown())
    elif args.stage == "choose":
        choose(args.dataset)
    elif args.stage == "grid":
        overrides = dict(CANDIDATE[args.dataset]["inversion_ssl"]) if args.candidate else {}
        if args.steps:
            overrides["steps"] = args.steps
        overrides.update(settings)
        pairs = ([tuple(float(v) for v in p.split(",")) for p in args.pairs] if args.pairs
                 else PAPER_GRID)
        grid(args.dataset, pairs, out=args.out, overrides=overrides, name=args.file)
    elif args.stage == "merge":
        merge(args.folders, args.ship)
    else:
        run(args.dataset, args.seeds, args.methods, args.selection, args.out, args.candidate,
            settings)


if __name__ == "__main__":
    main()
