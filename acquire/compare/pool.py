"""Inaccurate labels a comparison computes itself: a computing labeler (`xtb:gfn2`,
`openmm:gaff-2.11`, `pyscf:...`) labels the pool's geometries into `OUT/labels.db` with the labeling
engine (resumable, in parallel, never the same configuration twice), and only the frames the plan
draws: each seed's pool-order prefix of the largest inaccurate count.

Until labelled, a pool frame's energy and forces are NaN; no run reads a frame it did not draw.

A comparison folder also pins what its first plan rested on, so that a rerun resumes it: the ratio
`--ratio auto` gave (`OUT/ratio_auto.json`) and the pool frames a seed may draw (`OUT/pool_room.json`).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acquire.compare.plans import CompareError, CompareSettings, SeedSplit, SplitNeeds, pool_room
from acquire.compare.report import read_document
from acquire.sources import SourceArrays, split_source
from labelers.files import atomic_write_text

if TYPE_CHECKING:
    from ase import Atoms

    from labelers.costs import CostEstimate

STORE = "labels.db"


def computes_labels(spec: str) -> bool:
    """Whether `spec` names a labeler that computes labels (rather than serving stored ones)."""
    from labelers.registry import get_labeler

    return getattr(get_labeler(spec), "data", None) is None


def label_estimate(spec: str, numbers: np.ndarray, positions: np.ndarray) -> CostEstimate:
    """CPU-core seconds of one label of this geometry by `spec`, with its origin (declared law,
    calibrated, or scaled from a calibration)."""
    from ase import Atoms

    from acquire.costs import estimate
    from labelers.registry import get_labeler

    return estimate(get_labeler(spec), Atoms(numbers=np.asarray(numbers).reshape(-1), positions=positions))


def label_cost(spec: str, numbers: np.ndarray, positions: np.ndarray) -> float:
    """Declared (or calibrated) CPU-core seconds of one label of this geometry by `spec`."""
    return label_estimate(spec, numbers, positions).seconds


def auto_ratio(accurate_spec: str, inaccurate_spec: str, numbers: np.ndarray, positions: np.ndarray) -> float:
    """`--ratio auto`: the accurate labeler's cost per label ÷ the inaccurate one's (must be > 1)."""
    accurate = label_cost(accurate_spec, numbers, positions)
    inaccurate = label_cost(inaccurate_spec, numbers, positions)
    ratio = accurate / inaccurate
    if not ratio > 1:
        raise CompareError(f"--ratio auto: {accurate_spec} costs {accurate:.4g} s and {inaccurate_spec} "
                           f"{inaccurate:.4g} s per label (ratio {ratio:.4g}); the accurate labeler must cost more")
    return ratio


AUTO_RATIO_FILE = "ratio_auto.json"


def pinned_ratio(out: Path, accurate_spec: str, inaccurate_spec: str) -> float | None:
    """The ratio `--ratio auto` gave when this comparison folder was first planned (so a rerun
    resumes it after costs were re-declared or calibrated), or None for a new folder. Folders made
    before the pin file existed: the ratio their metrics.json recorded for a `--ratio auto` command."""
    path = Path(out) / AUTO_RATIO_FILE
    if path.exists():
        pin = json.loads(path.read_text())
        same = (pin.get("accurate"), pin.get("inaccurate")) == (accurate_spec, inaccurate_spec)
        return float(pin["ratio"]) if same else None
    if not (Path(out) / "metrics.json").exists():
        return None
    document = read_document(out)
    settings = document.get("settings", {})
    specs = tuple(split_source(settings.get(k, ""))[1] for k in ("accurate", "inaccurate"))
    if "--ratio auto" in str(document.get("command", "")) and specs == (accurate_spec, inaccurate_spec) \
            and len(settings.get("ratios", [])) == 1:
        return float(settings["ratios"][0])
    return None


def pin_ratio(out: Path, accurate_spec: str, inaccurate_spec: str, ratio: float) -> None:
    """Record the ratio `--ratio auto` planned a new comparison folder with (`pinned_ratio`)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / AUTO_RATIO_FILE, json.dumps(
        {"accurate": accurate_spec, "inaccurate": inaccurate_spec, "ratio": ratio,
         "note": "--ratio auto of this folder, kept so that reruns resume it; delete to plan with today's costs"}) + "\n")


def resolved_ratios(settings: CompareSettings, out: Path, accurate: SourceArrays) -> CompareSettings:
    """`settings` with a ratio "auto" replaced by the ratio `out` was first planned with (a rerun
    resumes it whatever the costs say now), else by the labelers' cost per label of the accurate
    set's first geometry, accurate ÷ inaccurate, then pinned in `out`."""
    from dataclasses import replace

    if "auto" not in settings.ratios:
        return settings
    specs = split_source(settings.accurate)[1], split_source(settings.inaccurate)[1]
    ratio = pinned_ratio(out, *specs)
    if ratio is None:
        ratio = auto_ratio(*specs, accurate.numbers, accurate.positions[0])
        pin_ratio(out, *specs, ratio)
    return replace(settings, ratios=tuple(ratio if r == "auto" else r for r in settings.ratios))


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


def unlabelled_pool(spec: str, frames: list[Atoms]) -> SourceArrays:
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
    from acquire.progress import progress_bar
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
