"""The planner: a budget and cost ratios -> integer counts of accurate force labels, accurate
energy-only labels and inaccurate labels.

All spending is in accurate-label equivalents (one accurate force label costs 1, one inaccurate
label 1/ratio, one accurate energy-only label 1/energy ratio); CPU-core seconds appear where
per-label costs are known. The order is fixed: the validation set (accurate force labels; paid
first only with `charge_validation`), then the energy-only share, then the policy's inaccurate
spend of what is left; the rest buys accurate force labels. The validation set's default size is
a fifth of the force labels the budget would buy outright, at most 50 (`auto_validation`): a model
is never selected on more labels than it was trained on, and from 250 labels up it is the
paper's 50.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from pydantic import BaseModel, ConfigDict

from budget.errors import BudgetError
from budget.parse import Budget, parse_budget, parse_ratio, positive_finite
from budget.policies import FixedShare, FractionShare, Policy, get_policy, parse_share

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



MAX_VALIDATION = 50  # the paper's validation set; the automatic size never exceeds it


class Plan(BaseModel):
    """How a budget is spent: the mixed plan (accurate force, accurate energy-only and inaccurate
    labels), the same-budget standard baseline (force labels only), the leftover."""

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
    energy_only: Part = Part(count=0, cost_accurate_labels=0.0)
    energy_ratio: float | None = None  # accurate force-label cost / energy-only label cost
    standard_energies: Part | None = None  # the force labels standard training buys beside the same energies


@dataclass(frozen=True)
class EnergyLabels:
    """Accurate energy-only labels bought from a budget: `share` of it (`FixedShare` units or a
    `FractionShare`), each costing 1/`ratio` of an accurate force label."""

    share: FixedShare | FractionShare
    ratio: float

    def spend(self, available: float) -> float:
        """Accurate-label equivalents spent on energies out of `available`."""
        return min(max(self.share.inaccurate_spend(available, self.ratio), 0.0), available)

    def describe(self) -> str:
        share = self.share
        amount = f"{share.units:g} accurate-label equivalents" if isinstance(share, FixedShare) else f"{100 * share.fraction:g}%"
        return f"{amount} on accurate energies (1/{self.ratio:.3g} of a force label each)"


def energy_labels(share: str | FixedShare | FractionShare, ratio: float | str | None = None,
                  accurate_cost_s: float | None = None, energy_cost_s: float | None = None) -> EnergyLabels:
    """`--energy-share` text (`20%`, `50ccsd`) and the energy label's price: a ratio (force label
    cost ÷ energy label cost), or both per-label costs (CPU-core s)."""
    if isinstance(share, str):
        share = parse_share(share, "energy")
    if ratio is None:
        if accurate_cost_s is None or energy_cost_s is None:
            raise BudgetError("price the energy-only labels: give --energy-ratio (force label cost ÷ energy label "
                              "cost, e.g. 38) or both per-label costs")
        ratio = positive_finite(accurate_cost_s, "accurate cost per label (s)") / positive_finite(
            energy_cost_s, "energy-only cost per label (s)")
    ratio = parse_ratio(ratio)
    return EnergyLabels(share=share, ratio=ratio)


def auto_validation(budget_accurate_labels: float) -> int:
    """The default validation size: a fifth of the force labels the budget buys outright, at most
    50, at least 1."""
    return max(1, min(MAX_VALIDATION, math.ceil(math.floor(budget_accurate_labels + _EPS) / 5 - _EPS)))


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
    validation: int | None = None,
    charge_validation: bool = False,
    energy: EnergyLabels | None = None,
) -> Plan:
    """Split `budget` into accurate force labels, accurate energy-only labels (`energy`, none by
    default) and inaccurate labels at `ratio` (accurate ÷ inaccurate cost).

    `ratio=None` takes it from the two per-label costs (CPU-core seconds); `validation=None` is
    `auto_validation`. Raises BudgetError when the budget cannot buy what the policy needs,
    saying what to give instead.
    """
    if isinstance(budget, str):
        budget = parse_budget(budget)
    ratio, accurate_cost_s, inaccurate_cost_s = resolve_ratio(ratio, accurate_cost_s, inaccurate_cost_s)
    policy_obj = get_policy(policy)
    total = budget.in_accurate_labels(accurate_cost_s)
    auto = validation is None
    if validation is None:
        validation = auto_validation(total)
    if isinstance(validation, bool) or not isinstance(validation, int) or validation < 0:
        raise BudgetError(f"validation size must be a whole number >= 0, got {validation!r}")
    charged = float(validation) if charge_validation else 0.0
    available = total - charged

    n_energy = 0 if energy is None else math.floor(energy.spend(max(available, 0.0)) * energy.ratio + _EPS)
    energy_cost = 0.0 if energy is None else n_energy / energy.ratio
    if energy is not None and energy.spend(max(available, 0.0)) > 0.0 and n_energy < 1:
        raise BudgetError(f"the energy share ({energy.describe()}) of budget {budget} buys not one energy label; "
                          "give a larger share or budget")
    remaining = max(available - energy_cost, 0.0)
    spend = policy_obj.inaccurate_spend(remaining, ratio)
    if not (math.isfinite(spend) and 0.0 <= spend <= remaining + _EPS):
        raise BudgetError(f"policy {policy_obj.name!r} asked to spend {spend!r} of {remaining:g} accurate-label equivalents")
    n_inaccurate = math.floor(spend * ratio + _EPS)
    n_accurate = math.floor(remaining - spend + _EPS)
    if (n_accurate < 1 and n_energy < 1) or (spend > 0.0 and n_inaccurate < 1):
        charge = (auto_validation if auto else lambda _total: float(validation)) if charge_validation else None
        raise BudgetError(_too_small_message(budget, total, charged, charge, ratio, policy_obj, n_accurate < 1))
    n_standard = math.floor(available + _EPS)

    inaccurate_cost = n_inaccurate / ratio
    spent = n_accurate + inaccurate_cost + energy_cost + charged
    leftover = max(total - spent, 0.0)
    energy_cost_s = None if energy is None or accurate_cost_s is None else accurate_cost_s / energy.ratio
    return Plan(
        budget=str(budget),
        budget_accurate_labels=total,
        budget_cpu_s=None if accurate_cost_s is None else total * accurate_cost_s,
        ratio=ratio,
        policy=policy_obj.name,
        accurate=_part(n_accurate, float(n_accurate), accurate_cost_s, accurate_cost_s),
        inaccurate=_part(n_inaccurate, inaccurate_cost, inaccurate_cost_s, accurate_cost_s),
        standard=_part(n_standard, float(n_standard), accurate_cost_s, accurate_cost_s),
        validation=Validation(
            count=validation, charged=charge_validation, label_cost_s=accurate_cost_s,
            **_amount(float(validation), accurate_cost_s),
        ),
        spent=_part(n_accurate + n_inaccurate + n_energy + (validation if charge_validation else 0), spent, None,
                    accurate_cost_s),
        leftover=Amount(**_amount(leftover, accurate_cost_s)),
        energy_only=_part(n_energy, energy_cost, energy_cost_s, accurate_cost_s),
        standard_energies=None if energy is None else _part(
            math.floor(available - energy_cost + _EPS), float(math.floor(available - energy_cost + _EPS)),
            accurate_cost_s, accurate_cost_s),
        energy_ratio=None if energy is None else energy.ratio,
        policy_description=policy_obj.describe() if energy is None else f"{energy.describe()}; then {policy_obj.describe()}",
    )


def _too_small_message(
    budget: Budget, total: float, charged: float, charge: Callable[[float], float] | None, ratio: float,
    policy: Policy, no_accurate: bool
) -> str:
    """One line: why the budget buys nothing under this policy, and what would (`charge`: the
    validation labels a budget pays for, by its size; None when they are not charged)."""
    minimum = _minimum_budget(charge, ratio, policy)
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


def _minimum_budget(charge: Callable[[float], float] | None, ratio: float, policy: Policy,
                    limit: float = 1e7) -> float:
    """The smallest whole budget (accurate labels) this policy can plan, by doubling then bisection."""

    def feasible(total: float) -> bool:
        available = total - (charge(total) if charge else 0.0)
        spend = policy.inaccurate_spend(max(available, 0.0), ratio)
        n_accurate = math.floor(available - spend + _EPS)
        return n_accurate >= 1 and (spend <= 0.0 or math.floor(spend * ratio + _EPS) >= 1)

    high = 1.0
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
