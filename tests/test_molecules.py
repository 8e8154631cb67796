"""acquire.molecules.load_molecule: SMILES, files, embedded names, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest
from ase.io import write

from acquire.errors import AcquireError
from acquire.molecules import MoleculeError, load_molecule


def test_smiles_gives_hydrogens_and_is_reproducible() -> None:
    first, second = load_molecule("CCO"), load_molecule("CCO")
    assert first.get_chemical_formula() == "C2H6O"
    assert np.array_equal(first.positions, second.positions)
    distances = first.get_all_distances()[np.triu_indices(len(first), 1)]
    assert 0.9 < distances.min() < 1.2  # X-H bonds of a relaxed geometry, no clashes


def test_file_first_frame(tmp_path) -> None:
    frames = [load_molecule("CO"), load_molecule("C")]
    path = tmp_path / "two.extxyz"
    write(path, frames)
    atoms = load_molecule(str(path))
    assert atoms.get_chemical_formula() == frames[0].get_chemical_formula()
    assert np.allclose(atoms.positions, frames[0].positions)


def test_embedded_ethanol() -> None:
    atoms = load_molecule("ethanol")
    assert list(atoms.numbers) == [6, 6, 8, 1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("text", ["", "not-a-smiles((", "missing/file.xyz", "nothere.extxyz"])
def test_bad_input_is_one_line_acquire_error(text: str) -> None:
    with pytest.raises(MoleculeError) as info:
        load_molecule(text)
    assert isinstance(info.value, AcquireError)
    assert "\n" not in str(info.value)


def test_unreadable_file(tmp_path) -> None:
    path = tmp_path / "junk.xyz"
    path.write_text("this is not\nan xyz file\n")
    with pytest.raises(MoleculeError, match="cannot read"):
        load_molecule(str(path))
