"""The results table (``results/experiments.csv``): its columns and row keys, reading it and
adding rows atomically.

A row is keyed by ``KEY``: the protocol, the cell (dataset, selection, noise, seed) and the
method. Adding a row replaces an older one with its key, so an interrupted grid resumes and a
rerun skips what is done. A new system adds its own methods' rows with the same columns.
"""
from __future__ import annotations

import math
from pathlib import Path

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


def read_results(path: Path = RESULTS) -> pd.DataFrame:
    """The results table (empty, with its columns, if there is none yet)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path} is not a readable results table: {exc}") from None
    missing = [c for c in KEY if c not in table.columns]
    if missing:
        raise ValueError(f"{path} is not a results table: it lacks the columns {missing}")
    return table


def row_keys(table: pd.DataFrame) -> set:
    """The keys of every row of ``table``."""
    return {row_key(*values) for values in table[list(KEY)].itertuples(index=False)}


def append_results(rows: list[dict], path: Path = RESULTS) -> None:
    """Add ``rows`` to the table atomically; a row replaces an older one with its key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        table = read_results(path)
        new = pd.DataFrame(rows)
        new_keys = row_keys(new)
        keep = [row_key(*values) not in new_keys
                for values in table[list(KEY)].itertuples(index=False)]
        table = pd.concat([table[keep], new], ignore_index=True) if len(table) else new
        table = table.reindex(columns=[*COLUMNS, *(c for c in table.columns
                                                   if c not in COLUMNS)])
        text = table.to_csv(index=False, float_format="%.10g")
        atomic_write(path, lambda f: f.write(text.encode()))


def pending_jobs(jobs: list, protocol, methods, path: Path) -> list:
    """The jobs (``grid.Job``) with at least one wanted row missing from the table."""
    done = row_keys(read_results(path))
    return [job for job in jobs
            if any(job.key(protocol, m) not in done for m in job.methods if m in methods)]
