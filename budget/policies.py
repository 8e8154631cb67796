"""Split policies: how much of a budget goes to inaccurate labels.

A policy answers one question: of `available` accurate-label equivalents (the budget after any
charged validation set), how many are spent on inaccurate labels? The planner turns that into
integer counts. A policy must keep both its inaccurate spend and `available - spend`
non-decreasing in `available`, so that a larger budget never buys fewer labels of either kind.

Policies: `paper` (a fixed 50 accurate-label equivalents, the paper's protocol) and `share`
(a percentage of the budget, or a fixed amount in accurate units). `POLICIES` names the policies
that need no argument; the learning-curve `optimal` policy (`budget.planner.OptimalSplit`) needs a
fitted curve, so it is passed as an object: `plan(..., policy=OptimalSplit(curve))`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from budget.errors import BudgetError
from budget.parse import ACCURATE, parse_budget, quote

PAPER_INACCURATE_SPEND = 50.0  # accurate-label equivalents spent on inaccurate labels (paper)


@runtime_checkable
class Policy(Protocol):
    """How much of a budget (accurate-label units) to spend on inaccurate labels."""

    @property
    def name(self) -> str:
        """The policy's name in plans and tables ('paper', 'share', 'optimal')."""
        ...

    def inaccurate_spend(self, available: float, ratio: float) -> float:
        """Accurate-label equivalents to spend on inaccurate labels, 0 <= spend <= available."""
        ...

    def describe(self) -> str:
        """A short phrase for messages and tables, e.g. 'paper: 50 accurate-label equivalents ...'."""
        ...


@dataclass(frozen=True)
class FixedShare:
    """Spend a fixed `units` accurate-label equivalents on inaccurate labels."""

    units: float
    name: str = "share"

    def inaccurate_spend(self, available: float, ratio: float) -> float:
        return min(self.units, available)

    def describe(self) -> str:
        return f"{self.units:g} accurate-label equivalents on inaccurate labels"


@dataclass(frozen=True)
class FractionShare:
    """Spend a fraction (0 <= fraction < 1) of the budget on inaccurate labels."""

    fraction: float
    name: str = "share"

    def inaccurate_spend(self, available: float, ratio: float) -> float:
        return self.fraction * available

    def describe(self) -> str:
        return f"{100.0 * self.fraction:g}% of the training budget on inaccurate labels"


def paper_policy() -> FixedShare:
    """The paper's protocol: 50 accurate-label equivalents on inaccurate labels (250/40 -> 200 + 2000)."""
    return FixedShare(units=PAPER_INACCURATE_SPEND, name="paper")


def parse_share(text: str, what: str = "inaccurate") -> FixedShare | FractionShare:
    """`'20%'` -> 20 % of the budget; `'50ccsd'` -> 50 accurate-label equivalents (`what`: the
    labels the share buys, for messages)."""
    if not isinstance(text, str):
        raise BudgetError(f"{what} share must be a string such as 20% or 50ccsd, got {text!r}")
    stripped = text.strip()
    if stripped.endswith("%"):
        try:
            percent = float(stripped[:-1])
        except ValueError:
            raise BudgetError(f"cannot read {what} share {quote(text)}; give a percentage such as 20% or accurate units such as 50ccsd") from None
        if not math.isfinite(percent) or not 0.0 <= percent < 100.0:
            raise BudgetError(f"{what} share {quote(text)} must be a percentage from 0% up to (not including) 100%")
        return FractionShare(fraction=percent / 100.0)
    try:
        budget = parse_budget(stripped)
    except BudgetError:
        raise BudgetError(f"cannot read {what} share {quote(text)}; give a percentage such as 20% or accurate units such as 50ccsd") from None
    if budget.unit != ACCURATE:
        raise BudgetError(f"give the {what} share {quote(text)} as a percentage (20%) or in accurate units (50ccsd), not as time")
    return FixedShare(units=budget.amount)


POLICIES: dict[str, Callable[[], Policy]] = {"paper": paper_policy}


def get_policy(policy: str | Policy) -> Policy:
    """A Policy object from a name in POLICIES or a Policy itself."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, str) and policy in POLICIES:
        return POLICIES[policy]()
    if policy == "share":
        raise BudgetError("the share policy needs an inaccurate share: --inaccurate-share 20% or 50ccsd")
    raise BudgetError(f"unknown policy {policy!r}; known: {', '.join([*POLICIES, 'share'])}")
