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
