"""Paired comparisons of two classifiers on the same test samples.

Margins of a tenth of a point between MIC and the nearest neighbour say nothing without an
interval: both classifiers see the same samples, so the comparison is paired. Given, per
sample, whether each classifier was right:

- ``paired_bootstrap``: the accuracy difference A − B and its percentile bootstrap interval,
  resampling samples (each keeps its pair of outcomes);
- ``mcnemar``: the exact McNemar test — under "equally accurate", the samples where exactly
  one is right split between them like a fair coin (a two-sided binomial test).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binomtest


@dataclass(frozen=True)
class PairedComparison:
    """A − B in accuracy units, with its 95 % interval and McNemar's p-value."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int  # paired samples
    only_a: int  # samples only A classifies correctly
    only_b: int

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self, a: str = "A", b: str = "B") -> str:
        """
        >>> PairedComparison(0.012, -0.004, 0.028, 0.17, 715, 20, 11).describe("MIC", "NN")
        'MIC − NN: +1.2 points (95 % interval -0.4 to +2.8; McNemar p = 0.17)'
        """
        return (f"{a} − {b}: {self.estimate * 100:+.1f} points (95 % interval "
                f"{self.ci_low * 100:+.1f} to {self.ci_high * 100:+.1f}; McNemar p = "
                f"{self.p_value:.2g})").replace("interval +", "interval ")


def _outcomes(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(correct_a, dtype=bool).ravel()
    b = np.asarray(correct_b, dtype=bool).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes need the same samples: {a.size} vs {b.size}")
    if a.size == 0:
        raise ValueError("no samples to compare")
    return a, b


def paired_bootstrap(correct_a, correct_b, n_resamples: int = 10_000, seed: int = 0,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """(accuracy of A − accuracy of B, interval low, interval high), percentile bootstrap
    over samples.

    >>> paired_bootstrap([1, 1, 0, 1], [1, 1, 0, 1])
    (0.0, 0.0, 0.0)
    """
    a, b = _outcomes(correct_a, correct_b)
    difference = a.astype(np.int8) - b.astype(np.int8)  # per sample: -1, 0 or 1
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 1000):  # bounded memory for large test sets
        stop = min(start + 1000, n_resamples)
        picks = rng.integers(0, a.size, size=(stop - start, a.size))
        means[start:stop] = difference[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(difference.mean()), float(low), float(high)


def mcnemar(correct_a, correct_b) -> float:
    """Exact two-sided McNemar p-value (1.0 when the two never disagree).

    >>> round(mcnemar([1] * 9 + [0], [0] * 9 + [1]), 6)  # 9 vs 1 discordant samples
    0.021484
    """
    a, b = _outcomes(correct_a, correct_b)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def compare(correct_a, correct_b, n_resamples: int = 10_000, seed: int = 0) -> PairedComparison:
    """Both: the difference with its bootstrap interval, and McNemar's p-value."""
    a, b = _outcomes(correct_a, correct_b)
    estimate, low, high = paired_bootstrap(a, b, n_resamples, seed)
    return PairedComparison(estimate, low, high, mcnemar(a, b), int(a.size),
                            int(np.sum(a & ~b)), int(np.sum(~a & b)))
