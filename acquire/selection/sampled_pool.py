"""`acquire run --selection`: which sampled configurations get the accurate labels.

The validation frames are always a seeded random draw (the models are selected on them, so they
must stand for the whole pool). The training frames:
- `random`: the next frames of the same seeded order (what `acquire run` always did);
- `diverse`: farthest-point order over every non-validation frame; the frames left get the cheap labels;
- `uncertain`: the cheap labels are bought first, on the frames of the random split; a committee
  trained on them ranks every non-validation frame (cheap-labelled ones included, which then carry
  both labels) and the most uncertain get the accurate labels.
The choice is stored in `selection.json` of the run folder, so a rerun buys the same frames.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelers.atomic_files import atomic_write_text

if TYPE_CHECKING:
    from ase import Atoms

    from acquire.sources import SourceArrays
    from train.config import TrainConfig

FILE = "selection.json"


@dataclass(frozen=True)
class PoolChoice:
    """Rows of the sampled pool: accurate validation and training labels, cheap labels."""

    selection: str
    validation: list[int]
    train: list[int]
    inaccurate: list[int]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def accurate(self) -> list[int]:
        return self.validation + self.train


def random_choice(n_frames: int, n_validation: int, n_train: int, seed: int) -> PoolChoice:
    """The seeded order's first frames for validation, the next for training, the rest cheap."""
    from acquire.splits import seeded_parts

    return PoolChoice("random", *seeded_parts(n_frames, (n_validation, n_train), seed))


def choose(out: Path, frames: list[Atoms], n_validation: int, n_train: int, selection: str, seed: int,
           label_cheap: Callable[[list[int]], SourceArrays], config: TrainConfig,
           log: Callable[[str], None]) -> PoolChoice:
    """The rows of `frames` each kind of label goes to (stored in `out/selection.json`; read back on
    a rerun). `label_cheap(rows)` buys the cheap labels of those rows and returns them, in that order."""
    base = random_choice(len(frames), n_validation, n_train, seed)
    if selection == "random":
        return base
    path = out / FILE
    if path.is_file():
        stored = PoolChoice(**json.loads(path.read_text()))
        if stored.selection == selection:
            return stored
    from acquire.selection.order import buying_order

    candidates = base.train + base.inaccurate
    positions = np.array([a.positions for a in frames])
    info: dict[str, Any] = {}

    def by_committee(rows: list[int]) -> list[int]:  # buys the random split's cheap labels first
        from acquire.selection.committee import committee_spread, most_uncertain_first
        from train import Frames

        cheap = label_cheap(base.inaccurate)
        spread, seen = committee_spread(Frames(positions[rows], frames[0].numbers, name="candidates"), cheap,
                                        list(range(len(cheap.positions))), config, seed, out / "selection", log)
        info.update(seen)
        return [rows[i] for i in most_uncertain_first(spread, rows)]

    train = buying_order(selection, candidates, positions, seed, rank=by_committee)[:n_train]
    taken = set(train)  # diverse: every frame left gets the cheap labels; uncertain: the random split's do
    cheap = [i for i in candidates if i not in taken] if selection == "diverse" else base.inaccurate
    choice = PoolChoice(selection, base.validation, train, cheap, info)
    atomic_write_text(path, json.dumps(asdict(choice)))
    return choice
