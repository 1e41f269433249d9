"""The classroom server's training queue, caps and bounded disk cache (mic_core.serving)."""
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mic_core.persistence import file_name, find_experts, load_experts, load_or_train
from mic_core.serving import (ServingLimits, TrainingQueue, TrainingRefused, cache_size,
                              evict_least_recently_used, expert_training, mark_used,
                              remove_stale_temporaries)
from tests.conftest import TINY_TRAIN

ROOT = Path(__file__).resolve().parent.parent


def _gate():
    """A work function that runs until released, reporting half-way progress."""
    started, release = threading.Event(), threading.Event()

    def work(progress):
        started.set()
        progress(0.5, 3.0)
        assert release.wait(10), "the test never released the training"
        return "trained"
    return work, started, release


def test_a_second_configuration_waits_its_turn_then_trains(tiny_dataset, tmp_path):
    """Two visitors ask for two untrained configurations: one trains, the other waits in
    the queue (position 1, with an estimate), then trains; both end with real experts."""
    queue = TrainingQueue(ServingLimits(max_waiting=2, max_trainings_per_hour=10))
    first_work, first_started, release = _gate()
    first = queue.request("first", "gate", first_work, estimate_seconds=10)
    assert first_started.wait(10)
    other = replace(TINY_TRAIN, seed=1)
    second = queue.request("second", "tiny experts", expert_training(tiny_dataset, other,
                                                                     tmp_path), 20)
    waiting = queue.status(second)
    assert (waiting.state, waiting.position) == ("queued", 1)
    assert waiting.wait_seconds == pytest.approx(3.0 + 20)  # the running one's 3 s left + own
    running = queue.status(first)
    assert (running.state, running.fraction) == ("running", 0.5)
    assert second.state == "queued" and not (tmp_path / file_name(tiny_dataset.config, other)).exists()
    release.set()
    assert first.wait(10) and first.result == "trained"
    assert second.wait(120), queue.status(second)
    assert second.state == "done", second.error
    on_disk = load_experts(tmp_path / file_name(tiny_dataset.config, other), tiny_dataset.config,
                           other)
    np.testing.assert_array_equal(on_disk.w_ih, second.result.w_ih)


def test_asking_again_for_a_queued_configuration_joins_it():
    queue = TrainingQueue(ServingLimits(max_waiting=1, max_trainings_per_hour=10))
    work, started, release = _gate()
    ticket = queue.request("same", "gate", work, 5)
    assert queue.request("same", "gate", work, 5) is ticket
    assert len(queue) == 1
    release.set()
    assert ticket.wait(10)


def test_a_full_queue_refuses_with_a_reason():
    queue = TrainingQueue(ServingLimits(max_waiting=1, max_trainings_per_hour=10))
    work, started, release = _gate()
    queue.request("running", "gate", work, 5)
    assert started.wait(10)
    queue.request("waiting", "gate", lambda progress: None, 5)
    with pytest.raises(TrainingRefused, match="queue is full .1 trainings waiting"):
        queue.request("third", "gate", lambda progress: None, 5)
    release.set()


def test_the_hourly_cap_refuses_until_an_hour_has_passed():
    now = [1000.0]
    queue = TrainingQueue(ServingLimits(max_waiting=5, max_trainings_per_hour=2),
                          clock=lambda: now[0])
    for key in ("a", "b"):
        assert queue.request(key, "quick", lambda progress: key, 1).wait(10)
    with pytest.raises(TrainingRefused, match="at most 2 configurations an hour"):
        queue.request("c", "quick", lambda progress: None, 1)
    now[0] += 3601
    assert queue.request("c", "quick", lambda progress: "c", 1).wait(10)


def test_estimates_learn_from_trainings_that_ran():
    now = [0.0]
    queue = TrainingQueue(ServingLimits(max_waiting=5, max_trainings_per_hour=10),
                          clock=lambda: now[0])

    def takes_30_seconds(progress):
        now[0] += 30
    assert queue.request("a", "letters", takes_30_seconds, estimate_seconds=100).wait(10)
    assert queue.request("b", "letters", lambda p: None, estimate_seconds=100) \
        .estimate_seconds == 30
    assert queue.request("c", "digits", lambda p: None, estimate_seconds=100) \
        .estimate_seconds == 100


def test_a_failing_training_is_reported_and_the_queue_goes_on():
    queue = TrainingQueue(ServingLimits(max_waiting=5, max_trainings_per_hour=10))

    def broken(progress):
        raise ValueError("no types for class z")
    bad = queue.request("bad", "broken", broken, 1)
    good = queue.request("good", "quick", lambda progress: 42, 1)
    assert bad.wait(10) and good.wait(10)
    assert queue.status(bad).describe() == "The training failed: ValueError: no types for class z"
    assert good.result == 42


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MIC_MAX_WAITING", "7")
    monkeypatch.setenv("MIC_CACHE_MAX_MB", "1.5")
    limits = ServingLimits.from_environment()
    assert (limits.max_waiting, limits.cache_max_bytes) == (7, int(1.5 * 2 ** 20))
    monkeypatch.setenv("MIC_MAX_WAITING", "many")
    with pytest.raises(ValueError, match="MIC_MAX_WAITING='many' is not a number"):
        ServingLimits.from_environment()


def _file(path: Path, size: int, age: float) -> Path:
    path.write_bytes(b"x" * size)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_eviction_deletes_the_least_recently_used_first(tmp_path):
    old = _file(tmp_path / "old.npz", 100, age=300)
    middle = _file(tmp_path / "middle.npz", 100, age=200)
    new = _file(tmp_path / "new.npz", 100, age=100)
    keep = _file(tmp_path / "kept.npz", 100, age=400)  # the oldest, but protected
    (tmp_path / "notes.txt").write_text("not a model")
    mark_used(middle)  # used just now: it becomes the newest
    deleted = evict_least_recently_used(tmp_path, 250, keep=(keep,))
    assert deleted == [old, new]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".npz") == ["kept.npz",
                                                                                "middle.npz"]
    assert cache_size(tmp_path) == 200 and (tmp_path / "notes.txt").exists()


def test_eviction_skips_a_file_being_written(tmp_path):
    from filelock import FileLock
    busy = _file(tmp_path / "busy.npz", 100, age=300)
    idle = _file(tmp_path / "idle.npz", 100, age=100)
    with FileLock(str(busy) + ".lock"):
        deleted = _in_other_thread(lambda: evict_least_recently_used(tmp_path, 100))
    assert deleted == [idle] and busy.exists()


def _in_other_thread(fn):
    """FileLock is re-entrant within a thread; another thread sees the lock as held."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(10)
    return out[0]


def test_stale_temporaries_of_killed_writes_are_removed(tmp_path):
    stale = _file(tmp_path / "x.npzabc.tmp", 10, age=7200)
    fresh = _file(tmp_path / "y.npzdef.tmp", 10, age=5)
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert fresh.exists()


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from dataclasses import replace
    from mic_core.data import DataConfig, Dataset
    from mic_core.persistence import load_or_train
    from tests.conftest import TINY_TRAIN, synthetic_sequences
    X, y = synthetic_sequences()
    data = Dataset(config=DataConfig(dataset="characters", n_points=20),
                   class_names=("a", "b", "c"), X_train=X, y_train=y, X_test=X, y_test=y)
    def report(p):
        if p.step == 50:
            print("training", flush=True)
    load_or_train(data, replace(TINY_TRAIN, steps=10 ** 6), {cache!r}, progress=report)
""")


def test_a_killed_training_leaves_the_cache_readable(tiny_dataset, tmp_path):
    """Kill -9 a process in the middle of training: no file of that configuration, no lock
    left held, and the next request trains it and reads it back."""
    train = replace(TINY_TRAIN, steps=10 ** 6)
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT),
                                                                 cache=str(tmp_path))],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "training"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert find_experts(tiny_dataset.config, train, tmp_path) is None
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".npz" and "types" not in p.name]
    quick = replace(TINY_TRAIN, steps=100)
    path = tmp_path / file_name(tiny_dataset.config, train)
    from filelock import FileLock
    with FileLock(str(path) + ".lock", timeout=1):
        pass  # the killed process's lock is free
    experts = load_or_train(tiny_dataset, quick, tmp_path)
    assert load_experts(tmp_path / file_name(tiny_dataset.config, quick), tiny_dataset.config,
                        quick).n_experts == experts.n_experts == 3


def test_the_app_refuses_an_untrained_configuration_over_the_cap(monkeypatch, tmp_path):
    """A visitor picking a never-trained configuration on a server whose cap is spent gets
    the reason on the page, and nothing is trained or written."""
    from streamlit.testing.v1 import AppTest

    import cached
    monkeypatch.setenv("MIC_MAX_TRAININGS_PER_HOUR", "0")
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path))
    cached.training_queue.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["seed"] = "7"  # never shipped, never cached here
        at.run()
        assert not at.exception, at.exception
        assert any("trains no new configurations" in e.value for e in at.error)
        assert not [p for p in tmp_path.iterdir() if p.suffix == ".npz" and "types" not in p.name]
    finally:
        cached.training_queue.clear()
