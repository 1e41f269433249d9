"""Inversion options: several starts (uniform + each type's corner) and the exponentiated
step (mirror descent on the simplex)."""
import numpy as np
import pytest
import torch

from mic_core.classify import PLAIN, classify
from mic_core.expert import ExpertConfig, ExpertSet
from mic_core.inversion import InversionConfig, exponentiated_step, invert, invert_steps

OPTIONS = [InversionConfig(iterations=8, starts=starts, optimiser=optimiser,
                           step_size=0.05 if optimiser == "adam" else 2.0)
           for starts in ("uniform", "uniform+corners") for optimiser in ("adam", "exponentiated")]


def random_experts(seed: int, n_experts=3, n_types=4, hidden=5, n_steps=12) -> ExpertSet:
    """Untrained experts with random weights: every landscape is a fair test case."""
    rng = np.random.RandomState(seed)
    H, K, D = hidden, n_types, 2
    return ExpertSet(config=ExpertConfig(n_types=K, hidden_size=H, output_size=D),
                     class_names=tuple("abcde"[:n_experts]),
                     w_ih=rng.randn(n_experts, 4 * H, K) * 1.5,
                     w_hh=rng.randn(n_experts, 4 * H, H) * 0.5,
                     bias=rng.randn(n_experts, 4 * H) * 0.3,
                     w_out=rng.randn(n_experts, D, H), b_out=rng.randn(n_experts, D) * 0.1,
                     types=rng.randn(n_experts, K, n_steps, D))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("optimiser,step_size", [("adam", 0.05), ("exponentiated", 3.0)])
def test_several_starts_never_end_worse_than_the_uniform_start(seed, optimiser, step_size):
    experts = random_experts(seed)
    targets = np.random.RandomState(100 + seed).randn(5, 12, 2)
    one = InversionConfig(iterations=10, optimiser=optimiser, step_size=step_size)
    several = InversionConfig(iterations=10, optimiser=optimiser, step_size=step_size,
                              starts="uniform+corners")
    alone = invert(experts, targets, one, record="final").final_errors
    best = invert(experts, targets, several, record="errors")
    assert np.all(best.final_errors <= alone + 1e-6)
    # the record follows the start it names, and that start has the lowest final error
    finals = best.start_errors[..., -1]  # (N, E, S)
    np.testing.assert_array_equal(best.final_errors, finals.min(axis=2))
    np.testing.assert_array_equal(
        best.final_errors, np.take_along_axis(finals, best.start_index[..., None], 2)[..., 0])
    # every start ran in the batch: start 1 + k began at the corner of type k
    np.testing.assert_array_equal(best.start_mixture_weights[0, 0, 1:, 0], np.eye(4))
    np.testing.assert_allclose(best.start_mixture_weights[0, 0, 0, 0], 0.25)


def test_exponentiated_step_by_hand():
    """v * exp(-eta g) / sum, computed by hand for v = (.1, .2, .3, .4),
    g = (1, -1, .5, 0), eta = .5."""
    v = np.array([0.1, 0.2, 0.3, 0.4])
    g = np.array([1.0, -1.0, 0.5, 0.0])
    np.testing.assert_allclose(exponentiated_step(v, g, 0.5),
                               [0.0592293, 0.3220041, 0.2281559, 0.3906107], atol=1e-7)
    # a zero weight stays zero; huge gradients neither overflow nor leave the simplex
    np.testing.assert_allclose(exponentiated_step(np.array([0.0, 0.5, 0.5, 0.0]),
                                                  np.array([-1e4, 1e4, 0.0, 0.0]), 1.0),
                               [0.0, 0.0, 1.0, 0.0])


def test_exponentiated_inversion_takes_the_step_of_the_autograd_gradient(tiny_experts,
                                                                         tiny_dataset):
    """Iteration 1 of the engine is the exponentiated step from the uniform vector along
    the gradient that torch autograd computes (an independent code path)."""
    eta = 2.0
    targets = tiny_dataset.X_test[:2]
    record = invert(tiny_experts, targets,
                    InversionConfig(iterations=1, optimiser="exponentiated", step_size=eta),
                    dtype=np.float64)
    for e in range(tiny_experts.n_experts):
        module = tiny_experts.module(e)
        v = torch.full((2, 4), 0.25, dtype=torch.float64, requires_grad=True)
        target = torch.tensor(targets, dtype=torch.float64)
        errors = ((module(v, targets.shape[1]) - target) ** 2).mean(dim=(1, 2))
        grad, = torch.autograd.grad(errors.sum(), v)
        step = 0.25 * np.exp(-eta * grad.numpy())
        np.testing.assert_allclose(record.mixture_weights[:, e, 1],
                                   step / step.sum(axis=1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize("starts", ["uniform", "uniform+corners"])
def test_exponentiated_iterates_stay_on_the_simplex(tiny_experts, tiny_dataset, starts):
    config = InversionConfig(iterations=20, optimiser="exponentiated", step_size=20.0,
                             starts=starts)
    record = invert(tiny_experts, tiny_dataset.X_test[:4], config)
    weights = record.mixture_weights if record.start_mixture_weights is None else \
        record.start_mixture_weights
    assert weights.min() >= 0
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
    assert not np.allclose(record.mixture_weights[:, :, 0], record.mixture_weights[:, :, -1])


def test_corners_reach_the_error_of_an_experts_own_types(tiny_experts):
    """Inverted on its own types, an expert with corner starts ends at least as well as its
    one-hot input reproduces each type (that error computed from ExpertSet.generate)."""
    E, K = tiny_experts.n_experts, tiny_experts.config.n_types
    targets = tiny_experts.types.reshape(E * K, *tiny_experts.types.shape[2:])
    own = np.repeat(np.arange(E), K)
    one_hot = np.zeros((E * K, E, K), dtype=np.float32)
    one_hot[np.arange(E * K), :, np.tile(np.arange(K), E)] = 1.0
    corner = ((tiny_experts.generate(one_hot)[np.arange(E * K), own] - targets) ** 2).mean(
        axis=(1, 2))
    for optimiser, step_size in (("adam", 0.05), ("exponentiated", 3.0)):
        config = InversionConfig(starts="uniform+corners", optimiser=optimiser,
                                 step_size=step_size)
        record = invert(tiny_experts, targets, config, record="final")
        reached = record.final_errors[np.arange(E * K), own]
        assert np.all(reached <= corner * 1.05 + 1e-5), (optimiser, reached, corner)


@pytest.mark.parametrize("config", OPTIONS, ids=lambda c: f"{c.starts}-{c.optimiser}")
def test_classify_with_every_option(tiny_experts, tiny_dataset, config):
    X = tiny_dataset.X_test[:5]
    whole = classify(tiny_experts, X, config, PLAIN, record="full")
    batched = classify(tiny_experts, X, config, PLAIN, record="final", batch_size=2)
    np.testing.assert_array_equal(whole.winners, batched.winners)
    # batches change a target's SIMD block mates, so float32 rounding may move (see
    # tests/test_classify.py::test_batches_do_not_change_the_record)
    np.testing.assert_allclose(whole.deciding_errors, batched.deciding_errors, rtol=1e-5)
    assert whole.inversion.errors.shape == (5, 3, config.iterations + 1)
    several = config.starts != "uniform"
    assert (batched.inversion.start_index is not None) == several
    if several:
        np.testing.assert_array_equal(whole.inversion.start_index,
                                      batched.inversion.start_index)
        assert whole.inversion.start_errors.shape == (5, 3, 5, config.iterations + 1)
    assert whole.summary(0)["inversion_config"]["starts"] == config.starts


def test_streamed_steps_show_the_best_start_so_far(tiny_experts, tiny_dataset):
    config = InversionConfig(iterations=3, starts="uniform+corners")
    for step in invert_steps(tiny_experts, tiny_dataset.X_test[:2], config):
        assert step.start_errors.shape == (2, 3, 5)
        np.testing.assert_array_equal(step.errors, step.start_errors.min(axis=2))


@pytest.mark.parametrize("options,message", [
    ({"starts": "corners"}, "unknown starts"),
    ({"optimiser": "sgd"}, "unknown optimiser"),
    ({"step_size": 0.0}, "step_size must be a positive"),
    ({"step_size": float("nan")}, "step_size must be a positive"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        InversionConfig(**options)


@pytest.mark.parametrize("optimiser,step_size", [("adam", 0.05), ("exponentiated", 3.0)])
def test_every_starts_path_is_that_start_run_alone(optimiser, step_size):
    """The record's per-start paths (what the Compete page animates) against an independent
    reference: each start inverted on its own, with one start given as ``start`` (the
    uniform-start code path), in float64."""
    experts = random_experts(7)
    targets = np.random.RandomState(8).randn(3, 12, 2)
    several = InversionConfig(iterations=6, optimiser=optimiser, step_size=step_size,
                              starts="uniform+corners")
    record = invert(experts, targets, several, dtype=np.float64)
    alone = InversionConfig(iterations=6, optimiser=optimiser, step_size=step_size)
    for s, start in enumerate([None] + list(np.eye(4))):
        one = invert(experts, targets, alone, start=start, dtype=np.float64)
        np.testing.assert_allclose(record.start_errors[:, :, s], one.errors, rtol=1e-7,
                                   atol=1e-10)
        np.testing.assert_allclose(record.start_mixture_weights[:, :, s],
                                   one.mixture_weights, atol=1e-8)
        kept = record.start_index == s  # where this start was kept, the record is its path
        np.testing.assert_allclose(record.reconstructions[kept], one.reconstructions[kept],
                                   atol=1e-8)


def test_options_at_their_default_step_size():
    assert InversionConfig.with_options("uniform", "adam") == InversionConfig()
    chosen = InversionConfig.with_options("uniform+corners", "exponentiated")
    assert (chosen.starts, chosen.optimiser, chosen.step_size) == \
        ("uniform+corners", "exponentiated", 1.0)
    assert InversionConfig.with_options("uniform", "exponentiated", step_size=0.3).step_size \
        == 0.3
    with pytest.raises(ValueError, match="unknown optimiser"):
        InversionConfig.with_options("uniform", "sgd")


def test_the_bench_times_every_option_against_the_plain_inversion(tiny_experts, tiny_dataset):
    from mic_core.bench import inversion_options_cost
    X = tiny_dataset.X_test
    cost = inversion_options_cost(tiny_experts, X[:1], X[:6], None, repeats=3,
                                  batch_repeats=2, log=lambda m: None, rule=PLAIN)
    names = ["plain", "corners", "exponentiated", "corners_exponentiated"]
    assert list(cost["configs"]) == names
    assert cost["configs"]["corners_exponentiated"] == {
        "starts": "uniform+corners", "optimiser": "exponentiated", "step_size": 1.0}
    for name in names:  # medians of the runs, and each ratio to the plain one's
        runs = cost["single_ms_runs"][name]
        assert len(runs) == 3 and cost["single_ms"][name] == sorted(runs)[1]
        assert cost["single_ratio"][name] == pytest.approx(
            cost["single_ms"][name] / cost["single_ms"]["plain"])
        rates = cost["batch_throughput_runs"][name]
        assert len(rates) == 2 and cost["batch_ratio"][name] == pytest.approx(
            cost["batch_throughput"]["plain"] / cost["batch_throughput"][name])
    assert cost["single_ratio"]["plain"] == 1.0 and cost["batch_targets"] == 6
