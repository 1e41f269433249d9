"""The expert file format (``expert_file``: saving, loading, every kind of bad model file)
and the load-or-train policy (``persistence``: caching, locks, retraining)."""
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch

from mic_core.expert_file import ExpertFileError, file_name, load_experts, save_experts
from mic_core.persistence import load_or_train
from conftest import TINY_TRAIN


def _save(tiny_experts, tmp_path, tiny_dataset):
    return save_experts(tiny_experts, tmp_path / "experts.npz", tiny_dataset.config, TINY_TRAIN)


def test_round_trip(tiny_experts, tiny_dataset, tmp_path):
    path = _save(tiny_experts, tmp_path, tiny_dataset)
    loaded = load_experts(path, tiny_dataset.config, TINY_TRAIN)
    for name in ("w_ih", "w_hh", "bias", "w_out", "b_out", "types", "training_curve"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(tiny_experts, name))
    assert loaded.class_names == tiny_experts.class_names
    assert loaded.config == tiny_experts.config
    assert [p.name for p in tmp_path.iterdir()] == ["experts.npz"]  # no temporary left


def test_loaded_experts_are_read_only(tiny_experts, tiny_dataset, tmp_path):
    loaded = load_experts(_save(tiny_experts, tmp_path, tiny_dataset))
    with pytest.raises(ValueError, match="read-only"):
        loaded.w_hh[0, 0, 0] = 1.0


def test_file_name_is_keyed_by_the_full_configuration(tiny_dataset):
    base = file_name(tiny_dataset.config, TINY_TRAIN)
    assert file_name(tiny_dataset.config, replace(TINY_TRAIN, noise_out=0.1)) != base
    assert file_name(replace(tiny_dataset.config, n_points=30), TINY_TRAIN) != base
    # the key is stable: the shipped experts' names were written by an earlier version
    from mic_core.data import DataConfig
    from mic_core.training import default_train_config
    assert file_name(DataConfig("characters"), default_train_config("characters")) == \
        "characters-clustered-seed42-d8599198c65393e0.npz"


def test_truncated_file(tiny_experts, tiny_dataset, tmp_path):
    path = _save(tiny_experts, tmp_path, tiny_dataset)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ExpertFileError, match="not a readable expert file"):
        load_experts(path)


def test_file_from_another_configuration(tiny_experts, tiny_dataset, tmp_path):
    path = _save(tiny_experts, tmp_path, tiny_dataset)
    with pytest.raises(ExpertFileError, match="another configuration"):
        load_experts(path, tiny_dataset.config, replace(TINY_TRAIN, seed=1))


def test_pickles_are_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ExpertFileError):
        load_experts(path)
    torch.save({"w": torch.zeros(2)}, tmp_path / "torch.npz")
    with pytest.raises(ExpertFileError):
        load_experts(tmp_path / "torch.npz")
    np.savez(tmp_path / "objects.npz", header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ExpertFileError, match="pickle"):
        load_experts(tmp_path / "objects.npz")


def test_foreign_npz(tmp_path):
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(ExpertFileError, match="lacks"):
        load_experts(tmp_path / "foreign.npz")


def test_inconsistent_arrays(tiny_experts, tiny_dataset, tmp_path):
    path = _save(tiny_experts, tmp_path, tiny_dataset)
    with np.load(path) as f:
        contents = dict(f)
    contents["w_hh"] = contents["w_hh"][:, :5]
    np.savez(path, **contents)
    with pytest.raises(ExpertFileError, match="inconsistent"):
        load_experts(path)


def test_load_or_train_caches_and_retrains_a_corrupt_file(tiny_dataset, tmp_path):
    messages = []
    first = load_or_train(tiny_dataset, replace(TINY_TRAIN, steps=20), tmp_path, log=messages.append)
    cached = tmp_path / file_name(tiny_dataset.config, replace(TINY_TRAIN, steps=20))
    assert cached.exists() and not messages
    second = load_or_train(tiny_dataset, replace(TINY_TRAIN, steps=20), tmp_path)
    np.testing.assert_array_equal(first.w_hh, second.w_hh)
    cached.write_bytes(b"garbage")
    third = load_or_train(tiny_dataset, replace(TINY_TRAIN, steps=20), tmp_path,
                          log=messages.append)
    assert messages and "retraining" in messages[0]
    np.testing.assert_array_equal(first.w_hh, third.w_hh)


def test_shipped_experts_load():
    from mic_core.persistence import SHIPPED_EXPERTS
    files = sorted(SHIPPED_EXPERTS.glob("*.npz"))
    assert {f.name.split("-")[0] for f in files} == {"characters", "mnist"}
    for f in files:
        experts = load_experts(f)
        assert experts.n_experts == (20 if f.name.startswith("characters") else 10)


def test_two_callers_at_once_train_once(tiny_dataset, tmp_path, monkeypatch):
    import threading
    import time

    import mic_core.persistence as persistence
    calls = []
    real = persistence.train_on_types

    def slow_counting_train(*args, **kwargs):
        calls.append(1)
        time.sleep(0.5)  # both callers are waiting while one trains
        return real(*args, **kwargs)

    monkeypatch.setattr(persistence, "train_on_types", slow_counting_train)
    config = replace(TINY_TRAIN, steps=10, seed=7)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        load_or_train(tiny_dataset, config, tmp_path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 2
    np.testing.assert_array_equal(results[0].w_hh, results[1].w_hh)


def test_types_are_selected_once_and_read_back(tiny_dataset, tmp_path, monkeypatch):
    import mic_core.persistence as persistence
    config = replace(TINY_TRAIN, seed=11)
    expected = persistence.load_or_select_types(tiny_dataset, config, tmp_path)
    assert expected.shape == (3, 4, 20, 2)
    monkeypatch.setattr(persistence, "select_types", lambda *a, **k: 1 / 0)  # must not run
    np.testing.assert_array_equal(
        persistence.load_or_select_types(tiny_dataset, replace(config, noise_in=0.2), tmp_path),
        expected)
    (cached,) = tmp_path.glob("types-*.npz")
    cached.write_bytes(b"not a zip")  # unusable: selected anew
    monkeypatch.undo()
    np.testing.assert_array_equal(
        persistence.load_or_select_types(tiny_dataset, config, tmp_path), expected)
