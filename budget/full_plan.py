"""Everything a plan costs: sampling the configurations, labeling them, and training on them, in
CPU-core seconds and accurate-label units, with a cap on the inaccurate count.

A budget in CPU time covers all three: the label budget is the largest whose labels plus sampling
plus training fit (bisection; each part grows with the label budget). A budget in `ccsd` units
buys labels as `budget.plan` does, and the sampling and training are reported on top. The cap on
inaccurate labels (a count, and optionally a training budget) moves what it frees to accurate
labels, and the plan says so.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from budget.errors import BudgetError
from budget.parse import Budget, parse_budget
from budget.planner import EnergyLabels, Plan, auto_validation, plan, resolve_ratio
from budget.policies import Policy, get_policy

# The end of the measured ethanol learning curve (250-4000 DFT labels at 200 CCSD(T), quick preset: the
# error still falls ~28 % per doubling at 4000; benchmarks/results/learning_curve_ethanol.md).
DEFAULT_MAX_INACCURATE = 4000


class TrainingStage(BaseModel):
    """One training stage: `epochs` over the accurate or inaccurate frames (stages are bounded by
    epochs only), run `repeats` times (e.g. once per gamma)."""

    model_config = ConfigDict(frozen=True)

    name: str
    frames: Literal["accurate", "inaccurate"]
    epochs: int
    repeats: int = 1
    min_configs: int = 0  # the stage's minimum steps x batch size: small sets train for more epochs
    energy_batches: bool = False  # an accurate stage that draws a batch of energy-only labels beside each batch

    def configs(self, frames: int) -> int:
        """Configurations the stage trains on (one repeat) over `frames` frames."""
        return max(self.epochs * frames, self.min_configs) if frames else 0

    def configs_of(self, n_accurate: int, n_inaccurate: int, n_energy: int = 0) -> int:
        """Configurations the stage computes (one repeat) for a plan's counts. A stage with
        `energy_batches` and energy-only labels computes a batch of them beside each accurate batch
        (twice the configurations, each priced as one with forces), or, without accurate force
        labels, trains on the energy-only labels alone."""
        if self.frames == "inaccurate":
            return self.configs(n_inaccurate)
        if not (self.energy_batches and n_energy):
            return self.configs(n_accurate)
        return 2 * self.configs(n_accurate) if n_accurate else self.configs(n_energy)


class Overheads(BaseModel):
    """What sampling and training cost around the labels, CPU-core seconds."""

    model_config = ConfigDict(frozen=True)

    sampling_fixed_s: float = 0.0
    sampling_s_per_config: float = 0.0
    sampling_note: str = ""
    training_s_per_config_epoch: float = 0.0
    training_stages: tuple[TrainingStage, ...] = ()
    training_note: str = ""

    def sampling_s(self, configs: int) -> float:
        return self.sampling_fixed_s + configs * self.sampling_s_per_config if configs else 0.0

    def training_s(self, n_accurate: int, n_inaccurate: int, n_energy: int = 0) -> float:
        """Epochs × frames (at least a stage's minimum steps × batch; energy-only batches counted,
        `TrainingStage.configs_of`) × seconds per configuration, summed over the stages and their repeats."""
        return sum(stage.repeats * stage.configs_of(n_accurate, n_inaccurate, n_energy)
                   for stage in self.training_stages) * self.training_s_per_config_epoch


class Cost(BaseModel):
    """One part of a plan's cost."""

    model_config = ConfigDict(frozen=True)

    cpu_s: float
    cpu_h: float
    accurate_labels: float


class FullPlan(BaseModel):
    """The label plan and what sampling, labeling and training it cost; `cap` when the inaccurate
    count was capped; `within_budget` for CPU-time budgets (all three parts counted)."""

    model_config = ConfigDict(frozen=True)

    labels: Plan
    sampling: Cost
    labeling: Cost
    training: Cost
    total: Cost
    budget_covers: str
    within_budget: bool | None
    cap: dict | None
    notes: list[str]


@dataclass(frozen=True)
class Capped:
    """A policy whose inaccurate spend stops at `max_inaccurate` labels; the rest goes to accurate labels."""

    inner: Policy
    max_inaccurate: int

    @property
    def name(self) -> str:
        return self.inner.name

    def inaccurate_spend(self, available: float, ratio: float) -> float:
        return min(self.inner.inaccurate_spend(available, ratio), self.max_inaccurate / ratio)

    def describe(self) -> str:
        return f"{self.inner.describe()}, at most {self.max_inaccurate} inaccurate labels"


def _cost(seconds: float, accurate_cost_s: float) -> Cost:
    return Cost(cpu_s=seconds, cpu_h=seconds / 3600.0, accurate_labels=seconds / accurate_cost_s)


def _training_cap(overheads: Overheads, labels: Plan, max_training_s: float | None, limit: int) -> int:
    """The most inaccurate frames whose training (with the plan's accurate and energy-only labels)
    fits `max_training_s`."""
    def training_s(n_inaccurate: int) -> float:
        return overheads.training_s(labels.accurate.count, n_inaccurate, labels.energy_only.count)

    if max_training_s is None or training_s(limit) <= max_training_s:
        return limit
    low, high = 0, limit
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if training_s(middle) <= max_training_s else (low, middle)
    return low


def full_plan(budget: Budget | str, ratio: float | str | None, policy: str | Policy, accurate_cost_s: float,
              inaccurate_cost_s: float | None, overheads: Overheads, validation: int | None = None,
              charge_validation: bool = False, max_inaccurate: int | None = DEFAULT_MAX_INACCURATE,
              max_training_s: float | None = None, energy: EnergyLabels | None = None) -> FullPlan:
    """Plan `budget` counting sampling, labeling and training (see the module docstring)."""
    if isinstance(budget, str):
        budget = parse_budget(budget)
    ratio_, resolved_accurate_s, resolved_inaccurate_s = resolve_ratio(ratio, accurate_cost_s, inaccurate_cost_s)
    assert resolved_accurate_s is not None and resolved_inaccurate_s is not None
    accurate_cost_s, inaccurate_cost_s = resolved_accurate_s, resolved_inaccurate_s
    inner = get_policy(policy)
    limit = max_inaccurate if max_inaccurate is not None else 10**9
    if limit < 0:
        raise BudgetError(f"the cap on inaccurate labels must be >= 0, got {limit}")

    def make(label_budget: Budget) -> tuple[Plan, dict | None]:
        total = label_budget.in_accurate_labels(accurate_cost_s)
        charged = (auto_validation(total) if validation is None else validation) if charge_validation else 0
        available = total - charged
        if energy is not None:
            available -= math.floor(energy.spend(max(available, 0.0)) * energy.ratio + 1e-9) / energy.ratio
        requested = math.floor(inner.inaccurate_spend(max(available, 0.0), ratio_) * ratio_ + 1e-9)
        labels = plan(label_budget, ratio_, Capped(inner, limit), accurate_cost_s, inaccurate_cost_s,
                      validation, charge_validation, energy)
        cap, why = limit, "the cap on inaccurate labels"
        for _ in range(20):  # a lower cap buys more accurate labels, whose training lowers the cap again
            trainable = _training_cap(overheads, labels, max_training_s, cap)
            if trainable >= labels.inaccurate.count:
                break
            cap, why = trainable, "the training budget"
            labels = plan(label_budget, ratio_, Capped(inner, cap), accurate_cost_s, inaccurate_cost_s,
                          validation, charge_validation, energy)
        if requested <= labels.inaccurate.count:
            return labels, None
        uncapped_accurate = max(math.floor(available - requested / ratio_ + 1e-9), 0)
        return labels, {"cap": cap, "why": why, "requested": requested,
                        "extra_accurate": labels.accurate.count - uncapped_accurate}

    def total_s(p: Plan) -> tuple[float, float, float]:
        labeling = p.spent.cost_accurate_labels * accurate_cost_s
        configs = p.accurate.count + p.inaccurate.count + p.energy_only.count + p.validation.count
        training = overheads.training_s(p.accurate.count, p.inaccurate.count, p.energy_only.count)
        return overheads.sampling_s(configs), labeling, training

    if budget.is_absolute:
        labels, cap = _fit(budget.amount, make, lambda p: sum(total_s(p)))
        covers = "sampling + labeling + training"
    else:
        labels, cap = make(budget)
        covers = "labeling (sampling and training on top)"
    sampling, labeling, training = total_s(labels)
    total = sampling + labeling + training
    notes = []
    if cap:
        notes.append(f"{cap['why']} binds: {cap['cap']} inaccurate labels instead of {cap['requested']}; "
                     f"the rest buys {cap['extra_accurate']} more accurate labels")
    if labels.validation.count and not labels.validation.charged:
        notes.append(f"the {labels.validation.count} validation labels are not charged: "
                     f"{labels.validation.count * accurate_cost_s / 3600:.3g} CPU-h on top (--charge-validation counts them)")
    if not budget.is_absolute:
        notes.append(f"on top of the {budget} of labels: sampling {sampling / 3600:.3g} CPU-h and training "
                     f"{training / 3600:.3g} CPU-h ({(sampling + training) / accurate_cost_s:.3g} accurate-label units)")
    return FullPlan(labels=labels, sampling=_cost(sampling, accurate_cost_s), labeling=_cost(labeling, accurate_cost_s),
                    training=_cost(training, accurate_cost_s), total=_cost(total, accurate_cost_s),
                    budget_covers=covers, within_budget=(total <= budget.amount * (1 + 1e-9)) if budget.is_absolute else None,
                    cap=cap, notes=notes)


def _fit(budget_s: float, make: Callable[[Budget], tuple[Plan, dict | None]], total: Callable[[Plan], float]
         ) -> tuple[Plan, dict | None]:
    """The plan of the largest label budget (CPU s) whose total cost fits `budget_s`."""
    low, best = 0.0, None
    high = budget_s
    try:
        candidate = make(parse_budget(f"{high}s"))
        if total(candidate[0]) <= budget_s:
            return candidate
    except BudgetError:
        pass
    for _ in range(60):
        middle = (low + high) / 2
        try:
            candidate = make(parse_budget(f"{middle}s"))
        except BudgetError:
            low = middle
            continue
        if total(candidate[0]) <= budget_s:
            low, best = middle, candidate
        else:
            high = middle
        if high - low < 1e-6 * budget_s:
            break
    if best is None:
        raise BudgetError(f"{budget_s / 3600:.3g} CPU-h cannot pay for sampling, labeling and training of even "
                          "the smallest plan; give a larger budget")
    return best


