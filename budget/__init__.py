"""Budget: pure-Python planning of a labeling budget. Owns budget strings and their units
(`250ccsd` accurate-label equivalents, `12cpu-h` CPU-core time), cost ratios (accurate ÷ inaccurate
cost per label), split policies (`paper`, `share`; a learning-curve `optimal` policy plugs in
through `Policy` and `POLICIES`) and the planner, which turns a budget and a ratio into a `Plan`
of integer accurate (force and energy-only) and inaccurate label counts beside the same-budget standard baseline, the
validation set and the leftover. Imports no labeler, training or quantum-chemistry code.
"""
from budget.errors import BudgetError
from budget.parse import ACCEPTED, Budget, parse_budget, parse_ratio
from budget.planner import (
    Amount,
    EnergyLabels,
    Part,
    Plan,
    Validation,
    auto_validation,
    energy_labels,
    plan,
    resolve_ratio,
)
from budget.policies import (
    PAPER_INACCURATE_SPEND,
    POLICIES,
    FixedShare,
    FractionShare,
    Policy,
    get_policy,
    paper_policy,
    parse_share,
)

__all__ = [
    "ACCEPTED", "Amount", "Budget", "BudgetError", "EnergyLabels", "FixedShare", "FractionShare", "PAPER_INACCURATE_SPEND",
    "POLICIES", "Part", "Plan", "Policy", "Validation", "get_policy", "paper_policy", "parse_budget",
    "parse_ratio", "parse_share", "plan", "resolve_ratio", "auto_validation", "energy_labels",
]
