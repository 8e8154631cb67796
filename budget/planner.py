"""The planner: a budget and a cost ratio -> integer counts of accurate and inaccurate labels.

All spending is in accurate-label equivalents (one accurate label costs 1, one inaccurate label
1/ratio); CPU-core seconds appear where per-label costs are known. The validation set (accurate
labels) is reported and, only with `charge_validation`, paid from the budget first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from pydantic import BaseModel, ConfigDict

from budget.errors import BudgetError
from budget.parse import Budget, parse_budget, parse_ratio, positive_finite
from budget.policies import Policy, get_policy

if TYPE_CHECKING:  # numpy comes with learning curves: imported only when the optimal policy plans
    from budget.learning_curves import LearningCurve

_EPS = 1e-9  # absorbs float noise such as 50 * 40.000000001 so that counts are not one short


class Amount(BaseModel):
    """A cost in accurate-label equivalents and, where per-label costs are known, CPU-core time."""

    model_config = ConfigDict(frozen=True)

    cost_accurate_labels: float
    cost_cpu_s: float | None = None
    cost_cpu_h: float | None = None


class Part(Amount):
    """Labels of one kind: their count, total cost, and cost per label (CPU-core s) if known."""

    count: int
    label_cost_s: float | None = None


class Validation(Part):
    """The accurate validation set; `charged` says whether the budget pays for it."""

    charged: bool


class Plan(BaseModel):
    """How a budget is spent: the mixed plan, the same-budget standard baseline, the leftover."""

    model_config = ConfigDict(frozen=True)

    budget: str
    budget_accurate_labels: float
    budget_cpu_s: float | None
    ratio: float
    policy: str
    policy_description: str
    accurate: Part
    inaccurate: Part
    standard: Part
    validation: Validation
    spent: Part
    leftover: Amount


class _AmountFields(TypedDict):
    """The fields every Amount has, as keyword arguments."""

    cost_accurate_labels: float
    cost_cpu_s: float | None
    cost_cpu_h: float | None


def _amount(cost: float, accurate_cost_s: float | None) -> _AmountFields:
    """Fields of an Amount: `cost` in accurate-label units, CPU time from the accurate label cost."""
    cpu_s = None if accurate_cost_s is None else cost * accurate_cost_s
    return {
        "cost_accurate_labels": cost,
        "cost_cpu_s": cpu_s,
        "cost_cpu_h": None if cpu_s is None else cpu_s / 3600.0,
    }


def _part(count: int, cost: float, label_cost_s: float | None, accurate_cost_s: float | None) -> Part:
    """A Part of `count` labels costing `cost` accurate-label units in all."""
    return Part(count=count, label_cost_s=label_cost_s, **_amount(cost, accurate_cost_s))


def resolve_ratio(
    ratio: float | str | None, accurate_cost_s: float | None, inaccurate_cost_s: float | None
) -> tuple[float, float | None, float | None]:
    """(ratio, accurate cost s, inaccurate cost s) made consistent; a missing cost follows from the ratio."""
    if accurate_cost_s is not None:
        accurate_cost_s = positive_finite(accurate_cost_s, "accurate cost per label (s)")
    if inaccurate_cost_s is not None:
        inaccurate_cost_s = positive_finite(inaccurate_cost_s, "inaccurate cost per label (s)")
    if ratio is None:
        if accurate_cost_s is None or inaccurate_cost_s is None:
            raise BudgetError("give a cost ratio (e.g. --ratio 40) or both per-label costs (--ratio auto)")
        ratio = accurate_cost_s / inaccurate_cost_s
        if not ratio > 1.0:
            raise BudgetError(
                f"the per-label costs give a cost ratio of {ratio:.4g} ({accurate_cost_s:.4g} s / {inaccurate_cost_s:.4g} s): "
                "the accurate labeler must cost more than the inaccurate one; swap them or give --ratio"
            )
        return ratio, accurate_cost_s, inaccurate_cost_s
    ratio = parse_ratio(ratio)
    if accurate_cost_s is not None and inaccurate_cost_s is not None:
        implied = accurate_cost_s / inaccurate_cost_s
        if not math.isclose(implied, ratio, rel_tol=1e-6):
            raise BudgetError(
                f"cost ratio {ratio:g} contradicts the per-label costs ({accurate_cost_s:g} s / "
                f"{inaccurate_cost_s:g} s = {implied:g}); give one or the other"
            )
    elif accurate_cost_s is not None:
        inaccurate_cost_s = accurate_cost_s / ratio
    elif inaccurate_cost_s is not None:
        accurate_cost_s = inaccurate_cost_s * ratio
    return ratio, accurate_cost_s, inaccurate_cost_s


def plan(
    budget: Budget | str,
    ratio: float | str | None,
    policy: str | Policy = "paper",
    accurate_cost_s: float | None = None,
    inaccurate_cost_s: float | None = None,
    validation: int = 50,
    charge_validation: bool = False,
) -> Plan:
    """Split `budget` into accurate and inaccurate labels at `ratio` (accurate ÷ inaccurate cost).

    `ratio=None` takes it from the two per-label costs (CPU-core seconds). Raises BudgetError
    when the budget cannot buy what the policy needs, saying what to give instead.
    """
    if isinstance(budget, str):
        budget = parse_budget(budget)
    ratio, accurate_cost_s, inaccurate_cost_s = resolve_ratio(ratio, accurate_cost_s, inaccurate_cost_s)
    policy_obj = get_policy(policy)
    if isinstance(validation, bool) or not isinstance(validation, int) or validation < 0:
        raise BudgetError(f"validation size must be a whole number >= 0, got {validation!r}")
    total = budget.in_accurate_labels(accurate_cost_s)
    charged = float(validation) if charge_validation else 0.0
    available = total - charged

    spend = policy_obj.inaccurate_spend(max(available, 0.0), ratio)
    if not (math.isfinite(spend) and 0.0 <= spend <= max(available, 0.0) + _EPS):
        raise BudgetError(f"policy {policy_obj.name!r} asked to spend {spend!r} of {available:g} accurate-label equivalents")
    n_inaccurate = math.floor(spend * ratio + _EPS)
    n_accurate = math.floor(available - spend + _EPS)
    if n_accurate < 1 or (spend > 0.0 and n_inaccurate < 1):
        raise BudgetError(_too_small_message(budget, total, charged, ratio, policy_obj, n_accurate < 1))
    n_standard = math.floor(available + _EPS)

    inaccurate_cost = n_inaccurate / ratio
    spent = n_accurate + inaccurate_cost + charged
    leftover = max(total - spent, 0.0)
    return Plan(
        budget=str(budget),
        budget_accurate_labels=total,
        budget_cpu_s=None if accurate_cost_s is None else total * accurate_cost_s,
        ratio=ratio,
        policy=policy_obj.name,
        policy_description=policy_obj.describe(),
        accurate=_part(n_accurate, float(n_accurate), accurate_cost_s, accurate_cost_s),
        inaccurate=_part(n_inaccurate, inaccurate_cost, inaccurate_cost_s, accurate_cost_s),
        standard=_part(n_standard, float(n_standard), accurate_cost_s, accurate_cost_s),
        validation=Validation(
            count=validation, charged=charge_validation, label_cost_s=accurate_cost_s,
            **_amount(float(validation), accurate_cost_s),
        ),
        spent=_part(n_accurate + n_inaccurate + (validation if charge_validation else 0), spent, None, accurate_cost_s),
        leftover=Amount(**_amount(leftover, accurate_cost_s)),
    )


def _too_small_message(
    budget: Budget, total: float, charged: float, ratio: float, policy: Policy, no_accurate: bool
) -> str:
    """One line: why the budget buys nothing under this policy, and what would."""
    minimum = _minimum_budget(charged, ratio, policy)
    cost_s = budget.amount / total if budget.is_absolute else None
    in_labels = "" if not budget.is_absolute else f" (= {total:.4g} accurate labels)"
    validation = f" after the charged {charged:g}-label validation set" if charged else ""
    if not math.isfinite(minimum):
        hint = "give a larger budget or a larger --inaccurate-share"
    else:
        hint = f"give at least {math.ceil(minimum - _EPS)}ccsd"
        if cost_s is not None:
            hint += f" (= {math.ceil(minimum - _EPS) * cost_s / 3600.0:.3g}cpu-h)"
    return (
        f"budget {budget}{in_labels} is too small for the {policy.name} policy ({policy.describe()}){validation}: "
        f"it leaves {'no accurate' if no_accurate else 'not one inaccurate'} label; {hint}"
        f"{', or a smaller --inaccurate-share (e.g. 20%)' if no_accurate else ''}"
    )


def _minimum_budget(charged: float, ratio: float, policy: Policy, limit: float = 1e7) -> float:
    """The smallest whole budget (accurate labels) this policy can plan, by doubling then bisection."""

    def feasible(total: float) -> bool:
        available = total - charged
        spend = policy.inaccurate_spend(max(available, 0.0), ratio)
        n_accurate = math.floor(available - spend + _EPS)
        return n_accurate >= 1 and (spend <= 0.0 or math.floor(spend * ratio + _EPS) >= 1)

    high = max(1.0, charged + 1.0)
    while not feasible(high):
        high *= 2.0
        if high > limit:
            return math.inf
    low = 0.0
    while high - low > 1.0:
        middle = math.floor((low + high) / 2.0)
        low, high = (low, float(middle)) if feasible(middle) else (float(middle), high)
    return high


@dataclass(frozen=True)
class OptimalSplit:
    """The `optimal` policy: the split that minimises the error a fitted learning curve predicts
    (`budget.learning_curves`; fit it to earlier comparison results, e.g. with `acquire plan
    --policy optimal --from DIR`). Pass the object as `plan(..., policy=OptimalSplit(curve))`."""

    curve: LearningCurve
    name: str = "optimal"

    def inaccurate_spend(self, available: float, ratio: float) -> float:
        from budget.learning_curves import best_split

        if available < 1.0:
            return 0.0
        n_accurate, _, _ = best_split(self.curve, available, ratio)
        return max(available - n_accurate, 0.0)

    def predicted_error(self, n_accurate: int, n_inaccurate: int) -> float:
        return self.curve.predict(n_accurate, n_inaccurate)

    def describe(self) -> str:
        c = self.curve
        return (f"lowest predicted error on a learning curve fitted to {c.n_points} results, "
                f"err = {c.a:.3g} n_acc^-{c.alpha:.3g} (1 + n_inacc/n_acc)^-{c.delta:.3g}")
