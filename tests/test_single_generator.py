"""The single generator: training, code inversion (against torch autograd), decisions by
hand, the latent landscape's measures, persistence and bad input. Tiny budgets."""
import json

import numpy as np
import pytest
import torch

from mic_core.data import DataConfig
from mic_core.single.generator import (GeneratorFileError, SingleGenerator, SingleTrainConfig,
                                       default_single_config, expert_parameters,
                                       generator_parameters, hidden_size_for, load_generator,
                                       save_generator, train_single_generator, training_codes,
                                       type_errors)
from mic_core.single.inversion import (CodeInversionConfig, code_error_and_grad,
                                       corner_errors, decide, invert_code)
from mic_core.single.landscape import descent_basins, landscape, local_minima

C, K, T, D = 3, 2, 6, 2


@pytest.fixture(scope="module")
def types():
    rng = np.random.RandomState(0)
    return (rng.randn(C, K, T, D) * 0.5).astype(np.float32)


def _config(code, steps=40, hidden=8, **kw):
    return SingleTrainConfig(**{"code": code, "hidden_size": hidden, "steps": steps,
                                "learning_rate": 0.02, "noise_in": 0.0, **kw})


@pytest.fixture(scope="module")
def generator(types):
    return train_single_generator(types, ["a", "b", "c"], _config("type"), progress_every=5)


@pytest.mark.parametrize("code", ["class", "type"])
def test_training_reduces_the_loss(types, code):
    seen = []
    trained = train_single_generator(types, ["a", "b", "c"], _config(code, steps=60),
                                     progress=seen.append, progress_every=10)
    untrained = train_single_generator(types, ["a", "b", "c"], _config(code, steps=1,
                                                                       learning_rate=0.0))
    assert type_errors(trained).mean() < 0.7 * type_errors(untrained).mean()
    assert trained.training_curve[-1] < trained.training_curve[0]
    assert [p.step for p in seen] == [10, 20, 30, 40, 50, 60]
    assert seen[-1].seconds_left == 0
    assert trained.code_size == (C if code == "class" else C * K)


def test_training_codes_by_hand():
    assert training_codes(2, 2, "type").tolist() == np.eye(4).tolist()
    assert training_codes(2, 3, "class")[:, 0].tolist() == [1, 1, 1, 0, 0, 0]


def test_capacity_by_hand():
    # letters: 20 experts of LSTM(4 -> 10) + read-out to 2: 20 * (40 * 15 + 2 * 11) weights
    assert expert_parameters(20, 4, 10, 2) == 12440
    assert generator_parameters(20, 46, 2) == 4 * 46 * 67 + 2 * 47  # 12422, the closest
    assert hidden_size_for("characters", "class", "parameters", 20, 2) == 46
    assert hidden_size_for("characters", "type", "cells", 20, 2) == 200
    assert default_single_config("mnist", "class").hidden_size == 200


def test_generate_matches_the_torch_module(generator):
    codes = np.random.RandomState(1).rand(3, generator.code_size)
    with torch.no_grad():
        want = generator.module()(torch.tensor(codes), T).numpy()
    np.testing.assert_allclose(generator.generate(codes), want, atol=2e-5)


def test_code_gradient_matches_torch_autograd(generator):
    rng = np.random.RandomState(2)
    codes = rng.rand(4, generator.code_size)
    targets = rng.randn(4, T, D)
    _, errors, grad = code_error_and_grad(generator, codes, targets, dtype=np.float64)
    v = torch.tensor(codes, requires_grad=True)
    loss = ((generator.module()(v, T) - torch.tensor(targets)) ** 2).mean(dim=(1, 2))
    loss.sum().backward()
    np.testing.assert_allclose(errors, loss.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(grad, v.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_first_step_from_zero_is_a_signed_step(generator, types):
    """From zero, the Adam-like step (no bias correction) moves every entry by
    step_size * 0.1 g / sqrt(0.01 g^2) = step_size against the sign of the gradient."""
    target = types[1, 0]
    record = invert_code(generator, target, CodeInversionConfig(iterations=1), dtype=np.float64)
    assert np.all(record.codes[0, 0] == 0)
    v = torch.zeros(1, generator.code_size, dtype=torch.float64, requires_grad=True)
    ((generator.module()(v, T) - torch.tensor(target)) ** 2).mean().backward()
    np.testing.assert_allclose(record.codes[0, 1], -0.05 * np.sign(v.grad.numpy()[0]),
                               atol=1e-6)


def test_simplex_start_and_projection(generator, types):
    config = CodeInversionConfig(iterations=3, start="uniform", projection="simplex")
    record = invert_code(generator, types[:, 0], config)
    np.testing.assert_allclose(record.codes.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(record.codes >= 0)
    np.testing.assert_allclose(record.codes[:, 0], 1 / generator.code_size)


def test_decisions_by_hand():
    """Type code of 2 classes x 2 types: the largest single entry (0.5, class b) loses to
    class a's summed mass 0.3 + 0.3."""
    from mic_core.single.inversion import CodeInversionRecord
    codes = np.array([[[0, 0, 0, 0], [0.3, 0.3, 0.5, 0.0]]], dtype=np.float32)
    record = CodeInversionRecord(("a", "b"), ("a/1", "a/2", "b/1", "b/2"),
                                 np.array([0, 0, 1, 1]), np.zeros((1, 3, 1)), codes,
                                 np.array([[1.0, 0.5]]), np.zeros((1, 1, 3, 1)),
                                 CodeInversionConfig())
    np.testing.assert_allclose(record.class_mass[0, -1], [0.6, 0.5])
    assert decide(record).tolist() == [0]
    assert decide(record, np.array([[0.4, 0.2]]), rule="corners").tolist() == [1]
    assert record.to_dict()["winner"] == "a"
    assert list(record.to_frame().columns) == ["iteration", "error", "mass_a", "mass_b"]
    with pytest.raises(ValueError, match="corners rule needs"):
        decide(record, rule="corners")


def test_corner_errors_against_the_torch_module(generator, types):
    targets = types[:, 1]
    with torch.no_grad():
        corners = generator.module()(torch.eye(generator.code_size, dtype=torch.float64), T)
    errors = ((torch.tensor(targets)[:, None] - corners[None]) ** 2).mean(dim=(2, 3)).numpy()
    want = errors.reshape(C, C, K).min(axis=2)  # best of each class's K type corners
    np.testing.assert_allclose(corner_errors(generator, targets), want, rtol=1e-4)


def test_local_minima_and_basins_by_hand():
    errors = np.array([[1.0, 2.0, 3.0, 2.0],
                       [2.0, 3.0, 4.0, 1.5],
                       [3.0, 4.0, 5.0, 0.5]])
    assert np.argwhere(local_minima(errors)).tolist() == [[0, 0], [2, 3]]
    basins = descent_basins(errors)
    assert basins[1, 1] == 0  # (1,1) -> (0,0)
    assert basins[0, 3] == 11 and basins[1, 2] == 11  # -> (1,3) -> (2,3)
    errors[2, 0] = np.nan  # outside a triangle: never a neighbour, never a minimum
    assert descent_basins(errors)[2, 0] == -1
    assert local_minima(errors)[2, 0] == 0


def test_landscape_of_a_bowl_has_one_minimum_at_the_target():
    """generate = the code itself (T = 1): the error is a quadratic bowl around the target."""
    corners = np.eye(3, dtype=np.float32)[:2]
    target = np.array([[0.5, 0.75, 0.0]])
    land = landscape(lambda codes: codes[:, None, :], target, "pair", corners, resolution=13)
    assert land.n_local_minima == 1
    assert land.lowest() == (0.5, 0.75)
    assert land.same_basin((0.0, 0.0), (1.0, 1.0))
    np.testing.assert_allclose(land.coordinates(np.array([0.5, 0.25, 9.0])), [0.5, 0.25])
    tri = landscape(lambda codes: codes[:, None, :], np.array([[0.2, 0.3, 0.5]]), "triangle",
                    np.eye(3, dtype=np.float32), resolution=11)
    assert np.isnan(tri.errors[-1, -1]) and tri.n_local_minima == 1
    np.testing.assert_allclose(tri.lowest(), (0.3, 0.5), atol=1e-9)


def test_wrong_code_size_and_bad_targets(generator):
    with pytest.raises(ValueError, match="type code has 6 entries .3 classes x 2 types"):
        generator.generate(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"targets must have shape \(N, 6, 2\)"):
        invert_code(generator, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        invert_code(generator, np.full((T, D), np.nan))
    with pytest.raises(ValueError, match="unknown start"):
        CodeInversionConfig(start="random")


def test_persistence_round_trip_and_refusals(generator, tmp_path):
    data, train = DataConfig("characters"), _config("type")
    path = save_generator(generator, tmp_path / "g.npz", data, train)
    loaded = load_generator(path, data, train)
    np.testing.assert_array_equal(loaded.w_hh, generator.w_hh)
    assert loaded.code == "type" and loaded.class_names == ("a", "b", "c")
    with pytest.raises(GeneratorFileError, match="another configuration"):
        load_generator(path, data, _config("type", steps=41))
    with pytest.raises(GeneratorFileError, match="of the 'characters' data set, not of 'mnist'"):
        load_generator(path, DataConfig("mnist"), train)
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(GeneratorFileError, match="not a readable generator file"):
        load_generator(tmp_path / "bad.npz")
    header = json.dumps({"format_version": 1, "expert": {"n_types": 4}})
    np.savez(tmp_path / "experts.npz", header=np.array(header))
    with pytest.raises(GeneratorFileError, match="is a file of experts, not a single generator"):
        load_generator(tmp_path / "experts.npz")


def test_never_trained_configuration_is_refused(tmp_path, monkeypatch):
    from mic_core.single import generator as module
    monkeypatch.setattr(module, "SHIPPED_GENERATORS", tmp_path / "none")

    class Tiny:  # only what load_or_train_generator reads before refusing
        config, name = DataConfig("characters"), "characters"
    with pytest.raises(ValueError, match="was never trained: train it first"):
        module.load_or_train_generator(Tiny(), _config("class"), cache_dir=tmp_path,
                                       allow_training=False)


def test_generator_refuses_inconsistent_arrays(generator):
    with pytest.raises(ValueError, match="w_ih has shape"):
        SingleGenerator("class", generator.class_names, generator.w_ih, generator.w_hh,
                        generator.bias, generator.w_out, generator.b_out, generator.types)


def test_compare_slices_puts_the_true_class_first(generator, types):
    from mic_core.expert import Expert, ExpertConfig, ExpertSet
    from mic_core.single.landscape import compare_slices, irregularity
    torch.manual_seed(0)
    experts = ExpertSet.from_modules([Expert(ExpertConfig(n_types=K, hidden_size=4,
                                                          output_size=D)) for _ in range(C)],
                                     ["a", "b", "c"], types)
    comparison = compare_slices(experts, generator, types[2, 1], 2, "pair", resolution=7)
    assert comparison.generator_classes[0] == 2 and len(comparison.expert_types) == 2
    assert comparison.generator.errors.shape == (7, 7)
    summary = irregularity(experts, generator, types[:, 0], np.arange(C), "pair",
                           resolution=7)
    assert summary["n_targets"] == 3 and summary["slice"] == "pair"
    assert 0 <= summary["mean_generator_start_in_true_class_basin"] <= 1


def test_shallow_dimples_do_not_count_as_minima():
    """A bowl 4 deep with a dimple 0.01 deep: two grid minima, one persistent; the dimple's
    basin spills into the bowl's."""
    from mic_core.single.landscape import Landscape, persistent_minima
    a = np.linspace(0, 1, 9)
    A, B = np.meshgrid(a, a)
    errors = 16 * ((A - 0.25) ** 2 + (B - 0.25) ** 2)
    errors[6, 6] = np.delete(errors[5:8, 5:8].ravel(), 4).min() - 0.01  # below its neighbours
    assert local_minima(errors).sum() == 2
    assert persistent_minima(errors) == [2 * 9 + 2]
    land = Landscape("pair", a, a, np.eye(2), np.zeros((9, 9, 2)), errors)
    assert land.n_local_minima == 1 and land.n_grid_minima == 2
    assert land.same_basin((0.75, 0.75), (0.0, 0.0))
    # a barrier 2 high (of a range of 4.5) keeps two minima apart
    two = np.array([[1.0, 2.0, 3.0, 2.0], [2.0, 3.0, 4.0, 1.5], [3.0, 4.0, 5.0, 0.5]])
    assert persistent_minima(two) == [0, 11]


def test_classification_record_reads_like_mics(generator, types):
    from mic_core.single.inversion import classify_single
    targets = types[:, 1]
    whole = classify_single(generator, targets, CodeInversionConfig(iterations=3), "corners")
    batched = classify_single(generator, targets, CodeInversionConfig(iterations=3), "mass",
                              record="final", batch_size=2)
    assert whole.winners.tolist() == corner_errors(generator, targets).argmin(1).tolist()
    assert batched.winners.tolist() == whole.inversion.winners.tolist()  # largest mass
    assert batched.inversion.codes.shape == (C, 1, C * K)
    summary = whole.summary(0)
    assert summary["winner"] == summary["winner_by_corners"]
    assert summary["generator"]["code"] == "type"
    frame = whole.to_frame(2)
    assert len(frame) == 4 and set(frame["rule"]) == {"corners"}
    assert json.loads(json.dumps(whole.to_dict(1)))["errors"] == \
        whole.inversion.errors[1].tolist()
