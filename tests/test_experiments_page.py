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
    league = at.table[0].value  # a static table: long cells wrap, none is cut off
    assert set(league.index) == {"MIC (one expert per class)", "nearest neighbour (MSE)",
                                 "nearest neighbour (DTW)"}
    assert list(league["seeds"]) == [2, 2, 2]  # a count, as in every table of the page
    # the strongest baseline (DTW: 30 of 30, tied with MIC, listed first) is named once, in
    # the column's name, not on every row; MSE's 20 of 30 is 33.3 points below it
    versus = league["vs nearest neighbour (DTW), points (95 % interval), p"]
    assert versus["nearest neighbour (MSE)"].startswith("-33.3")
    assert "strongest baseline" in set(versus)
    verdict = " ".join(m.value for m in at.markdown)
    assert ("highest mean accuracy goes to MIC (one expert per class) and nearest neighbour "
            "(DTW) (tied) on random letters" in verdict)  # both 30 of 30
    # the plain summary: 33 points above MSE with 30 samples is clear; level with DTW
    assert ("against the plain nearest neighbour (MSE), MIC is clearly ahead on random "
            "letters. Against the nearest neighbour that allows time warping (DTW), it is "
            "level (no clear difference) on random letters. Issue 15's targets (ahead of MSE "
            "in 3 of 4 settings, never behind DTW on letters) were NOT met." in verdict)
    assert "no per-sample predictions" not in verdict
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
    tables = [d.value for d in at.table]
    curve = next(t for t in tables if "types per class" in t.columns)
    assert list(curve["MIC"]) == ["0.900", "0.925", "0.950"]
    assert list(curve["seeds"]) == [1, 1, 1]  # how many seeds (42 only), not a seed value
    paper = next(t for t in tables if "MIC (out 0.0001)" in t.index)
    assert paper.loc["MIC (out 0.0001) − NN (MSE)"].iloc[0] == "-2.0 (-3.0 to -1.0), p = 0.001"
    said = " ".join(m.value for m in at.markdown)
    # 4 -> 16 types: MIC 0.90 -> 0.95 (+5.0 points), NN (MSE) 0.89 -> 0.94 (+5.0)
    assert ("MIC +5.0 and NN (MSE) +5.0 points on random letters (4 to 16 types). One seed "
            "(42) only" in said)
    assert "clearly below the nearest neighbour (MSE) in 1 of 1 comparisons (by 2.0 points)" \
        in said
    assert "50 inversion steps" in said  # the committed grid's section has its sentence too


def test_learning_curve_mic_is_not_hidden_under_an_equal_neighbour():
    """Equal accuracies (MIC = NN-MSE = 0.94 at 4 types): MIC's trace is drawn last (on
    top), and the neighbours' markers are open symbols set beside it, not on it."""
    from figures.learning_curve import learning_curve_figure
    points = [{"dataset": "characters", "selection": "clustered", "n_types": k, "seeds": [42],
               "accuracy": {"mic": 0.94, "nn_mse": 0.94, "nn_dtw": 0.98}} for k in (4, 8)]
    traces = learning_curve_figure(points).data
    assert [t.name for t in traces][-1] == "MIC"
    mic = traces[-1]
    assert list(mic.x) == [4, 8] and list(mic.y) == [0.94, 0.94]
    for t in traces[:-1]:
        assert t.marker.symbol.endswith("-open")
        assert all(x != m for x, m in zip(t.x, mic.x))  # beside MIC's points
        assert all(abs(x / m - 1) < 0.1 for x, m in zip(t.x, mic.x))  # but near them


def test_teach_leave_one_out_table_fits_and_its_caption_follows_it():
    """The teacher test had to scroll the table sideways for its last column, and the
    table's toolbar covered the end of the caption above it: short headers (the full name
    on hover) and the caption below the table."""
    import json
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/experiments.py").run()
    assert not at.exception, at.exception

    def walk(node, out):
        for child in getattr(node, "children", {}).values():
            out.append(child)
            walk(child, out)
        return out
    elements = walk(at.main, [])
    [k] = [k for k, e in enumerate(elements) if type(e).__name__ == "Dataframe"
           and "others no longer taken by it" in e.value.columns]
    columns = json.loads(elements[k].proto.columns)
    columns.pop("_index")  # hidden
    assert set(columns) == set(elements[k].value.columns)  # every column, nine
    assert len(columns) == 9
    assert all(len(c["label"]) <= 20 and c["help"] == name for name, c in columns.items())
    follows = elements[k + 1]
    assert type(follows).__name__ == "Caption" and follows.value.startswith(
        "For each of the 20 letters")
