"""Fit quality and bad drawings (mic_core.fit_quality) against hand-computed values."""
import numpy as np
import pytest

from mic_core.fit_quality import (FitThresholds, drawing_problem, fit_quality, stored_or_measured,
                                  straightness, straightness_threshold)


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


def test_thresholds_are_kept_per_inversion():
    """Several starts reach lower errors than one: their thresholds are other thresholds.
    The engine's default inversion keeps the file name it always had (the shipped files)."""
    from mic_core.data import DataConfig
    from mic_core.fit_quality import SHIPPED_THRESHOLDS, thresholds_file
    from mic_core.inversion import InversionConfig
    from mic_core.training import default_train_config
    data, train = DataConfig(dataset="characters"), default_train_config("characters")
    plain = thresholds_file(data, train, "free ends")
    assert thresholds_file(data, train, "free ends", InversionConfig()) == plain
    corners = thresholds_file(data, train, "free ends",
                              InversionConfig.with_options("uniform+corners"))
    assert corners != plain
    assert (SHIPPED_THRESHOLDS / plain).exists()


@pytest.mark.parametrize("dataset", ["characters", "mnist"])
@pytest.mark.parametrize("starts,optimiser", [("uniform+corners", "adam"),
                                              ("uniform", "exponentiated"),
                                              ("uniform+corners", "exponentiated")])
def test_every_inversion_the_app_offers_has_shipped_thresholds(dataset, starts, optimiser):
    """No visitor waits for a measurement: the shipped experts' thresholds of each option
    are in assets/fit, measured with that inversion (their configuration says so)."""
    from mic_core.data import DataConfig
    from mic_core.fit_quality import SHIPPED_THRESHOLDS, _configuration, thresholds_file
    from mic_core.inversion import InversionConfig
    from mic_core.training import default_train_config
    data, train = DataConfig(dataset=dataset), default_train_config(dataset)
    rule = "free ends" if dataset == "characters" else "plain"
    inversion = InversionConfig.with_options(starts, optimiser)
    text = (SHIPPED_THRESHOLDS / thresholds_file(data, train, rule, inversion)).read_text()
    t = FitThresholds.from_json(text, _configuration(data, train, rule, inversion))
    assert t.configuration["inversion"]["starts"] == starts
    assert t.n_samples >= 300


def test_the_other_direction_is_hinted_only_when_it_fits_clearly_better():
    from types import SimpleNamespace as Record

    from mic_core.fit_quality import direction_hint, needs_direction_check
    t = FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), {})  # percentile p at p / 100

    def record(errors):
        errors = np.array([errors])
        return Record(winners=errors.argmin(axis=1), deciding_errors=errors,
                      class_names=("o", "s"))
    drawn = record([0.9, 0.8])  # s wins, a loose fit (80th percentile)
    assert needs_direction_check(fit_quality(0.8, t))
    assert not needs_direction_check(fit_quality(0.5, t))
    hint = direction_hint(drawn, record([0.3, 0.9]), t)
    assert "this reads as **o**" in hint and "a close fit" in hint and "0.3" in hint
    assert direction_hint(drawn, record([0.5, 0.9]), t) is None  # 0.5 > half of 0.8
    assert "this s fits much more closely" in direction_hint(drawn, record([0.9, 0.2]), t)
    worse = FitThresholds.from_errors(np.linspace(0.0, 0.1, 101), {})  # 0.3: no expert fits
    assert direction_hint(drawn, record([0.3, 0.9]), worse) is None


def test_thresholds_of_unshipped_experts_are_measured_with_the_inversion(tiny_experts):
    """Experts without shipped thresholds (another seed or noise in the sidebar) have them
    measured on demand: this crashed (``mic_core.classify`` the function, not the module).
    Several starts never end worse than one, so their thresholds are no higher."""
    from mic_core.data import DataConfig, Dataset
    from mic_core.fit_quality import measure_thresholds
    from mic_core.inversion import InversionConfig
    from tests.conftest import TINY_TRAIN, synthetic_sequences
    X, y = synthetic_sequences(seed=2)  # 24 samples the experts never saw
    pool = Dataset(config=DataConfig(dataset="mnist"), class_names=("a", "b", "c"),
                   X_train=X, y_train=y, X_test=X, y_test=y)  # mnist: the plain rule
    one = measure_thresholds(pool, tiny_experts, TINY_TRAIN)
    corners = InversionConfig.with_options("uniform+corners")
    several = measure_thresholds(pool, tiny_experts, TINY_TRAIN, inversion=corners)
    assert one.n_samples == several.n_samples == 24
    assert "inversion" not in one.configuration
    assert several.configuration["inversion"]["starts"] == "uniform+corners"
    assert all(s <= o + 1e-6 for s, o in zip(several.percentiles, one.percentiles))


def test_stored_thresholds_pass_over_other_configurations_and_corrupt_files(tmp_path):
    """Shipped, then cached, else measured once and cached: another configuration's file and
    a corrupt one are passed over, never used."""
    wanted = {"seed": 42}
    shipped, cache = tmp_path / "shipped.json", tmp_path / "cache" / "t.json"
    shipped.write_text(FitThresholds.from_errors(np.arange(100.0), {"seed": 142}).to_json())
    cache.parent.mkdir()
    cache.write_text("{not json")
    calls = []

    def measure():
        calls.append(1)
        return FitThresholds.from_errors(np.linspace(0.0, 1.0, 101), wanted)

    first = stored_or_measured([shipped, cache], wanted, measure)
    again = stored_or_measured([shipped, cache], wanted, measure)
    assert len(calls) == 1  # measured once, then read back from the cache
    assert first.no_fit == pytest.approx(0.99) and again.percentiles == first.percentiles
