"""`--selection uncertain` in a comparison: a seed's training candidates ranked by the disagreement
of a committee trained on the pool's cheap labels (`acquire.selection.committee`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from acquire.compare.seed_splits import SeedSplit
from acquire.sources import SourceArrays

if TYPE_CHECKING:
    from train.config import TrainConfig


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
