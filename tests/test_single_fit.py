"""The single generator's fit thresholds (mic_core.single.fit) against hand-computed errors:
a generator whose output layer is zero reconstructs every target as its output bias, its code
gets no gradient, so each held-out sample's final error is mean((x - b_out)^2)."""
from types import SimpleNamespace

import numpy as np
import pytest

from mic_core.data import DataConfig
from mic_core.fit_quality import FitThresholds
from mic_core.single import SingleGenerator, SingleTrainConfig
from mic_core.single import fit
from mic_core.single.inversion import CodeInversionConfig

C, K, T, D, H = 3, 2, 6, 2, 4


@pytest.fixture
def case():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, T, D)).astype(np.float32)
    types = rng.normal(size=(C, K, T, D)).astype(np.float32)
    types[0, 0], types[2, 1] = X[3], X[17]  # two types are training-pool samples: not held out
    b_out = np.array([0.5, -1.0], np.float32)
    generator = SingleGenerator("class", ("a", "b", "c"),
                                rng.normal(size=(4 * H, C)).astype(np.float32),
                                rng.normal(size=(4 * H, H)).astype(np.float32),
                                rng.normal(size=4 * H).astype(np.float32),
                                np.zeros((D, H), np.float32), b_out, types)
    dataset = SimpleNamespace(X_train=X, config=DataConfig("characters"))
    held_out = [i for i in range(len(X)) if i not in (3, 17)]
    by_hand = [float(np.mean((X[i].astype(np.float64) - b_out) ** 2)) for i in held_out]
    return dataset, generator, SingleTrainConfig(), by_hand


def test_thresholds_are_the_percentiles_of_held_out_errors(case):
    dataset, generator, train, by_hand = case
    thresholds = fit.measure_single_thresholds(dataset, generator, train,
                                               CodeInversionConfig(), limit=100)
    assert thresholds.n_samples == 38  # the two samples it learnt as types are left out
    np.testing.assert_allclose(thresholds.percentiles, np.percentile(by_hand, np.arange(101)),
                               rtol=1e-5)
    assert thresholds.configuration["inversion"]["start"] == "zero"
    assert thresholds.configuration["train"]["code"] == "class"


def test_thresholds_are_cached_by_configuration(case, tmp_path, monkeypatch):
    dataset, generator, train, by_hand = case
    monkeypatch.setattr(fit, "SHIPPED_SINGLE_THRESHOLDS", tmp_path / "none")
    first = fit.load_or_measure_single_thresholds(dataset, generator, train,
                                                  CodeInversionConfig(), cache_dir=tmp_path)
    files = list((tmp_path / "single-fit").glob("fit-single-class-*.json"))
    assert len(files) == 1 and not list((tmp_path / "single-fit").glob("*.tmp*"))

    def measure(*args, **kwargs):
        raise AssertionError("measured again")
    monkeypatch.setattr(fit, "measure_single_thresholds", measure)
    again = fit.load_or_measure_single_thresholds(dataset, generator, train,
                                                  CodeInversionConfig(), cache_dir=tmp_path)
    assert again.percentiles == first.percentiles
    # another inversion is another file; a file whose stored configuration differs is
    # not trusted (measured again)
    with pytest.raises(AssertionError, match="measured again"):
        fit.load_or_measure_single_thresholds(dataset, generator, train,
                                              CodeInversionConfig(projection="simplex"),
                                              cache_dir=tmp_path)
    stored = FitThresholds.from_errors(np.arange(30.0), {"something": "else"})
    files[0].write_text(stored.to_json())
    with pytest.raises(AssertionError, match="measured again"):
        fit.load_or_measure_single_thresholds(dataset, generator, train,
                                              CodeInversionConfig(), cache_dir=tmp_path)


def test_the_sentence_names_the_single_generator_and_says_when_it_fails():
    t = FitThresholds.from_errors(np.linspace(0.0, 4.0, 101), {})  # percentile p: 0.04 p
    close = fit.single_fit_quality(1.0, t)
    assert close.fits and close.percentile == pytest.approx(25.0)
    assert close.sentence == ("The single generator's reconstruction is a close fit by its "
                              "own yardstick: closer than for 75 in 100 of the data set's own "
                              "letters (error 1; its median on the data set's own letters 2).")
    fair = fit.single_fit_quality(2.4, t, "digit")
    assert fair.label == "a fair fit" and "60 in 100 of the data set's own digits" in \
        fair.sentence
    loose = fit.single_fit_quality(3.8, t)
    assert loose.fits and loose.label == "a loose fit" and "95 in 100" in loose.sentence
    failed = fit.single_fit_quality(3.97, t)  # above the 99th percentile, 3.96
    assert not failed.fits and failed.sentence.startswith(
        "The single generator does not fit this letter")
    assert not fit.single_fit_quality(float("nan"), t).fits


def test_the_shipped_thresholds_match_their_configuration():
    from mic_core.data import load_dataset
    from mic_core.single import default_single_config
    data = load_dataset("characters")
    train = default_single_config("characters")
    path = fit.SHIPPED_SINGLE_THRESHOLDS / fit.fit_file(data.config, train,
                                                        CodeInversionConfig())
    if not path.exists():
        pytest.skip("no shipped thresholds for the default single generator")
    t = FitThresholds.from_json(path.read_text(),
                                fit.fit_configuration(data.config, train,
                                                      CodeInversionConfig()))
    assert t.n_samples >= 100 and 0 < t.percentiles[50] < t.no_fit
