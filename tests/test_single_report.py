"""The single generator's report: which cells of the grid exist, which machine ran each row
(and its seconds), and the per-sample comparison with MIC. Small hand-made tables whose
expected values are computed by hand."""
import json

import numpy as np
import pytest

from mic_core.experiments.store import append_results, read_results
from mic_core.single.experiments import (HERE, comparison_table, coverage_table, machine_labels,
                                         machines_path, main, merge, paired_with_mic,
                                         record_machine)


def _row(seed, method, accuracy, fit=1.0, seconds=2.0, noise_in=0.1, protocol="paper",
         dataset="mnist", selection="clustered", noise_out=0.0, **extra):
    return {"protocol": protocol, "dataset": dataset, "selection": selection,
            "noise_in": noise_in, "noise_out": noise_out, "seed": seed, "method": method,
            "accuracy": accuracy, "n_test": 4, "seconds": seconds, "fit_seconds": fit, **extra}


def test_merged_rows_keep_their_machine_and_the_table_splits_their_seconds(tmp_path):
    results = tmp_path / "experiments.csv"
    append_results([_row(42, "mic", 0.9), _row(142, "mic", 0.8),
                    _row(42, "single_class", 0.5, fit=100.0, seconds=110.0)], results)
    device = tmp_path / "device" / "1"
    append_results([_row(142, "single_class", 0.6, fit=10.0, seconds=12.0)],
                   device / "experiments.csv")
    assert merge([device], results, ("xeon16", "Intel Xeon, 16 CPUs")) == 1
    saved = json.loads(machines_path(results).read_text())
    assert saved["machines"] == {"xeon16": "Intel Xeon, 16 CPUs"}
    table = read_results(results)
    assert sorted(machine_labels(table, machines_path(results))) == [HERE, HERE, HERE,
                                                                      "xeon16"]

    frame = comparison_table(table, machines_path(results)).set_index("method")
    single = frame.loc["single_class"]
    assert single["train_s"] == "100.0 here ×1; 10.0 xeon16 ×1"
    assert single["classify_s"] == "10.0 here ×1; 2.0 xeon16 ×1"
    assert single["vs_mic_points"] == "-30.0"  # ((0.5 - 0.9) + (0.6 - 0.8)) / 2
    assert single["beats_mic"] == "0 of 2"
    assert frame.loc["mic", "train_s"] == "1.0"  # not the generator's: as the row has it

    # the same row made again here is no longer the device's
    record_machine([_row(142, "single_class", 0.6)], HERE, path=machines_path(results))
    assert machine_labels(read_results(results), machines_path(results)) == [HERE] * 4
    frame = comparison_table(read_results(results), machines_path(results))
    assert frame.set_index("method").loc["single_class", "train_s"] == "55.0 here ×2"


def test_merging_needs_a_labelled_machine_description(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--merge", str(tmp_path), "--results", str(tmp_path / "r.csv"),
              "--machine", "no description"])
    assert "LABEL=DESCRIPTION" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--merge", str(tmp_path), "--results", str(tmp_path / "r.csv"),
              "--machine", f"{HERE}=this one"])


def test_coverage_lists_every_cell_with_the_seeds_of_both_rules(tmp_path):
    results = tmp_path / "experiments.csv"
    append_results([_row(42, "single_class", 0.5), _row(42, "single_class_corners", 0.8),
                    _row(142, "single_class", 0.5),  # its corners row is missing
                    _row(242, "single_type", 0.5, noise_in=0.0, selection="random"),
                    _row(242, "single_type_corners", 0.9, noise_in=0.0, selection="random"),
                    _row(42, "single_class", 0.5, noise_out=0.1)], results)  # not the grid's
    frame = coverage_table(read_results(results))
    assert len(frame) == 8  # 2 data sets x 2 selections x 2 input noises
    cell = frame[(frame["dataset"] == "mnist") & (frame["selection"] == "clustered") &
                 (frame["noise_in"] == 0.1)].iloc[0]
    assert cell["single_class"] == "1 (42)"
    assert cell["single_type"] == "–"
    other = frame[(frame["dataset"] == "mnist") & (frame["selection"] == "random") &
                  (frame["noise_in"] == 0.0)].iloc[0]
    assert other["single_type"] == "1 (242)" and other["single_class"] == "–"
    assert (frame[frame["dataset"] == "characters"].drop(
        columns=["dataset", "selection", "noise_in"]) == "–").all().all()


def test_the_per_sample_comparison_pairs_the_same_samples_and_seeds(tmp_path):
    results = tmp_path / "experiments.csv"
    append_results([
        _row(42, "single_type_corners", 1.0, predictions="0123"),
        _row(142, "single_type_corners", 0.75, predictions="0120"),
        _row(42, "mic", 0.25, protocol="validated", noise_out=0.1, predictions="0000"),
        _row(142, "mic", 0.5, protocol="validated", noise_out=0.1, predictions="0100"),
        _row(342, "mic", 1.0, protocol="validated", noise_out=0.1, predictions="0123"),
        _row(42, "single_class", 0.5)], results)  # no predictions: no pair

    def test_subset(dataset, n_test):
        return np.arange(4), np.array([0, 1, 2, 3])
    from mic_core.experiments.store import read_predictions
    frame = paired_with_mic(read_results(results), read_predictions(results), test_subset,
                            n_resamples=200).set_index("method")
    corners = frame.loc["single_type_corners"]
    assert corners["seeds"] == "42, 142"  # 342: MIC alone
    result = corners["result"]
    # per sample, generator right minus MIC right, summed over the two seeds:
    # sample 0: 0, sample 1: (1-0)+(1-1) = 1, sample 2: 1+1 = 2, sample 3: 1+0 = 1
    assert result["estimate"] == pytest.approx((1.0 - 0.25 + 0.75 - 0.5) / 2)
    # exact sign flips of (1, 2, 1): |sum| = 4 only with all signs alike: 2 of 8 patterns
    assert result["p_value"] == pytest.approx(0.25)
    assert result["runs"] == 2
    assert frame.loc["single_class", "seeds"] == "–" and frame.loc["single_class",
                                                                    "result"] is None
