"""Each seed's stored split of a comparison's frames (`OUT/splits/seed<k>.json`): the training order
(its prefixes are the training sets), validation, test and the inaccurate pool's order, shared by
every budget, ratio and method of the seed, and what it was made for (`SplitNeeds`)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acquire.compare.settings import CompareError
from acquire.sources import SourceArrays
from labelers.atomic_files import atomic_write_text

if TYPE_CHECKING:
    from acquire.compare.settings import CompareSettings


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
