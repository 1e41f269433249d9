"""The paper-faithful letters (issue 15): the paper's representation and its two splits,
against our data set's held-out samples and numpy's statistics, and a tiny resumable run."""
import json

import numpy as np
import pytest

from mic_core.data import load_dataset
from mic_core.experiments.paper_faithful import (LENGTH, PaperProtocol, paper_positions,
                                                 paper_split, plan, read_rows, run, summary)
from mic_core.experiments.store import decode_predictions


def test_a_sample_keeps_its_zero_rows_and_holds_its_last_position():
    sample = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 0.5], [2.0, -1.0, 0.5], [1.0, 1.0, 0.5]])
    positions = paper_positions(sample, 6)
    # by hand: two steps at the origin (the stored zero rows), then (2, -1), (3, 0), held
    np.testing.assert_array_equal(positions, [[0, 0], [0, 0], [2, -1], [3, 0], [3, 0], [3, 0]])
    with pytest.raises(ValueError, match="must be"):
        paper_positions(np.zeros((7, 3)), 6)


def test_held_out_split_is_our_held_out_set_and_standardised_on_the_pool_only():
    ours = load_dataset("characters")
    split = paper_split("held-out")
    assert split.X_test.shape == (715, LENGTH, 2) and split.X_pool.shape == (714, LENGTH, 2)
    np.testing.assert_array_equal(split.y_test, ours.y_test)
    # the same samples: each one's last position is where its pen trajectory ends
    ends = split.standardiser.inverse(split.X_test[:, -1])
    np.testing.assert_allclose(ends, [p[-1] for p in ours.test_pen_trajectories], atol=1e-3)
    flat = split.X_pool.reshape(-1, 2).astype(np.float64)
    np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(flat.std(axis=0), 1, atol=1e-4)


def test_leaky_split_tests_on_everything_it_learnt_from():
    leaky = paper_split("leaky")
    assert len(leaky.y_test) == len(leaky.y_pool) == 1429
    np.testing.assert_array_equal(leaky.X_test, leaky.X_pool)
    flat = leaky.X_test.reshape(-1, 2).astype(np.float64)
    np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(flat.std(axis=0), 1, atol=1e-4)


def test_plan_puts_the_neighbours_before_mic():
    units = plan(["held-out", "leaky"], ["random"], [42, 142], [1e-4, 2e-4])
    assert len(units) == 12
    assert [u.noise_out for u in units[:3]] == [None, 1e-4, 2e-4]
    assert all(u.seed == 42 for u in units[:6]) and units[6].seed == 142


def test_a_tiny_run_resumes_and_its_summary_pairs_the_rows(tmp_path):
    tiny = PaperProtocol(iterations=2, train_steps=3, test_limit=10)
    out = tmp_path / "out"
    assert run(out, splits=["leaky"], selections=["random"], seeds=[42], noise_out=[1e-4],
               protocol=tiny) == 2
    assert run(out, splits=["leaky"], selections=["random"], seeds=[42], noise_out=[1e-4],
               protocol=tiny) == 0
    rows = read_rows([out])
    assert {r["method"] for r in rows} == {"nn_mse", "nn_dtw", "mic"}
    y = paper_split("leaky").y_test[:10]
    for row in rows:
        assert row["n_test"] == 10
        assert row["accuracy"] == pytest.approx(np.mean(decode_predictions(row["predictions"])
                                                        == y))
    (only_one,) = summary(rows, seeds=(42,), n_resamples=100)  # 2e-4 not run yet
    assert "mic_out0.0001" in only_one["accuracy"] and "mic_out0.0002" not in only_one["accuracy"]
    rows.append({**next(r for r in rows if r["method"] == "mic"), "noise_out": 2e-4})
    (entry,) = summary(rows, seeds=(42,), n_resamples=100)
    by = {r["method"] if r["method"] != "mic" else "mic_out0.0001": r["accuracy"] for r in rows}
    for method in ("nn_mse", "nn_dtw", "mic_out0.0001"):
        assert entry["accuracy"][method] == pytest.approx(by[method])
    assert entry["mic_out0.0001_minus_nn_mse"]["estimate"] == pytest.approx(
        by["mic_out0.0001"] - by["nn_mse"])
    assert json.loads(json.dumps(entry)) == entry  # JSON-ready
