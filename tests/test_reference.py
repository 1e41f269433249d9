"""The batched engine against the original per-expert, per-target loop (benchmarks/).

In float64 both compute the same maths (the engine's tanh is libm's there), so every final
error must agree to 1e-4 and every winner exactly. In float32 the engine's rational tanh
differs from torch's by < 4e-7; the Adam-like steps, which normalise each gradient, can
amplify that on a rare near-flat target, so the float32 check asks for the same winners.
"""
import numpy as np
import torch

from benchmarks.reference import reference_invert
from mic_core.data import load_dataset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config


def test_engine_agrees_with_the_reference_loop(tiny_experts, tiny_dataset):
    targets = tiny_dataset.X_test[::6]
    for config, start in [(InversionConfig(), None),
                          (InversionConfig(projection="clip", step_size=0.1, iterations=20),
                           np.array([0.7, 0.1, 0.1, 0.1]))]:
        record = invert(tiny_experts, targets, config, start=start, dtype=np.float64)
        errors, weights = reference_invert(tiny_experts, targets, config, start=start,
                                           dtype=torch.float64)
        np.testing.assert_allclose(record.final_errors, errors, atol=1e-4)
        np.testing.assert_allclose(record.final_mixture_weights, weights, atol=1e-3)
        np.testing.assert_array_equal(record.final_errors.argmin(axis=1), errors.argmin(axis=1))


def test_engine_agrees_on_the_shipped_character_experts():
    data = load_dataset("characters")
    experts = load_or_train(data, default_train_config("characters"))
    targets = data.X_test[[0, 300, 600]]
    record = invert(experts, targets, dtype=np.float64)
    errors, _ = reference_invert(experts, targets, dtype=torch.float64)
    np.testing.assert_allclose(record.final_errors, errors, atol=1e-4)
    np.testing.assert_array_equal(record.final_errors.argmin(axis=1), errors.argmin(axis=1))
    fast = invert(experts, targets)  # float32, the default
    errors32, _ = reference_invert(experts, targets)
    np.testing.assert_array_equal(fast.final_errors.argmin(axis=1), errors32.argmin(axis=1))
