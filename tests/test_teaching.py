"""Teaching a new class (issue 14): independence of the experts' training, the named set's
file (bit-identical old experts, refused input that loses nothing), the usability check, and
a taught symbol winning on a fresh drawing (letters and digits)."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from mic_core import load_dataset, load_or_train
from mic_core.classify import FREE_ENDS, classify
from mic_core.drawing import pen_trajectory_to_drawing
from mic_core.teaching import (N_DRAWINGS, SET_FILE, TeachingError, base_set,
                               check_class_name, check_set_name, check_usability,
                               drawings_to_sequences, list_sets, load_set, save_set, teach,
                               teach_expert, training_pool_pen_trajectories, without_expert)
from mic_core.training import TrainConfig, default_train_config, train_on_types

ARRAYS = ("w_ih", "w_hh", "bias", "w_out", "b_out", "types")


def star(points=5, turns=2):
    """A five-pointed star in one stroke (no letter of the data set looks like it)."""
    angles = np.pi / 2 + 2 * np.pi * turns * np.arange(points + 1) / points
    corners = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    t = np.linspace(0, 1, 12)[:-1, None]
    path = np.concatenate([a + t * (b - a) for a, b in zip(corners[:-1], corners[1:])] +
                          [corners[-1:]])
    return path * 100


def star_drawings(seed, n=N_DRAWINGS):
    rng = np.random.RandomState(seed)
    return [pen_trajectory_to_drawing(star() + rng.normal(0, 2, (56, 2)), rng)
            for _ in range(n)]


@pytest.fixture(scope="module")
def letters():
    return load_dataset("characters")


@pytest.fixture(scope="module")
def shipped(letters):
    return load_or_train(letters, default_train_config("characters"))


def test_each_expert_trains_on_its_own_types_only():
    """Changing one class's types leaves every other expert's weights bit for bit the same:
    a full set less one expert IS a set trained without that class (the leave-one-out
    base)."""
    rng = np.random.RandomState(0)
    types = rng.normal(size=(3, 4, 12, 2)).astype(np.float32)
    other = types.copy()
    other[1] = rng.normal(size=(4, 12, 2))
    config = TrainConfig(hidden_size=5, steps=60, noise_in=0.1, noise_out=0.01)
    a = train_on_types(types, "xyz", config)
    b = train_on_types(other, "xyz", config)
    for name in ARRAYS[:-1]:
        assert np.array_equal(getattr(a, name)[[0, 2]], getattr(b, name)[[0, 2]]), name
        assert not np.array_equal(getattr(a, name)[1], getattr(b, name)[1]), name


def test_training_pool_pen_trajectories_are_the_training_pool(letters):
    pens, labels = training_pool_pen_trajectories(letters.config)
    assert np.array_equal(labels, letters.y_train)
    np.testing.assert_allclose(letters.pen_trajectories_to_sequences(pens[:20]),
                               letters.X_train[:20], atol=1e-6)


def test_teaching_keeps_old_experts_bit_identical_and_saves_atomically(tmp_path, letters,
                                                                       shipped):
    base = base_set(shipped, letters.config, default_train_config("characters"), "mine")
    short = replace(base.base_train, steps=200)
    result = teach(base, letters, "star", star_drawings(0), tmp_path / "mine", train=short)
    composed = result.named.experts
    assert composed.class_names == shipped.class_names + ("star",)
    for name in ARRAYS:
        assert np.array_equal(getattr(composed, name)[:20], getattr(shipped, name)), name
    loaded = load_set(tmp_path / "mine", "characters")
    for name in ARRAYS:
        assert np.array_equal(getattr(loaded.experts, name), getattr(composed, name)), name
    assert list(tmp_path.joinpath("mine").iterdir()) == [tmp_path / "mine" / SET_FILE]
    assert list_sets(tmp_path, "characters") == ["mine"] and list_sets(tmp_path, "mnist") == []


def test_taught_expert_reconstructs_its_drawings_by_torch(letters):
    """The trained expert, run by torch's own LSTM, reproduces its four types."""
    seqs = drawings_to_sequences(letters, star_drawings(1)).sequences
    expert = teach_expert(seqs, "star", default_train_config("characters", steps=1500))
    module = expert.module(0)
    with torch.no_grad():
        out = module(torch.eye(4, dtype=torch.float64), seqs.shape[1]).numpy()
    mse = ((out - seqs) ** 2).mean(axis=(1, 2))
    assert mse.max() < 0.1 * (seqs ** 2).mean(), mse


def test_a_taught_star_wins_on_a_fresh_drawing(tmp_path, letters, shipped):
    base = base_set(shipped, letters.config, default_train_config("characters"), "stars")
    train = replace(base.base_train, steps=2000)
    named = teach(base, letters, "star", star_drawings(2), tmp_path / "stars",
                  train=train).named
    fresh = drawings_to_sequences(letters, star_drawings(99, 1) * 4).sequences[:1]
    before = classify(shipped, fresh, rule=FREE_ENDS,
                      standardiser=letters.standardiser).deciding_errors[0]
    after = classify(named.experts, fresh, rule=FREE_ENDS,
                     standardiser=letters.standardiser).deciding_errors[0]
    assert named.experts.class_names[int(after.argmin())] == "star"
    np.testing.assert_array_equal(after[:20], before)  # old experts' errors untouched


def test_own_handwriting_replaces_an_expert_and_removing_restores_it(tmp_path, letters,
                                                                    shipped):
    base = base_set(shipped, letters.config, default_train_config("characters"), "hand")
    train = replace(base.base_train, steps=100)
    pens, labels = training_pool_pen_trajectories(letters.config)
    rng = np.random.RandomState(0)
    a = [pen_trajectory_to_drawing(pens[i], rng) for i in np.flatnonzero(labels == 0)[:4]]
    with pytest.raises(TeachingError, match="already has an expert 'a'"):
        teach(base, letters, "a", a, tmp_path / "hand", train=train)
    assert not (tmp_path / "hand").exists()  # nothing written
    named = teach(base, letters, "a", a, tmp_path / "hand", replace_existing=True,
                  train=train).named
    assert named.experts.class_names == shipped.class_names  # in place, not appended
    assert not np.array_equal(named.experts.w_ih[0], shipped.w_ih[0])
    assert np.array_equal(named.experts.w_ih[1:], shipped.w_ih[1:])
    restored = named.without_taught("a")
    assert np.array_equal(restored.experts.w_ih, shipped.w_ih)
    with pytest.raises(TeachingError, match="not a taught expert"):
        restored.without_taught("b")


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "x" * 41, "nul\0", "a b",
                                  "-dash", "é"])
def test_path_breaking_set_names_are_refused(name):
    with pytest.raises(TeachingError, match="not allowed"):
        check_set_name(name)


@pytest.mark.parametrize("name", ["", "   ", "a/b", "back\\slash", "tab\t", "x" * 21, "..", " . "])
def test_bad_class_names_are_refused(name):
    with pytest.raises(TeachingError):
        check_class_name(name)


def test_bad_input_gets_a_clear_message_and_loses_nothing(tmp_path, letters, shipped):
    base = base_set(shipped, letters.config, default_train_config("characters"), "keep")
    train = replace(base.base_train, steps=50)
    first = teach(base, letters, "star", star_drawings(3), tmp_path / "keep", train=train)
    saved = first.path.read_bytes()
    one_point = {"objects": [{"type": "path", "path": [["M", 5, 5], ["L", 5, 5]]}]}
    cases = [
        (star_drawings(4)[:3], "star2", "needs 4 drawings"),
        (star_drawings(4), "star", "already has an expert 'star'"),
        ([{"objects": []}] + star_drawings(4)[:3], "s3", "drawing 1: the drawing is empty"),
        (star_drawings(4)[:3] + [one_point], "s4", "drawing 4: the drawing is a single point"),
    ]
    for drawings, name, message in cases:
        with pytest.raises(TeachingError, match=message):
            teach(first.named, letters, name, drawings, tmp_path / "keep", train=train)
        assert first.path.read_bytes() == saved
    with pytest.raises(TeachingError, match="not allowed"):
        teach(first.named, letters, "s5", star_drawings(4), tmp_path / "..", train=train)
    with pytest.raises(TeachingError, match="exists already"):  # another set's name
        teach(base, letters, "s6", star_drawings(4), tmp_path / "keep", train=train)
    assert first.path.read_bytes() == saved


def test_foreign_and_corrupt_set_files_are_refused(tmp_path, letters, shipped):
    base = base_set(shipped, letters.config, default_train_config("characters"), "letters")
    save_set(base, tmp_path / "letters")
    with pytest.raises(TeachingError, match="belongs to the characters data set, not mnist"):
        load_set(tmp_path / "letters", "mnist")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / SET_FILE).write_bytes(b"not a zip")
    with pytest.raises(TeachingError, match="not a readable expert set"):
        load_set(tmp_path / "junk")
    (tmp_path / "other").mkdir()
    np.savez(tmp_path / "other" / SET_FILE, header=np.array('{"kind": "something"}'))
    with pytest.raises(TeachingError, match="not an expert set file"):
        load_set(tmp_path / "other")
    (tmp_path / "moved").mkdir()  # a set copied under another name
    (tmp_path / "moved" / SET_FILE).write_bytes((tmp_path / "letters" / SET_FILE).read_bytes())
    with pytest.raises(TeachingError, match="calls itself 'letters'"):
        load_set(tmp_path / "moved")
    with pytest.raises(TeachingError, match="holds no expert set"):
        load_set(tmp_path / "absent")
    assert list_sets(tmp_path) == ["letters"]


def test_usability_flags_claimed_short_and_too_different_drawings(letters, shipped):
    pens, labels = training_pool_pen_trajectories(letters.config)
    rng = np.random.RandomState(0)
    a = letters.class_names.index("a")
    same = [pen_trajectory_to_drawing(pens[i], rng) for i in np.flatnonzero(labels == a)[:4]]
    check = check_usability(shipped, letters, drawings_to_sequences(letters, same))
    assert set(check.claimed_by.values()) == {"a"} and len(check.claimed_by) >= 3
    assert any("the expert of 'a' already claims" in m for m in check.messages())
    mixed = [pen_trajectory_to_drawing(pens[np.flatnonzero(labels == c)[0]], rng)
             for c in (0, 5, 9, 14)]
    assert check_usability(shipped, letters, drawings_to_sequences(letters, mixed)
                           ).too_different
    tiny = {"objects": [{"type": "path", "path": [["M", 0, 0], ["Q", 0, 0, 5, 5],
                                                  ["Q", 10, 0, 15, 5], ["L", 20, 0]]}]}
    stars = star_drawings(5)
    check = check_usability(shipped, letters,
                            drawings_to_sequences(letters, stars[:3] + [tiny]))
    assert check.too_short == (4,) and not check.claimed_by
    assert "Drawing 4 is too short" in check.messages()[0]
    good = check_usability(shipped, letters, drawings_to_sequences(letters, stars))
    assert good.usable, good.messages()


def ink_cross(seed, size=280):
    """A hand-drawn-like 'x' with a bar on top, as canvas ink (H, W) in [0, 1]."""
    rng = np.random.RandomState(seed)
    image = np.zeros((size, size))
    yy, xx = np.mgrid[:size, :size]
    segments = [((60, 60), (220, 220)), ((220, 60), (60, 220)), ((40, 50), (240, 50))]
    for (x0, y0), (x1, y1) in segments:
        x0, y0, x1, y1 = np.array([x0, y0, x1, y1]) + rng.normal(0, 8, 4)
        for t in np.linspace(0, 1, 60):
            cx, cy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            image[(xx - cx) ** 2 + (yy - cy) ** 2 < 81] = 1.0
    return image


def test_a_digit_like_symbol_is_taught_from_four_canvas_images(tmp_path):
    digits = load_dataset("mnist")
    train = default_train_config("mnist")
    shipped = load_or_train(digits, train)
    base = base_set(shipped, digits.config, train, "digits")
    named = teach(base, digits, "cross", [ink_cross(s) for s in range(4)],
                  tmp_path / "digits", train=replace(train, steps=1500)).named
    assert named.experts.class_names[-1] == "cross" and named.experts.n_steps == 28
    fresh = drawings_to_sequences(digits, [ink_cross(50)] * 4).sequences[:1]
    assert named.experts.class_names[int(classify(named.experts, fresh).winners[0])] == "cross"
    with pytest.raises(TeachingError, match="belongs to the mnist data set"):
        load_set(tmp_path / "digits", "characters")
