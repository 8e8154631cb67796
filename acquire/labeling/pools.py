"""Configuration pools: the frames a labeling run chooses from.

A pool is an xyz/extxyz file (every frame; stored energies/forces are ignored) or the frames of a
cached labeler given by its spec (`md17:ethanol/dft`, `cached:labels.extxyz`). `select_frames`
takes N of them with a seed; the selection for N is a prefix of the selection for a larger N with
the same seed, so growing a run reuses the labels already bought.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from acquire.errors import PoolError
from acquire.labeling.reuse import FORCES

POOL_SUFFIXES = (".xyz", ".extxyz")


def read_pool(source: str) -> list[Atoms]:
    """Frames of a pool file or of a cached labeler spec; raises PoolError."""
    path = Path(source).expanduser()
    if path.is_file():
        return _read_file(path)
    if path.is_dir():
        raise PoolError(f"pool {source} is a folder; give an .xyz/.extxyz file or a cached labeler spec")
    if source.lower().endswith(POOL_SUFFIXES) or ":" not in source:
        raise PoolError(f"pool file not found: {source}")
    return _from_labeler(source)


def _read_file(path: Path) -> list[Atoms]:
    from ase.io import read

    try:
        frames = read(str(path), index=":")
    except Exception as exc:  # ASE raises many types for malformed files
        raise PoolError(f"cannot read pool {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if not isinstance(frames, list):
        frames = [frames]
    if not frames or any(len(f) == 0 for f in frames):
        raise PoolError(f"pool {path} holds no configurations (or an empty frame)")
    pool = []
    for i, frame in enumerate(frames):
        atoms = Atoms(numbers=frame.numbers, positions=frame.positions, info=_plain_info(frame.info))
        if FORCES in frame.arrays:  # a label sampling computed (acquire.labeling.reuse)
            atoms.arrays[FORCES] = frame.arrays[FORCES]
        atoms.info.setdefault("source", f"{path.name}#{i}")
        pool.append(atoms)
    return pool


def _plain_info(info: dict) -> dict:
    """Keep scalar provenance (charge, spin, how the frame was made); drop arrays and labels."""
    return {k: v for k, v in info.items() if isinstance(v, (str, int, float)) and k not in ("energy", "free_energy")}


def _from_labeler(spec: str) -> list[Atoms]:
    from labelers import LabelerError, get_labeler

    try:
        labeler = get_labeler(spec)
    except LabelerError as exc:
        raise PoolError(f"pool {spec!r} is neither a file nor a usable labeler spec: {exc}") from exc
    frames = getattr(labeler, "frames", None)
    if frames is None:
        raise PoolError(f"labeler {labeler.spec} has no configurations to offer as a pool; give a pool file")
    return frames()


def select_frames(frames: list[Atoms], n: int | None, seed: int = 0) -> list[Atoms]:
    """N frames chosen at random with `seed` (all, in file order, when n is None)."""
    if n is None:
        return list(frames)
    if n < 1:
        raise PoolError(f"--n must be at least 1, got {n}")
    if n > len(frames):
        raise PoolError(f"asked for {n} configurations but the pool holds only {len(frames)}")
    order = np.random.default_rng(seed).permutation(len(frames))[:n]
    return [frames[i] for i in order]
