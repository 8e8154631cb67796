"""Budget strings -> `Budget`: counts of accurate labels (`250ccsd`) or CPU-core time (`12cpu-h`).

Accepted (case-insensitive, spaces allowed between number and unit):
- accurate-label equivalents: `250ccsd`, `250 CCSD(T)`, `250acc`, `250accurate`;
- CPU-core time: `3600s`, `90min`, `2h`, `12cpu-h` (also `cpu-s`, `cpu-min`, `hours`, `d`, ...).
Numbers are positive and finite (`1e3`, `12.5` are fine).
"""
from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from budget.errors import BudgetError

Unit = Literal["accurate", "cpu-s"]
ACCURATE: Unit = "accurate"
CPU_SECONDS: Unit = "cpu-s"
# ceilings that catch a typo of many digits before a plan sends anything to work: ten million
# CCSD(T) labels, or ten million CPU-core hours (beyond any HPC allocation)
MAX_AMOUNT: dict[str, float] = {ACCURATE: 1e7, CPU_SECONDS: 1e7 * 3600}

ACCEPTED = (
    "accepted budgets: a count of accurate labels such as 250ccsd, '250 ccsd(t)', 250acc, "
    "or CPU-core time such as 3600s, 90min, 2h, 12cpu-h"
)

_ACCURATE_UNITS = ("ccsd", "ccsd(t)", "acc", "accurate")
_SECONDS_PER: dict[str, float] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1.0),
    (("min", "mins", "minute", "minutes"), 60.0),
    (("h", "hr", "hrs", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
):
    for _name in _names:
        _SECONDS_PER[_name] = _seconds
        _SECONDS_PER[f"cpu-{_name}"] = _seconds
        _SECONDS_PER[f"cpu{_name}"] = _seconds
        _SECONDS_PER[f"core-{_name}"] = _seconds

_PATTERN = re.compile(
    r"(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?)\s*(?P<unit>[a-z()\-]+)",
    re.ASCII,
)


class Budget(BaseModel):
    """A labeling budget: `amount` accurate labels (unit `accurate`) or CPU-core seconds (`cpu-s`)."""

    model_config = ConfigDict(frozen=True)

    amount: float
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Budget:
        """Same as `parse_budget(text)`."""
        return parse_budget(text)

    @property
    def is_absolute(self) -> bool:
        """True for CPU-time budgets, which need a per-label cost to become label counts."""
        return self.unit == CPU_SECONDS

    def in_accurate_labels(self, accurate_cost_s: float | None = None) -> float:
        """The budget in accurate-label equivalents; an absolute budget needs `accurate_cost_s`."""
        if not self.is_absolute:
            return self.amount
        if accurate_cost_s is None:
            raise BudgetError(
                f"the absolute budget {self} needs the accurate labeler's cost per label: "
                "use --ratio auto or name --accurate, or give the budget in labels (e.g. 250ccsd)"
            )
        return self.amount / positive_finite(accurate_cost_s, "accurate cost per label (s)")

    def __str__(self) -> str:
        if not self.is_absolute:
            return f"{self.amount:g}ccsd"
        return f"{self.amount / 3600.0:g}cpu-h"


def positive_finite(value: float, what: str) -> float:
    """`value` as a float if it is finite and > 0, else a BudgetError naming `what`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BudgetError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0.0:
        raise BudgetError(f"{what} must be a finite number > 0, got {value!r}")
    return number


def parse_budget(text: str) -> Budget:
    """Parse a budget string (see module doc); raises BudgetError saying what is accepted."""
    if not isinstance(text, str):
        raise BudgetError(f"budget must be a string, got {type(text).__name__}; {ACCEPTED}")
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise BudgetError(f"cannot read budget {quote(text)}; {ACCEPTED}")
    unit = match["unit"]
    kind: Unit
    if unit in _ACCURATE_UNITS:
        amount, kind = float(match["number"]), ACCURATE
    elif unit in _SECONDS_PER:
        amount, kind = float(match["number"]) * _SECONDS_PER[unit], CPU_SECONDS
    else:
        raise BudgetError(f"unknown budget unit {unit!r} in {quote(text)}; {ACCEPTED}")
    if not math.isfinite(amount) or amount <= 0.0:
        raise BudgetError(f"budget {quote(text)} must be a finite amount > 0; {ACCEPTED}")
    if amount > MAX_AMOUNT[kind]:
        raise BudgetError(f"budget {quote(text)} is above the largest this tool plans ({MAX_AMOUNT[kind]:.0e} "
                          f"{'accurate labels' if kind == ACCURATE else 'CPU-core seconds'}): a typo?")
    return Budget(amount=amount, unit=kind)


def parse_ratio(value: str | float) -> float:
    """A cost ratio (accurate cost ÷ inaccurate cost per label): a finite number > 1."""
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise BudgetError(
            f"cost ratio must be a number > 1 (accurate cost ÷ inaccurate cost), got {quote(str(value))}"
        ) from None
    if not math.isfinite(ratio) or ratio <= 1.0:
        raise BudgetError(
            f"cost ratio must be a finite number > 1 (accurate cost ÷ inaccurate cost), got {quote(str(value))}"
        )
    return ratio


def quote(text: str, limit: int = 40) -> str:
    """A short one-line repr of user input for messages."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"
