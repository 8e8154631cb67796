"""A comparison's runs: the budget plan of every (budget, ratio), one `RunSpec` per training run
(what it trains on and what that cost) and the rows it trains, validates and tests on (`RunIndices`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from acquire.compare.seed_splits import SeedSplit
    from acquire.compare.settings import CompareSettings
    from budget import Plan

RunStatus = Literal["pending", "trained", "resumed-finished", "reused", "shared", "skipped"]


@dataclass
class RunSpec:
    """One training run: which budget/ratio/method/seed, what it trains on, what it cost."""

    key: str
    budget: str
    ratio: float
    method: str  # a name in acquire.compare.methods.METHODS
    seed: int
    n_accurate: int
    n_inaccurate: int
    n_unlabeled: int
    cost_accurate_labels: float
    cost_cpu_h: float | None
    dir: str
    status: RunStatus = "pending"
    note: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    n_energy_only: int = 0  # accurate energy-only labels bought (their forces withheld), after its n_accurate


@dataclass(frozen=True)
class RunIndices:
    """The rows one run trains, validates and tests on, of the accurate arrays, and its rows of the
    inaccurate pool (their labels, or their configurations alone for score matching)."""

    seed: int
    train: list[int]
    validation: list[int]
    test: list[int]
    inaccurate: list[int]
    energy_only: list[int] = field(default_factory=list)  # rows trained on their energies alone

    @classmethod
    def of(cls, run: RunSpec, split: SeedSplit) -> RunIndices:
        """The run's rows: its force labels first in the seed's training order, its energy-only labels
        next (so no frame is both), its prefix of the pool order."""
        return cls(run.seed, split.train_order[:run.n_accurate], split.validation, split.test,
                   split.pool_order[:max(run.n_inaccurate, run.n_unlabeled)],
                   split.train_order[run.n_accurate:run.n_accurate + run.n_energy_only])


def plan_key(budget: str, ratio: float, share: str | None = None) -> str:
    """'250ccsd_r40' (paper policy) or '250ccsd_r40_share20pct' (an --inaccurate-share)."""
    suffix = "" if share is None else "_share" + share.strip().replace("%", "pct").replace(" ", "")
    return f"{budget}_r{ratio:g}{suffix}"


def make_plans(settings: CompareSettings, accurate_cost_s: float | None) -> dict[str, Plan]:
    """key -> `budget.Plan` for every (budget, ratio) of the comparison."""
    from budget import energy_labels, parse_budget, parse_share, plan

    policy = "paper" if settings.inaccurate_share is None else parse_share(settings.inaccurate_share)
    energy = None if settings.energy_share is None else energy_labels(settings.energy_share, settings.energy_ratio)
    plans = {}
    for budget in settings.budgets:
        for ratio in settings.ratios:
            key = plan_key(str(parse_budget(budget)), ratio, settings.inaccurate_share)
            if energy is not None:
                key += "_energy" + settings.energy_share.strip().replace("%", "pct").replace(" ", "")
            plans[key] = plan(budget, ratio, policy=policy, accurate_cost_s=accurate_cost_s,
                              validation=settings.validation, energy=energy)
    return plans
