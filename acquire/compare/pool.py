"""Inaccurate labels a comparison computes itself: a computing labeler (`xtb:gfn2`,
`openmm:gaff-2.11`, `pyscf:...`) labels the pool's geometries into `OUT/labels.db` with the labeling
engine (resumable, in parallel, never the same configuration twice), and only the frames the plan
draws: each seed's pool-order prefix of the largest inaccurate count.

Until labelled, a pool frame's energy and forces are NaN; no run reads a frame it did not draw.

A comparison folder also pins the pool frames a seed may draw (`OUT/pool_room.json`), so that a
rerun with more seeds resumes the earlier ones.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acquire.compare.report import read_document
from acquire.compare.seed_splits import SeedSplit, SplitNeeds, pool_room
from acquire.compare.settings import CompareError
from acquire.sources import SourceArrays
from labelers.atomic_files import atomic_write_text

if TYPE_CHECKING:
    from ase import Atoms


STORE = "labels.db"


def computes_labels(spec: str) -> bool:
    """Whether `spec` names a labeler that computes labels (rather than serving stored ones)."""
    from labelers.registry import get_labeler

    return getattr(get_labeler(spec), "data", None) is None


POOL_ROOM_FILE = "pool_room.json"


def pool_rooms(out: Path, seeds: int, accurate: SourceArrays, inaccurate: SourceArrays,
               needs: SplitNeeds) -> dict[int, int]:
    """seed -> the pool frames it may draw: its own usable frames (the pool minus its test twins), at
    most the folder's pinned room. A new folder pins the smallest over its seeds, so that every seed
    of one command draws as many; a later command with more seeds leaves the earlier seeds' frames
    as they were (and resumes their runs). Folders made before the pin: the room their metrics.json
    recorded."""
    own = {seed: pool_room(out, seed, accurate, inaccurate, needs) for seed in range(seeds)}
    pinned = _pinned_room(out, needs)
    if pinned is None:
        pinned = min(own.values())
    if not (Path(out) / POOL_ROOM_FILE).exists():
        Path(out).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(out) / POOL_ROOM_FILE, json.dumps(
            {"pool": needs.pool or needs.inaccurate, "usable_frames": pinned,
             "note": "pool frames a seed of this folder may draw, kept so that adding seeds resumes the earlier ones"}) + "\n")
    return {seed: min(room, pinned) for seed, room in own.items()}


def _pinned_room(out: Path, needs: SplitNeeds) -> int | None:
    pool = needs.pool or needs.inaccurate
    path = Path(out) / POOL_ROOM_FILE
    if path.exists():
        pin = json.loads(path.read_text())
        return int(pin["usable_frames"]) if pin.get("pool") == pool else None
    if not (Path(out) / "metrics.json").exists():
        return None
    recorded = read_document(out).get("pool", {})
    return int(recorded["usable_frames"]) if "usable_frames" in recorded and recorded.get("source") == pool else None


def pool_frames(pool: str) -> list[Atoms]:
    """The pool's geometries (an .xyz/.extxyz file or a cached labeler's frames), labels dropped."""
    from acquire.labeling.pools import read_pool

    return read_pool(pool)


def unlabeled_pool(spec: str, frames: list[Atoms]) -> SourceArrays:
    """The pool as arrays of `spec` whose labels are still NaN (one molecule)."""
    numbers = frames[0].numbers
    if any(not np.array_equal(a.numbers, numbers) for a in frames):
        raise CompareError("the pool holds more than one molecule; a comparison needs one")
    positions = np.array([a.positions for a in frames])
    return SourceArrays(spec, positions, numbers.copy(), np.full(len(frames), np.nan), np.full(positions.shape, np.nan))


def label_pool(out: Path, spec: str, frames: list[Atoms], pool: SourceArrays, splits: dict[int, SeedSplit],
               count: int, workers: int | None, progress: bool, log: Callable[[str], None]) -> SourceArrays:
    """Label the first `count` frames of every seed's pool order into `out/labels.db`; `pool` with them filled."""
    from acquire.labeling.engine import label_frames
    from acquire.labeling.store import LabelStore
    from acquire.progress_bars import progress_bar
    from labelers.registry import get_labeler

    wanted = sorted({i for split in splits.values() for i in split.pool_order[:count]})
    if not wanted:
        return pool
    labeler = get_labeler(spec)
    store = LabelStore(out / STORE)
    with progress_bar(f"labelling the pool with {labeler.spec}", len(wanted), disabled=not progress) as hook:
        report = label_frames(store, labeler, [frames[i] for i in wanted], workers=workers, progress=hook)
    log(f"pool labels ({labeler.spec}, {out / STORE}): {len(wanted)} needed, {report.already_done} already in the "
        f"store, {report.done} labelled now ({report.cost_s:.1f} CPU-core s), {report.failed} failed")
    return stored_labels(out / STORE, labeler.spec, frames, pool, wanted)


def stored_labels(store_path: Path, spec: str, frames: list[Atoms], pool: SourceArrays,
                  wanted: list[int]) -> SourceArrays:
    """`pool` with the labels of frames `wanted` read from the store at `store_path`."""
    from acquire.labeling.store import LabelStore

    done = LabelStore(store_path).arrays(spec)
    energies, forces = pool.energies.copy(), pool.forces.copy()
    missing = 0
    for i, k in zip(wanted, done.rows_of([frames[i] for i in wanted])):
        if k is None:
            missing += 1
            continue
        energies[i], forces[i] = done.energies[k], done.forces[k]
    if missing:
        raise CompareError(f"{missing} of {len(wanted)} pool labels by {spec} are not done (failed or "
                           f"interrupted); rerun to continue, or retry failed ones with acquire label ... "
                           f"--store {store_path} --retry-failed")
    return SourceArrays(pool.name, pool.positions, pool.numbers, energies, forces)
