"""The classifier contract and the decision rule."""
from dataclasses import replace

import numpy as np
import pytest

from mic_core.classify import MICClassifier, free_end_errors
from mic_core.data import Standardiser, character_sequence
from conftest import TINY_TRAIN, synthetic_sequences


def test_fit_predict_contract():
    X, y = synthetic_sequences()
    Xt, yt = synthetic_sequences(seed=1)
    model = MICClassifier(train_config=replace(TINY_TRAIN, steps=200))
    assert model.fit(X, y) is model
    assert model.experts_.n_experts == 3 and list(model.classes_) == [0, 1, 2]
    predicted = model.predict(Xt)
    assert predicted.shape == (len(Xt),) and set(predicted) <= {0, 1, 2}
    proba = model.predict_proba(Xt)
    assert proba.shape == (len(Xt), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), predicted)
    assert model.score(Xt, yt) >= 0.9  # three easy families


def test_from_experts_and_unfitted(tiny_experts, tiny_dataset):
    model = MICClassifier.from_experts(tiny_experts)
    assert model.predict(tiny_dataset.X_test[:4]).shape == (4,)
    with pytest.raises(ValueError, match="not fitted"):
        MICClassifier().predict(tiny_dataset.X_test)
    with pytest.raises(ValueError, match="class indices"):
        MICClassifier().fit(tiny_dataset.X_train, tiny_dataset.y_train + 1)


def test_batches_do_not_change_predictions(tiny_experts, tiny_dataset):
    small = MICClassifier.from_experts(tiny_experts, batch_size=5)
    large = MICClassifier.from_experts(tiny_experts, batch_size=500)
    np.testing.assert_array_equal(small.final_errors(tiny_dataset.X_test),
                                  large.final_errors(tiny_dataset.X_test))


def _letter(t):
    return np.stack([np.cos(3 * t) + t, np.sin(2 * t)], axis=1)


def test_free_ends_find_a_letter_without_its_lead_in():
    """A reconstruction that carries a lead-in matches a target drawn without it: the
    free-end error finds the crop; the plain error does not."""
    standardiser = Standardiser(mean=np.zeros(2), std=np.ones(2))
    t = np.linspace(0, 2 * np.pi, 400)
    full = character_sequence(_letter(t), 50)
    without_lead_in = character_sequence(_letter(t[80:]), 50)  # the first 20 % left out
    recon = full[None, None]
    plain = ((recon - without_lead_in) ** 2).mean()
    free = free_end_errors(recon, without_lead_in[None], standardiser)[0, 0]
    assert free < plain / 5
    # nothing to crop: the free-end error is the plain error
    same = free_end_errors(full[None, None], full[None], standardiser)[0, 0]
    assert same < 1e-12

