"""The planner: the paper's numbers, integer counts, spend within budget, monotone in the budget."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget import BudgetError, FractionShare, Plan, parse_budget, parse_share, plan

ratios = st.floats(min_value=1.01, max_value=1000.0, allow_nan=False)
budgets = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)
policies = st.one_of(
    st.just("paper"),
    st.floats(min_value=0.0, max_value=0.95).map(FractionShare),
    st.floats(min_value=0.5, max_value=200.0).map(lambda u: parse_share(f"{u:.3f}ccsd")),
)


@pytest.mark.parametrize(("budget", "ratio", "accurate", "inaccurate", "standard"),
                         [("250ccsd", 40, 200, 2000, 250), ("850ccsd", 80, 800, 4000, 850)])
def test_paper_numbers(budget: str, ratio: float, accurate: int, inaccurate: int, standard: int) -> None:
    result = plan(budget, ratio)
    assert (result.accurate.count, result.inaccurate.count, result.standard.count) == (accurate, inaccurate, standard)
    assert result.leftover.cost_accurate_labels == pytest.approx(0.0)
    assert result.validation.count == 50 and not result.validation.charged
    assert result.policy == "paper"


def test_charged_validation_comes_out_of_the_budget() -> None:
    result = plan("300ccsd", 40, charge_validation=True)
    assert (result.accurate.count, result.inaccurate.count, result.standard.count) == (200, 2000, 250)
    assert result.spent.cost_accurate_labels == pytest.approx(300.0)


def test_share_policies() -> None:
    by_percent = plan("250ccsd", 40, policy=parse_share("20%"))
    by_units = plan("250ccsd", 40, policy=parse_share("50ccsd"))
    assert (by_percent.accurate.count, by_percent.inaccurate.count) == (200, 2000)
    assert (by_units.accurate.count, by_units.inaccurate.count) == (200, 2000)
    zero = plan("250ccsd", 40, policy=parse_share("0%"))
    assert (zero.accurate.count, zero.inaccurate.count) == (250, 0)


def test_absolute_budget_with_label_costs() -> None:
    result = plan(parse_budget("12cpu-h"), None, accurate_cost_s=339.0, inaccurate_cost_s=6.3)
    assert result.ratio == pytest.approx(339.0 / 6.3)
    assert result.budget_accurate_labels == pytest.approx(43200.0 / 339.0)
    assert result.accurate.count == 77 and result.inaccurate.count == math.floor(50 * 339.0 / 6.3)
    assert result.spent.cost_cpu_s <= 43200.0 + 1e-6
    assert result.accurate.cost_cpu_h == pytest.approx(77 * 339.0 / 3600.0)
    # a ratio and one cost give the other cost
    derived = plan("12cpu-h", 40, accurate_cost_s=400.0)
    assert derived.inaccurate.label_cost_s == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget": "40ccsd", "ratio": 40}, "at least 51ccsd"),
        ({"budget": "100ccsd", "ratio": 40, "charge_validation": True, "validation": 50}, "at least 101ccsd"),
        ({"budget": "12cpu-h", "ratio": 40}, "cost per label"),
        ({"budget": "250ccsd", "ratio": 1.0}, "ratio"),
        ({"budget": "250ccsd", "ratio": float("inf")}, "ratio"),
        ({"budget": "250ccsd", "ratio": None}, "ratio"),
        ({"budget": "250ccsd", "ratio": 40, "accurate_cost_s": 100.0, "inaccurate_cost_s": 1.0}, "contradicts"),
        ({"budget": "250ccsd", "ratio": None, "accurate_cost_s": 1.0, "inaccurate_cost_s": 2.0}, "swap"),
        ({"budget": "250ccsd", "ratio": 40, "policy": "optimal"}, "unknown policy"),
        ({"budget": "250ccsd", "ratio": 40, "policy": "share"}, "inaccurate-share"),
        ({"budget": "250ccsd", "ratio": 40, "validation": -1}, "validation"),
        ({"budget": "30ccsd", "ratio": 40, "policy": parse_share("30ccsd")}, "at least 31ccsd"),
    ],
)
def test_impossible_requests_say_what_to_do(kwargs: dict, match: str) -> None:
    with pytest.raises(BudgetError, match=match) as info:
        plan(**kwargs)
    assert "\n" not in str(info.value)


def _plan_or_none(budget: float, ratio: float, policy, charge: bool) -> Plan | None:
    try:
        return plan(f"{budget!r}ccsd", ratio, policy=policy, charge_validation=charge, validation=50)
    except BudgetError:
        return None


@given(budgets, ratios, policies, st.booleans())
@settings(max_examples=300, deadline=None)
def test_counts_are_integers_and_spend_stays_within_budget(budget: float, ratio: float, policy, charge: bool) -> None:
    result = _plan_or_none(budget, ratio, policy, charge)
    if result is None:
        return
    for part in (result.accurate, result.inaccurate, result.standard, result.validation):
        assert isinstance(part.count, int) and part.count >= 0
    assert result.accurate.count >= 1
    spent = result.accurate.count + result.inaccurate.count / ratio + (50 if charge else 0)
    assert spent <= budget + 1e-9
    assert result.spent.cost_accurate_labels == pytest.approx(spent)
    assert result.leftover.cost_accurate_labels == pytest.approx(budget - spent, abs=1e-9)
    assert result.standard.count == math.floor(budget - (50 if charge else 0) + 1e-9)
    assert result.standard.count >= result.accurate.count


@given(budgets, st.floats(min_value=0.0, max_value=500.0), ratios, policies, st.booleans())
@settings(max_examples=300, deadline=None)
def test_monotone_in_the_budget(budget: float, extra: float, ratio: float, policy, charge: bool) -> None:
    small = _plan_or_none(budget, ratio, policy, charge)
    large = _plan_or_none(budget + extra, ratio, policy, charge)
    if small is None:
        return
    assert large is not None, "a budget that plans must still plan when it grows"
    assert large.accurate.count >= small.accurate.count
    assert large.inaccurate.count >= small.inaccurate.count
    assert large.standard.count >= small.standard.count


@given(ratios, policies, st.booleans())
@settings(max_examples=100, deadline=None)
def test_the_minimum_named_in_the_error_plans(ratio: float, policy, charge: bool) -> None:
    try:
        plan("1ccsd", ratio, policy=policy, charge_validation=charge, validation=50)
    except BudgetError as exc:
        if "at least" not in str(exc):  # a share so small that no budget up to 1e7 buys one label
            assert "larger" in str(exc)
            return
        minimum = int(str(exc).split("at least ")[1].split("ccsd")[0])
        assert _plan_or_none(float(minimum), ratio, policy, charge) is not None
        assert minimum == 1 or _plan_or_none(float(minimum - 1), ratio, policy, charge) is None
