"""labelers.cached: MD17 and file-backed labels equal the source data in eV/Å, rotation-aware."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from scipy.spatial.transform import Rotation

from labelers import NotInCacheError, SpecError, get_labeler

DATA = "labelers/data"
KCAL = units.kcal / units.mol


def _raw(name: str) -> dict:
    from importlib import resources

    with resources.files("labelers.data").joinpath(name).open("rb") as handle:
        data = np.load(handle)
        return {k: np.asarray(data[k]) for k in ("R", "z", "E", "F")}


def _rotated(atoms: Atoms, seed: int) -> tuple[Atoms, np.ndarray]:
    rotation = Rotation.random(random_state=seed).as_matrix()
    moved = Atoms(numbers=atoms.numbers, positions=atoms.positions @ rotation.T + [3.0, -1.0, 7.5])
    return moved, rotation


def test_ccsd_labels_equal_source_in_ev_including_a_rotated_query() -> None:
    raw = _raw("ethanol_ccsd_t-train.npz")
    labeler = get_labeler("md17:ethanol/CCSD(T)")
    assert labeler.spec == "md17:ethanol/ccsd(t)"
    assert labeler.fidelity.method == "CCSD(T)"
    for index in (0, 17, 999):
        query = Atoms(numbers=raw["z"], positions=raw["R"][index])
        label = labeler.label(query)
        assert label.energy == pytest.approx(raw["E"][index, 0] * KCAL, abs=1e-9)
        assert np.allclose(label.forces, raw["F"][index] * KCAL, atol=1e-10)
        moved, rotation = _rotated(query, index)
        turned = labeler.label(moved)
        assert turned.energy == pytest.approx(label.energy, abs=1e-9)
        assert np.allclose(turned.forces, raw["F"][index] @ rotation.T * KCAL, atol=1e-8)
        assert not np.allclose(turned.forces, label.forces, atol=1e-3)  # really rotated


def test_dft_set_and_costs() -> None:
    raw = _raw("md17_ethanol_first2000.npz")
    dft, ccsd = get_labeler("md17:ethanol/dft"), get_labeler("md17:ethanol/ccsd(t)")
    label = dft.label(Atoms(numbers=raw["z"], positions=raw["R"][5]))
    assert label.energy == pytest.approx(raw["E"][5, 0] * KCAL, abs=1e-9)
    assert np.allclose(label.forces, raw["F"][5] * KCAL, atol=1e-10)
    atoms = dft.frames()[0]
    assert ccsd.cost(atoms) / dft.cost(atoms) == pytest.approx(40.0)
    assert len(dft.frames()) == 3997 and len(ccsd.frames()) == 1000
    assert label.seconds == dft.cost(atoms)


def test_unknown_geometry_and_wrong_molecule() -> None:
    labeler = get_labeler("md17:ethanol/dft")
    atoms = labeler.frames()[3]
    atoms.positions[0, 0] += 0.05
    with pytest.raises(NotInCacheError):
        labeler.label(atoms)
    with pytest.raises(NotInCacheError, match="C2H6O"):
        labeler.label(Atoms("H2O", positions=np.eye(3)))
    mirrored = labeler.frames()[3]
    mirrored.positions[:, 0] *= -1  # same distances, not a rotation: forces would be wrong
    with pytest.raises(NotInCacheError, match="mirror"):
        labeler.label(mirrored)
    with pytest.raises(SpecError):
        get_labeler("md17:benzene/dft")


def test_file_labelers_extxyz_npz_db(tmp_path) -> None:
    raw = _raw("ethanol_ccsd_t-train.npz")
    frames = []
    for i in range(4):
        atoms = Atoms(numbers=raw["z"], positions=raw["R"][i])
        atoms.calc = SinglePointCalculator(atoms, energy=raw["E"][i, 0] * KCAL, forces=raw["F"][i] * KCAL)
        frames.append(atoms)
    write(tmp_path / "l.extxyz", frames)
    np.savez(tmp_path / "l.npz", R=raw["R"][:4], z=raw["z"], E=raw["E"][:4], F=raw["F"][:4])
    from ase.db import connect

    with connect(str(tmp_path / "l.db")) as db:
        for atoms in frames:
            db.write(atoms)
    query, rotation = _rotated(Atoms(numbers=raw["z"], positions=raw["R"][2]), 7)
    for name in ("l.extxyz", "l.npz", "l.db"):
        labeler = get_labeler(f"cached:{tmp_path / name}?cost=12")
        label = labeler.label(query)
        assert label.energy == pytest.approx(raw["E"][2, 0] * KCAL, abs=1e-6), name
        assert np.allclose(label.forces, raw["F"][2] @ rotation.T * KCAL, atol=1e-5), name
        assert labeler.cost(query) == 12.0 and len(labeler.frames()) == 4


@pytest.mark.parametrize("rest", ["/no/such/file.extxyz", "{tmp}/bad.npz", "{tmp}/l.extxyz?cost=-1", "{tmp}/l.extxyz?speed=2"])
def test_bad_file_specs(tmp_path, rest: str) -> None:
    np.savez(tmp_path / "bad.npz", R=np.zeros((1, 2, 3)))
    write(tmp_path / "l.extxyz", Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]))
    with pytest.raises(SpecError):
        get_labeler("cached:" + rest.format(tmp=tmp_path)).label(Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]))
