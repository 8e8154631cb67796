"""One molecule's starting geometry from what a user types: a SMILES, an xyz/extxyz file, or the
name of an embedded data set.

`load_molecule("CCO")` embeds a SMILES with RDKit (explicit hydrogens, ETKDG with a fixed seed, a
short MMFF94 relaxation, UFF where MMFF has no parameters); `load_molecule("mol.xyz")` reads the
first frame of a file with ASE; `load_molecule("ethanol")` returns frame 0 of the embedded MD17
ethanol set (the MD start geometry). Positions are Å. Anything else raises `MoleculeError`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from acquire.errors import AcquireError

BOND_SCALE = 1.25  # atoms closer than this × the sum of their covalent radii are bonded
EMBED_SEED = 20230723  # fixed ETKDG seed: the same SMILES always gives the same geometry
RELAX_STEPS = 500  # force-field relaxation iterations: a quick clean-up, not a real optimisation
FILE_SUFFIXES = (".xyz", ".extxyz")
# embedded name -> (molecule, level) of labelers.datasets.load_md17
EMBEDDED = {"ethanol": ("ethanol", "dft"), "md17:ethanol": ("ethanol", "dft")}


class MoleculeError(AcquireError):
    """A molecule given as text that is neither a SMILES, a readable xyz file, nor an embedded name."""


def bond_mask(numbers: np.ndarray, distances: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
              scale: float = BOND_SCALE) -> np.ndarray:
    """Which atom pairs (`pairs`: index arrays i, j; `distances` in Å) are bonded: closer than
    `scale` × the sum of their covalent radii."""
    from ase.data import covalent_radii

    radii = covalent_radii[np.asarray(numbers)]
    return distances < scale * (radii[pairs[0]] + radii[pairs[1]])


def bonded_pairs(numbers: np.ndarray, positions: np.ndarray, scale: float = BOND_SCALE) -> list[tuple[int, int]]:
    """The bonded atom pairs (i, j), i < j, of one geometry (positions in Å)."""
    i, j = np.triu_indices(len(numbers), k=1)
    distances = np.linalg.norm(np.asarray(positions)[i] - np.asarray(positions)[j], axis=1)
    bonded = bond_mask(numbers, distances, (i, j), scale)
    return [(int(a), int(b)) for a, b in zip(i[bonded], j[bonded])]


def load_molecule(text: str) -> Atoms:
    """A starting geometry (Å) from a SMILES, a structure file ASE reads (xyz, extxyz, sdf, mol, ...;
    first frame) or an embedded name."""
    if not isinstance(text, str) or not text.strip():
        raise MoleculeError("no molecule given: pass a SMILES (e.g. 'CCO'), an .xyz/.extxyz file or 'ethanol'")
    text = text.strip()
    if text.lower() in EMBEDDED:
        return _from_embedded(text.lower())
    path = Path(text).expanduser()
    if path.is_file():
        return _from_file(path)[0]
    if text.lower().endswith(FILE_SUFFIXES) or "/" in text or "\\" in text:
        raise MoleculeError(f"molecule file not found: {text}")
    return _from_smiles(text)


def _from_embedded(name: str) -> Atoms:
    from labelers.datasets import load_md17

    molecule, level = EMBEDDED[name]
    data = load_md17(molecule, level)
    atoms = Atoms(numbers=data.numbers, positions=np.array(data.positions[0]))
    atoms.info["source"] = f"{data.name} frame 0"
    return atoms


def load_frames(text: str) -> list[Atoms]:
    """Every frame of an xyz/extxyz path (Å, labels dropped), or `load_molecule`'s one geometry."""
    path = Path(text.strip()).expanduser() if isinstance(text, str) and text.strip() else None
    if path is not None and path.is_file():
        return _from_file(path, every=True)
    return [load_molecule(text)]


def _from_file(path: Path, every: bool = False) -> list[Atoms]:
    """The first frame of a file (every frame with `every`), labels dropped."""
    from ase.io import read

    try:
        frames = read(str(path), index=":" if every else slice(0, 1))
    except Exception as exc:  # ASE raises many types for a malformed or unknown file
        raise MoleculeError(f"cannot read a molecule from {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if not frames or not all(len(atoms) for atoms in frames):
        raise MoleculeError(f"{path} holds no atoms")
    clean = []
    for i, atoms in enumerate(frames):
        atoms = Atoms(numbers=atoms.numbers, positions=atoms.positions)  # drop calculators/labels
        atoms.info["source"] = f"{path} frame {i}"
        clean.append(atoms)
    return clean


def _from_smiles(smiles: str) -> Atoms:
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem

    RDLogger.DisableLog("rdApp.*")  # RDKit prints parse errors itself; we raise one line instead
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise MoleculeError(
            f"{smiles!r} is not a valid SMILES, an existing .xyz/.extxyz file, or an embedded name "
            f"({', '.join(sorted(EMBEDDED))})"
        )
    charge = Chem.GetFormalCharge(mol)
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = EMBED_SEED
    if AllChem.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise MoleculeError(f"RDKit could not embed a 3D geometry for SMILES {smiles!r}")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=RELAX_STEPS)
    elif AllChem.UFFHasAllMoleculeParams(mol):
        AllChem.UFFOptimizeMolecule(mol, maxIters=RELAX_STEPS)
    positions = mol.GetConformer().GetPositions()
    atoms = Atoms(numbers=[a.GetAtomicNum() for a in mol.GetAtoms()], positions=positions)
    atoms.info["source"] = f"smiles {smiles} (RDKit ETKDG seed {EMBED_SEED}, MMFF/UFF relaxed)"
    atoms.info["smiles"] = smiles
    atoms.info["charge"] = charge  # formal charge for labelers that need it (0 for neutral molecules)
    return atoms
