"""The batched inversion engine."""
import numpy as np
import pytest

from mic_core.data import load_dataset
from mic_core.inversion import (InversionConfig, clip_and_normalise, invert, invert_steps,
                                project_to_simplex)
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config


def test_projection_onto_the_simplex():
    rng = np.random.RandomState(0)
    v = rng.randn(500, 4) * 2
    p = project_to_simplex(v)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert p.min() >= 0
    np.testing.assert_allclose(project_to_simplex(p), p, atol=1e-12)  # idempotent
    # it is the closest point: no random point of the simplex is closer
    candidates = rng.dirichlet(np.ones(4), size=2000)
    for vi, pi in zip(v[:20], p[:20]):
        assert np.linalg.norm(vi - pi) <= np.linalg.norm(candidates - vi, axis=1).min() + 1e-12


def test_clip_and_normalise_never_divides_by_zero():
    out = clip_and_normalise(np.array([[-1.0, -2.0, -3.0, -4.0], [2.0, 0.0, 0.0, 2.0]]))
    np.testing.assert_allclose(out, [[0.25] * 4, [0.5, 0, 0, 0.5]])


def test_record_shapes(tiny_experts, tiny_dataset):
    targets = tiny_dataset.X_test[:5]
    full = invert(tiny_experts, targets, InversionConfig(iterations=7))
    assert full.mixture_weights.shape == (5, 3, 8, 4)
    assert full.errors.shape == (5, 3, 8)
    assert full.reconstructions.shape == (5, 3, 8, 20, 2)
    final = invert(tiny_experts, targets, InversionConfig(iterations=7), record="final")
    assert final.errors.shape == (5, 3, 1) and final.reconstructions.shape == (5, 3, 1, 20, 2)


def test_every_streamed_step_is_the_error_of_its_mixture(tiny_experts, tiny_dataset):
    """Each yielded iteration's errors and reconstructions are those of its own mixture
    weights, recomputed by the generation kernel (another code path than the inversion's)."""
    targets = tiny_dataset.X_test[:3]
    steps = list(invert_steps(tiny_experts, targets, InversionConfig(iterations=4)))
    assert [s.iteration for s in steps] == [0, 1, 2, 3, 4]
    for step in steps:
        recon = tiny_experts.generate(step.mixture_weights)
        np.testing.assert_allclose(step.reconstructions, recon, atol=1e-6)
        np.testing.assert_allclose(step.errors, ((recon - targets[:, None]) ** 2).mean(axis=(2, 3)),
                                   rtol=1e-5)
    assert not np.array_equal(steps[0].mixture_weights, steps[-1].mixture_weights)  # it moved


def test_starts_uniform_and_stays_on_the_simplex(tiny_experts, tiny_dataset):
    record = invert(tiny_experts, tiny_dataset.X_test[:4])
    np.testing.assert_allclose(record.mixture_weights[:, :, 0], 0.25)
    np.testing.assert_allclose(record.mixture_weights.sum(axis=-1), 1.0, atol=1e-5)
    assert record.mixture_weights.min() >= 0


def test_final_error_belongs_to_the_projected_vector(tiny_experts, tiny_dataset):
    targets = tiny_dataset.X_test[:4]
    record = invert(tiny_experts, targets)
    recon = tiny_experts.generate(record.final_mixture_weights)
    errors = ((recon - targets[:, None]) ** 2).mean(axis=(2, 3))
    np.testing.assert_allclose(record.final_errors, errors, rtol=1e-5)
    np.testing.assert_allclose(record.reconstructions[:, :, -1], recon, atol=1e-6)


def test_error_falls_on_an_experts_own_types():
    """Every type of the shipped character experts, inverted from the uniform start, is
    reconstructed better after the steps by its own expert, mostly about as well as the
    expert learnt it, and its own expert wins almost always (50 steps can end in a local
    minimum)."""
    data = load_dataset("characters")
    experts = load_or_train(data, default_train_config("characters"))
    E, K = experts.n_experts, experts.config.n_types
    record = invert(experts, experts.types.reshape(E * K, *experts.types.shape[2:]))
    own = np.repeat(np.arange(E), K)
    errors = record.errors[np.arange(E * K), own]  # (80, iterations + 1)
    assert np.all(errors[:, -1] < errors[:, 0])
    assert np.median(errors[:, -1]) < 0.01
    assert np.mean(record.final_errors.argmin(axis=1) == own) >= 0.9


def test_start_vector_option(tiny_experts, tiny_dataset):
    start = np.array([1.0, 0.0, 0.0, 0.0])
    record = invert(tiny_experts, tiny_dataset.X_test[:2], InversionConfig(iterations=0),
                    start=start)
    np.testing.assert_allclose(record.mixture_weights[:, :, 0], np.broadcast_to(start, (2, 3, 4)))
    with pytest.raises(ValueError, match="start must broadcast"):
        invert(tiny_experts, tiny_dataset.X_test[:2], start=np.ones(5))


def test_deterministic(tiny_experts, tiny_dataset):
    a = invert(tiny_experts, tiny_dataset.X_test)
    b = invert(tiny_experts, tiny_dataset.X_test)
    np.testing.assert_array_equal(a.errors, b.errors)


def test_concurrent_inversions_agree_and_leave_blas_as_it_was(tiny_experts, tiny_dataset):
    """App sessions invert in threads of one process: each gets the result it would get
    alone, and BLAS's thread count (limited to one during a step) is restored."""
    from concurrent.futures import ThreadPoolExecutor
    import threadpoolctl
    blas_threads = [info["num_threads"] for info in threadpoolctl.threadpool_info()]
    halves = np.array_split(tiny_dataset.X_test, 2)
    alone = [invert(tiny_experts, half).errors for half in halves]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda half: invert(tiny_experts, half).errors, halves))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)
    assert [info["num_threads"] for info in threadpoolctl.threadpool_info()] == blas_threads


@pytest.mark.parametrize("targets, message", [
    (np.zeros((2, 19, 2)), "targets must have shape"),
    (np.zeros((2, 20, 3)), "targets must have shape"),
    (np.zeros(20), "targets must have shape"),
    (np.full((1, 20, 2), np.nan), "NaN or infinite"),
])
def test_bad_targets(tiny_experts, targets, message):
    with pytest.raises(ValueError, match=message):
        invert(tiny_experts, targets)


def test_bad_config():
    with pytest.raises(ValueError, match="unknown projection"):
        InversionConfig(projection="softmax")
    with pytest.raises(ValueError, match="iterations"):
        InversionConfig(iterations=-1)
