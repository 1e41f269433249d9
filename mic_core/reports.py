"""The paper's tables (METHOD §6) from the results table of ``mic_core.experiments``.

Every function takes the rows of one protocol (a pandas DataFrame read by
``experiments.read_results``) and returns a DataFrame or arrays; ``report_markdown`` puts
them together for the CLI, the Experiments page draws them.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from mic_core.paired_statistics import p_text

SETTINGS = (("characters", "clustered"), ("characters", "random"), ("mnist", "clustered"),
            ("mnist", "random"))
# METHOD §6: mean over 5 runs, test sets not held out
PAPER = pd.DataFrame(
    [("mnist", "clustered", 0.834, 0.874, 0.892, 0.645, 0.873, 0.705, 0.830),
     ("mnist", "random", 0.525, 0.595, 0.643, 0.480, 0.586, 0.449, 0.562),
     ("characters", "clustered", 0.791, 0.889, 0.905, 0.620, 0.927, 0.715, 0.880),
     ("characters", "random", 0.771, 0.834, 0.900, 0.575, 0.828, 0.680, 0.720)],
    columns=["dataset", "selection", "mic_base", "mic_best_average", "mic_best_single",
             "forward_lstm", "nn", "iterations_0", "iterations_50"],
).set_index(["dataset", "selection"])
PAPER_FULL_DATA = {"mnist": 0.99, "characters": 0.973}  # forward LSTM on all training data
NOISE = ["noise_in", "noise_out"]


def _mean_std(values: pd.Series) -> str:
    if len(values) == 0:
        return "–"
    if len(values) == 1:
        return f"{values.mean():.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def _setting(table, dataset, selection, method):
    return table[(table["dataset"] == dataset) & (table["selection"] == selection) &
                 (table["method"] == method)]


def noise_means(table: pd.DataFrame, dataset: str, selection: str,
                method: str = "mic") -> pd.DataFrame:
    """Accuracy over seeds for every noise setting: mean, std, seeds; best first."""
    rows = _setting(table, dataset, selection, method)
    if rows.empty:
        return pd.DataFrame(columns=[*NOISE, "mean", "std", "seeds"])
    grouped = rows.groupby(NOISE)["accuracy"].agg(["mean", "std", "count"])
    return (grouped.rename(columns={"count": "seeds"}).reset_index()
            .sort_values("mean", ascending=False, kind="stable"))


def _paired_wins(mic: pd.DataFrame, noise, nn: pd.DataFrame) -> str:
    """In how many seeds MIC (at ``noise``) beats the NN on the same types: "k/n"."""
    at = mic[(mic["noise_in"] == noise["noise_in"]) & (mic["noise_out"] == noise["noise_out"])]
    paired = at.merge(nn, on="seed", suffixes=("_mic", "_nn"))
    return f"{int((paired['accuracy_mic'] > paired['accuracy_nn']).sum())}/{len(paired)}"


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's summary table: one row per (dataset, selection) with our numbers (mean ±
    std over seeds) and the paper's beside them."""
    out = []
    for dataset, selection in SETTINGS:
        mic = _setting(table, dataset, selection, "mic")
        if mic.empty:
            continue
        base = mic[(mic["noise_in"] == 0) & (mic["noise_out"] == 0)]["accuracy"]
        means = noise_means(table, dataset, selection)
        best = means.iloc[0]
        best_single = mic.loc[mic["accuracy"].idxmax()]
        nn = _setting(table, dataset, selection, "nn_mse")["accuracy"]
        full = table[(table["dataset"] == dataset) & (table["method"] == "forward_lstm_full")]
        paper = PAPER.loc[(dataset, selection)]
        out.append({
            "dataset": dataset, "selection": selection,
            "mic_base": _mean_std(base), "paper_mic_base": paper["mic_base"],
            "mic_best_average": _mean_std(mic[(mic["noise_in"] == best["noise_in"]) &
                                              (mic["noise_out"] == best["noise_out"])]
                                          ["accuracy"]),
            "best_noise": f"in {best['noise_in']:g}, out {best['noise_out']:g}",
            "paper_mic_best_average": paper["mic_best_average"],
            "mic_best_single": f"{best_single['accuracy']:.3f}",
            "best_single_model": f"in {best_single['noise_in']:g}, out "
                                 f"{best_single['noise_out']:g}, seed {best_single['seed']}",
            "paper_mic_best_single": paper["mic_best_single"],
            "forward_lstm": _mean_std(_setting(table, dataset, selection,
                                               "forward_lstm")["accuracy"]),
            "paper_forward_lstm": paper["forward_lstm"],
            "nn_mse": _mean_std(nn), "paper_nn": paper["nn"],
            "nn_dtw": _mean_std(_setting(table, dataset, selection, "nn_dtw")["accuracy"]),
            "forward_lstm_full": _mean_std(full["accuracy"]),
            "paper_forward_lstm_full": PAPER_FULL_DATA[dataset],
            "mic_beats_nn": bool(len(nn)) and bool(best["mean"] > nn.mean()),
            "mic_minus_nn": float(best["mean"] - nn.mean()) if len(nn) else np.nan,
            "seeds_mic_above_nn": _paired_wins(mic, best, _setting(table, dataset, selection,
                                                                   "nn_mse")),
            "seeds": int(best["seeds"]),
        })
    return pd.DataFrame(out)


def iterations_table(table: pd.DataFrame) -> pd.DataFrame:
    """0 vs 50 inversion steps for every noise setting: accuracy and the mean final error
    of the winning expert, means over seeds (paper: base models, noise 0)."""
    out = []
    for dataset, selection in SETTINGS:
        rows = table[(table["dataset"] == dataset) & (table["selection"] == selection) &
                     table["method"].isin(["mic", "mic_0"])]
        if rows.empty:
            continue
        means = rows.groupby([*NOISE, "method"])[["accuracy", "mean_error"]].mean().unstack()
        for (noise_in, noise_out), r in means.iterrows():
            base = noise_in == 0 and noise_out == 0
            paper = PAPER.loc[(dataset, selection)]
            out.append({"dataset": dataset, "selection": selection, "noise_in": noise_in,
                        "noise_out": noise_out,
                        "accuracy_0": r[("accuracy", "mic_0")],
                        "accuracy_50": r[("accuracy", "mic")],
                        "mean_error_0": r[("mean_error", "mic_0")],
                        "mean_error_50": r[("mean_error", "mic")],
                        "paper_accuracy_0": paper["iterations_0"] if base else np.nan,
                        "paper_accuracy_50": paper["iterations_50"] if base else np.nan})
    return pd.DataFrame(out)


def iterations_takeaway(steps: pd.DataFrame) -> str:
    """One plain sentence on ``iterations_table``'s rows without noise: how many points the
    50 inversion steps add to the 0-step guess, ours and the paper's.

    >>> print(iterations_takeaway(pd.DataFrame([{"dataset": "mnist", "selection": "random",
    ...     "noise_in": 0.0, "noise_out": 0.0, "accuracy_0": 0.40, "accuracy_50": 0.46,
    ...     "paper_accuracy_0": 0.449, "paper_accuracy_50": 0.562}])))
    In plain words: searching for the best mix of an expert's types (50 inversion steps) instead of keeping the equal-weight start (0 steps) adds +6.0 points on random digits (the paper: +11.3), with no noise.
    """
    base = without_noise(steps)
    if base.empty:
        return ""
    gains = [(r["accuracy_50"] - r["accuracy_0"]) * 100 for _, r in base.iterrows()]
    parts = [f"{g:+.1f} points on {_plain(r['dataset'], r['selection'])}" +
             ("" if r["paper_accuracy_50"] != r["paper_accuracy_50"] else
              f" (the paper: {(r['paper_accuracy_50'] - r['paper_accuracy_0']) * 100:+.1f})")
             for g, (_, r) in zip(gains, base.iterrows())]
    verb = "adds" if min(gains) > 0 else "changes accuracy by"
    return ("In plain words: searching for the best mix of an expert's types (50 inversion "
            f"steps) instead of keeping the equal-weight start (0 steps) {verb} {_and(parts)}, "
            "with no noise.")


def free_ends_table(table: pd.DataFrame) -> pd.DataFrame:
    """Letters: the paper's rule (lowest final error) against the app's free-ends rule, from
    the same inversions, mean accuracy over seeds for every noise setting."""
    rows = table[(table["dataset"] == "characters") &
                 table["method"].isin(["mic", "mic_free_ends"])]
    if rows.empty:
        return pd.DataFrame()
    means = rows.groupby(["selection", *NOISE, "method"])["accuracy"].mean().unstack()
    means = means.rename(columns={"mic": "lowest error (paper)",
                                  "mic_free_ends": "free ends (app)"})
    return means.reset_index()


def class_names(rows: pd.DataFrame) -> list[str]:
    return list(json.loads(rows["per_class_accuracy"].iloc[0]))


def per_class_table(table: pd.DataFrame, dataset: str, selection: str,
                    method: str = "mic") -> pd.DataFrame:
    """Per-class accuracy (mean over seeds) for every noise setting: rows noise, columns
    classes."""
    rows = _setting(table, dataset, selection, method)
    if rows.empty:
        return pd.DataFrame()
    per_class = pd.DataFrame([json.loads(v) for v in rows["per_class_accuracy"]],
                             index=pd.MultiIndex.from_frame(rows[NOISE]))
    return per_class.groupby(level=NOISE).mean()


def _matrices(rows: pd.DataFrame, column: str) -> np.ndarray:
    return np.array([json.loads(v) for v in rows[column].dropna()], dtype=float)


def heat_map(table: pd.DataFrame, dataset: str, selection: str, noise_in: float,
             noise_out: float, column: str = "error_matrix", method: str = "mic"):
    """(mean over seeds of the expert × class mean final error, class names, share of
    classes whose own expert has the lowest mean error, that share per seed).

    ``column`` "error_matrix": held-out samples; "type_error_matrix": the training types."""
    rows = _setting(table, dataset, selection, method)
    rows = rows[(rows["noise_in"] == noise_in) & (rows["noise_out"] == noise_out)]
    matrices = _matrices(rows, column)
    if not len(matrices):
        return None, [], np.nan, np.nan
    with warnings.catch_warnings():  # a class missing from every seed's subset stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(matrices, axis=0)
    diagonal = np.arange(len(mean))

    def share(m):  # a column is a class: is its own expert (the diagonal) the lowest?
        seen = ~np.all(np.isnan(m), axis=0)  # classes absent from a small test subset
        lowest = np.nanargmin(np.where(np.isnan(m), np.inf, m), axis=0)
        return float(np.mean((lowest == diagonal)[seen]))
    return mean, class_names(rows), share(mean), float(np.mean([share(m) for m in matrices]))


def confusion(table: pd.DataFrame, dataset: str, selection: str, noise_in: float,
              noise_out: float, method: str = "mic"):
    """(confusion summed over seeds: rows true class, columns predicted; class names)."""
    rows = _setting(table, dataset, selection, method)
    if method in ("mic", "mic_0"):
        rows = rows[(rows["noise_in"] == noise_in) & (rows["noise_out"] == noise_out)]
    if rows.empty:
        return None, []
    return _matrices(rows, "confusion").sum(axis=0).astype(int), class_names(rows)


def hard_pairs(matrix: np.ndarray, names: list[str], top: int = 5) -> pd.DataFrame:
    """The most confused pairs of classes (both directions added), most first.

    >>> hard_pairs(np.array([[5, 3, 0], [1, 5, 0], [0, 2, 5]]), ["a", "b", "c"], top=2)
      pair  confused  share_of_errors
    0  a/b         4         0.666667
    1  b/c         2         0.333333
    """
    both = matrix + matrix.T
    i, j = np.triu_indices(len(both), k=1)
    order = np.argsort(-both[i, j], kind="stable")[:top]
    return pd.DataFrame({"pair": [f"{names[i[k]]}/{names[j[k]]}" for k in order],
                         "confused": both[i, j][order],
                         "share_of_errors": both[i, j][order] / max(
                             matrix.sum() - np.trace(matrix), 1)})


def job_hours(table: pd.DataFrame) -> float:
    """The jobs' own wall time in hours, added up (a cell's training counted once, though
    its rows ``mic``, ``mic_0`` and ``mic_free_ends`` each include it)."""
    cell = ["dataset", "selection", "noise_in", "noise_out", "seed"]
    mic = table[table["method"] == "mic"].set_index(cell)
    mic_0 = table[table["method"] == "mic_0"].set_index(cell).reindex(mic.index)
    cells = (mic["seconds"] + (mic_0["seconds"] - mic_0["fit_seconds"]).fillna(0)).sum()
    baselines = table[~table["method"].str.startswith("mic")]["seconds"].sum()
    return float((cells + baselines) / 3600)


def _markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub markdown table (no extra dependency)."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def best_noise(table: pd.DataFrame, dataset: str, selection: str):
    means = noise_means(table, dataset, selection)
    return None if means.empty else (means.iloc[0]["noise_in"], means.iloc[0]["noise_out"])


def compact_summary(table: pd.DataFrame) -> pd.DataFrame:
    """``summary_table`` with the paper's number in brackets after each of ours."""
    full = summary_table(table)
    if full.empty:
        return full
    def both(ours, paper):
        return [f"{o} ({p:.3f})" for o, p in zip(full[ours], full[paper])]
    return pd.DataFrame({
        "setting": full["dataset"] + ", " + full["selection"],
        "MIC base (no noise)": both("mic_base", "paper_mic_base"),
        "MIC best average": both("mic_best_average", "paper_mic_best_average"),
        "best noise": full["best_noise"],
        "MIC best single": both("mic_best_single", "paper_mic_best_single"),
        "forward LSTM": both("forward_lstm", "paper_forward_lstm"),
        "NN (MSE)": both("nn_mse", "paper_nn"),
        "NN (DTW)": full["nn_dtw"],
        "forward LSTM, all data": both("forward_lstm_full", "paper_forward_lstm_full"),
        "MIC − NN (best average)": [f"{'yes' if b else 'no'} ({d * 100:+.1f} points; "
                                    f"above in {w} seeds)"
                                    for b, d, w in zip(full["mic_beats_nn"],
                                                       full["mic_minus_nn"],
                                                       full["seeds_mic_above_nn"])],
    })


def report_markdown(table: pd.DataFrame) -> str:
    """Every table of the report, as markdown."""
    protocol = table["protocol"].iloc[0]
    parts = [f"# MIC experiments (protocol {protocol})",
             "Accuracy on the held-out test set; mean ± std over seeds. MNIST: "
             f"n_test {sorted(table[table.dataset == 'mnist'].n_test.unique().tolist())}, "
             f"characters: n_test "
             f"{sorted(table[table.dataset == 'characters'].n_test.unique().tolist())}. "
             f"The jobs' own times add up to {job_hours(table):.2f} hours (divide by the "
             f"workers for wall time; experts loaded from a cache count no training).",
             "## Summary (ours, the paper's in brackets)", _markdown(compact_summary(table)),
             "## 0 vs 50 inversion steps", _markdown(iterations_table(table), 4),
             "## Letters: the paper's decision rule vs the app's free ends",
             _markdown(free_ends_table(table))]
    for dataset, selection in SETTINGS:
        means = noise_means(table, dataset, selection)
        if means.empty:
            continue
        parts += [f"## {dataset}, {selection}: noise", _markdown(means),
                  "Per-class accuracy (mean over seeds):",
                  _markdown(per_class_table(table, dataset, selection).reset_index(), 2)]
        noise = best_noise(table, dataset, selection)
        lines = []
        for column, what in (("type_error_matrix", "training types"),
                             ("error_matrix", "held-out samples")):
            _, _, share, per_seed = heat_map(table, dataset, selection, *noise, column)
            lines.append(f"- loss heat map on {what} (noise in {noise[0]:g}, out "
                         f"{noise[1]:g}): own expert lowest in {share:.0%} of classes "
                         f"(mean over seeds {per_seed:.0%})")
        matrix, names = confusion(table, dataset, selection, *noise)
        parts += ["\n".join(lines), "Most confused pairs (mic, summed over seeds):",
                  _markdown(hard_pairs(matrix, names))]
    from mic_core.single.experiments import report_section  # issue 11's rows, if any
    parts += report_section(table)
    return "\n\n".join(parts)


def report_dict(table: pd.DataFrame) -> dict:
    """The summary and 0-vs-50 tables as JSON-ready records."""
    return {"summary": summary_table(table).to_dict(orient="records"),
            "iterations": iterations_table(table).to_dict(orient="records"),
            "free_ends": free_ends_table(table).to_dict(orient="records")}


# --- what the Experiments page shows besides the tables -----------------------------------

def mic_vs_nn(summary: pd.DataFrame) -> tuple[int, int, list[tuple[str, str, float]]]:
    """From ``summary_table``: in how many settings MIC's best average beats the nearest
    neighbour (MSE), out of how many, and each setting's margin (dataset, selection, points).

    >>> mic_vs_nn(pd.DataFrame({"dataset": ["mnist"], "selection": ["random"],
    ...                         "mic_beats_nn": [True], "mic_minus_nn": [0.0125]}))
    (1, 1, [('mnist', 'random', 1.25)])
    """
    margins = [(d, s, float(m) * 100) for d, s, m in
               zip(summary["dataset"], summary["selection"], summary["mic_minus_nn"])]
    return int(summary["mic_beats_nn"].sum()) if len(summary) else 0, len(summary), margins


def without_noise(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows trained without input and output noise (the paper's base setting)."""
    return frame[(frame["noise_in"] == 0) & (frame["noise_out"] == 0)]


def noise_settings(means: pd.DataFrame) -> list[tuple[float, float]]:
    """The (noise_in, noise_out) pairs of ``noise_means``, in its order (best first)."""
    return [(float(a), float(b)) for a, b in zip(means["noise_in"], means["noise_out"])]


def gallery_samples(y_test: np.ndarray, expert: int, count: int) -> np.ndarray:
    """Indices of the first ``count`` held-out samples of class ``expert``.

    >>> gallery_samples(np.array([0, 1, 1, 0, 1]), 1, 2).tolist()
    [1, 2]
    """
    return np.flatnonzero(np.asarray(y_test) == expert)[:count]


def gallery(classification, expert: int) -> dict:
    """One expert's row of the reconstruction gallery from the ``classify.Classification``
    (final results) of its samples by every expert: its final reconstruction of each sample
    (N, T, D), the mixture weights it found (N, K) and, per sample, the expert that won (the
    record's decision: the app's rule, free ends for letters)."""
    record = classification.inversion
    return {"reconstructions": record.reconstructions[:, expert, -1],
            "mixture_weights": record.final_mixture_weights[:, expert],
            "winners": classification.winners}


SYSTEM_METHODS = ("mic", "nn_mse", "nn_dtw", "forward_lstm", "style_memory",
                  "forward_lstm_full", "style_memory_full")


def methods_table(table: pd.DataFrame, methods=SYSTEM_METHODS) -> pd.DataFrame:
    """Every method side by side on the low-data protocol: accuracy mean ± std over seeds
    per (dataset, selection). MIC at its best-average noise setting; methods trained on the
    whole training pool (``*_full``) have no selection and repeat in each row of their data
    set."""
    out = []
    for dataset, selection in SETTINGS:
        row = {"dataset": dataset, "selection": selection}
        for method in methods:
            if method == "mic":
                means = noise_means(table, dataset, selection)
                mic = _setting(table, dataset, selection, "mic")
                if len(means):
                    best = means.iloc[0]
                    mic = mic[(mic["noise_in"] == best["noise_in"]) &
                              (mic["noise_out"] == best["noise_out"])]
                row[method] = _mean_std(mic["accuracy"])
            elif method.endswith("_full"):
                row[method] = _mean_std(table[(table["dataset"] == dataset) &
                                              (table["method"] == method)]["accuracy"])
            else:
                row[method] = _mean_std(_setting(table, dataset, selection, method)["accuracy"])
        if any(row[m] != "–" for m in methods):
            out.append(row)
    return pd.DataFrame(out)


# --- the validation-chosen protocol (issue 15): paired comparisons ---------------------------

VALIDATED = "validated"
BASELINES = ("nn_mse", "nn_dtw", "forward_lstm")
LEAGUE = (("mic", "MIC (one expert per class)"),
          ("single_class", "single generator, class input"),
          ("single_class_corners", "single generator, class input, best corner (no inversion)"),
          ("single_type", "single generator, type input"),
          ("single_type_corners", "single generator, type input, best corner (no inversion)"),
          ("style_memory", "style memory"),
          ("inversion_ssl", "inversion SSL (also uses unlabelled samples)"),
          ("supervised_small", "small supervised network"),
          ("nn_mse", "nearest neighbour (MSE)"),
          ("nn_dtw", "nearest neighbour (DTW)"),
          ("forward_lstm", "forward LSTM"))


def _prediction_lookup(predictions: pd.DataFrame) -> dict:
    """row key -> predicted classes (int array) of every stored row."""
    from mic_core.experiments.store import decode_predictions, row_key
    lookup = {}
    for values in predictions[[*KEY_COLUMNS, "predictions"]].itertuples(index=False):
        if isinstance(values[-1], str) and values[-1] not in ("", "nan"):
            lookup[row_key(*values[:-1])] = decode_predictions(values[-1])
    return lookup


KEY_COLUMNS = ["protocol", "dataset", "selection", "noise_in", "noise_out", "seed", "method"]


def _outcomes(rows: pd.DataFrame, lookup: dict, test_subset) -> dict:
    """seed -> (indices into the data set's held-out samples, correct (bool)) for the rows
    of one method that have per-sample predictions and known test samples."""
    from mic_core.experiments.store import row_key
    out = {}
    for row in rows.itertuples(index=False):
        key = row_key(*(getattr(row, c) for c in KEY_COLUMNS))
        predicted = lookup.get(key)
        subset = None if predicted is None else test_subset(row.dataset, len(predicted))
        if subset is not None:
            indices, y = subset
            out[int(row.seed)] = (np.asarray(indices), predicted == np.asarray(y))
    return out


def paired_outcomes(a: dict, b: dict):
    """(correct of A, correct of B), both (seeds, samples), on the seeds and held-out
    samples the two share; None if they share none."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    common = None
    for s in seeds:
        both = np.intersect1d(a[s][0], b[s][0])
        common = both if common is None else np.intersect1d(common, both)
    if common is None or not len(common):
        return None

    def pick(outcomes, s):
        indices, correct = outcomes[s]
        return correct[np.searchsorted(indices, common)]
    return (np.array([pick(a, s) for s in seeds]), np.array([pick(b, s) for s in seeds]))


def _comparison(a: dict, b: dict, n_resamples: int = 10_000) -> dict | None:
    from mic_core.paired_statistics import compare_runs
    pair = paired_outcomes(a, b)
    if pair is None:
        return None
    result = compare_runs(*pair, n_resamples=n_resamples).to_dict()
    result["per_seed"] = [float(x) for x in pair[0].mean(axis=1) - pair[1].mean(axis=1)]
    return result


def _method_rows(table, dataset, selection, method, protocol=VALIDATED) -> pd.DataFrame:
    rows = _setting(table, dataset, selection, method)
    return rows[rows["protocol"] == protocol]


def _paired_entry(table, lookup, test_subset, choices, dataset, selection, protocol,
                  n_resamples) -> dict | None:
    mic_rows = _method_rows(table, dataset, selection, "mic", protocol)
    if mic_rows.empty:
        return None
    mic = _outcomes(mic_rows, lookup, test_subset)
    entry = {"dataset": dataset, "selection": selection, "protocol": protocol,
             "chosen_on": "validation",
             "seeds": sorted(int(s) for s in mic_rows["seed"]),
             "n_test": sorted({int(n) for n in mic_rows["n_test"]}),
             "accuracy": {"mic": float(mic_rows["accuracy"].mean())},
             "choices": {c["system"]: c["chosen"] for c in choices
                         if c["dataset"] == dataset and c["selection"] == selection and
                         c.get("protocol", VALIDATED) == protocol}}
    for method in BASELINES:
        rows = _method_rows(table, dataset, selection, method, protocol)
        rows = rows[rows["seed"].isin(mic_rows["seed"])]  # MIC's seeds: paired
        if len(rows):
            entry["accuracy"][method] = float(rows["accuracy"].mean())
        if method in ("nn_mse", "nn_dtw"):
            entry[f"mic_minus_{method}"] = _comparison(
                mic, _outcomes(rows, lookup, test_subset), n_resamples)
    uniform = _method_rows(table, dataset, selection, "mic_uniform_start", protocol)
    if len(uniform):  # what the corner starts add (the same inversions, start 0 alone)
        entry["accuracy"]["mic_uniform_start"] = float(uniform["accuracy"].mean())
        entry["mic_minus_mic_uniform_start"] = _comparison(
            mic, _outcomes(uniform, lookup, test_subset), n_resamples)
    return entry


def paired_settings(table: pd.DataFrame, predictions: pd.DataFrame, test_subset,
                    choices=(), n_resamples: int = 10_000,
                    full_test: dict | None = None) -> list[dict]:
    """One object per (dataset, selection) with rows of the protocol ``validated``: MIC −
    NN-MSE and MIC − NN-DTW in accuracy units, each {estimate, ci_low, ci_high, p_value,
    ...} from the per-sample predictions (``paired_statistics.compare_runs`` over the seeds
    both have); ``chosen_on`` "validation" and the validation choices where known.

    ``table``: results rows (any protocols); ``predictions``: the store's per-sample table;
    ``test_subset(dataset, n_test)`` -> (indices into the held-out samples, true classes),
    or None where unknown; ``choices``: ``experiments.validated.read_choices(protocol=
    None)``. ``full_test``: data set -> the name of its protocol on the whole test set
    (MNIST: all 10 000 images). Where that protocol's MIC rows cover every seed of the
    ``validated`` ones, its object is the setting's (``test_set`` says which) and the
    ``validated`` object goes under ``subset``; where they cover fewer seeds, the
    ``validated`` object stays and the partial one goes under ``full_test_partial``."""
    lookup = _prediction_lookup(predictions)
    out = []
    for dataset, selection in SETTINGS:
        entry = _paired_entry(table, lookup, test_subset, choices, dataset, selection,
                              VALIDATED, n_resamples)
        full_name = (full_test or {}).get(dataset)
        full = None if full_name is None else _paired_entry(
            table, lookup, test_subset, choices, dataset, selection, full_name, n_resamples)
        if full is not None:
            full["test_set"] = f"all {max(full['n_test'])} held-out samples"
        if entry is None and full is None:
            continue
        if entry is not None:
            entry["test_set"] = (f"all {max(entry['n_test'])} held-out samples" if
                                 dataset != "mnist" else
                                 f"a seeded {max(entry['n_test'])} of the held-out samples")
        if full is not None and (entry is None or set(entry["seeds"]) <= set(full["seeds"])):
            if entry is not None:
                full["subset"] = entry
            entry = full
        elif full is not None:
            entry["full_test_partial"] = full
        out.append(entry)
    return out


def verdicts(setting: dict) -> dict:
    """Plain answers for one ``paired_settings`` object: does MIC beat NN-MSE with the
    interval above zero; is it significantly below NN-DTW (p < 0.05, interval below zero).

    >>> verdicts({"mic_minus_nn_mse": {"estimate": 0.01, "ci_low": 0.002, "ci_high": 0.02,
    ...                                "p_value": 0.01},
    ...           "mic_minus_nn_dtw": {"estimate": -0.03, "ci_low": -0.05, "ci_high": -0.01,
    ...                                "p_value": 0.001}})
    {'beats_nn_mse': True, 'below_nn_dtw': True}
    """
    mse, dtw = setting.get("mic_minus_nn_mse"), setting.get("mic_minus_nn_dtw")
    return {"beats_nn_mse": None if mse is None else bool(mse["ci_low"] > 0),
            "below_nn_dtw": None if dtw is None else bool(dtw["ci_high"] < 0 and
                                                          dtw["p_value"] < 0.05)}


def _points(c: dict | None, missing: str = "no per-sample predictions") -> str:
    if c is None:
        return missing
    return (f"{c['estimate'] * 100:+.1f} ({c['ci_low'] * 100:+.1f} to "
            f"{c['ci_high'] * 100:+.1f}), {p_text(c['p_value'])}")


def _sentence(c: dict) -> str:
    """
    >>> _sentence({"estimate": 0.008, "ci_low": 0.003, "ci_high": 0.012, "p_value": 0.0018})
    '+0.8 points, 95 % interval +0.3 to +1.2, p = 0.0018'
    """
    return (f"{c['estimate'] * 100:+.1f} points, 95 % interval {c['ci_low'] * 100:+.1f} to "
            f"{c['ci_high'] * 100:+.1f}, {p_text(c['p_value'])}")


def _choice_text(choices: dict) -> str:
    mic = choices.get("mic")
    if not mic:
        return "–"
    starts = "corner starts" if mic["starts"] == "uniform+corners" else "one start"
    rule = "lowest error" if mic["rule"] == "plain" else mic["rule"]
    return f"noise in {mic['noise_in']:g} / out {mic['noise_out']:g}, {starts}, {rule}"


def _with_extras(settings: list[dict]):
    """(object, its name) for every setting and the extra test set it carries.

    >>> [n for _, n in _with_extras([{"dataset": "mnist", "selection": "random",
    ...     "test_set": "all 10000", "subset": {"test_set": "a seeded 2000"}}])]
    ['mnist, random', 'mnist, random (a seeded 2000: for reference)']
    """
    for s in settings:
        name = f"{s['dataset']}, {s['selection']}"
        yield s, name
        if "subset" in s:
            yield s["subset"], f"{name} ({s['subset']['test_set']}: for reference)"
        if "full_test_partial" in s:
            extra = s["full_test_partial"]
            yield extra, (f"{name} ({extra['test_set']}: PARTIAL, seeds "
                          f"{', '.join(map(str, extra['seeds']))})")


def paired_settings_table(settings: list[dict]) -> pd.DataFrame:
    """``paired_settings`` as a readable table: one row per setting, and one more where a
    setting carries another test set (its ``subset`` for reference, or a
    ``full_test_partial`` run), named so."""
    rows = []
    for s, name in _with_extras(settings):
        v, acc = verdicts(s), s["accuracy"]
        rows.append({
            "setting": name,
            "MIC's choices (on validation)": _choice_text(s.get("choices", {})),
            "seeds": len(s["seeds"]), "held-out samples": ", ".join(map(str, s["n_test"])),
            "MIC": f"{acc['mic']:.3f}",
            "NN (MSE)": f"{acc['nn_mse']:.3f}" if "nn_mse" in acc else "–",
            "NN (DTW)": f"{acc['nn_dtw']:.3f}" if "nn_dtw" in acc else "–",
            "MIC − NN (MSE), points (95 % interval), p": _points(s.get("mic_minus_nn_mse")),
            "MIC − NN (DTW), points (95 % interval), p": _points(s.get("mic_minus_nn_dtw")),
            "corner starts − uniform start alone": _points(
                s["mic_minus_mic_uniform_start"]) if "mic_minus_mic_uniform_start" in s
            else "–",
            "MIC beats NN (MSE), interval above 0": {True: "yes", False: "no",
                                                     None: "–"}[v["beats_nn_mse"]],
            "MIC significantly below NN (DTW)": {True: "yes", False: "no",
                                                 None: "–"}[v["below_nn_dtw"]]})
    return pd.DataFrame(rows)


def league_table(table: pd.DataFrame, predictions: pd.DataFrame, test_subset,
                 n_resamples: int = 2000) -> pd.DataFrame:
    """The low-data league: every system of ``LEAGUE`` present in the results, per
    (dataset, selection), on the same four types per class; each with its accuracy (mean ±
    std over seeds) and its paired difference (``compare_runs`` over shared seeds and
    held-out samples) against the strongest baseline of the setting (the best mean of
    NN-MSE, NN-DTW and the forward LSTM; the ``validated`` protocol's rows where there are
    any, else the ``paper`` protocol's). MIC: the validation-chosen rows only (the paper
    protocol chose its noise on the test samples)."""
    lookup = _prediction_lookup(predictions)
    out = []
    for dataset, selection in SETTINGS:
        found = []
        for method, label in LEAGUE:
            for protocol in (VALIDATED, "paper"):
                rows = _method_rows(table, dataset, selection, method, protocol)
                if len(rows) and not (method == "mic" and protocol != VALIDATED):
                    found.append((method, label, protocol, rows))
                    break
        if not found:
            continue
        baselines = [f for f in found if f[0] in BASELINES]
        strongest = max(baselines, key=lambda f: f[3]["accuracy"].mean(), default=None)
        reference = None if strongest is None else _outcomes(strongest[3], lookup, test_subset)
        for method, label, protocol, rows in sorted(found, key=lambda f: -f[3]["accuracy"]
                                                     .mean()):
            if strongest is not None and method == strongest[0]:
                versus = "strongest baseline"
            elif strongest is None:
                versus = "–"
            else:  # "–": no per-sample predictions stored, so no paired comparison
                versus = _points(_comparison(_outcomes(rows, lookup, test_subset), reference,
                                             n_resamples), missing="–")
            out.append({"setting": f"{dataset}, {selection}", "system": label,
                        "protocol": protocol, "accuracy": _mean_std(rows["accuracy"]),
                        "seeds": int(rows["seed"].nunique()),
                        "held-out samples": ", ".join(str(int(n)) for n in
                                                      sorted(rows["n_test"].unique())),
                        "strongest baseline": "–" if strongest is None else strongest[1],
                        "vs strongest baseline, points (95 % interval), p": versus})
    return pd.DataFrame(out)


def league_view(league: pd.DataFrame, setting: str) -> tuple[pd.DataFrame, str]:
    """One setting's rows of ``league_table`` for reading: the systems as the index, the
    strongest baseline named once (returned, not repeated on every row).

    >>> league = pd.DataFrame([{"setting": "mnist, random", "system": "NN", "accuracy": "0.6",
    ...     "strongest baseline": "NN", "vs strongest baseline, points (95 % interval), p":
    ...     "strongest baseline"}])
    >>> frame, strongest = league_view(league, "mnist, random")
    >>> strongest, list(frame.columns)
    ('NN', ['accuracy', 'vs NN, points (95 % interval), p'])
    """
    part = league[league["setting"] == setting].drop(columns="setting")
    strongest = (part.pop("strongest baseline").iloc[0] if "strongest baseline" in part
                 else "the strongest baseline")
    part = part.rename(columns={"vs strongest baseline, points (95 % interval), p":
                                f"vs {strongest}, points (95 % interval), p"})
    return part.set_index("system"), strongest


def league_takeaway(league: pd.DataFrame) -> str:
    """One plain sentence: which system has the highest mean accuracy in each setting of
    ``league_table`` (its rows are sorted best first within a setting; systems whose mean
    reads the same to three decimals are named together, tied).

    >>> league_takeaway(pd.DataFrame({"setting": ["a, x", "a, x", "a, x", "b, y"],
    ...     "system": ["NN", "MIC", "LSTM", "MIC"],
    ...     "accuracy": ["0.900 ± 0.010", "0.900 ± 0.020", "0.800", "0.700 ± 0.1"]}))
    'With four labelled samples per class, the highest mean accuracy goes to NN and MIC (tied) on x a and to MIC on y b.'
    """
    if league.empty:
        return ""
    winners = {}
    for setting, part in league.groupby("setting", sort=False):
        means = part["accuracy"].str.split().str[0]
        best = _and(list(part["system"][means == means.iloc[0]]))
        best += " (tied)" if (means == means.iloc[0]).sum() > 1 else ""
        winners.setdefault(best, []).append(_plain(*setting.split(", ")))
    return ("With four labelled samples per class, the highest mean accuracy goes "
            + _and([f"to {system} on {_and(where)}" for system, where in winners.items()])
            + ".")


def _plain(dataset: str, selection: str) -> str:
    """A setting in a teacher's words.

    >>> _plain("mnist", "clustered"), _plain("characters", "random")
    ('clustered digits', 'random letters')
    """
    return f"{selection} {dict(characters='letters', mnist='digits').get(dataset, dataset)}"


def _and(items: list[str]) -> str:
    """
    >>> _and(["a"]), _and(["a", "b", "c"])
    ('a', 'a, b and c')
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _clearly(c: dict | None) -> str | None:
    """"ahead" / "behind" where the 95 % interval excludes zero, "level" where it holds it."""
    if c is None:
        return None
    return "ahead" if c["ci_low"] > 0 else "behind" if c["ci_high"] < 0 else "level"


def targets_takeaway(settings: list[dict]) -> str:
    """Plain words for a teacher on ``paired_settings``: where MIC is clearly ahead of,
    clearly behind or level with each nearest neighbour (the 95 % interval excludes zero or
    not), and whether issue 15's targets were met.

    >>> up = {"estimate": 0.01, "ci_low": 0.002, "ci_high": 0.02, "p_value": 0.01}
    >>> down = {"estimate": -0.04, "ci_low": -0.05, "ci_high": -0.03, "p_value": 0.001}
    >>> print(targets_takeaway([{"dataset": "characters", "selection": "random",
    ...     "mic_minus_nn_mse": up, "mic_minus_nn_dtw": down}]))
    In plain words: against the plain nearest neighbour (MSE), MIC is clearly ahead on random letters. Against the nearest neighbour that allows time warping (DTW), it is clearly behind on random letters. Issue 15's targets (ahead of MSE in 3 of 4 settings, never behind DTW on letters) were NOT met.
    """
    if not settings:
        return ""
    sentences = []
    for key, name in (("mic_minus_nn_mse", "the plain nearest neighbour (MSE)"),
                      ("mic_minus_nn_dtw", "the nearest neighbour that allows time warping "
                                           "(DTW)")):
        groups = {}
        for s in settings:
            where = _clearly(s.get(key))
            if where is not None:
                groups.setdefault(where, []).append(_plain(s["dataset"], s["selection"]))
        words = {"ahead": "clearly ahead", "behind": "clearly behind",
                 "level": "level (no clear difference)"}
        found = [f"{words[w]} on {_and(groups[w])}" for w in ("ahead", "behind", "level")
                 if w in groups]
        if found:
            sentences.append(f"Against {name}, {'it' if sentences else 'MIC'} is "
                             f"{_and(found)}.")
    goal = targets(settings)
    met = goal["nn_mse_target_met"] and goal["nn_dtw_target_met"]
    return ("In plain words: " + " ".join(sentences)[0].lower() + " ".join(sentences)[1:]
            + " Issue 15's targets (ahead of MSE in 3 of 4 settings, never behind DTW on "
            "letters) were " + ("met." if met else "NOT met."))


def targets(settings: list[dict]) -> dict:
    """Issue 15's targets from ``paired_settings``: MIC above NN-MSE with the interval above
    zero in at least 3 of 4 settings, and on letters not significantly below NN-DTW.

    >>> above = {"estimate": 0.01, "ci_low": 0.001, "ci_high": 0.02, "p_value": 0.01}
    >>> below = {"estimate": -0.03, "ci_low": -0.05, "ci_high": -0.01, "p_value": 0.001}
    >>> t = targets([{"dataset": "characters", "selection": "random",
    ...               "mic_minus_nn_mse": above, "mic_minus_nn_dtw": below}])
    >>> t["beats_nn_mse"], t["nn_mse_target_met"], t["letters_below_nn_dtw"]
    (1, False, ['random'])
    """
    beats = [s for s in settings if verdicts(s)["beats_nn_mse"]]
    letters = [s for s in settings if s["dataset"] == "characters"]
    below = [s["selection"] for s in letters if verdicts(s)["below_nn_dtw"]]
    return {"beats_nn_mse": len(beats), "settings": len(settings),
            "nn_mse_target_met": len(beats) >= 3,
            "letters": len(letters), "letters_below_nn_dtw": below,
            "nn_dtw_target_met": bool(letters) and not below}


def validated_markdown(settings: list[dict], league: pd.DataFrame | None = None) -> str:
    """The report's section on the validation-chosen protocol: the paired table and, per
    setting, the plain verdict."""
    if not settings:
        return ""
    lines = ["## MIC against the nearest neighbours, every choice made on validation",
             "Protocol `validated` (`mic_core/experiments/validated.py`): noise setting, "
             "starts of the inversion and decision rule chosen on a validation split of the "
             "training data; the held-out samples touched once. Differences in accuracy "
             "points, mean over seeds; 95 % interval: paired bootstrap over held-out samples "
             "(the seeds' type draws held fixed); p: exact sign-flip test of the per-sample "
             "sums over seeds (McNemar's test generalised to several seeds).",
             _markdown(paired_settings_table(settings))]
    verdict = []
    for s in settings:
        v, name = verdicts(s), f"{s['dataset']}, {s['selection']}"
        mse, dtw = s.get("mic_minus_nn_mse"), s.get("mic_minus_nn_dtw")
        seeds = f"{len(s['seeds'])} seeds"
        if mse is not None:
            verdict.append(f"- {name}: MIC {'beats' if v['beats_nn_mse'] else 'does NOT beat'}"
                           f" NN (MSE) with the interval above zero ({_sentence(mse)}; "
                           f"{seeds})")
        if dtw is not None:
            verdict.append(f"- {name}: MIC is {'significantly below' if v['below_nn_dtw'] else 'not significantly below'}"
                           f" NN (DTW) ({_sentence(dtw)}; {seeds})")
    lines.append("\n".join(verdict))
    goal = targets(settings)
    lines.append(f"**Targets (issue 15).** MIC above NN (MSE) with the interval above zero in "
                 f"{goal['beats_nn_mse']} of {goal['settings']} settings (target: at least 3 "
                 f"of 4): {'MET' if goal['nn_mse_target_met'] else 'NOT MET'}. Letters "
                 f"significantly below NN (DTW) in {len(goal['letters_below_nn_dtw'])} of "
                 f"{goal['letters']} selections (target: none): "
                 f"{'MET' if goal['nn_dtw_target_met'] else 'NOT MET'}.")
    lines.append(targets_takeaway(settings))
    if league is not None and len(league):
        lines += ["## The low-data league: every system on the same four types per class",
                  league_takeaway(league) + " '–' in the last column: that system's runs "
                  "stored no per-sample predictions, so there is no paired comparison.",
                  _markdown(league)]
    return "\n\n".join(lines)


# --- issue 15: the learning curve and the paper-faithful letters ----------------------------

def _accuracy(values: dict, key: str) -> str:
    return f"{values[key]:.3f}" if key in values else "–"


def learning_curve_table(curve: dict) -> pd.DataFrame:
    """The points of ``experiments.learning_curve.summarise`` as a readable table: one row
    per (setting, types per class).

    >>> c = {"estimate": 0.01, "ci_low": 0.0, "ci_high": 0.02, "p_value": 0.5}
    >>> learning_curve_table({"points": [{"dataset": "mnist", "selection": "clustered",
    ...     "n_types": 8, "seeds": [42], "n_test": 2000, "accuracy": {"mic": 0.9},
    ...     "mic_minus_nn_mse": c, "mic_minus_nn_dtw": c}]}).iloc[0]["MIC"]
    '0.900'
    """
    rows = []
    for p in curve.get("points", []):
        rows.append({"setting": f"{p['dataset']}, {p['selection']}",
                     "types per class": int(p["n_types"]),
                     "seeds": len(p["seeds"]), "held-out samples": int(p["n_test"]),
                     "MIC": _accuracy(p["accuracy"], "mic"),
                     "NN (MSE)": _accuracy(p["accuracy"], "nn_mse"),
                     "NN (DTW)": _accuracy(p["accuracy"], "nn_dtw"),
                     "MIC − NN (MSE), points (95 % interval), p":
                         _points(p.get("mic_minus_nn_mse")),
                     "MIC − NN (DTW), points (95 % interval), p":
                         _points(p.get("mic_minus_nn_dtw"))})
    return pd.DataFrame(rows)


def paper_faithful_table(summary: dict) -> pd.DataFrame:
    """``experiments.paper_faithful``'s summary as a readable table: one row per (split,
    selection), MIC at each output noise against both nearest neighbours."""
    rows = []
    for s in summary.get("settings", []):
        acc = s["accuracy"]
        row = {"split": s["split"], "selection": s["selection"],
               "seeds": str(len(s["seeds"])), "test samples": str(s["n_test"]),
               "NN (MSE)": _accuracy(acc, "nn_mse"), "NN (DTW)": _accuracy(acc, "nn_dtw")}
        for noise in summary.get("noise_out", []):
            mic = f"mic_out{noise:g}"
            row[f"MIC (out {noise:g})"] = _accuracy(acc, mic)
            for baseline, label in (("nn_mse", "NN (MSE)"), ("nn_dtw", "NN (DTW)")):
                row[f"MIC (out {noise:g}) − {label}"] = _points(  # "–": no unit of this
                    s.get(f"{mic}_minus_{baseline}"), missing="–")  # noise for these seeds
        rows.append(row)
    return pd.DataFrame(rows)


def _seed_words(seeds: set, one_seed: int, total: int) -> str:
    """How far a set of comparisons can be trusted: which seeds, how many rest on one."""
    if len(seeds) == 1:
        return f"one seed ({next(iter(seeds))}) only: a lead, not a result"
    return (f"seeds {_and([str(s) for s in sorted(seeds)])}"
            + (f"; {one_seed} of {total} rest on one seed: leads, not results" if one_seed
               else " only: leads, not results" if len(seeds) < 3 else ""))


def curve_takeaway(curve: dict) -> str:
    """One plain sentence on the learning curve: per setting with more than four types,
    the points MIC and the nearest neighbour (MSE) gain from the fewest to the most types.

    >>> print(curve_takeaway({"points": [
    ...     {"dataset": "mnist", "selection": "clustered", "n_types": k, "seeds": [42],
    ...      "accuracy": {"mic": a, "nn_mse": b}}
    ...     for k, a, b in ((4, 0.90, 0.90), (8, 0.93, 0.91))]}))
    In plain words: more labelled types help; from the fewest to the most types per class, MIC +3.0 and NN (MSE) +1.0 points on clustered digits (4 to 8 types). One seed (42) only: a lead, not a result.
    """
    points, seeds, parts, one_seed, gains = curve.get("points", []), set(), [], 0, []
    for dataset, selection in dict.fromkeys((p["dataset"], p["selection"]) for p in points):
        mine = sorted((p for p in points if (p["dataset"], p["selection"]) ==
                       (dataset, selection)), key=lambda p: p["n_types"])
        first, last = mine[0], mine[-1]
        gain = {m: (last["accuracy"][m] - first["accuracy"][m]) * 100 for m in
                ("mic", "nn_mse") if m in first["accuracy"] and m in last["accuracy"]}
        if len(mine) < 2 or len(gain) < 2:
            continue
        seeds |= {s for p in (first, last) for s in p["seeds"]}
        one_seed += len(last["seeds"]) == 1
        gains += gain.values()
        parts.append(f"MIC {gain['mic']:+.1f} and NN (MSE) {gain['nn_mse']:+.1f} points on "
                     f"{_plain(dataset, selection)} ({first['n_types']} to "
                     f"{last['n_types']} types)")
    if not parts:
        return ""
    words = _seed_words(seeds, one_seed, len(parts))
    return ("In plain words: " + ("more labelled types help; " if min(gains) > 0 else "")
            + f"from the fewest to the most types per class, {'; '.join(parts)}. "
            f"{words[0].upper() + words[1:]}.")


def paper_takeaway(summary: dict) -> str:
    """One plain sentence on the paper-faithful letters: in how many (split, selection,
    output noise) comparisons MIC is clearly below the nearest neighbour (MSE).

    >>> c = {"estimate": -0.03, "ci_low": -0.05, "ci_high": -0.01, "p_value": 0.001}
    >>> print(paper_takeaway({"noise_out": [1e-4], "settings": [{"split": "leaky",
    ...     "selection": "random", "seeds": [42], "mic_out0.0001_minus_nn_mse": c}]}))
    In plain words: with the paper's own representation and inversion, MIC is clearly below the nearest neighbour (MSE) in 1 of 1 comparisons (by 3.0 points). One seed (42) only: a lead, not a result.
    """
    below, total, gaps, seeds, one_seed = 0, 0, [], set(), 0
    for s in summary.get("settings", []):
        for noise in summary.get("noise_out", []):
            c = s.get(f"mic_out{noise:g}_minus_nn_mse")
            if c is None:
                continue
            total += 1
            seeds |= set(s["seeds"])
            one_seed += len(s["seeds"]) == 1
            if c["ci_high"] < 0:
                below += 1
                gaps.append(-c["estimate"] * 100)
    if not total:
        return ""
    size = (f" (by {min(gaps):.1f} points)" if len(gaps) == 1 or min(gaps) == max(gaps)
            else f" (by {min(gaps):.1f} to {max(gaps):.1f} points)") if gaps else ""
    words = _seed_words(seeds, one_seed, total)
    return (f"In plain words: with the paper's own representation and inversion, MIC is "
            f"clearly below the nearest neighbour (MSE) in {below} of {total} comparisons"
            f"{size}. {words[0].upper() + words[1:]}.")


def issue15_markdown(curve: dict | None, paper: dict | None) -> str:
    """The report's sections on the learning curve and the paper-faithful letters (empty
    where their JSON is missing)."""
    parts = []
    if curve and curve.get("points"):
        parts += ["## Learning curve: 4, 8 and 16 types per class",
                  "MIC with the settings chosen on validation for four types (not chosen "
                  "again), the nearest neighbours on the same types; held-out samples of the "
                  "validated protocol; four types: its own rows. "
                  "`python -m mic_core.experiments.learning_curve`.",
                  curve_takeaway(curve), _markdown(learning_curve_table(curve))]
    if paper and paper.get("settings"):
        parts += ["## The paper's letters, faithfully: representation or leakage?",
                  f"{LENGTH_NOTE} `python -m mic_core.experiments.paper_faithful`.",
                  paper_takeaway(paper), _markdown(paper_faithful_table(paper))]
    return "\n\n".join(parts)


LENGTH_NOTE = ("The paper's representation (velocities integrated as stored, padded to 205 "
               "steps by holding the last position, one standardisation per axis) and its "
               "inversion (input noise 0.1 fixed beforehand, output noise 1e-4 or 2e-4, the "
               "uniform start, the lowest error wins); 'held-out': our split, everything "
               "fitted on the 714 of the training pool, tested on the 715 held-out letters; "
               "'leaky': the paper's protocol, standardisation and types from all 1 429 "
               "labelled letters and every one of them a test sample.")
