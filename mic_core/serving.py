"""What one server shared by a class needs: a training queue, caps, a bounded disk cache.

A class of thirty opens the app at once. Training a configuration that was never trained
takes both cores for a minute; run inside a visitor's page it stalls everybody's drawing,
and nothing stopped any visitor from starting any of ~10⁴ configurations. Here:

- ``TrainingQueue``: one training at a time per server, in a worker thread of its own
  (it survives the tab that asked for it: closing a tab never leaves half a file). A request
  for a configuration that is already queued or training joins it, so every visitor waiting
  for it sees the same progress; the others see their place in the queue and an estimate.
- ``ServingLimits``: the caps, read from environment variables (documented in the README):
  how many trainings may wait, how many a server starts per hour, how many numba threads a
  training uses (one by default, so drawing keeps a core), how large the disk cache may grow.
- ``evict_least_recently_used``: keeps the cache directory under its size cap by deleting
  the files used longest ago (shipped models live in ``assets/`` and are never touched).

Nothing here knows Streamlit; the app holds one queue per process (``cached.py``).
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout


class TrainingRefused(RuntimeError):
    """A training request that a cap refuses, with a message a visitor understands."""


def _env_number(name: str, default, kind=int):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {raw}")
    return value


@dataclass(frozen=True)
class ServingLimits:
    """The server's caps (0 means "none allowed", not "unbounded")."""

    max_waiting: int = 4  # trainings queued behind the running one; more are refused
    max_trainings_per_hour: int = 6  # trainings this server starts in any 60 minutes
    training_threads: int = 1  # numba threads of a training: the other core keeps drawing
    cache_max_bytes: int = 200 * 2 ** 20  # the disk cache of trained models

    @classmethod
    def from_environment(cls) -> "ServingLimits":
        """``MIC_MAX_WAITING``, ``MIC_MAX_TRAININGS_PER_HOUR``, ``MIC_TRAINING_THREADS``,
        ``MIC_CACHE_MAX_MB``; unset ones keep the defaults.

        >>> ServingLimits.from_environment().training_threads >= 1
        True
        """
        default = cls()
        return cls(
            max_waiting=_env_number("MIC_MAX_WAITING", default.max_waiting),
            max_trainings_per_hour=_env_number("MIC_MAX_TRAININGS_PER_HOUR",
                                               default.max_trainings_per_hour),
            training_threads=max(1, _env_number("MIC_TRAINING_THREADS",
                                                default.training_threads)),
            cache_max_bytes=int(_env_number("MIC_CACHE_MAX_MB",
                                            default.cache_max_bytes / 2 ** 20, float)
                                * 2 ** 20))


@dataclass(eq=False)
class Ticket:
    """One requested training, shared by everyone who asked for the same ``key``."""

    key: str
    label: str  # what is trained, in words
    estimate_seconds: float  # how long it is expected to take once it runs
    state: str = "queued"  # queued | running | done | failed
    fraction: float = 0.0  # of the training done
    seconds_left: float | None = None  # the training's own estimate while it runs
    result: object = None
    error: str | None = None
    done_event: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done_event.wait(timeout)


@dataclass(frozen=True)
class QueueStatus:
    """What a waiting visitor is shown."""

    state: str
    position: int  # 0: training now; k: k trainings run before it
    fraction: float
    wait_seconds: float  # estimated seconds until it is done
    error: str | None = None

    def describe(self) -> str:
        """One sentence for the progress bar.

        >>> QueueStatus("queued", 2, 0.0, 95.0).describe()
        'Waiting for 2 other trainings to finish first: about 95 s.'
        >>> QueueStatus("running", 0, 0.5, 12.4).describe()
        'Training: 50 % done, about 12 s left.'
        """
        if self.state == "running":
            return (f"Training: {self.fraction * 100:.0f} % done, about {self.wait_seconds:.0f} s "
                    f"left.")
        if self.state == "queued":
            others = "training" if self.position == 1 else "trainings"
            return (f"Waiting for {self.position} other {others} to finish first: about "
                    f"{self.wait_seconds:.0f} s.")
        if self.state == "failed":
            return f"The training failed: {self.error}"
        return "Trained."


Work = Callable[[Callable[[float, float | None], None]], object]


class TrainingQueue:
    """One training at a time, first come first served, in a worker thread.

    ``request(key, label, work, estimate_seconds)`` returns the ``Ticket`` of ``key``:
    the one already queued or running, or a new one. Once trainings of a ``label`` have
    run, their measured mean duration replaces ``estimate_seconds``. ``work(progress)`` does the training
    and returns its result; it calls ``progress(fraction, seconds_left)`` as it goes.
    A request beyond ``limits.max_waiting`` or ``limits.max_trainings_per_hour`` raises
    ``TrainingRefused`` with the reason.
    """

    def __init__(self, limits: ServingLimits = ServingLimits(),
                 clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: deque[tuple[Ticket, Work]] = deque()
        self._running: Ticket | None = None
        self._started: deque[float] = deque()  # start times of trainings in the last hour
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None
        self._seconds: dict[str, list[float]] = {}  # measured durations, by label

    # --- asking -------------------------------------------------------------------------
    def request(self, key: str, label: str, work: Work, estimate_seconds: float) -> Ticket:
        with self._lock:
            for ticket in self._tickets():
                if ticket.key == key:
                    return ticket  # join the training someone else asked for
            if len(self._waiting) >= self.limits.max_waiting:
                raise TrainingRefused(
                    f"The training queue is full ({len(self._waiting)} trainings waiting). "
                    f"Choose a configuration that is already trained, or try again in a few "
                    f"minutes.")
            self._forget_old_starts()
            if self.limits.max_trainings_per_hour == 0:
                raise TrainingRefused(
                    "This server trains no new configurations (MIC_MAX_TRAININGS_PER_HOUR is "
                    "0): choose one that is already trained, such as the shipped one.")
            if len(self._started) + len(self._waiting) >= self.limits.max_trainings_per_hour:
                raise TrainingRefused(
                    f"This server trains at most {self.limits.max_trainings_per_hour} "
                    f"configurations an hour, and that many have been asked for. Choose a "
                    f"configuration that is already trained (the shipped one needs no "
                    f"training), or ask whoever runs the server to raise "
                    f"MIC_MAX_TRAININGS_PER_HOUR.")
            measured = self._seconds.get(label)
            if measured:  # trainings of this kind ran here: trust them over the guess
                estimate_seconds = sum(measured[-5:]) / len(measured[-5:])
            ticket = Ticket(key, label, float(estimate_seconds))
            self._waiting.append((ticket, work))
            self._ensure_worker()
            self._wake.notify()
            return ticket

    def status(self, ticket: Ticket) -> QueueStatus:
        """Where ``ticket`` stands, with an estimate of the wait."""
        with self._lock:
            if ticket.state in ("done", "failed"):
                return QueueStatus(ticket.state, 0, ticket.fraction, 0.0, ticket.error)
            ahead = 0.0
            if self._running is not None and self._running is not ticket:
                ahead += self._remaining(self._running)
            position = 1 if self._running is not None and self._running is not ticket else 0
            for waiting, _ in self._waiting:
                if waiting is ticket:
                    break
                ahead += waiting.estimate_seconds
                position += 1
            if ticket.state == "running":
                return QueueStatus("running", 0, ticket.fraction, self._remaining(ticket))
            return QueueStatus("queued", position, 0.0, ahead + ticket.estimate_seconds)

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting) + (self._running is not None)

    # --- the worker ---------------------------------------------------------------------
    def _tickets(self):
        if self._running is not None:
            yield self._running
        yield from (t for t, _ in self._waiting)

    def _remaining(self, ticket: Ticket) -> float:
        if ticket.seconds_left is not None:
            return ticket.seconds_left
        return ticket.estimate_seconds * (1 - ticket.fraction)

    def _forget_old_starts(self) -> None:
        hour_ago = self._clock() - 3600
        while self._started and self._started[0] < hour_ago:
            self._started.popleft()

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._serve, name="mic-training-queue",
                                            daemon=True)
            self._worker.start()

    def _serve(self) -> None:
        _limit_numba_threads(self.limits.training_threads)
        while True:
            with self._lock:
                while not self._waiting:
                    self._wake.wait()
                ticket, work = self._waiting.popleft()
                ticket.state = "running"
                self._running = ticket
                self._started.append(self._clock())

            def progress(fraction: float, seconds_left: float | None = None) -> None:
                ticket.fraction = float(min(max(fraction, 0.0), 1.0))
                ticket.seconds_left = seconds_left

            began = self._clock()
            try:
                ticket.result = work(progress)
                ticket.fraction, ticket.state = 1.0, "done"
                with self._lock:
                    self._seconds.setdefault(ticket.label, []).append(self._clock() - began)
            except Exception as exc:  # reported to every waiter, never kills the worker
                ticket.error, ticket.state = f"{type(exc).__name__}: {exc}", "failed"
            finally:
                with self._lock:
                    self._running = None
                ticket.done_event.set()


def _limit_numba_threads(n: int) -> None:
    """numba's thread count is per calling thread: limiting it here leaves the app's other
    threads (inversions for drawings) all cores."""
    try:
        import numba
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # numba missing or already at its limit: run as it is
        pass


def expert_training(dataset, train, cache_dir: Path | None = None,
                    cache_max_bytes: int | None = None) -> Work:
    """The queue's work for one expert configuration: train (or load) and cache it, then
    keep the cache under ``cache_max_bytes`` (the new file is never the one evicted)."""
    from mic_core.persistence import default_cache_dir, file_name, load_or_train

    directory = Path(cache_dir or default_cache_dir())

    def work(progress):
        def report(p):
            progress(p.step / p.steps, p.seconds_left)
        experts = load_or_train(dataset, train, directory, progress=report)
        if cache_max_bytes is not None:
            evict_least_recently_used(directory, cache_max_bytes,
                                      keep=(directory / file_name(dataset.config, train),))
        return experts
    return work


# --- the disk cache ---------------------------------------------------------------------
CACHED_SUFFIXES = (".npz", ".pt", ".safetensors")


def mark_used(path: Path) -> None:
    """Record that a cached file was just used (its modification time orders eviction)."""
    try:
        os.utime(path)
    except OSError:
        pass  # read-only or gone: nothing to record


def cache_size(cache_dir: Path) -> int:
    """Bytes of the model files in ``cache_dir``."""
    return sum(p.stat().st_size for p in _cached_files(Path(cache_dir)))


def _cached_files(cache_dir: Path):
    if not cache_dir.is_dir():
        return []
    return [p for p in cache_dir.iterdir() if p.is_file() and p.suffix in CACHED_SUFFIXES]


def evict_least_recently_used(cache_dir: Path, max_bytes: int,
                              keep: tuple[Path, ...] = ()) -> list[Path]:
    """Delete the model files of ``cache_dir`` used longest ago until the rest fit in
    ``max_bytes``; never a file in ``keep`` or one whose lock another process holds (it is
    being written or read). Returns the deleted paths."""
    files = sorted(_cached_files(Path(cache_dir)), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files)
    keep = {Path(k).resolve() for k in keep}
    deleted = []
    for path in files:
        if total <= max_bytes:
            break
        if path.resolve() in keep:
            continue
        try:
            with FileLock(str(path) + ".lock", timeout=0):
                size = path.stat().st_size
                path.unlink()
        except (Timeout, FileNotFoundError):
            continue
        total -= size
        deleted.append(path)
    return deleted


def remove_stale_temporaries(cache_dir: Path, older_than_seconds: float = 3600) -> list[Path]:
    """Temporary files of writes that a killed process never finished (``atomic_write``
    names them ``<file>*.tmp``): deleted once they are old enough not to be in use."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    now, removed = time.time(), []
    for path in cache_dir.glob("*.tmp"):
        try:
            if now - path.stat().st_mtime > older_than_seconds:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue
    return removed
