"""What a comparison runs: its settings, the budget plan of every (budget, ratio), and each seed's
stored split of the frames (training order, validation, test, inaccurate pool order)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from acquire.errors import AcquireError
from labelers.files import atomic_write_text
from acquire.sources import SourceArrays

if TYPE_CHECKING:
    from budget import Plan

FORMAT = "asteroid-ff/compare/1"
DATASETS = {"ethanol": ("md17:ethanol/ccsd(t)", "md17:ethanol/dft")}
Preset = Literal["quick", "paper", "tiny"]
RunStatus = Literal["pending", "trained", "resumed-finished", "shared", "skipped"]


class CompareError(AcquireError):
    """A comparison cannot be set up or resumed as asked."""


@dataclass(frozen=True)
class CompareSettings:
    """What to compare: label sources, budgets, ratios, seeds, methods and training preset."""

    accurate: str
    inaccurate: str
    budgets: tuple[str, ...] = ("250ccsd",)
    ratios: tuple[float, ...] = (40.0,)
    seeds: int = 1
    preset: Preset = "quick"
    inaccurate_share: str | None = None  # None: the paper policy
    validation: int = 50
    test: int | None = None  # cap on test frames (None: every remaining accurate frame)
    gammas: tuple[float, ...] | None = None  # None: the preset's
    ablations: bool = False
    unlabeled: bool = False
    threads: int = 1
    jobs: int = 1  # runs trained at once, each in its own process (results do not depend on it)
    progress: bool = True
    dataset: str | None = None
    command: str = ""


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


def plan_key(budget: str, ratio: float, share: str | None = None) -> str:
    """'250ccsd_r40' (paper policy) or '250ccsd_r40_share20pct' (an --inaccurate-share)."""
    suffix = "" if share is None else "_share" + share.strip().replace("%", "pct").replace(" ", "")
    return f"{budget}_r{ratio:g}{suffix}"


def make_plans(settings: CompareSettings, accurate_cost_s: float | None) -> dict[str, Plan]:
    """key -> `budget.Plan` for every (budget, ratio) of the comparison."""
    from budget import parse_budget, parse_share, plan

    policy = "paper" if settings.inaccurate_share is None else parse_share(settings.inaccurate_share)
    plans = {}
    for budget in settings.budgets:
        for ratio in settings.ratios:
            plans[plan_key(str(parse_budget(budget)), ratio, settings.inaccurate_share)] = plan(
                budget, ratio, policy=policy, accurate_cost_s=accurate_cost_s, validation=settings.validation)
    return plans


@dataclass(frozen=True)
class SeedSplit:
    """One seed's frames: training order (prefixes are training sets), validation, test, pool order."""

    seed: int
    train_order: list[int]
    validation: list[int]
    test: list[int]
    pool_order: list[int]
    params: dict[str, Any]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> SeedSplit:
        return cls(**json.loads(path.read_text()))

    def fits(self, params: dict[str, Any]) -> bool:
        """Whether this stored split serves a comparison needing `params`."""
        same = ("accurate", "inaccurate", "validation", "test_cap")
        return (all(self.params.get(k) == params[k] for k in same)
                and self.params["n_train"] >= params["n_train"]
                and self.params["n_inaccurate"] >= params["n_inaccurate"])


def seed_split(out: Path, seed: int, accurate: SourceArrays, inaccurate: SourceArrays,
               params: dict[str, Any]) -> SeedSplit:
    """The stored split of `seed` in `out/splits/`, or a new one (made with `make_split`)."""
    from acquire.compare.splits import make_split

    path = out / "splits" / f"seed{seed}.json"
    if path.exists():
        stored = SeedSplit.load(path)
        if stored.fits(params):
            return stored
        raise CompareError(
            f"{out} holds a comparison with other splits ({path.name}: {stored.params}); "
            "give a new --out, or the same sources, --validation and --test with budgets no larger")
    split = make_split(accurate.positions, inaccurate.positions, params["n_train"], params["validation"],
                       params["n_inaccurate"], seed)
    train_order = np.random.default_rng([seed, 2]).permutation(split.train).tolist()
    pool_order = np.random.default_rng([seed, 3]).permutation(split.inaccurate).tolist()
    test = split.test
    if params["test_cap"] is not None and params["test_cap"] < len(test):
        test = sorted(np.random.default_rng([seed, 4]).choice(test, params["test_cap"], replace=False).tolist())
    result = SeedSplit(seed, [int(i) for i in train_order], split.validation, [int(i) for i in test],
                       [int(i) for i in pool_order], params)
    result.save(path)
    return result
