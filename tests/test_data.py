"""Preprocessing of pen trajectories and the data sets."""
import numpy as np
import pytest

from mic_core.data import (DataConfig, Standardiser, character_sequence, load_dataset,
                           normalise_shape, resample_by_arc_length, strip_padding,
                           stratified_split, trim_connecting_strokes, velocities_to_positions)


def _spiral(n=150):
    t = np.linspace(0, 3 * np.pi, n)
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1)


def test_strip_padding_and_integration():
    sample = np.zeros((10, 3))
    sample[3:7, :2] = [[1, 0], [1, 0], [0, 2], [0, 2]]
    sample[3:7, 2] = 0.5
    assert strip_padding(sample).shape == (4, 3)
    positions = velocities_to_positions(sample)
    np.testing.assert_allclose(positions, [[0, 0], [1, 0], [2, 0], [2, 2], [2, 4]])
    with pytest.raises(ValueError, match="only zero rows"):
        strip_padding(np.zeros((5, 3)))


def test_resample_is_equally_spaced_along_the_path():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 0.0], [3.0, 4.0]])  # one repeated point
    out = resample_by_arc_length(points, 8)
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    np.testing.assert_allclose(steps, 1.0)
    np.testing.assert_allclose(out[[0, -1]], [[0, 0], [3, 4]])


def test_resample_refuses_a_path_without_length():
    with pytest.raises(ValueError, match="identical"):
        resample_by_arc_length(np.ones((5, 2)), 10)


def test_normalise_shape_centres_and_scales():
    out = normalise_shape(_spiral() * 7 + 3)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    assert np.isclose(np.sqrt((out ** 2).sum(axis=1).mean()), 1.0)


def test_character_sequence_ignores_size_place_and_sampling():
    """The same letter, drawn bigger, elsewhere and with other point spacing, gives
    (nearly) the same representation: a drawing and a dataset sample meet here."""
    pen = _spiral(300)
    moved = pen[np.r_[0:300:3, 299]] * 40 + np.array([200.0, -90.0])
    a, b = character_sequence(pen, 64), character_sequence(moved, 64)
    assert a.shape == (64, 2)
    assert np.abs(a - b).max() < 0.02


def test_character_sequence_rejects_bad_values():
    with pytest.raises(ValueError, match="NaN or infinite"):
        character_sequence(np.array([[0, 0], [np.nan, 1], [2, 2]]), 16)
    with pytest.raises(ValueError, match=r"shape \(T, 2\)"):
        character_sequence(np.zeros((4, 3)), 16)


def test_trim_connecting_strokes_cuts_straight_ends_at_the_turn():
    t = np.linspace(0, 20 * np.pi, 2000)
    loops = np.stack([np.cos(t), np.sin(t)], axis=1)  # turns at once: nothing to cut
    np.testing.assert_array_equal(trim_connecting_strokes(loops), loops)
    lead_in = np.linspace([-1.5, -2.5], [1.0, -2.5], 50)[:-1]  # straight, then a sharp turn
    lead_out = np.linspace([1.0, 2.5], [-1.5, 2.5], 50)[1:]
    trimmed = trim_connecting_strokes(np.concatenate([lead_in, [[1.0, -2.5], [1.0, 2.5]],
                                                      lead_out]))
    # the vertical bar is all that is left
    assert np.abs(trimmed[:, 0] - 1.0).max() <= 0.2 + 1e-9  # within one direction sample (2 %)


def test_stratified_split_is_deterministic_disjoint_and_balanced():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    train, test = stratified_split(labels, 0.5, seed=0)
    train2, test2 = stratified_split(labels, 0.5, seed=0)
    np.testing.assert_array_equal(test, test2)
    assert not set(train) & set(test) and len(train) + len(test) == 100
    np.testing.assert_array_equal(np.bincount(labels[test]), [5, 10, 15, 20])


def test_standardiser_round_trip():
    X = np.random.RandomState(0).randn(5, 7, 2) * [3, 0.5] + [1, -2]
    s = Standardiser.fit(X)
    np.testing.assert_allclose(s.inverse(s.transform(X)), X, rtol=1e-5, atol=1e-5)


def test_characters_dataset_protocol():
    ds = load_dataset("characters")
    assert ds.X_train.shape[1:] == (100, 2) and ds.X_test.shape[1:] == (100, 2)
    assert len(ds.X_train) + len(ds.X_test) == 1429 and len(ds.X_unlabelled) == 1429
    assert set(np.unique(ds.y_test)) == set(range(20))
    # standardisation is fitted on the training pool only
    np.testing.assert_allclose(ds.X_train.reshape(-1, 2).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X_train.reshape(-1, 2).std(axis=0), 1, atol=1e-5)
    # the raw held-out samples give back exactly the held-out sequences
    np.testing.assert_allclose(ds.pen_trajectories_to_sequences(ds.test_pen_trajectories[:5]),
                               ds.X_test[:5], atol=1e-6)


def test_mnist_dataset_keeps_the_official_split():
    ds = load_dataset("mnist")
    assert ds.X_train.shape == (60000, 28, 28) and ds.X_test.shape == (10000, 28, 28)
    assert 0.0 <= ds.X_test.min() and ds.X_test.max() <= 1.0


def test_data_config_validates():
    with pytest.raises(ValueError, match="unknown dataset"):
        DataConfig(dataset="letters")
