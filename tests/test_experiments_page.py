"""The Experiments page opens with the low-data league (issue 15): read from a small results
table of your own runs whose paired differences are known by hand."""
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from mic_core.experiments.store import append_results, encode_predictions
from mic_core.experiments.validated import held_out_subset

ROOT = Path(__file__).resolve().parent.parent


def _row(method, seed, predicted, y):
    return {"protocol": "validated", "dataset": "characters", "selection": "random",
            "noise_in": 0.1 if method == "mic" else None,
            "noise_out": 0.0 if method == "mic" else None, "seed": seed, "method": method,
            "accuracy": float(np.mean(predicted == y)), "n_test": len(y),
            "predictions": encode_predictions(predicted)}


def test_league_and_verdicts_from_your_own_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path))
    _, y = held_out_subset("characters", 30)
    wrong = (y + 1) % 20
    rows = []
    for seed in (42, 142):
        nn = y.copy()
        nn[:10] = wrong[:10]  # NN-MSE wrong on 10 of 30 in both seeds: MIC +33 points
        rows += [_row("mic", seed, y, y), _row("nn_mse", seed, nn, y),
                 _row("nn_dtw", seed, y, y)]
    append_results(rows, tmp_path / "experiments-app.csv")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/experiments.py").run()
    [source] = [r for r in at.radio if r.label == "Results"]
    source.set_value("your runs on this machine").run()
    assert not at.exception, at.exception
    assert any("low-data league" in h.value for h in at.header)
    league = at.dataframe[0].value
    assert set(league["system"]) == {"MIC (one expert per class)", "nearest neighbour (MSE)",
                                     "nearest neighbour (DTW)"}
    mse = league[league["system"] == "nearest neighbour (MSE)"].iloc[0]
    assert mse["vs strongest baseline, points (95 % interval), p"].startswith(
        "vs nearest neighbour (DTW): -33.3")
    verdict = " ".join(m.value for m in at.markdown)
    assert "characters, random**: MIC beats the nearest neighbour (MSE) with the interval " \
           "above zero" in verdict
    assert "not significantly below the nearest neighbour (DTW)" in verdict
