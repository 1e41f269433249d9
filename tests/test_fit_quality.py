"""Fit quality and bad drawings (mic_core.fit_quality) against hand-computed values."""
import numpy as np
import pytest

from mic_core.fit_quality import (FitThresholds, drawing_problem, fit_quality, straightness,
                                  straightness_threshold)


def test_thresholds_are_the_percentiles_of_the_winners_errors():
    errors = np.arange(1, 201, dtype=float)  # 1..200: the p-th percentile is 1 + 1.99 p
    t = FitThresholds.from_errors(errors, {"experts": "x"})
    assert t.percentiles[50] == pytest.approx(100.5)
    assert t.no_fit == pytest.approx(1 + 1.99 * 99)
    assert t.n_samples == 200


def test_words_follow_the_percentile_and_no_fit_is_above_the_99th():
    t = FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), {})  # percentile p at p / 100
    assert fit_quality(0.3, t).label == "a close fit"
    assert fit_quality(0.7, t).label == "a fair fit"
    assert fit_quality(0.95, t).label == "a loose fit"
    worst = fit_quality(0.995, t)
    assert not worst.fits and worst.label == "no expert fits" and "99 in 100" in worst.sentence
    assert fit_quality(0.7, t).percentile == pytest.approx(70.0)
    assert not fit_quality(float("nan"), t).fits


def test_each_sentence_counts_in_one_frame_without_contradiction():
    """The teacher test read "a fair fit ... about as close as for most (80 in 100 fit
    better)": every sentence now says how many in 100 of the data set's own letters are
    reconstructed more closely (or less closely), consistently with its label."""
    t = FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), {})
    close, fair, loose = (fit_quality(e, t).sentence for e in (0.2, 0.8, 0.95))
    assert "closer than for 80 in 100" in close
    assert "80 in 100 of the data set's own letters are reconstructed more closely" in fair
    assert "within the usual range" in fair and "as close as for most" not in fair
    assert "looser than for 95 in 100" in loose


def test_thresholds_of_other_experts_are_refused():
    t = FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), {"seed": 42})
    assert FitThresholds.from_json(t.to_json(), {"seed": 42}).percentiles == t.percentiles
    with pytest.raises(ValueError, match="other experts"):
        FitThresholds.from_json(t.to_json(), {"seed": 142})
    with pytest.raises(ValueError):
        FitThresholds.from_errors([0.1] * 5, {})  # too few samples


def test_straightness_of_a_line_and_a_circle():
    t = np.linspace(0, 2 * np.pi, 200)
    assert straightness(np.stack([t, 2 * t + 1], 1)) == pytest.approx(0.0, abs=1e-9)
    assert straightness(np.stack([np.cos(t), np.sin(t)], 1)) == pytest.approx(1.0, abs=0.02)
    # a 3 x 1 rectangle, points even along its outline: var x = 0.75 * 0.75 + 0.25 * 2.25,
    # var y = 0.75 * 0.25 + 0.25 / 12, straightness sqrt(var y / var x) = 0.4303
    box = np.array([[-1.5, -0.5], [1.5, -0.5], [1.5, 0.5], [-1.5, 0.5], [-1.5, -0.5]])
    assert straightness(box) == pytest.approx(0.4303, abs=0.02)
    assert straightness_threshold([box, np.stack([np.cos(t), np.sin(t)], 1)]) == \
        pytest.approx(0.5 * 0.4303, abs=0.01)


def test_drawing_problems():
    t = np.linspace(0, 2 * np.pi, 50)
    letter = np.stack([100 + 80 * np.cos(t), 100 + 60 * np.sin(t)], 1)
    assert drawing_problem(letter, 300, 0.05) is None
    assert "too small" in drawing_problem(letter * 0.05, 300, 0.05)
    line = np.stack([np.linspace(0, 250, 30), np.linspace(0, 2, 30)], 1)
    assert "straight line" in drawing_problem(line, 300, 0.05)
    ink = np.zeros((280, 280))
    ink[100:104, 100:105] = 1.0  # a dot of ink
    assert "too small" in drawing_problem(None, 280, ink=ink, noun="digit")
    ink[40:240, 120:140] = 1.0  # a "1": straight is fine for digits
    assert drawing_problem(None, 280, ink=ink, noun="digit") is None
