"""Every classifier (MIC and the baselines) through the same fit / predict contract
(scikit-learn's own estimator checks: tests/test_estimator_checks.py)."""
from dataclasses import replace

import numpy as np
import pytest

from mic_core.baselines import ForwardLSTMClassifier, NearestNeighbourDTW, NearestNeighbourMSE
from mic_core.classify import MICClassifier
from mic_core.inversion import InversionConfig
from conftest import TINY_TRAIN, synthetic_sequences

CLASSIFIERS = {
    "mic": lambda: MICClassifier(train_config=replace(TINY_TRAIN, steps=200)),
    "mic_0": lambda: MICClassifier(train_config=replace(TINY_TRAIN, steps=200),
                                   inversion_config=InversionConfig(iterations=0)),
    "nn_mse": NearestNeighbourMSE,
    "nn_dtw": NearestNeighbourDTW,
    "forward_lstm": lambda: ForwardLSTMClassifier(hidden_size=16, steps=150),
    "forward_lstm_minibatch": lambda: ForwardLSTMClassifier(hidden_size=16, steps=150,
                                                            batch_size=8),
}


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_contract(name):
    X, y = synthetic_sequences()
    Xt, yt = synthetic_sequences(seed=1)
    model = CLASSIFIERS[name]()
    assert model.fit(X, y) is model
    assert list(model.classes_) == [0, 1, 2]
    predicted = model.predict(Xt)
    assert predicted.shape == (len(Xt),) and set(predicted) <= {0, 1, 2}
    assert model.score(Xt, yt) >= 0.8  # three easily told apart families
    with pytest.raises(ValueError, match="expecting 20 features"):  # 2 steps, not 20
        model.predict(Xt[0])  # one (sz, d) series: read as sz univariate series
    with pytest.raises(ValueError, match="shape"):
        model.predict(Xt[..., None])


def test_nearest_neighbour_mse_against_brute_force():
    rng = np.random.RandomState(0)
    X, y = rng.randn(7, 5, 2), np.arange(7) % 3
    Q = rng.randn(4, 5, 2)
    model = NearestNeighbourMSE().fit(X, y)
    brute = ((Q[:, None] - X[None]) ** 2).mean(axis=(2, 3))
    np.testing.assert_allclose(model.distances(Q), brute, atol=1e-5)
    np.testing.assert_array_equal(model.predict(Q), y[brute.argmin(axis=1)])


def test_forward_lstm_is_seeded():
    X, y = synthetic_sequences(n_per_class=4)
    a = ForwardLSTMClassifier(hidden_size=8, steps=20).fit(X, y).predict_proba(X)
    b = ForwardLSTMClassifier(hidden_size=8, steps=20).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
