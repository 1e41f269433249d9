"""The paper's experiments (METHOD §5-6) on the held-out test set, one module per job:

- ``grid``: the protocol, the jobs and the grid of cells;
- ``jobs``: what one job computes (``run_job``: its results rows);
- ``store``: the results table (columns, row keys, read, atomic append);
- ``executors``: running jobs here, in local worker processes or on Ray (``run_grid``).

The public names are re-exported here: ``from mic_core.experiments import grid, run_grid``.
"""
from mic_core.experiments.executors import run_grid
from mic_core.experiments.grid import (JOB_METHODS, METHODS, NOISE_IN, OUTPUT_NOISE, SEEDS,
                                       TEST_LIMIT, Job, Protocol, grid)
from mic_core.experiments.jobs import run_job
from mic_core.experiments.store import (COLUMNS, KEY, RESULTS, append_results,
                                        decode_predictions, pending_jobs, read_predictions,
                                        read_results, row_key)

__all__ = ["run_grid", "JOB_METHODS", "METHODS", "NOISE_IN", "OUTPUT_NOISE", "SEEDS",
           "TEST_LIMIT", "Job", "Protocol", "grid", "run_job", "COLUMNS", "KEY", "RESULTS",
           "append_results", "pending_jobs", "read_results", "row_key",
           "read_predictions", "decode_predictions"]
