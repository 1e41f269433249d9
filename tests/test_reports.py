"""The report tables against a small results table whose answers are known by hand."""
import json

import numpy as np
import pandas as pd
import pytest

from mic_core import reports

NAMES = ["a", "b", "c"]


def _row(method, accuracy, seed, selection="clustered", noise_in=0.0, noise_out=0.0,
         mean_error=0.1, matrix=None, confusion=None):
    matrix = np.eye(3) * 0.1 + 0.5 if matrix is None else matrix
    confusion = np.diag([5, 5, 5]) if confusion is None else confusion
    return {"protocol": "paper", "dataset": "characters", "selection": selection,
            "noise_in": noise_in, "noise_out": noise_out, "seed": seed, "method": method,
            "accuracy": accuracy, "mean_error": mean_error, "n_test": 15, "seconds": 1.0,
            "fit_seconds": 0.0,
            "per_class_accuracy": json.dumps({n: accuracy for n in NAMES}),
            "confusion": json.dumps(np.asarray(confusion).tolist()),
            "error_matrix": json.dumps(np.asarray(matrix).tolist()),
            "type_error_matrix": json.dumps(np.asarray(matrix).tolist())}


@pytest.fixture
def table():
    rows = []
    for seed, (base, noisy, nn) in zip((42, 142), ((0.70, 0.80, 0.75), (0.72, 0.90, 0.77))):
        rows += [_row("mic", base, seed), _row("mic_0", base - 0.2, seed, mean_error=0.5),
                 _row("mic", noisy, seed, noise_in=0.1), _row("nn_mse", nn, seed, noise_in=None,
                                                              noise_out=None)]
    # the best single model sits in another noise setting than the best average
    rows.append(_row("mic", 0.95, 242, noise_in=0.2))
    rows.append(_row("mic", 0.40, 342, noise_in=0.2))
    return pd.DataFrame(rows)


def test_summary_against_hand_computed_numbers(table):
    (row,) = reports.summary_table(table).to_dict(orient="records")
    assert row["mic_base"] == "0.710 ± 0.014"
    assert row["mic_best_average"] == "0.850 ± 0.071"  # noise in 0.1: mean 0.85 > 0.675
    assert row["best_noise"] == "in 0.1, out 0"
    assert row["mic_best_single"] == "0.950" and "seed 242" in row["best_single_model"]
    assert row["nn_mse"] == "0.760 ± 0.014" and row["mic_beats_nn"]
    assert row["mic_minus_nn"] == pytest.approx(0.09)
    assert row["seeds_mic_above_nn"] == "2/2"  # 0.80 > 0.75 and 0.90 > 0.77, same seeds
    assert row["paper_nn"] == 0.927 and row["forward_lstm"] == "–"


def test_iterations_table(table):
    base = reports.iterations_table(table).query("noise_in == 0 and noise_out == 0")
    assert base["accuracy_0"].item() == pytest.approx(0.51)
    assert base["accuracy_50"].item() == pytest.approx(0.71)
    assert base["mean_error_0"].item() == pytest.approx(0.5)
    assert base["paper_accuracy_50"].item() == 0.880


def test_heat_map_diagonal_share():
    matrix = np.array([[0.1, 0.9, 0.9], [0.5, 0.2, 0.1], [0.5, 0.9, 0.3]])  # class c: b wins
    table = pd.DataFrame([_row("mic", 0.9, 42, matrix=matrix)])
    mean, names, share, per_seed = reports.heat_map(table, "characters", "clustered", 0, 0)
    np.testing.assert_allclose(mean, matrix)
    assert names == NAMES and share == pytest.approx(2 / 3) and per_seed == pytest.approx(2 / 3)


def test_hard_pairs_add_both_directions():
    confusion = np.array([[5, 3, 0], [1, 5, 0], [0, 2, 5]])
    pairs = reports.hard_pairs(confusion, NAMES, top=2)
    assert pairs["pair"].tolist() == ["a/b", "b/c"]
    assert pairs["confused"].tolist() == [4, 2]
    assert pairs["share_of_errors"].iloc[0] == pytest.approx(4 / 6)


def test_markdown_report_names_every_part(table):
    text = reports.report_markdown(table)
    for heading in ("## Summary", "## 0 vs 50", "## characters, clustered: noise",
                    "own expert lowest", "Most confused pairs"):
        assert heading in text


def test_heat_map_skips_classes_missing_from_a_small_subset():
    matrix = np.array([[0.1, np.nan, 0.9], [0.5, np.nan, 0.1], [0.5, np.nan, 0.3]])
    table = pd.DataFrame([_row("mic", 0.9, 42, matrix=matrix)])
    _, _, share, _ = reports.heat_map(table, "characters", "clustered", 0, 0)
    assert share == pytest.approx(1 / 2)  # a: own expert lowest; c: b's expert lower


def test_free_ends_table_sets_the_two_rules_side_by_side(table):
    rows = pd.concat([table, pd.DataFrame([_row("mic_free_ends", 0.60, 42),
                                           _row("mic_free_ends", 0.70, 142)])])
    frame = reports.free_ends_table(rows)
    base = frame[(frame["noise_in"] == 0) & (frame["noise_out"] == 0)]
    assert base["lowest error (paper)"].item() == pytest.approx(0.71)
    assert base["free ends (app)"].item() == pytest.approx(0.65)


def test_job_hours_count_a_cells_training_once():
    rows = [dict(_row("mic", 0.9, 42), seconds=100.0, fit_seconds=60.0),
            dict(_row("mic_0", 0.8, 42), seconds=65.0, fit_seconds=60.0),
            dict(_row("mic_free_ends", 0.9, 42), seconds=100.0, fit_seconds=60.0),
            dict(_row("nn_mse", 0.8, 42, noise_in=None, noise_out=None), seconds=20.0,
                 fit_seconds=0.0)]
    assert reports.job_hours(pd.DataFrame(rows)) == pytest.approx((100 + 5 + 20) / 3600)


def test_gallery_takes_the_experts_own_results_and_the_winners(tiny_experts, tiny_dataset):
    """The gallery row of expert 1 holds expert 1's final reconstructions and weights, and
    the winners are the experts with the lowest final error (the plain rule)."""
    from mic_core.classify import classify
    samples = reports.gallery_samples(tiny_dataset.y_test, 1, 3)
    assert samples.tolist() == np.flatnonzero(tiny_dataset.y_test == 1)[:3].tolist()
    result = classify(tiny_experts, tiny_dataset.X_test[samples], record="final")
    record = result.inversion
    row = reports.gallery(result, 1)
    recon = tiny_experts.generate(record.final_mixture_weights)[:, 1]
    np.testing.assert_allclose(row["reconstructions"], recon, atol=1e-6)
    np.testing.assert_allclose(row["mixture_weights"].sum(axis=1), 1.0, atol=1e-6)
    errors = ((tiny_experts.generate(record.final_mixture_weights)
               - tiny_dataset.X_test[samples][:, None]) ** 2).mean(axis=(2, 3))
    np.testing.assert_array_equal(row["winners"], errors.argmin(axis=1))


def test_mic_against_nn_and_noise_settings(table):
    beaten, total, margins = reports.mic_vs_nn(reports.summary_table(table))
    assert (beaten, total) == (1, 1) and margins == [("characters", "clustered",
                                                      pytest.approx(9.0))]
    means = reports.noise_means(table, "characters", "clustered")
    assert reports.noise_settings(means) == [(0.1, 0.0), (0.0, 0.0), (0.2, 0.0)]
    assert set(reports.without_noise(table)["noise_in"]) == {0.0}
