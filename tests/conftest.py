"""Shared fixtures: small synthetic data and tiny experts, so most tests run in seconds."""
import numpy as np
import pytest

from mic_core.data import DataConfig, Dataset
from mic_core.training import TrainConfig, train_experts


def synthetic_sequences(n_per_class=8, n_classes=3, n_steps=20, seed=0):
    """Three easily told apart families of 2-D curves, with noise: X (n, T, 2), y (n,)."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, n_steps)
    X, y = [], []
    for c in range(n_classes):
        for _ in range(n_per_class):
            phase = rng.uniform(-0.2, 0.2)
            curve = np.stack([np.cos(2 * np.pi * (c + 1) * t / 2 + phase),
                              np.sin(2 * np.pi * (c + 1) * t / 2 + phase) * (1 + c / 2)], 1)
            X.append(curve + rng.normal(0, 0.03, curve.shape))
            y.append(c)
    return np.asarray(X, dtype=np.float32), np.asarray(y)


TINY_TRAIN = TrainConfig(selection="random", seed=0, noise_in=0.0, hidden_size=6, steps=300,
                         learning_rate=0.02)


@pytest.fixture(scope="session")
def tiny_dataset():
    X, y = synthetic_sequences()
    Xt, yt = synthetic_sequences(seed=1)
    return Dataset(config=DataConfig(dataset="characters", n_points=20), class_names=("a", "b", "c"),
                   X_train=X, y_train=y, X_test=Xt, y_test=yt)


@pytest.fixture(scope="session")
def tiny_experts(tiny_dataset):
    return train_experts(tiny_dataset.X_train, tiny_dataset.y_train, tiny_dataset.class_names,
                         TINY_TRAIN)
