"""What a configuration and its label must satisfy to become training data.

Geometry (checked before any labeler runs): finite coordinates, and no two atoms closer than
`MIN_DISTANCE_FRACTION` of the sum of their covalent radii (0.49 Å for O-H, 0.31 Å for H-H). Below
that, nuclear repulsion dominates, no MD at the temperatures sampled gets there, and backends return
numbers (or linear-algebra errors) that say nothing about the molecule.

Label (checked after a labeler returns): finite energy and forces, and no force component above
`MAX_FORCE` eV/Å. At the geometry limit (O-H at 0.485 Å in water) xTB GFN2 and HF/STO-3G give
220 eV/Å; at 0.3 Å, below the limit, 970 eV/Å; a hydrogen 0.05 Å from oxygen gave 42,000 eV/Å. So a
bound of 1000 eV/Å (23,000 kcal/mol/Å) passes every label of a geometry the check accepts and stops
labels no physical sampling produces. A label that fails is recorded as failed with its reason
(computing it again would give the same numbers).
"""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.data import covalent_radii

from labelers.base import Label

MIN_DISTANCE_FRACTION = 0.5
MAX_FORCE = 1000.0  # eV/Å


def geometry_problem(atoms: Atoms) -> str | None:
    """Why `atoms` cannot be labelled (non-finite coordinates, two atoms too close), or None."""
    positions = np.asarray(atoms.positions, dtype=float)
    bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
    if bad.size:
        return f"atom {bad[0]} ({atoms.get_chemical_symbols()[bad[0]]}) has a non-finite coordinate"
    if len(atoms) < 2:
        return None
    distances = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    radii = covalent_radii[atoms.numbers]
    limit = MIN_DISTANCE_FRACTION * (radii[:, None] + radii[None, :])
    np.fill_diagonal(distances, np.inf)
    ratio = distances / limit
    i, j = np.unravel_index(int(np.argmin(ratio)), ratio.shape)
    if ratio[i, j] >= 1.0:
        return None
    symbols = atoms.get_chemical_symbols()
    i, j = sorted((int(i), int(j)))
    return (f"atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) are {distances[i, j]:.3f} Å apart, below "
            f"{limit[i, j]:.3f} Å ({MIN_DISTANCE_FRACTION:g} × the sum of their covalent radii)")


def first_bad_frame(frames: list[Atoms]) -> tuple[int, str] | None:
    """The first frame that cannot be labelled and why, or None."""
    for k, atoms in enumerate(frames):
        problem = geometry_problem(atoms)
        if problem is not None:
            return k, problem
    return None


def label_problem(label: Label) -> str | None:
    """Why a computed label is not physical (non-finite, forces above MAX_FORCE), or None."""
    if not np.isfinite(label.energy):
        return f"energy is {label.energy}"
    if label.forces is None:
        return None
    forces = np.asarray(label.forces, dtype=float)
    if not np.isfinite(forces).all():
        return "forces are not finite"
    largest = float(np.abs(forces).max()) if forces.size else 0.0
    if largest > MAX_FORCE:
        return f"a force component of {largest:.4g} eV/Å, above the {MAX_FORCE:g} eV/Å bound"
    return None
