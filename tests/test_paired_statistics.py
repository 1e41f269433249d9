"""Paired comparisons against hand-computed and textbook values."""
from math import comb

import numpy as np
import pytest

from mic_core.paired_statistics import compare, mcnemar, paired_bootstrap


def _exact_two_sided(only_a: int, only_b: int) -> float:
    """The exact McNemar p-value by hand: twice the smaller binomial tail, at most 1."""
    n, k = only_a + only_b, min(only_a, only_b)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


@pytest.mark.parametrize("only_a, only_b, both, neither", [(9, 1, 5, 2), (3, 3, 10, 0),
                                                           (0, 7, 1, 1), (40, 25, 600, 50)])
def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_samples(only_a, only_b, both,
                                                                      neither):
    a = [1] * only_a + [0] * only_b + [1] * both + [0] * neither
    b = [0] * only_a + [1] * only_b + [1] * both + [0] * neither
    assert mcnemar(a, b) == pytest.approx(_exact_two_sided(only_a, only_b), rel=1e-9)
    assert mcnemar(b, a) == pytest.approx(mcnemar(a, b), rel=1e-12)  # symmetric


def test_no_disagreement_gives_p_one():
    assert mcnemar([1, 0, 1], [1, 0, 1]) == 1.0


def test_bootstrap_interval_agrees_with_the_normal_approximation_on_a_large_set():
    """For n = 4000 paired samples the percentile interval of the mean difference is close
    to mean ± 1.96 · sd / sqrt(n) (central limit theorem), computed by hand."""
    rng = np.random.RandomState(0)
    a = rng.rand(4000) < 0.80
    b = np.where(rng.rand(4000) < 0.9, a, ~a)  # agrees with a on about 90 %
    b[:60] = True  # and B gets 60 more right
    d = a.astype(float) - b.astype(float)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    estimate, low, high = paired_bootstrap(a, b, n_resamples=4000, seed=1)
    assert estimate == pytest.approx(d.mean(), abs=1e-12)
    assert low == pytest.approx(d.mean() - half, abs=0.1 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.1 * half)


def test_compare_counts_the_discordant_samples_and_is_seeded():
    a = [1, 1, 1, 0, 0, 1]
    b = [1, 0, 0, 1, 0, 1]
    first, again = compare(a, b, 2000, seed=3), compare(a, b, 2000, seed=3)
    assert (first.only_a, first.only_b, first.n) == (2, 1, 6)
    assert first.estimate == pytest.approx(1 / 6)
    assert first == again
    assert first.ci_low <= first.estimate <= first.ci_high


@pytest.mark.parametrize("a, b, message", [([1, 0], [1], "same samples: 2 vs 1"),
                                            ([], [], "no samples")])
def test_bad_outcomes_are_refused(a, b, message):
    with pytest.raises(ValueError, match=message):
        compare(a, b)
