"""Paired comparisons of two classifiers on the same test samples.

Margins of a tenth of a point between MIC and the nearest neighbour say nothing without an
interval: both classifiers see the same samples, so the comparison is paired. Given, per
sample, whether each classifier was right:

- ``paired_bootstrap``: the accuracy difference A − B and its percentile bootstrap interval,
  resampling samples (each keeps its pair of outcomes);
- ``mcnemar``: the exact McNemar test — under "equally accurate", the samples where exactly
  one is right split between them like a fair coin (a two-sided binomial test);
- ``compare_runs``: the same over several runs (seeds) on the same samples, outcomes
  (runs, samples): the mean difference over runs, its bootstrap interval resampling samples
  (each keeps its outcomes in every run), and the exact sign-flip test of the per-sample
  sums (under "equally accurate", swapping A and B on a sample flips the sign of its sum;
  with one run this is exactly McNemar's test).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binom, binomtest


def p_text(p_value: float) -> str:
    """A p-value as the reports print it; one that underflowed to zero in floating point is
    below the smallest double, not zero.

    >>> p_text(0.0018), p_text(2.4e-21), p_text(0.0)
    ('p = 0.0018', 'p = 2.4e-21', 'p < 1e-300')
    """
    return "p < 1e-300" if p_value < 1e-300 else f"p = {p_value:.2g}"


@dataclass(frozen=True)
class PairedComparison:
    """A − B in accuracy units, with its 95 % interval and McNemar's p-value."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int  # paired samples
    only_a: int  # samples only A classifies correctly (summed over runs)
    only_b: int
    runs: int = 1  # runs (seeds) on the same samples

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self, a: str = "A", b: str = "B") -> str:
        """
        >>> PairedComparison(0.012, -0.004, 0.028, 0.17, 715, 20, 11).describe("MIC", "NN")
        'MIC − NN: +1.2 points (95 % interval -0.4 to +2.8; McNemar p = 0.17)'
        """
        test = "McNemar" if self.runs == 1 else f"sign-flip over {self.runs} seeds"
        return (f"{a} − {b}: {self.estimate * 100:+.1f} points (95 % interval "
                f"{self.ci_low * 100:+.1f} to {self.ci_high * 100:+.1f}; {test} "
                f"{p_text(self.p_value)})").replace("interval +", "interval ")


def _runs_outcomes(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    """(runs, samples) boolean outcomes; 1-D input is one run."""
    a = np.atleast_2d(np.asarray(correct_a, dtype=bool))
    b = np.atleast_2d(np.asarray(correct_b, dtype=bool))
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"paired outcomes need the same runs and samples: {a.shape} vs "
                         f"{b.shape}")
    if a.size == 0:
        raise ValueError("no samples to compare")
    return a, b


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


def _bootstrap_means(difference: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 1000):  # bounded memory for large test sets
        stop = min(start + 1000, n_resamples)
        picks = rng.integers(0, difference.size, size=(stop - start, difference.size))
        means[start:stop] = difference[picks].mean(axis=1)
    return means


def sign_flip_test(per_sample_sums) -> float:
    """Exact two-sided p-value of the sign-flip (randomisation) test: under the null every
    integer per-sample sum D_i is +|D_i| or -|D_i| with equal chance, independently; p is the
    chance that |sum D| is at least as large as observed. With sums in {-1, 0, 1} (one run)
    this is the exact McNemar test.

    >>> round(sign_flip_test([2, 2, 1]), 12)  # 8 sign patterns; |sum| >= 5 in 2 of them
    0.25
    """
    from scipy.signal import convolve
    sums = np.asarray(per_sample_sums, dtype=np.int64).ravel()
    observed = abs(int(sums.sum()))
    if observed == 0:
        return 1.0
    pmf = np.ones(1)  # the distribution of the sum, on -total..total
    for magnitude, count in zip(*np.unique(np.abs(sums[sums != 0]), return_counts=True)):
        # count signs of one magnitude: magnitude * (2 B - count), B ~ Binomial(count, 1/2)
        part = np.zeros(2 * magnitude * count + 1)
        part[::2 * magnitude] = binom.pmf(np.arange(count + 1), count, 0.5)
        pmf = convolve(pmf, part)
    pmf = np.clip(pmf, 0.0, None)
    total = (len(pmf) - 1) // 2
    values = np.abs(np.arange(-total, total + 1))
    return float(min(1.0, pmf[values >= observed].sum() / pmf.sum()))


def compare_runs(correct_a, correct_b, n_resamples: int = 10_000,
                 seed: int = 0) -> PairedComparison:
    """A − B over several runs (seeds) on the same samples: outcomes (runs, samples).

    Estimate: the mean over runs of the accuracy difference. Interval: percentile bootstrap
    over samples, each keeping its outcomes in every run (it holds the runs fixed: the
    spread between runs is not in it). p-value: ``sign_flip_test`` of the per-sample sums
    over runs (exact; with one run, McNemar's exact test).
    """
    a, b = _runs_outcomes(correct_a, correct_b)
    sums = a.astype(np.int64).sum(axis=0) - b.astype(np.int64).sum(axis=0)
    means = _bootstrap_means(sums / a.shape[0], n_resamples, seed)
    low, high = np.percentile(means, [2.5, 97.5])
    return PairedComparison(float(sums.mean() / a.shape[0]), float(low), float(high),
                            sign_flip_test(sums), int(a.shape[1]), int(np.sum(a & ~b)),
                            int(np.sum(~a & b)), int(a.shape[0]))


def compare(correct_a, correct_b, n_resamples: int = 10_000, seed: int = 0) -> PairedComparison:
    """Both: the difference with its bootstrap interval, and McNemar's p-value."""
    a, b = _outcomes(correct_a, correct_b)
    estimate, low, high = paired_bootstrap(a, b, n_resamples, seed)
    return PairedComparison(estimate, low, high, mcnemar(a, b), int(a.size),
                            int(np.sum(a & ~b)), int(np.sum(~a & b)))
