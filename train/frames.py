"""`Frames`: the trainer's input, a plain container of labelled (or unlabeled) configurations.

Arrays in ASE units: positions (n, k, 3) Å, numbers (k,) or (n, k), energies (n,) eV, forces
(n, k, 3) eV/Å, optional per-configuration weights (n,). Energies/forces may be None for unlabeled
configurations (score matching); forces alone None for energy-only labels (`energy_only`). No torch
here: callers build Frames from numpy or `ase.Atoms`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from train.errors import DataError


@dataclass(frozen=True)
class Frames:
    """Configurations of molecules with the same atom count k (ASE units)."""

    positions: np.ndarray
    numbers: np.ndarray
    energies: np.ndarray | None = None
    forces: np.ndarray | None = None
    weights: np.ndarray | None = None
    name: str = ""

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=float)
        if pos.ndim != 3 or pos.shape[2] != 3 or len(pos) == 0:
            raise DataError(f"{self.name or 'frames'}: positions must be (n>0, k, 3), got {pos.shape}")
        n, k = pos.shape[:2]
        num = np.asarray(self.numbers, dtype=np.int64)
        if num.shape not in ((k,), (n, k)):
            raise DataError(f"{self.name or 'frames'}: numbers must be ({k},) or ({n}, {k}), got {num.shape}")
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "numbers", num)
        for attr, shape in (("energies", (n,)), ("forces", (n, k, 3)), ("weights", (n,))):
            value = getattr(self, attr)
            if value is None:
                continue
            value = np.asarray(value, dtype=float).reshape(shape) if np.size(value) == np.prod(shape) else None
            if value is None:
                raise DataError(f"{self.name or 'frames'}: {attr} must have shape {shape}")
            if not np.all(np.isfinite(value)):
                raise DataError(f"{self.name or 'frames'}: {attr} contain NaN or inf")
            object.__setattr__(self, attr, value)
        if self.energies is None and self.forces is not None:
            raise DataError(f"{self.name or 'frames'}: forces without energies; give energies (and forces, or none)")
        if self.weights is not None and np.any(self.weights < 0):
            raise DataError(f"{self.name or 'frames'}: weights must be >= 0")

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def labelled(self) -> bool:
        return self.forces is not None

    @property
    def energy_only(self) -> bool:
        """Energies without forces (labels that skipped the gradient: about 1/40 of a CCSD(T) force label)."""
        return self.energies is not None and self.forces is None

    @property
    def atom_numbers(self) -> np.ndarray:
        """(n, k) atomic numbers."""
        if self.numbers.ndim == 1:
            return np.broadcast_to(self.numbers, self.positions.shape[:2])
        return self.numbers

    def subset(self, index: Sequence[int] | np.ndarray) -> Frames:
        index = np.asarray(index, dtype=int)
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        numbers = self.numbers if self.numbers.ndim == 1 else self.numbers[index]
        return Frames(self.positions[index], numbers, pick(self.energies), pick(self.forces),
                      pick(self.weights), self.name)

    def with_weights(self, weights: np.ndarray | None) -> Frames:
        return replace(self, weights=weights)

    def unlabeled(self) -> Frames:
        return replace(self, energies=None, forces=None)

    @staticmethod
    def from_atoms(images: Sequence[object], name: str = "") -> Frames:
        """Frames from `ase.Atoms` with a calculator or `info['energy']`/`arrays['forces']`."""
        if not images:
            raise DataError(f"{name or 'frames'}: no configurations")
        positions = np.stack([a.get_positions() for a in images])
        numbers = np.stack([a.get_atomic_numbers() for a in images])
        energies, forces = [], []
        for atoms in images:
            if atoms.calc is not None:
                energies.append(atoms.get_potential_energy())
                forces.append(atoms.get_forces())
            elif "energy" in atoms.info and "forces" in atoms.arrays:
                energies.append(atoms.info["energy"])
                forces.append(atoms.arrays["forces"])
        if energies and len(energies) != len(images):
            raise DataError(f"{name or 'frames'}: some configurations have labels and some not")
        if len(np.unique(numbers, axis=0)) == 1:
            numbers = numbers[0]
        return Frames(positions, numbers, np.array(energies) if energies else None,
                      np.stack(forces) if forces else None, name=name)


def training_molecule(frames: dict[str, Frames | None]) -> dict:
    """What a model is trained on, recorded in its model file (`train.checkpoint`): the first
    geometry of its first set (atomic numbers, positions Å), every formula and every element of the
    sets, so that MD and scans default to the model's own molecule and refuse elements it never saw."""
    from ase.symbols import Symbols

    given = [f for f in frames.values() if f is not None]
    first = given[0]
    formulas = sorted({Symbols(row).get_chemical_formula() for f in given for row in np.unique(f.atom_numbers, axis=0)})
    elements = sorted({int(z) for f in given for z in np.unique(f.numbers)})
    return {"numbers": [int(z) for z in first.atom_numbers[0]], "positions_A": first.positions[0].tolist(),
            "formulas": formulas, "elements": elements}
