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
    # one setting of four, beaten: the MSE target is not met; the letters' DTW target is
    assert "interval above zero in 1 of 1 settings (target: at least 3 of 4) — NOT met" in verdict
    assert "in 0 of 1 selections (target: none) — met" in verdict


def test_learning_curve_and_paper_faithful_letters_from_their_json(tmp_path, monkeypatch):
    import json

    from mic_core.experiments import learning_curve, paper_faithful
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path))
    comparison = {"estimate": -0.02, "ci_low": -0.03, "ci_high": -0.01, "p_value": 0.001}
    points = [{"dataset": "characters", "selection": "random", "n_types": k, "seeds": [42],
               "n_test": 715, "accuracy": {"mic": a, "nn_mse": a - 0.01, "nn_dtw": a + 0.02},
               "mic_minus_nn_mse": comparison, "mic_minus_nn_dtw": comparison}
              for k, a in ((4, 0.9), (8, 0.925), (16, 0.95))]
    (tmp_path / "curve").mkdir()
    (tmp_path / "curve" / "curve.json").write_text(json.dumps({"points": points}))
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "summary.json").write_text(json.dumps({
        "noise_out": [1e-4], "settings": [{
            "split": "leaky", "selection": "random", "seeds": [42], "n_test": 1429,
            "accuracy": {"nn_mse": 0.8, "nn_dtw": 0.9, "mic_out0.0001": 0.85},
            "mic_out0.0001_minus_nn_mse": comparison,
            "mic_out0.0001_minus_nn_dtw": comparison}]}))
    monkeypatch.setattr(learning_curve, "FOLDER", tmp_path / "curve")
    monkeypatch.setattr(paper_faithful, "FOLDER", tmp_path / "paper")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/experiments.py").run()
    assert not at.exception, at.exception
    titles = [h.value for h in at.subheader]
    assert "Learning curve: 4, 8 and 16 types per class" in titles
    assert "The paper's letters, faithfully: representation or leakage?" in titles
    tables = [d.value for d in at.dataframe]
    curve = next(t for t in tables if "types per class" in t.columns)
    assert list(curve["MIC"]) == ["0.900", "0.925", "0.950"]
    paper = next(t for t in tables if "MIC (out 0.0001)" in t.index)
    assert paper.loc["MIC (out 0.0001) − NN (MSE)"].iloc[0] == "-2.0 (-3.0 to -1.0), p = 0.001"
