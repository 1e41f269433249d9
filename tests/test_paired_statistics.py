"""Paired comparisons against hand-computed and textbook values."""
from math import comb

import numpy as np
import pytest

from mic_core.paired_statistics import (compare, compare_runs, mcnemar, paired_bootstrap,
                                       sign_flip_test)


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


# --- several runs (seeds) on the same samples --------------------------------------------

def _brute_force_sign_flip(sums) -> float:
    """Every sign pattern enumerated: the share with |sum| at least the observed."""
    from itertools import product
    sums = [s for s in sums if s != 0]
    observed = abs(sum(sums))
    patterns = list(product((1, -1), repeat=len(sums)))
    return sum(abs(sum(e * s for e, s in zip(signs, sums))) >= observed
               for signs in patterns) / len(patterns)


def test_sign_flip_test_by_hand():
    # sums 2, -1, 1: the 8 patterns give 4, 2, 2, 0, 0, -2, -2, -4; |sum| >= 2 in 6
    assert sign_flip_test([2, -1, 1]) == pytest.approx(0.75)
    assert sign_flip_test([0, 0]) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_sign_flip_test_against_enumerating_every_sign_pattern(seed):
    sums = np.random.RandomState(seed).randint(-3, 4, size=11)
    assert sign_flip_test(sums) == pytest.approx(_brute_force_sign_flip(sums), abs=1e-9)


@pytest.mark.parametrize("only_a, only_b", [(9, 1), (3, 3), (0, 7), (40, 25)])
def test_one_run_is_mcnemar(only_a, only_b):
    a = [1] * only_a + [0] * only_b + [1] * 5
    b = [0] * only_a + [1] * only_b + [1] * 5
    result = compare_runs([a], [b], n_resamples=500)
    assert result.p_value == pytest.approx(_exact_two_sided(only_a, only_b), rel=1e-9)
    assert result.estimate == pytest.approx((only_a - only_b) / len(a))
    assert (result.runs, result.n, result.only_a, result.only_b) == (1, len(a), only_a, only_b)


def test_several_runs_by_hand():
    # two runs on four samples: per-sample sums 2, 0, -1, 1 -> mean difference 2 / 8
    a = [[1, 1, 0, 1], [1, 0, 0, 1]]
    b = [[0, 1, 1, 0], [0, 0, 0, 1]]
    result = compare_runs(a, b, n_resamples=2000, seed=0)
    assert result.estimate == pytest.approx(0.25)
    assert result.p_value == pytest.approx(_brute_force_sign_flip([2, 0, -1, 1]))
    assert (result.only_a, result.only_b, result.runs, result.n) == (3, 1, 2, 4)
    assert result.ci_low <= result.estimate <= result.ci_high
    assert "sign-flip over 2 seeds" in result.describe()


def test_runs_must_match():
    with pytest.raises(ValueError, match="same runs and samples"):
        compare_runs([[1, 0], [1, 1]], [[1, 0]])
