"""Shared checks for labeler tests: central finite differences of a labeler's energy."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from ase import Atoms


def fd_forces(energy: Callable[[Atoms], float], atoms: Atoms,
              components: Iterable[tuple[int, int]], step: float = 1e-3) -> np.ndarray:
    """-dE/dx (eV/Å) by central differences of `energy` (eV) at the (atom, axis) components."""
    values = []
    for atom, axis in components:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[atom, axis] += step
        minus.positions[atom, axis] -= step
        values.append(-(energy(plus) - energy(minus)) / (2 * step))
    return np.array(values)


def water() -> Atoms:
    """A slightly asymmetric water (Å), so no force component vanishes by symmetry."""
    return Atoms("OH2", positions=[[0.0, 0.0, 0.12], [0.0, -0.77, -0.56], [0.05, 0.74, -0.6]])


def methanol() -> Atoms:
    """ASE's methanol, slightly distorted away from its symmetric geometry."""
    from ase.build import molecule

    atoms = molecule("CH3OH")
    atoms.positions += np.random.default_rng(7).normal(scale=0.03, size=atoms.positions.shape)
    return atoms
