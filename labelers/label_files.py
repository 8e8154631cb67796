"""Labelled frames from the files users have, in Å, eV and eV/Å, one `FrameArrays` per molecule.

- extxyz/xyz and ASE databases (`.db`, `.json`): energies and forces from, in this order, the
  calculator results (ASE's `energy`/`forces`), mace-torch's `REF_energy`/`REF_forces`, or
  `info['energy']`/`arrays['forces']`; named keys (`energy_key`, `forces_key`) replace the search.
  Values are taken as eV and eV/Å (ASE's convention).
- rMD17 npz (`nuclear_charges`, `coords`, `energies`, `forces`): Å, kcal/mol, kcal/mol/Å.
- sGDML npz (`R`, `z`, `E`, `F`): its `r_unit` (Ang, bohr, nm) and `e_unit` (kcal/mol, kJ/mol,
  eV, meV, Ha/Hartree) keys, forces in e_unit/r_unit; without them kcal/mol and Å (MD17).

Frames of different molecules (atom counts or orders) in one file become separate groups.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

from labelers.errors import SpecError

LENGTHS = {"ang": 1.0, "angstrom": 1.0, "a": 1.0, "å": 1.0, "bohr": units.Bohr, "au": units.Bohr, "nm": 10.0}
ENERGIES = {"kcal/mol": units.kcal / units.mol, "kj/mol": units.kJ / units.mol, "ev": 1.0, "mev": 1e-3,
            "ha": units.Hartree, "hartree": units.Hartree, "au": units.Hartree}
DEFAULT_KEYS = (("REF_energy", "REF_forces"), ("energy", "forces"))  # searched after calculator results


@dataclass(frozen=True)
class FrameArrays:
    """Labelled frames of one molecule: positions (n, k, 3) Å, numbers (k,), energies (n,) eV, forces (n, k, 3) eV/Å."""

    positions: np.ndarray
    numbers: np.ndarray
    energies: np.ndarray
    forces: np.ndarray


def read_labelled(path: Path, energy_key: str | None = None, forces_key: str | None = None) -> list[FrameArrays]:
    """The labelled frames of `path`, grouped by molecule (first appearance order)."""
    if path.suffix.lower() == ".npz":
        if energy_key or forces_key:
            raise SpecError(f"{path}: energy_key/forces_key apply to extxyz and ASE db files, not npz")
        return [read_npz(path)]
    images = _read_ase(path)
    if not images:
        raise SpecError(f"{path}: no frames")
    labelled = [_labels(atoms, energy_key, forces_key, f"{path} frame {i}") for i, atoms in enumerate(images)]
    return group_by_molecule(images, labelled)


def group_by_molecule(images: list[Atoms], labels: list[tuple[float, np.ndarray]]) -> list[FrameArrays]:
    """One FrameArrays per distinct atomic-number sequence, in order of first appearance."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, atoms in enumerate(images):
        groups.setdefault(tuple(int(z) for z in atoms.numbers), []).append(i)
    return [FrameArrays(np.array([images[i].positions for i in members]), np.array(key, dtype=int),
                        np.array([labels[i][0] for i in members], dtype=float),
                        np.array([labels[i][1] for i in members], dtype=float))
            for key, members in groups.items()]


def _labels(atoms: Atoms, energy_key: str | None, forces_key: str | None, where: str) -> tuple[float, np.ndarray]:
    """(energy eV, forces eV/Å) of one frame, by named keys or the default search order."""
    if energy_key or forces_key:
        energy, forces = _keyed(atoms, energy_key or "REF_energy", forces_key or "REF_forces")
        if energy is None or forces is None:
            raise SpecError(f"{where}: no {energy_key or 'REF_energy'!r} in info or no {forces_key or 'REF_forces'!r} in arrays")
        return energy, forces
    calc = atoms.calc
    if calc is not None and "energy" in calc.results and "forces" in calc.results:
        return float(calc.results["energy"]), np.asarray(calc.results["forces"], dtype=float)
    for e_key, f_key in DEFAULT_KEYS:
        energy, forces = _keyed(atoms, e_key, f_key)
        if energy is not None and forces is not None:
            return energy, forces
    raise SpecError(f"{where}: no energy and forces (calculator results, REF_energy/REF_forces or energy/forces); "
                    "name them with ?energy_key=...&forces_key=...")


def _keyed(atoms: Atoms, energy_key: str, forces_key: str) -> tuple[float | None, np.ndarray | None]:
    energy = atoms.info.get(energy_key)
    forces = atoms.arrays.get(forces_key)
    if forces is None and forces_key in atoms.info:  # ASE db rows keep arrays in `data`
        forces = atoms.info[forces_key]
    return (None if energy is None else float(energy)), (None if forces is None else np.asarray(forces, dtype=float))


def _read_ase(path: Path) -> list[Atoms]:
    try:
        if path.suffix.lower() in (".db", ".json"):
            from ase.db import connect

            images = []
            with connect(str(path), use_lock_file=False) as db:
                for row in db.select():
                    atoms = row.toatoms()
                    atoms.info.update(row.key_value_pairs)
                    atoms.info.update(row.data)
                    images.append(atoms)
            return images
        from ase.io import read

        return list(read(str(path), index=":"))
    except Exception as exc:  # malformed file of any format
        raise SpecError(f"cannot read labels from {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc


def read_npz(path: Path) -> FrameArrays:
    """An rMD17 npz (kcal/mol) or an sGDML npz (its r_unit/e_unit, default Å and kcal/mol)."""
    try:
        with np.load(path) as data:
            files = set(data.files)
            if {"nuclear_charges", "coords", "energies", "forces"} <= files:
                length, energy = 1.0, ENERGIES["kcal/mol"]
                positions, numbers, energies, forces = (data[k] for k in ("coords", "nuclear_charges", "energies", "forces"))
            elif {"R", "z", "E", "F"} <= files:
                length = _unit(data, "r_unit", LENGTHS, "Ang", path)
                energy = _unit(data, "e_unit", ENERGIES, "kcal/mol", path)
                positions, numbers, energies, forces = (data[k] for k in ("R", "z", "E", "F"))
            else:
                raise SpecError(f"{path}: an npz needs sGDML keys R, z, E, F or rMD17 keys nuclear_charges, coords, "
                                f"energies, forces; it has {', '.join(sorted(files))}")
            positions = np.asarray(positions, dtype=float) * length
            numbers = np.asarray(numbers, dtype=int)
            energies = np.asarray(energies, dtype=float).reshape(-1) * energy
            forces = np.asarray(forces, dtype=float) * (energy / length)
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"cannot read {path} as an sGDML/rMD17 npz: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    n = len(positions)
    if positions.ndim != 3 or positions.shape[2] != 3 or numbers.shape != (positions.shape[1],) or energies.shape != (n,) or forces.shape != positions.shape:
        raise SpecError(f"{path}: inconsistent shapes R{positions.shape} z{numbers.shape} E{energies.shape} F{forces.shape}")
    return FrameArrays(positions, numbers, energies, forces)


def _unit(data: np.lib.npyio.NpzFile, key: str, table: dict[str, float], default: str, path: Path) -> float:
    """The factor to Å or eV of an sGDML unit key (absent: `default`)."""
    name = str(data[key]) if key in data.files else default
    factor = table.get(name.strip().lower())
    if factor is None:
        raise SpecError(f"{path}: unknown {key} {name!r}; known: {', '.join(table)}")
    return factor
