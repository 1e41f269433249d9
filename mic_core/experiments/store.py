"""The results table (``results/experiments.csv``): its columns and row keys, reading it and
adding rows atomically.

A row is keyed by ``KEY``: the protocol, the cell (dataset, selection, noise, seed) and the
method. Adding a row replaces an older one with its key, so an interrupted grid resumes and a
rerun skips what is done. A new system adds its own methods' rows with the same columns.

A row may carry ``predictions``: the predicted class of every test sample, in the order of
the protocol's seeded test subset. They go to a table of their own beside the results
(``<results>-predictions.csv``, same key), one compact string per row (a base-36 digit per
sample), so that two methods can be compared sample by sample (paired statistics).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from mic_core.expert_file import atomic_write

RESULTS = Path(__file__).resolve().parent.parent.parent / "results" / "experiments.csv"
KEY = ("protocol", "dataset", "selection", "noise_in", "noise_out", "seed", "method")
COLUMNS = (*KEY, "accuracy", "mean_error", "n_test", "limit", "seconds",
           "fit_seconds", "experts_cached", "per_class_accuracy", "confusion", "error_matrix",
           "type_error_matrix", "finished")


def row_key(protocol, dataset, selection, noise_in, noise_out, seed, method) -> tuple:
    """The same tuple for a job and for its row read back from CSV (empty where absent).

    >>> row_key("paper", "mnist", None, 0.1, float("nan"), 42.0, "mic")
    ('paper', 'mnist', '', '0.1', '', '42', 'mic')
    """
    def blank(x):
        return x is None or x == "" or (isinstance(x, float) and math.isnan(x))

    def number(x):
        return "" if blank(x) else f"{float(x):g}"
    return (str(protocol), str(dataset), "" if blank(selection) else str(selection),
            number(noise_in), number(noise_out), str(int(float(seed))), str(method))


def read_results(path: Path = RESULTS, dtype: dict | None = None) -> pd.DataFrame:
    """The results table (empty, with its columns, if there is none yet)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    try:
        table = pd.read_csv(path, dtype=dtype)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path} is not a readable results table: {exc}") from None
    missing = [c for c in KEY if c not in table.columns]
    if missing:
        raise ValueError(f"{path} is not a results table: it lacks the columns {missing}")
    return table


_AS_TEXT = {"predictions": str}  # "0012" must not be read as the number 12


def predictions_path(path: Path = RESULTS) -> Path:
    """Where the per-sample predictions of a results table are kept."""
    path = Path(path)
    return path.with_name(f"{path.stem}-predictions.csv")


def encode_predictions(predicted) -> str:
    """Class indices (< 36) as one base-36 digit each.

    >>> encode_predictions([0, 9, 10, 35])
    '09az'
    """
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    try:
        return "".join(digits[int(c)] for c in predicted)
    except IndexError:
        raise ValueError("predictions are stored for at most 36 classes") from None


def decode_predictions(text: str) -> np.ndarray:
    """The inverse of ``encode_predictions``.

    >>> decode_predictions("09az").tolist()
    [0, 9, 10, 35]
    """
    return np.array([int(c, 36) for c in str(text)], dtype=int)


def read_predictions(path: Path = RESULTS) -> pd.DataFrame:
    """The per-sample predictions kept beside the results table at ``path`` (key columns,
    ``n_test`` and ``predictions``); empty if none were kept."""
    file = predictions_path(path)
    if not file.exists():
        return pd.DataFrame(columns=[*KEY, "n_test", "predictions"])
    return read_results(file, dtype=_AS_TEXT)


def row_keys(table: pd.DataFrame) -> set:
    """The keys of every row of ``table``."""
    return {row_key(*values) for values in table[list(KEY)].itertuples(index=False)}


def append_results(rows: list[dict], path: Path = RESULTS) -> None:
    """Add ``rows`` to the table atomically; a row replaces an older one with its key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    predicted = [{**{k: row.get(k) for k in (*KEY, "n_test")},
                  "predictions": row["predictions"]} for row in rows if "predictions" in row]
    rows = [{k: v for k, v in row.items() if k != "predictions"} for row in rows]
    with FileLock(str(path) + ".lock"):
        if predicted:
            _replace_rows(predictions_path(path), pd.DataFrame(predicted),
                          (*KEY, "n_test", "predictions"))
        _replace_rows(path, pd.DataFrame(rows), COLUMNS)


def _replace_rows(path: Path, new: pd.DataFrame, columns) -> None:
    """Add ``new`` to the table at ``path`` (caller holds the lock), replacing rows with
    the same keys, and write it atomically."""
    table = read_results(path, dtype=_AS_TEXT if "predictions" in columns else None)
    new_keys = row_keys(new)
    keep = [row_key(*values) not in new_keys
            for values in table[list(KEY)].itertuples(index=False)]
    table = pd.concat([table[keep], new], ignore_index=True) if len(table) else new
    table = table.reindex(columns=[*columns, *(c for c in table.columns
                                               if c not in columns)])
    text = table.to_csv(index=False, float_format="%.10g")
    atomic_write(path, lambda f: f.write(text.encode()))


def pending_jobs(jobs: list, protocol, methods, path: Path) -> list:
    """The jobs (``grid.Job``) with at least one wanted row missing from the table."""
    done = row_keys(read_results(path))
    return [job for job in jobs
            if any(job.key(protocol, m) not in done for m in job.methods if m in methods)]
