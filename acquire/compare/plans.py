"""What a comparison runs: its settings, the budget plan of every (budget, ratio), and each seed's
stored split of the frames (training order, validation, test, inaccurate pool order)."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic.dataclasses import dataclass as pydantic_dataclass

from acquire.errors import AcquireError
from acquire.selection import SELECTIONS, Selection
from acquire.sources import SourceArrays
from labelers.files import atomic_write_text
from train.config import STRICT

if TYPE_CHECKING:
    from budget import Plan
    from train.config import TrainConfig

FORMAT = "asteroid-ff/compare/1"
DATASETS = {"ethanol": ("md17:ethanol/ccsd(t)", "md17:ethanol/dft")}
Preset = Literal["quick", "paper", "tiny"]
RunStatus = Literal["pending", "trained", "resumed-finished", "reused", "shared", "skipped"]


class CompareError(AcquireError):
    """A comparison cannot be set up or resumed as asked."""


@pydantic_dataclass(frozen=True, config=STRICT)
class CompareSettings:
    """What to compare: label sources, budgets, ratios, seeds, methods, training preset and the
    training-config fields changed on it (`training`, as in `train.config.with_overrides`)."""

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
    uniform_candidate: bool = False  # uniform weights (gamma = inf) is one more candidate for ASTEROID's validation
    ablations: bool = False
    unlabeled: bool = False
    threads: int = 1
    jobs: int = 1  # runs trained at once, each in its own process (results do not depend on it)
    progress: bool = True
    dataset: str | None = None
    command: str = ""
    pool: str | None = None  # geometries labelled by a computing `inaccurate` labeler into OUT/labels.db
    label_workers: int | None = None  # labeling processes for `pool` (None: one per core)
    selection: Selection = "random"  # which training frames the accurate budget buys first
    test_source: str | None = None  # held-out accurate labels (e.g. an independent trajectory) for testing
    training: dict[str, Any] | None = None  # training-config fields changed on the preset (seed, threads: the comparison's)
    extra_inaccurate: tuple[str, ...] = ()  # cheap labels of other molecules for ASTEROID's pretraining (not charged)
    energy_only: str | None = None  # accurate energy-only labels for ASTEROID's fine-tuning (not charged; reported)
    reuse: tuple[str, ...] = ()  # folders of earlier comparisons whose finished runs are copied where they fit

    def __post_init__(self) -> None:
        if self.training:  # a bad field fails now, before anything is written (ConfigError)
            from train.config import preset, with_overrides

            with_overrides(preset(self.preset), self.training)


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
    ordered: bool = True  # False until `uncertain` has ranked train_order (it needs the pool's labels)
    selection_info: dict[str, Any] = field(default_factory=dict)  # what the selection cost and saw

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> SeedSplit:
        return cls(**json.loads(path.read_text()))

    def fits(self, params: dict[str, Any]) -> bool:
        """Whether this stored split serves a comparison needing `params`."""
        same = ("accurate", "inaccurate", "validation", "test_cap")
        defaults = {"pool": None, "selection": "random", "test_source": None}  # splits stored before these existed
        return (all(self.params.get(k) == params[k] for k in same)
                and all(self.params.get(k, v) == params.get(k, v) for k, v in defaults.items())
                and self.params["n_train"] >= params["n_train"]
                and self.params["n_inaccurate"] >= params["n_inaccurate"])


def training_order(candidates: list[int], positions: np.ndarray, selection: str, seed: int) -> list[int]:
    """The order in which the accurate budget buys the training candidates (prefixes are training sets):
    `random` a seeded shuffle; `diverse` farthest-point sampling on inverse-distance descriptors;
    `uncertain` the seeded shuffle until `rank_by_committee` ranks it (it needs the pool's labels)."""
    if selection in ("random", "uncertain"):
        return [int(i) for i in np.random.default_rng([seed, 2]).permutation(candidates)]
    if selection == "diverse":
        from acquire.selection.diverse import farthest_points

        return farthest_points(candidates, positions, seed)
    raise CompareError(f"unknown selection {selection!r}; choose one of {', '.join(SELECTIONS)}")


def pool_room(out: Path, seed: int, accurate: SourceArrays, inaccurate: SourceArrays, params: dict[str, Any]) -> int:
    """How many pool frames seed `seed` may draw: the pool minus the twins of its test frames (of the
    stored split when there is one)."""
    from acquire.compare.splits import split_accurate

    path = out / "splits" / f"seed{seed}.json"
    if path.exists():
        stored = SeedSplit.load(path)
        if stored.fits({**params, "n_inaccurate": 0}):
            return _room(inaccurate.positions, accurate.positions, _test_of(stored, accurate))
    own = params.get("own_rows")
    test = (list(range(own, len(accurate.positions))) if own is not None
            else split_accurate(accurate.positions, params["n_train"], params["validation"], seed)[2])
    return _room(inaccurate.positions, accurate.positions, test)


def _test_of(split: SeedSplit, accurate: SourceArrays) -> list[int]:
    """Every test frame of a stored split (before the --test cap): the frames neither trained nor validated on."""
    taken = set(split.train_order) | set(split.validation)
    return [i for i in range(len(accurate.positions)) if i not in taken]


def _room(pool: np.ndarray, reference: np.ndarray, test: list[int]) -> int:
    from labelers.datasets import match_frames

    return int((match_frames(np.asarray(pool), np.asarray(reference)[test]) < 0).sum())


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
            "give a new --out, or the same sources, --pool, --selection, --validation and --test with budgets no larger")
    split = make_split(accurate.positions, inaccurate.positions, params["n_train"], params["validation"],
                       params["n_inaccurate"], seed, params.get("own_rows"))
    pool_order = np.random.default_rng([seed, 3]).permutation(split.inaccurate).tolist()
    test = split.test
    if params["test_cap"] is not None and params["test_cap"] < len(test):
        test = sorted(np.random.default_rng([seed, 4]).choice(test, params["test_cap"], replace=False).tolist())
    selection = params.get("selection", "random")
    candidates = split.train if selection == "random" else (
        split.train + split.spare + _beyond_test(split.test, test, accurate))
    train_order = training_order(candidates, accurate.positions, selection, seed)
    result = SeedSplit(seed, [int(i) for i in train_order], split.validation, [int(i) for i in test],
                       [int(i) for i in pool_order], params, ordered=selection != "uncertain")
    result.save(path)
    return result


def _beyond_test(rest: list[int], test: list[int], accurate: SourceArrays) -> list[int]:
    """The frames a --test cap leaves out of the test set and no test frame duplicates: more
    candidates for a non-random selection (random keeps its planned training frames)."""
    from labelers.datasets import match_frames

    spare = sorted(set(rest) - set(test))
    if not spare or not test:
        return spare
    twins = match_frames(np.asarray(accurate.positions)[spare], np.asarray(accurate.positions)[test]) >= 0
    return [i for i, twin in zip(spare, twins) if not twin]


def rank_by_committee(split: SeedSplit, accurate: SourceArrays, pool: SourceArrays, pool_size: int,
                      config: TrainConfig, out: Path, log: Callable[[str], None]) -> SeedSplit:
    """`split` with its training candidates in `uncertain` order (`acquire.selection.committee`,
    trained on the first `pool_size` frames of its pool order; members in `out/selection/seed<k>/`),
    stored in `out/splits/`."""
    from acquire.selection.committee import committee_spread, most_uncertain_first
    from acquire.sources import frames_of

    if split.ordered:
        return split
    candidates = frames_of(accurate, split.train_order, "candidates", labelled=False)
    spread, info = committee_spread(candidates, pool, split.pool_order[:pool_size], config, split.seed,
                                    out / "selection" / f"seed{split.seed}", lambda line: log(f"seed {split.seed}: {line}"))
    order = most_uncertain_first(spread, split.train_order)
    ranked = replace(split, train_order=[split.train_order[i] for i in order], ordered=True, selection_info=info)
    ranked.save(out / "splits" / f"seed{split.seed}.json")
    return ranked
