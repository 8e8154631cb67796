"""Budget strings: the accepted forms, their values, and that nothing else gets through."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget import Budget, BudgetError, parse_budget, parse_ratio, parse_share
from budget.parse import ACCURATE, CPU_SECONDS


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("250ccsd", 250.0, ACCURATE),
        ("250CCSD", 250.0, ACCURATE),
        ("250 ccsd", 250.0, ACCURATE),
        ("  250 CCSD(T) ", 250.0, ACCURATE),
        ("250ccsd(t)", 250.0, ACCURATE),
        ("250acc", 250.0, ACCURATE),
        ("12.5accurate", 12.5, ACCURATE),
        ("1e3ccsd", 1000.0, ACCURATE),
        ("12cpu-h", 12 * 3600.0, CPU_SECONDS),
        ("3600s", 3600.0, CPU_SECONDS),
        ("90min", 5400.0, CPU_SECONDS),
        ("2h", 7200.0, CPU_SECONDS),
        ("1.5 hours", 5400.0, CPU_SECONDS),
        ("1d", 86400.0, CPU_SECONDS),
    ],
)
def test_accepted_forms(text: str, amount: float, unit: str) -> None:
    budget = parse_budget(text)
    assert budget.amount == pytest.approx(amount)
    assert budget.unit == unit
    assert Budget.parse(text) == budget


@pytest.mark.parametrize(
    "text",
    ["", "ccsd", "250", "-250ccsd", "0ccsd", "250 dollars", "inf ccsd", "nanccsd", "250cc sd",
     "1e999ccsd", "1e308d", "٣ccsd", "250ccsd250", "0x10ccsd", "1_000ccsd"],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(BudgetError) as info:
        parse_budget(text)
    message = str(info.value)
    assert "\n" not in message and "250ccsd" in message and "12cpu-h" in message  # says what is accepted


def test_absolute_budget_needs_a_label_cost() -> None:
    budget = parse_budget("2h")
    assert budget.is_absolute and str(budget) == "2cpu-h"
    assert budget.in_accurate_labels(accurate_cost_s=360.0) == pytest.approx(20.0)
    with pytest.raises(BudgetError, match="cost per label"):
        budget.in_accurate_labels()


@given(st.text(max_size=30))
@settings(max_examples=400, deadline=None)
def test_any_string_is_a_budget_or_a_budget_error(text: str) -> None:
    try:
        budget = parse_budget(text)
    except BudgetError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(budget, Budget) and budget.amount > 0 and budget.amount < float("inf")


@given(st.from_regex(r"\A ?[0-9]{1,6}(\.[0-9]{0,3})? ?(ccsd|CCSD\(T\)|acc|cpu-h|s|min|h)\Z"))
@settings(max_examples=200, deadline=None)
def test_well_formed_positive_budgets_parse(text: str) -> None:
    number = float(text.strip().rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ()-").strip())
    if number == 0:
        with pytest.raises(BudgetError):
            parse_budget(text)
    else:
        assert parse_budget(text).amount >= number


@pytest.mark.parametrize("value", ["1", "0.5", "-3", "nan", "inf", "forty", ""])
def test_ratio_must_be_finite_and_above_one(value: str) -> None:
    with pytest.raises(BudgetError, match="ratio"):
        parse_ratio(value)


def test_ratio_accepts_numbers() -> None:
    assert parse_ratio("40") == 40.0 and parse_ratio(1.5) == 1.5


def test_share_forms() -> None:
    assert parse_share("20%").inaccurate_spend(250.0, 40.0) == pytest.approx(50.0)
    assert parse_share("50ccsd").inaccurate_spend(250.0, 40.0) == pytest.approx(50.0)
    for bad in ("100%", "-5%", "abc%", "2h", "twenty"):
        with pytest.raises(BudgetError, match="share"):
            parse_share(bad)


@given(st.text(max_size=12))
@settings(max_examples=200, deadline=None)
def test_any_share_is_a_policy_or_a_budget_error(text: str) -> None:
    try:
        policy = parse_share(text)
    except BudgetError:
        return
    assert 0.0 <= policy.inaccurate_spend(100.0, 40.0) <= 100.0
