"""Stable-run counts: Wilson intervals and the exact McNemar test against their closed forms and SciPy."""
from __future__ import annotations

import pytest

from acquire.md.proportions import Z_95, compare_paired, mcnemar_exact_p, wilson_interval


def test_wilson_interval_of_none_and_all_has_the_closed_form() -> None:
    z2 = Z_95 ** 2
    assert wilson_interval(0, 20) == pytest.approx((0.0, z2 / (20 + z2)))
    assert wilson_interval(20, 20) == pytest.approx((20 / (20 + z2), 1.0))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_is_symmetric_and_narrows_with_more_runs() -> None:
    low, high = wilson_interval(10, 20)
    assert low + high == pytest.approx(1.0) and low < 0.5 < high
    assert wilson_interval(100, 200)[1] - wilson_interval(100, 200)[0] < high - low
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.mark.parametrize("only_a, only_b", [(0, 2), (2, 0), (1, 5), (0, 6), (3, 3), (4, 9), (0, 0)])
def test_exact_mcnemar_is_scipys_two_sided_binomial_test(only_a: int, only_b: int) -> None:
    stats = pytest.importorskip("scipy.stats")
    expected = 1.0 if only_a + only_b == 0 else stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert mcnemar_exact_p(only_a, only_b) == pytest.approx(expected)


def test_paired_comparison_counts_only_the_runs_that_disagree() -> None:
    outcomes = [(True, True)] * 15 + [(False, False)] * 3 + [(False, True)] * 2  # a failed 5, b failed 3
    c = compare_paired("asteroid", "standard", 2.0, outcomes)
    assert (c.stable_a, c.stable_b, c.paired_runs) == (15, 17, 20)
    assert (c.only_a_failed, c.only_b_failed) == (2, 0) and c.p_value == 0.5
