"""Running the grid's jobs: in this process, in local worker processes (one thread each,
one per core) or on Ray. Every finished job's rows go to the results table at once
(``store.append_results``), so an interrupted grid resumes where it stopped."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from mic_core.experiments.grid import METHODS, Job, Protocol
from mic_core.experiments.jobs import run_job
from mic_core.experiments.store import RESULTS, append_results, pending_jobs

_ROOT = Path(__file__).resolve().parent.parent.parent  # the repository: Ray workers import from it


def run_grid(jobs: list[Job], protocol: Protocol = Protocol(), methods=METHODS,
             results: Path = RESULTS, cache_dir: Path | None = None, workers: int = 2,
             executor: str = "local", ray_address: str | None = None,
             progress: Callable[[int, int, str], None] | None = None) -> int:
    """Run the ``jobs`` not yet in ``results``; returns how many ran.

    ``executor``: "local" (``workers`` processes, one core each; 1 runs in this process) or
    "ray" (a local Ray instance with ``workers`` CPUs, or the cluster at ``ray_address``).
    ``progress(done, total, what)`` after every job."""
    methods = tuple(methods)
    todo = pending_jobs(jobs, protocol, methods, results)
    if progress is not None:
        progress(0, len(todo), f"{len(jobs) - len(todo)} of {len(jobs)} jobs already done")
    if not todo:
        return 0
    if executor == "ray":
        finished = _run_on_ray(todo, protocol, methods, cache_dir, workers, ray_address)
    elif executor != "local":
        raise ValueError(f"unknown executor {executor!r}; choose local or ray")
    elif workers <= 1:
        finished = ((job, run_job(job, protocol, methods, cache_dir)) for job in todo)
    else:
        finished = _run_in_processes(todo, protocol, methods, cache_dir, workers)
    for done, (job, rows) in enumerate(finished, 1):
        append_results(rows, results)
        if progress is not None:
            progress(done, len(todo), str(job))
    return len(todo)


def _single_threaded():
    """Worker processes take one core each: numba and torch stay on one thread."""
    import numba
    import torch
    numba.set_num_threads(1)
    torch.set_num_threads(1)


def _run_job_in_worker(job, protocol, methods, cache_dir):
    _single_threaded()
    return run_job(job, protocol, methods, cache_dir)


def _run_in_processes(jobs, protocol, methods, cache_dir, workers):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    # spawn, not fork: a forked copy of a process running torch or numba threads can hang
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_run_job_in_worker, job, protocol, methods, cache_dir): job
                   for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _run_on_ray(jobs, protocol, methods, cache_dir, workers, address):
    try:
        import ray
    except ImportError:
        raise ValueError("the ray executor needs Ray: pip install 'ray==2.60.0' (an optional "
                         "dependency; the local executor needs nothing more)") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else workers,
                 include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(_ROOT)}})
    try:
        remote = ray.remote(num_cpus=1)(_run_job_in_worker)
        refs = {remote.remote(job, protocol, methods, cache_dir): job for job in jobs}
        waiting = list(refs)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            yield refs[ready[0]], ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()
