"""The one dispatch over `--selection`: the order in which the accurate budget buys the training
candidates, for `acquire compare` and `acquire run`."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from acquire.errors import AcquireError
from acquire.selection import SELECTIONS

Reorder = Callable[[list[int]], list[int]]


def buying_order(selection: str, candidates: list[int], positions: np.ndarray, seed: int,
                 shuffle: Reorder | None = None, rank: Reorder | None = None) -> list[int]:
    """`candidates` (rows of `positions`, Å) in buying order: `random` shuffled by `shuffle` (kept
    as given without one: already a seeded order); `diverse` in farthest-point order on inverse
    interatomic distances; `uncertain` as `rank` orders them (the committee's disagreement), or as
    `random` until it can rank them (it needs the pool's cheap labels)."""
    if selection not in SELECTIONS:
        raise AcquireError(f"unknown selection {selection!r}; choose one of {', '.join(SELECTIONS)}")
    if selection == "diverse":
        from acquire.selection.diverse import farthest_points

        return farthest_points(candidates, positions, seed)
    if selection == "uncertain" and rank is not None:
        return rank(candidates)
    return shuffle(candidates) if shuffle is not None else list(candidates)
