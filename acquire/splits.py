"""Seeded, leak-free splits of frames, for `acquire train`, `acquire compare` and `acquire run`.

Rules (issue 7): the accurate frames are shuffled with the seed; the planned accurate count goes
to training, `validation` frames to validation, the rest to test. Frames that are the same
geometry (up to rotation/translation) always land on one side. The inaccurate pool loses every
geometry that is in the test split before the planned number of inaccurate frames is drawn.
`seeded_parts` cuts one seeded order into consecutive parts (`acquire run`'s validation draw).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from acquire.errors import AcquireError
from labelers.atomic_files import atomic_write_text
from labelers.datasets import geometry_groups, match_frames


class SplitError(AcquireError):
    """The requested split does not fit the data."""


@dataclass(frozen=True)
class Split:
    """Indices into the accurate set (train/validation/test) and into the inaccurate pool."""

    seed: int
    train: list[int]
    validation: list[int]
    test: list[int]
    inaccurate: list[int]
    spare: list[int] = field(default_factory=list)  # accurate frames in none of the three (with a test source)

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Split:
        return cls(**json.loads(Path(path).read_text()))


def split_accurate(positions: np.ndarray, n_train: int, n_validation: int, seed: int,
                   need_test: bool = True) -> tuple[list[int], list[int], list[int]]:
    """Shuffle geometry groups of frames (n, k, 3) with `seed`; fill train, then validation; the rest
    is test (which may be empty when `need_test` is False: the test frames come from elsewhere)."""
    if n_train < 1 or n_validation < 0:
        raise SplitError(f"need at least 1 training frame and >= 0 validation frames, got {n_train}, {n_validation}")
    groups = geometry_groups(positions)
    if n_train + n_validation > len(positions) or (need_test and n_train + n_validation == len(positions)):
        raise SplitError(
            f"{n_train} training + {n_validation} validation frames leave no test frames of {len(positions)}; "
            if need_test else f"{n_train} training + {n_validation} validation frames do not fit in {len(positions)}; "
            "use a smaller budget or more accurate data"
        )
    order = np.random.default_rng(seed).permutation(len(groups))
    sides: list[list[int]] = [[], [], []]
    capacity = [n_train, n_validation]
    for g in order:
        group = groups[g]
        side = next((s for s in (0, 1) if len(sides[s]) + len(group) <= capacity[s]), 2)
        sides[side].extend(group)
    if len(sides[0]) != n_train or len(sides[1]) != n_validation:
        raise SplitError(f"could not fill {n_train} training and {n_validation} validation frames without splitting duplicates")
    return sides[0], sides[1], sides[2]


def seeded_parts(n: int, sizes: tuple[int, ...], seed: int) -> list[list[int]]:
    """Rows 0..n-1 in the order `seed` shuffles them, cut into parts of `sizes` and the rest."""
    order = [int(i) for i in np.random.default_rng(seed).permutation(n)]
    parts, start = [], 0
    for size in sizes:
        parts.append(order[start:start + size])
        start += size
    return [*parts, order[start:]]


def make_split(
    accurate_positions: np.ndarray,
    inaccurate_positions: np.ndarray | None,
    n_train: int,
    n_validation: int,
    n_inaccurate: int,
    seed: int,
    own: int | None = None,
) -> Split:
    """The accurate split plus `n_inaccurate` pool frames drawn with `seed`, none of them a test geometry.
    With `own`, the rows from `own` on are a separate test set (a held-out trajectory): every one
    is a test frame, the first `own` rows (minus twins of a test frame) are split into training and
    validation, and what is left of them is `spare`. Without `inaccurate_positions` (no pool), the
    accurate sides keep their shuffled order (as `acquire train` has always trained on them)."""
    spare: list[int] = []
    if own is None:
        train, validation, test = split_accurate(accurate_positions, n_train, n_validation, seed)
    else:
        positions = np.asarray(accurate_positions)
        test = list(range(own, len(positions)))
        rows = np.flatnonzero(match_frames(positions[:own], positions[own:]) < 0)
        train, validation, rest = (rows[part].tolist() for part in
                                   split_accurate(positions[rows], n_train, n_validation, seed, need_test=False))
        spare = sorted(rest)
    if inaccurate_positions is None:
        return Split(seed=seed, train=train, validation=validation, test=test, inaccurate=[], spare=spare)
    in_test = match_frames(np.asarray(inaccurate_positions), np.asarray(accurate_positions)[test]) >= 0
    allowed = np.flatnonzero(~in_test)
    if n_inaccurate > len(allowed):
        raise SplitError(f"the inaccurate pool has {len(allowed)} frames outside the test split, {n_inaccurate} requested")
    rng = np.random.default_rng([seed, 1])
    chosen = sorted(rng.choice(allowed, size=n_inaccurate, replace=False).tolist())
    return Split(seed=seed, train=sorted(train), validation=sorted(validation), test=sorted(test), inaccurate=chosen,
                 spare=spare)
