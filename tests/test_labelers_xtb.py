"""xtb:gfn2 / xtb:gfn1 through tblite: equal to direct tblite calls, forces = -dE/dx, typed failures."""
from __future__ import annotations

import numpy as np
import pytest
from ase.units import Bohr, Hartree
from labeler_checks import fd_forces, methanol, water
from tblite.interface import Calculator

from labelers import ConvergenceError, LabelFailedError, SpecError, get_labeler


@pytest.mark.parametrize("method, name", [("gfn2", "GFN2-xTB"), ("gfn1", "GFN1-xTB")])
def test_label_equals_direct_tblite_call(method: str, name: str) -> None:
    atoms = methanol()
    label = get_labeler(f"xtb:{method}").label(atoms)
    calc = Calculator(name, atoms.numbers, atoms.positions / Bohr)
    calc.set("verbosity", 0)
    result = calc.singlepoint()
    assert label.energy == pytest.approx(result.get("energy") * Hartree, abs=1e-8)
    np.testing.assert_allclose(label.forces, -result.get("gradient") * Hartree / Bohr, atol=1e-7)
    assert label.spec == f"xtb:{method}" and label.seconds > 0


def test_forces_are_minus_energy_gradient() -> None:
    labeler = get_labeler("xtb:gfn2;accuracy=0.01")
    atoms = methanol()
    components = [(0, 0), (1, 2), (4, 1)]
    expected = fd_forces(lambda a: labeler.label(a).energy, atoms, components, step=1e-3)
    got = labeler.label(atoms).forces[[c[0] for c in components], [c[1] for c in components]]
    np.testing.assert_allclose(got, expected, atol=2e-4)  # eV/Å


def test_charge_and_spin_from_atoms_info() -> None:
    atoms = water()
    neutral = get_labeler("xtb:gfn2").label(atoms)
    atoms.info.update(charge=1, spin=1)
    cation = get_labeler("xtb:gfn2").label(atoms)
    assert cation.meta["charge"] == 1 and cation.meta["spin"] == 1
    assert cation.energy - neutral.energy > 5.0  # an ionisation energy, eV


def test_canonical_spec_and_options() -> None:
    labeler = get_labeler("xtb:GFN2-xTB;Max-Iter=250;etemp=1000")
    assert labeler.spec == "xtb:gfn2;etemp=1000"


def test_typed_failures() -> None:
    with pytest.raises(SpecError, match="unknown xtb method"):
        get_labeler("xtb:gfn7")
    with pytest.raises(SpecError, match="unknown xtb option"):
        get_labeler("xtb:gfn2;basis=sto-3g")
    with pytest.raises(ConvergenceError, match="not converged"):
        get_labeler("xtb:gfn2;max_iter=1").label(methanol())
    odd = water()
    odd.info["spin"] = 1  # 10 electrons cannot have one unpaired
    with pytest.raises(LabelFailedError, match="impossible"):
        get_labeler("xtb:gfn2").label(odd)


def test_declared_cost_scales_with_atoms(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ASTEROID_CALIBRATION", str(tmp_path / "calibration.json"))
    from ase.build import molecule

    labeler = get_labeler("xtb:gfn2")
    ethanol = molecule("CH3CH2OH")
    assert labeler.cost(ethanol) == pytest.approx(0.996e-3)  # benchmarks/results/costs.md
    pair = ethanol + ethanol.copy()
    pair.positions[9:] += 10.0
    assert labeler.cost(pair) == pytest.approx(1.69e-3 * (18 / 12) ** 2)  # N^2 beyond the measured sizes
