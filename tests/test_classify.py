"""The classifier contract, the decision rule and the one classification record."""
import json
from dataclasses import replace
from io import StringIO

import numpy as np
import pandas as pd
import pytest

from mic_core.classify import (FREE_ENDS, PLAIN, MICClassifier, classify,
                               default_rule, free_end_errors, free_end_search)
from mic_core.data import Standardiser, character_sequence
from mic_core.inversion import InversionConfig
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
    # any labels: the experts are named after them, predictions are labels
    names = np.array(["x", "y", "z"])
    named = MICClassifier(train_config=replace(TINY_TRAIN, steps=200)).fit(X, names[y])
    assert named.experts_.class_names == ("x", "y", "z")
    np.testing.assert_array_equal(named.predict(Xt), names[predicted])


def test_from_experts_and_unfitted(tiny_experts, tiny_dataset):
    model = MICClassifier.from_experts(tiny_experts)
    assert model.predict(tiny_dataset.X_test[:4]).shape == (4,)
    with pytest.raises(ValueError, match="not fitted"):
        MICClassifier().predict(tiny_dataset.X_test)
    with pytest.raises(ValueError, match="shape"):
        model.predict(tiny_dataset.X_test[..., None])


def test_batches_do_not_change_the_record(tiny_experts, tiny_dataset):
    """Batching changes which targets share a SIMD block of the inversion kernel (a block's
    full lanes and its remainder take different vectorised paths), so errors may differ in
    float32 rounding (a few eps32 per step over 50 iterations: rtol 1e-5); the decisions
    must not change."""
    X = tiny_dataset.X_test
    whole = classify(tiny_experts, X, record="final")
    done = []
    batched = classify(tiny_experts, X, record="final", batch_size=5,
                       progress=lambda d, t: done.append((d, t)))
    np.testing.assert_allclose(batched.deciding_errors, whole.deciding_errors, rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(batched.inversion.reconstructions,
                               whole.inversion.reconstructions, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(batched.winners, whole.winners)
    assert done[-1] == (len(X), len(X)) and len(done) == -(-len(X) // 5)
    model = MICClassifier.from_experts(tiny_experts, batch_size=5)
    np.testing.assert_allclose(model.deciding_errors(X), whole.deciding_errors, rtol=1e-5,
                               atol=1e-7)


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
    free, crops = free_end_search(recon, without_lead_in[None], standardiser)
    assert free[0, 0] < plain / 5
    start, end = crops[0, 0]
    assert 0.1 <= start <= 0.25 and end == 0.0  # the lead-in is cut, the end is kept
    # nothing to crop: the free-end error is the plain error
    same = free_end_errors(full[None, None], full[None], standardiser)[0, 0]
    assert same < 1e-12


def test_free_ends_are_a_setting_that_needs_pen_trajectories(tiny_experts, tiny_dataset):
    X = tiny_dataset.X_test[:3]
    with pytest.raises(ValueError, match="pen trajectories only"):
        classify(tiny_experts, X, rule=FREE_ENDS)
    record = classify(tiny_experts, X, record="final")
    assert record.rule == PLAIN and record.deciding_crops is None
    assert not record.free_ends_apply
    assert default_rule("mnist") == PLAIN and default_rule("characters") == FREE_ENDS
    unit = Standardiser(np.zeros(2), np.ones(2))
    plain = classify(tiny_experts, X, rule=PLAIN, standardiser=unit, record="final")
    assert plain.free_ends_apply and plain.deciding_crops is None  # applicable, not chosen
    free = plain.with_rule(FREE_ENDS)
    assert free.rule == FREE_ENDS and free.deciding_crops.shape == (3, 3, 2)
    assert free.inversion is plain.inversion  # decided again, not inverted again


def test_the_exports_name_the_decided_winner(tiny_experts, tiny_dataset):
    """JSON and CSV carry the record's winner, its deciding and plain errors and the rule,
    also where free ends and the plain rule disagree."""
    unit = Standardiser(np.zeros(2), np.ones(2))
    X = tiny_dataset.X_test
    record = classify(tiny_experts, X, InversionConfig(iterations=3), FREE_ENDS, unit)
    differ = np.flatnonzero(record.winners != record.plain_winners)
    for n in [0, *differ[:1]]:
        winner = record.class_names[int(record.deciding_errors[n].argmin())]
        exported = json.loads(json.dumps(record.to_dict(n)))
        assert exported["winner"] == winner
        assert exported["rule"]["name"] == "free ends" and exported["rule"]["free_ends"]
        assert min(exported["deciding_errors"], key=exported["deciding_errors"].get) == winner
        assert exported["winner_crop"] == exported["deciding_crops"][winner]
        np.testing.assert_allclose(exported["errors"], record.inversion.errors[n], rtol=1e-6)
        assert np.array(exported["reconstructions"]).shape == (3, 4, 20, 2)
        frame = pd.read_csv(StringIO(record.to_csv(n)))
        assert len(frame) == 3 * 4
        assert set(frame[frame.winner].expert) == {winner}
        row = frame[(frame.expert == "b") & (frame.iteration == 2)].iloc[0]
        assert np.isclose(row.error, record.inversion.errors[n, 1, 2])
        assert np.isclose(row.weight_type_3, record.inversion.mixture_weights[n, 1, 2, 2])
        assert np.isclose(row.deciding_error, record.deciding_errors[n, 1])
        assert frame.loc[frame.deciding_error.idxmin(), "expert"] == winner
    # plain: the export says so, and names the lowest final error
    plain = record.with_rule(PLAIN).to_dict(0)
    assert plain["rule"]["name"] == "plain" and "winner_crop" not in plain
    finals = {k: v[-1] for k, v in zip(plain["class_names"], plain["errors"])}
    assert plain["winner"] == min(finals, key=finals.get)

