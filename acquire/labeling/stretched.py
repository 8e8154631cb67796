"""Bond-stretched frames: labels beyond what molecular dynamics samples, for ASTEROID's pretraining.

A pool sampled by MD at a few hundred kelvin holds no geometry far up a bond's wall, so a model's
energy there is an extrapolation (`acquire scan` shows the false dissociation barriers it makes).
Each stretched frame is a pool frame with one bond, drawn at random, stretched or compressed by a
length drawn uniformly from [low, high] Å (the lighter atom moves). Its labels are the pool frame's
own plus what a computing labeler says the move changed,

    E = E_pool(frame) + E_cheap(stretched) - E_cheap(frame),   F likewise,

so they sit on the pool fidelity's energy scale even when the pool's labels come from a fixed data
set (MD17's DFT); with the pool's own labeler as the cheap one they are its labels of the stretched
geometry. The cheap labels go through a label store, so a rerun computes none twice. Units: Å, eV, eV/Å.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from acquire.errors import AcquireError
from acquire.molecules import bonded_pairs
from acquire.sources import SourceArrays
from labelers.base import Labeler


class StretchError(AcquireError):
    """Stretched frames that cannot be made as asked."""


@dataclass(frozen=True)
class Stretch:
    """How many stretched frames, labelled by which cheap labeler, over which range (Å)."""

    count: int
    labeler: str = "xtb:gfn2"
    low_A: float = -0.2
    high_A: float = 0.6

    def __post_init__(self) -> None:
        if self.count < 0 or not self.low_A < self.high_A:
            raise StretchError(f"stretched frames: need a count >= 0 and LOW < HIGH, got {self.count}, "
                               f"{self.low_A}:{self.high_A} Å")


def stretch_labeler(spec: str) -> Labeler:
    """The labeler of the moves: one that computes labels (a cached one knows no stretched geometry)."""
    from labelers import get_labeler

    labeler = get_labeler(spec)
    if getattr(labeler, "data", None) is not None:
        raise StretchError(f"stretch labeler {spec}: serves stored labels; the stretched frames need one that "
                           "computes them (xtb:gfn2, pyscf:...)")
    return labeler


def stretch_bond(positions: np.ndarray, numbers: np.ndarray, bond: tuple[int, int], by: float) -> np.ndarray:
    """`positions` with the lighter atom of `bond` (the second on a tie) moved `by` Å along the bond."""
    from ase.data import atomic_masses

    i, j = bond
    fixed, moving = (j, i) if atomic_masses[numbers[i]] < atomic_masses[numbers[j]] else (i, j)
    direction = positions[moving] - positions[fixed]
    moved = positions.copy()
    moved[moving] += direction / np.linalg.norm(direction) * by
    return moved


def stretched_geometries(data: SourceArrays, rows: list[int], stretch: Stretch, seed: int) -> tuple[list[Atoms], list[dict]]:
    """One stretched geometry per row of `data` (seeded), with what was moved."""
    numbers = np.asarray(data.numbers)
    pairs = bonded_pairs(numbers, data.positions[rows[0]]) if rows else []
    if rows and not pairs:
        raise StretchError(f"stretched frames: no bonds in {data.name}'s first frame")
    rng = np.random.default_rng(seed)
    geometries, notes = [], []
    for row in rows:
        bond = pairs[int(rng.integers(len(pairs)))]
        by = float(rng.uniform(stretch.low_A, stretch.high_A))
        geometries.append(Atoms(numbers=numbers, positions=stretch_bond(data.positions[row], numbers, bond, by)))
        notes.append({"row": int(row), "bond": f"{bond[0]}-{bond[1]}", "stretch_A": round(by, 4)})
    return geometries, notes


def stretched_frames(data: SourceArrays, rows: list[int], stretch: Stretch, seed: int, store_path: Path,
                     workers: int | None = 1) -> tuple[SourceArrays, dict[str, Any]]:
    """Labelled stretched frames of `data`'s `rows` (see the module docstring) and a record of them;
    frames whose cheap labels failed are left out (and counted)."""
    from acquire.labeling.engine import label_frames
    from acquire.errors import StoreError
    from acquire.labeling.store import LabelStore

    geometries, notes = stretched_geometries(data, rows, stretch, seed)
    originals = [Atoms(numbers=data.numbers, positions=data.positions[row]) for row in rows]
    labeler = stretch_labeler(stretch.labeler)
    store = LabelStore(store_path)
    report = label_frames(store, labeler, originals + geometries, workers=workers)
    try:
        groups = store.arrays_by_molecule(labeler.spec)
    except StoreError:  # no label of this labeler done (every one failed)
        groups = []
    done = next((g for g in groups if np.array_equal(g.numbers, data.numbers)), None)
    before = done.rows_of(originals) if done is not None else [None] * len(rows)
    after = done.rows_of(geometries) if done is not None else [None] * len(rows)
    keep = [k for k in range(len(rows)) if before[k] is not None and after[k] is not None]
    b, a, r = [before[k] for k in keep], [after[k] for k in keep], [rows[k] for k in keep]
    energies = (np.asarray(data.energies)[r] + done.energies[a] - done.energies[b]) if keep else np.zeros(0)
    forces = (np.asarray(data.forces)[r] + done.forces[a] - done.forces[b]) if keep else np.zeros((0, len(data.numbers), 3))
    positions = np.array([geometries[k].positions for k in keep]).reshape(len(keep), len(data.numbers), 3)
    arrays = SourceArrays(f"{data.name} stretched by {labeler.spec}", positions, np.asarray(data.numbers), energies, forces)
    record = {"frames": len(keep), "failed": len(rows) - len(keep), "labeler": labeler.spec,
              "range_A": [stretch.low_A, stretch.high_A], "seed": seed, "cheap_labels": 2 * len(rows),
              "cheap_labels_computed_now": report.done, "cheap_cpu_s": round(report.cost_s, 2),
              "frames_made": [notes[k] for k in keep]}
    return arrays, record


def write_extxyz(arrays: SourceArrays, path: Path) -> None:
    """Labelled frames as extxyz (`REF_energy` eV, `REF_forces` eV/Å), readable as `cached:PATH`."""
    from ase.io import write

    from labelers.files import atomic_path

    images = []
    for positions, energy, forces in zip(arrays.positions, arrays.energies, arrays.forces):
        atoms = Atoms(numbers=arrays.numbers, positions=positions)
        atoms.info["REF_energy"] = float(energy)
        atoms.arrays["REF_forces"] = np.asarray(forces)
        images.append(atoms)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        write(tmp, images, format="extxyz")
