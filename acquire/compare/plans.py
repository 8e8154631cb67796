"""What a comparison runs: its settings, the budget plan of every (budget, ratio), and each seed's
stored split of the frames (training order, validation, test, inaccurate pool order)."""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic.dataclasses import dataclass as pydantic_dataclass

from acquire.errors import AcquireError
from acquire.selection import Selection
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
    training-config fields changed on it (`training`, as in `train.config.with_overrides`). Every
    field is checked here: a settings object that exists can be run (sources aside, which the run
    loads). A ratio "auto" is the labelers' cost ratio, pinned by the run in `OUT/ratio_auto.json`."""

    accurate: str
    inaccurate: str
    budgets: tuple[str, ...] = ("250ccsd",)
    ratios: tuple[float | Literal["auto"], ...] = (40.0,)
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
        self._check_plan()
        self._check_counts()
        self._check_sources()
        if self.training:  # a bad field fails now, before anything is written (ConfigError)
            from train.config import preset, with_overrides

            with_overrides(preset(self.preset), self.training)

    def _check_plan(self) -> None:
        """Budgets in accurate labels, ratios > 1 (or auto), a readable share, positive gammas."""
        from budget import BudgetError

        try:  # a BudgetError is a ValueError, which pydantic would wrap
            self._check_budgets()
        except BudgetError as error:
            raise CompareError(str(error)) from None
        if self.gammas is not None and not (self.gammas and all(0 < g < math.inf for g in self.gammas)):
            raise CompareError(f"gammas (--gammas) must be positive kcal/mol/Å, got {self.gammas}")

    def _check_budgets(self) -> None:
        from budget import parse_budget, parse_share

        _distinct(self.budgets, "budget")
        _distinct(self.ratios, "ratio")
        if any(parse_budget(b).is_absolute for b in self.budgets):
            raise CompareError("give compare budgets in accurate labels (e.g. 250ccsd); convert CPU time with acquire plan")
        for ratio in self.ratios:
            if ratio != "auto" and not (math.isfinite(ratio) and ratio > 1):
                raise CompareError(f"cost ratio must be > 1 (accurate labels cost more), got {ratio:g}")
        if self.inaccurate_share is not None:
            parse_share(self.inaccurate_share)

    def _check_counts(self) -> None:
        for name in ("seeds", "threads", "jobs", "validation", "test", "label_workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                why = " (models are selected on it)" if name == "validation" else ""
                raise CompareError(f"{name} (--{OPTIONS.get(name, name)}) must be at least 1{why}, got {value}")

    def _check_sources(self) -> None:
        """Named sources, a known data set, a pool only for a computing labeler, folders to reuse."""
        for name in ("accurate", "inaccurate"):
            if not getattr(self, name).strip():
                raise CompareError(f"{name}: give a label source, got {getattr(self, name)!r}")
        if self.dataset is not None and self.dataset not in DATASETS:
            raise CompareError(f"unknown dataset {self.dataset!r}; data sets: {', '.join(DATASETS)}")
        if self.pool is not None and not _computes_labels(self.inaccurate):
            raise CompareError("--pool goes with a computing --inaccurate labeler (xtb:gfn2, openmm:gaff-2.11, pyscf:...)")
        for folder in self.reuse:
            if not (Path(folder) / "runs").is_dir():
                raise CompareError(f"--reuse {folder}: not a comparison's output folder (it has no runs/)")


OPTIONS = {"label_workers": "workers"}  # the command-line option of a field, where the names differ


def _distinct(values: tuple, what: str) -> None:
    if not values:
        raise CompareError(f"give at least one {what}")
    if len(set(values)) != len(values):
        raise CompareError(f"--{what}s lists a value twice: {','.join(map(str, values))}")


def _computes_labels(spec: str) -> bool:
    """Whether a SRC names a labeler that computes its labels (not a store's or a data set's)."""
    from acquire.sources import split_source
    from labelers.registry import get_labeler

    store, name = split_source(spec)
    if store is not None:
        return False
    try:
        return getattr(get_labeler(name), "data", None) is None
    except ValueError as error:  # pydantic would wrap it
        raise CompareError(str(error)) from None


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


@dataclass(frozen=True)
class RunIndices:
    """The rows one run trains, validates and tests on, of the accurate arrays, and its rows of the
    inaccurate pool (their labels, or their configurations alone for score matching)."""

    seed: int
    train: list[int]
    validation: list[int]
    test: list[int]
    inaccurate: list[int]

    @classmethod
    def of(cls, run: RunSpec, split: SeedSplit) -> RunIndices:
        return cls(run.seed, split.train_order[:run.n_accurate], split.validation, split.test,
                   split.pool_order[:max(run.n_inaccurate, run.n_unlabeled)])


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
class SplitNeeds:
    """What a comparison's seed split must serve: the label sources, the validation size and test
    cap, the most training and pool frames a run draws, the pool and selection, and with a test
    source the number of the accurate source's own rows (the test source's rows follow them)."""

    accurate: str
    inaccurate: str
    validation: int
    test_cap: int | None
    n_train: int
    n_inaccurate: int = 0
    pool: str | None = None
    selection: str = "random"
    test_source: str | None = None
    own_rows: int | None = None

    @classmethod
    def of(cls, settings: CompareSettings, n_train: int, own_rows: int | None) -> SplitNeeds:
        return cls(settings.accurate, settings.inaccurate, settings.validation, settings.test, n_train,
                   pool=settings.pool, selection=settings.selection, test_source=settings.test_source,
                   own_rows=own_rows)

    def record(self) -> dict[str, Any]:
        """As stored in splits/seed<k>.json; a test source only when given (splits stored before still fit)."""
        record = asdict(self)
        if self.test_source is None:
            record.pop("test_source"), record.pop("own_rows")
        return record

    @classmethod
    def read(cls, record: dict[str, Any]) -> SplitNeeds:
        """From a stored split's record (fields it predates: their neutral values)."""
        return cls(**{k: v for k, v in record.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SeedSplit:
    """One seed's frames: training order (prefixes are training sets), validation, test, pool order."""

    seed: int
    train_order: list[int]
    validation: list[int]
    test: list[int]
    pool_order: list[int]
    needs: SplitNeeds  # what it was made for (stored as "params")
    ordered: bool = True  # False until `uncertain` has ranked train_order (it needs the pool's labels)
    selection_info: dict[str, Any] = field(default_factory=dict)  # what the selection cost and saw

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        record = asdict(self)
        record["params"] = self.needs.record()
        del record["needs"]
        atomic_write_text(path, json.dumps(record))

    @classmethod
    def load(cls, path: Path) -> SeedSplit:
        record = json.loads(path.read_text())
        return cls(**{k: v for k, v in record.items() if k != "params"}, needs=SplitNeeds.read(record["params"]))

    def fits(self, needs: SplitNeeds) -> bool:
        """Whether this stored split serves a comparison with `needs`."""
        mine = self.needs
        return (replace(mine, n_train=0, n_inaccurate=0, own_rows=None)
                == replace(needs, n_train=0, n_inaccurate=0, own_rows=None)
                and mine.n_train >= needs.n_train and mine.n_inaccurate >= needs.n_inaccurate)


def training_order(candidates: list[int], positions: np.ndarray, selection: str, seed: int) -> list[int]:
    """The order in which the accurate budget buys the training candidates (prefixes are training
    sets), `acquire.selection.order.buying_order` from a seeded shuffle; `uncertain` stays shuffled
    until `rank_by_committee` ranks it (it needs the pool's labels)."""
    from acquire.selection.order import buying_order

    def shuffle(rows: list[int]) -> list[int]:
        return [int(i) for i in np.random.default_rng([seed, 2]).permutation(rows)]

    return buying_order(selection, candidates, positions, seed, shuffle=shuffle)


def pool_room(out: Path, seed: int, accurate: SourceArrays, inaccurate: SourceArrays, needs: SplitNeeds) -> int:
    """How many pool frames seed `seed` may draw: the pool minus the twins of its test frames (of the
    stored split when there is one)."""
    from acquire.splits import split_accurate

    path = out / "splits" / f"seed{seed}.json"
    if path.exists():
        stored = SeedSplit.load(path)
        if stored.fits(replace(needs, n_inaccurate=0)):
            return _room(inaccurate.positions, accurate.positions, _test_of(stored, accurate))
    own = needs.own_rows
    test = (list(range(own, len(accurate.positions))) if own is not None
            else split_accurate(accurate.positions, needs.n_train, needs.validation, seed)[2])
    return _room(inaccurate.positions, accurate.positions, test)


def _test_of(split: SeedSplit, accurate: SourceArrays) -> list[int]:
    """Every test frame of a stored split (before the --test cap): the frames neither trained nor validated on."""
    taken = set(split.train_order) | set(split.validation)
    return [i for i in range(len(accurate.positions)) if i not in taken]


def _room(pool: np.ndarray, reference: np.ndarray, test: list[int]) -> int:
    from labelers.datasets import match_frames

    return int((match_frames(np.asarray(pool), np.asarray(reference)[test]) < 0).sum())


def seed_split(out: Path, seed: int, accurate: SourceArrays, inaccurate: SourceArrays,
               needs: SplitNeeds) -> SeedSplit:
    """The stored split of `seed` in `out/splits/`, or a new one (made with `make_split`)."""
    from acquire.splits import make_split

    path = out / "splits" / f"seed{seed}.json"
    if path.exists():
        stored = SeedSplit.load(path)
        if stored.fits(needs):
            return stored
        raise CompareError(
            f"{out} holds a comparison with other splits ({path.name}: {stored.needs.record()}); "
            "give a new --out, or the same sources, --pool, --selection, --validation and --test with budgets no larger")
    split = make_split(accurate.positions, inaccurate.positions, needs.n_train, needs.validation,
                       needs.n_inaccurate, seed, needs.own_rows)
    pool_order = np.random.default_rng([seed, 3]).permutation(split.inaccurate).tolist()
    test = split.test
    if needs.test_cap is not None and needs.test_cap < len(test):
        test = sorted(np.random.default_rng([seed, 4]).choice(test, needs.test_cap, replace=False).tolist())
    candidates = split.train if needs.selection == "random" else (
        split.train + split.spare + _beyond_test(split.test, test, accurate))
    train_order = training_order(candidates, accurate.positions, needs.selection, seed)
    result = SeedSplit(seed, [int(i) for i in train_order], split.validation, [int(i) for i in test],
                       [int(i) for i in pool_order], needs, ordered=needs.selection != "uncertain")
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
