"""cached:FILE reads the files users have, in eV and eV/Å: MACE-style extxyz (REF_ keys, named
keys), rMD17 npz, sGDML npz with its units, ASE db, and several molecules in one file."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms, units
from ase.io import write

from labelers import SpecError, get_labeler
from labelers.datasets import load_md17

KCAL = units.kcal / units.mol


@pytest.fixture(scope="module")
def ethanol():
    data = load_md17("ethanol", "ccsd(t)")
    return data.positions[:3], data.numbers, data.energies[:3], data.forces[:3]  # Å, eV, eV/Å


def _water(shift: float) -> Atoms:
    return Atoms("OH2", positions=[[0, 0, 0], [0.96 + shift, 0, 0], [-0.24, 0.93, 0]])


def _check(labeler, positions, numbers, energies, forces) -> None:
    for i in range(len(energies)):
        label = labeler.label(Atoms(numbers=numbers, positions=positions[i]))
        assert label.energy == pytest.approx(energies[i], abs=1e-6)
        np.testing.assert_allclose(label.forces, forces[i], atol=1e-6)


def test_mace_style_extxyz_with_ref_keys_and_named_keys(tmp_path, ethanol) -> None:
    positions, numbers, energies, forces = ethanol
    images = []
    for i in range(3):
        atoms = Atoms(numbers=numbers, positions=positions[i])
        atoms.info.update(REF_energy=energies[i], DFT_energy=energies[i] + 1.0, config_type="ccsd")
        atoms.arrays.update(REF_forces=forces[i], DFT_forces=forces[i] * 2)
        images.append(atoms)
    write(tmp_path / "mace.extxyz", images)
    _check(get_labeler(f"cached:{tmp_path / 'mace.extxyz'}"), positions, numbers, energies, forces)
    named = get_labeler(f"cached:{tmp_path / 'mace.extxyz'}?energy_key=DFT_energy&forces_key=DFT_forces&cost=3")
    assert "energy_key=DFT_energy" in named.spec and named.cost(images[0]) == 3.0
    _check(named, positions, numbers, energies + 1.0, forces * 2)
    with pytest.raises(SpecError, match="no 'nope'"):
        get_labeler(f"cached:{tmp_path / 'mace.extxyz'}?energy_key=nope")


def test_rmd17_npz_is_read_in_kcal_per_mol(tmp_path, ethanol) -> None:
    positions, numbers, energies, forces = ethanol
    np.savez(tmp_path / "rmd17_ethanol.npz", nuclear_charges=numbers, coords=positions,
             energies=energies / KCAL, forces=forces / KCAL, old_indices=np.arange(3))
    _check(get_labeler(f"cached:{tmp_path / 'rmd17_ethanol.npz'}"), positions, numbers, energies, forces)


@pytest.mark.parametrize("r_unit, e_unit, length, energy", [
    ("bohr", "Ha", units.Bohr, units.Hartree), ("Ang", "eV", 1.0, 1.0), ("Ang", "kJ/mol", 1.0, units.kJ / units.mol),
    (None, None, 1.0, KCAL)])
def test_sgdml_npz_honours_its_units(tmp_path, ethanol, r_unit, e_unit, length, energy) -> None:
    positions, numbers, energies, forces = ethanol
    extra = {} if r_unit is None else {"r_unit": np.array(r_unit), "e_unit": np.array(e_unit)}
    np.savez(tmp_path / "s.npz", R=positions / length, z=numbers, E=(energies / energy)[:, None],
             F=forces / (energy / length), **extra)
    _check(get_labeler(f"cached:{tmp_path / 's.npz'}"), positions, numbers, energies, forces)


def test_unknown_sgdml_unit_is_refused(tmp_path, ethanol) -> None:
    positions, numbers, energies, forces = ethanol
    np.savez(tmp_path / "s.npz", R=positions, z=numbers, E=energies, F=forces, e_unit=np.array("furlongs"))
    with pytest.raises(SpecError, match="furlongs"):
        get_labeler(f"cached:{tmp_path / 's.npz'}")


def test_several_molecules_in_one_extxyz_and_db(tmp_path, ethanol) -> None:
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.db import connect

    positions, numbers, energies, forces = ethanol
    images = []
    for i in range(2):
        images.append(Atoms(numbers=numbers, positions=positions[i]))
        images[-1].calc = SinglePointCalculator(images[-1], energy=energies[i], forces=forces[i])
        water = _water(0.05 * i)
        water.calc = SinglePointCalculator(water, energy=-2000.0 - i, forces=np.full((3, 3), 0.1 * (i + 1)))
        images.append(water)
    write(tmp_path / "mixed.extxyz", images)
    with connect(str(tmp_path / "mixed.db")) as db:
        for atoms in images:
            db.write(atoms)
    for name in ("mixed.extxyz", "mixed.db"):
        labeler = get_labeler(f"cached:{tmp_path / name}")
        assert len(labeler) == 4 and len(labeler.groups) == 2
        assert sorted(len(a) for a in labeler.frames()) == [3, 3, 9, 9]
        _check(labeler, positions[:2], numbers, energies[:2], forces[:2])
        label = labeler.label(_water(0.05))
        assert label.energy == pytest.approx(-2001.0) and np.allclose(label.forces, 0.2)
        assert labeler.find(_water(0.05)) == 3


def test_training_from_a_file_of_several_molecules_is_refused_in_one_line(tmp_path, ethanol, capsys) -> None:
    from ase.calculators.singlepoint import SinglePointCalculator

    from acquire.cli.main import main

    positions, numbers, energies, forces = ethanol
    images = [Atoms(numbers=numbers, positions=positions[0]), _water(0.0)]
    for atoms, (energy, force) in zip(images, [(energies[0], forces[0]), (-2000.0, np.zeros((3, 3)))]):
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=force)
    write(tmp_path / "mixed.extxyz", images)
    code = main(["train", "--accurate", f"cached:{tmp_path / 'mixed.extxyz'}", "--method", "standard",
                 "--preset", "tiny", "--out", str(tmp_path / "run")])
    assert code == 2
    assert "2 molecules" in capsys.readouterr().err
