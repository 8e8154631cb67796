"""GAFF parametrisation of a configuration for OpenMM: bonds and bond orders perceived from the
coordinates (RDKit DetermineBonds), AM1-BCC charges (AmberTools' antechamber/sqm through the OpenFF
toolkit), GAFF atom types and parameters (openmmforcefields' GAFFTemplateGenerator).

The heavy parts are the `gaff` extra; without them MissingDependencyError names it.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import covalent_radii

from labelers.errors import LabelFailedError, MissingDependencyError

EXTRA = "pip install 'asteroid-ff[gaff]'"
BOND_STRETCH_LIMIT = 1.4  # a perceived bond longer than 1.4 x the covalent radii sum is broken


@dataclass(frozen=True)
class Parametrised:
    """An OpenMM System for one molecule in the atom order it was perceived in."""

    system: Any  # openmm.System
    bonds: np.ndarray  # (n_bonds, 2) atom indices
    smiles: str
    charges: tuple[float, ...]  # AM1-BCC partial charges, e

    def bonds_intact(self, atoms: Atoms) -> bool:
        """Whether every perceived bond is still a bond in `atoms` (so the topology applies)."""
        if len(self.bonds) == 0:
            return True
        i, j = self.bonds[:, 0], self.bonds[:, 1]
        lengths = np.linalg.norm(atoms.positions[i] - atoms.positions[j], axis=1)
        limit = BOND_STRETCH_LIMIT * (covalent_radii[atoms.numbers[i]] + covalent_radii[atoms.numbers[j]])
        return bool(np.all(lengths < limit))


def require_gaff_stack() -> None:
    """Import-check the gaff extra and put AmberTools (antechamber, sqm) on PATH."""
    try:
        import openff.toolkit  # noqa: F401
        import openmmforcefields.generators  # noqa: F401
        import rdkit.Chem.rdDetermineBonds  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"openmm GAFF labels need the gaff extra ({exc.name or exc} is missing): {EXTRA}"
        ) from None
    if shutil.which("antechamber") is None:
        venv_bin = os.path.join(sys.prefix, "bin")
        if not os.path.exists(os.path.join(venv_bin, "antechamber")):
            raise MissingDependencyError(f"AmberTools' antechamber is not installed (AM1-BCC charges): {EXTRA}")
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")


def _rdkit_molecule(atoms: Atoms, charge: int) -> Any:
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    lines = [str(len(atoms)), ""] + [
        f"{s} {x:.10f} {y:.10f} {z:.10f}" for s, (x, y, z) in zip(atoms.get_chemical_symbols(), atoms.positions)
    ]
    mol = Chem.MolFromXYZBlock("\n".join(lines) + "\n")
    try:
        rdDetermineBonds.DetermineBonds(mol, charge=charge)
    except Exception as exc:  # noqa: BLE001 - RDKit raises ValueError/RuntimeError variants
        raise LabelFailedError(
            f"cannot perceive bonds of {atoms.get_chemical_formula()} with charge {charge}: {exc}"
        ) from None
    return mol


def parametrise(atoms: Atoms, charge: int, forcefield: str) -> Parametrised:
    """GAFF (`forcefield`, e.g. 'gaff-2.11') + AM1-BCC System for `atoms`; raises LabelFailedError."""
    import openmm.app as app
    from openff.toolkit import Molecule
    from openff.toolkit.utils.toolkits import AmberToolsToolkitWrapper
    from openmmforcefields.generators import GAFFTemplateGenerator
    from rdkit import Chem

    rdmol = _rdkit_molecule(atoms, charge)
    smiles = Chem.MolToSmiles(Chem.RemoveHs(rdmol))
    try:
        molecule = Molecule.from_rdkit(rdmol, allow_undefined_stereo=True, hydrogens_are_explicit=True)
        molecule.assign_partial_charges("am1bcc", toolkit_registry=AmberToolsToolkitWrapper())
        generator = GAFFTemplateGenerator(molecules=[molecule], forcefield=forcefield)
        field = app.ForceField()
        field.registerTemplateGenerator(generator.generator)
        system = field.createSystem(molecule.to_topology().to_openmm(), nonbondedMethod=app.NoCutoff,
                                    constraints=None, rigidWater=False, removeCMMotion=False)
    except Exception as exc:  # noqa: BLE001 - OpenFF/AmberTools/OpenMM raise many types
        raise LabelFailedError(f"GAFF parametrisation of {smiles} failed: {exc}") from None
    bonds = np.array([(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in rdmol.GetBonds()], dtype=int)
    charges = tuple(float(q) for q in molecule.partial_charges.m_as("elementary_charge"))
    return Parametrised(system=system, bonds=bonds.reshape(-1, 2), smiles=smiles, charges=charges)
