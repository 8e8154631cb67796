"""openmm:gaff-2.11: equal to a direct OpenMM evaluation, forces = -dE/dx, cached parametrisation,
typed failures (unknown force field, missing gaff extra)."""
from __future__ import annotations

import shutil
import sys

import numpy as np
import openmm
import openmm.unit as unit
import pytest
from ase import Atoms
from labeler_checks import fd_forces, methanol, water

from labelers import MissingDependencyError, SpecError, get_labeler

EV_PER_KJ_MOL = 1 / 96.48533212  # CODATA 2018: 1 eV = 96.485 kJ/mol


@pytest.fixture(scope="module")
def gaff():
    return get_labeler("openmm:gaff-2.11")


def test_label_equals_direct_openmm_evaluation(gaff) -> None:
    atoms = methanol()
    label = gaff.label(atoms)
    system = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(gaff.prepared(atoms).parametrised.system))
    context = openmm.Context(system, openmm.VerletIntegrator(1.0), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(atoms.positions * unit.angstrom)
    state = context.getState(getEnergy=True, getForces=True)
    energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) * EV_PER_KJ_MOL
    forces = state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.angstrom) * EV_PER_KJ_MOL
    assert label.energy == pytest.approx(energy, abs=1e-7)
    np.testing.assert_allclose(label.forces, forces, atol=1e-6)
    assert label.meta["smiles"] == "CO" and label.meta["platform"] == "Reference"


@pytest.mark.parametrize("make", [methanol, water])
def test_forces_are_minus_energy_gradient(gaff, make) -> None:
    atoms = make()
    components = [(0, 0), (1, 2), (2, 1)]
    expected = fd_forces(lambda a: gaff.label(a).energy, atoms, components, step=1e-4)
    got = gaff.label(atoms).forces[[c[0] for c in components], [c[1] for c in components]]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_parametrisation_is_cached_and_context_reused(gaff) -> None:
    atoms = methanol()
    first = gaff.prepared(atoms)
    moved = atoms.copy()
    moved.positions += np.random.default_rng(1).normal(scale=0.05, size=moved.positions.shape)
    assert gaff.prepared(moved) is first
    assert gaff.label(moved).seconds < 0.05  # no re-parametrisation (that takes ~1 s)
    charges = np.array(first.parametrised.charges)
    assert abs(charges.sum()) < 1e-6 and np.abs(charges).max() > 0.2  # AM1-BCC, neutral
    broken = atoms.copy()
    broken.positions[1] += [4.0, 0.0, 0.0]  # pull the O away from the C: the C-O bond is gone
    assert not first.parametrised.bonds_intact(broken)


def test_charged_molecule_from_atoms_info(gaff) -> None:
    ammonium = Atoms("NH4", positions=[[0, 0, 0], [0.6, 0.6, 0.6], [-0.6, -0.6, 0.6],
                                       [-0.6, 0.6, -0.6], [0.6, -0.6, -0.6]], info={"charge": 1})
    label = gaff.label(ammonium)
    assert sum(gaff.prepared(ammonium).parametrised.charges) == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(label.energy)


def test_declared_cost_and_spec(gaff, tmp_path, monkeypatch) -> None:
    from ase.build import molecule

    monkeypatch.setenv("ASTEROID_CALIBRATION", str(tmp_path / "calibration.json"))
    assert gaff.spec == "openmm:gaff-2.11"
    cost = gaff.cost(molecule("CH3CH2OH"))  # between the 4- and 15-atom anchors of costs.md
    assert 0.050e-3 < cost < 0.056e-3 and gaff.cost_estimate(molecule("CH3CH2OH")).origin == "declared"
    assert get_labeler("openmm:GAFF-2.11;platform=cpu").spec == "openmm:gaff-2.11;platform=cpu"


def test_typed_failures(monkeypatch) -> None:
    with pytest.raises(SpecError, match="unknown openmm force field"):
        get_labeler("openmm:amber99")
    with pytest.raises(SpecError, match="unknown openmm platform"):
        get_labeler("openmm:gaff-2.11;platform=cuda-please")
    monkeypatch.setitem(sys.modules, "openmmforcefields.generators", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'asteroid-ff\[gaff\]'"):
        get_labeler("openmm:gaff-2.11")


def test_antechamber_found_in_the_venv_without_path(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    get_labeler("openmm:gaff-2.11")
    assert shutil.which("antechamber") is not None
