"""pyscf: labels equal direct PySCF calls, analytic forces = -dE/dx, typed failures, memory refusal."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.units import Bohr, Hartree
from labeler_checks import fd_forces, water
from pyscf import cc, dft, gto, scf
from pyscf.cc import ccsd_t_lambda
from pyscf.grad import ccsd_t as ccsd_t_grad

from labelers import (
    ConvergenceError,
    LabelFailedError,
    MissingDependencyError,
    ResourceError,
    SpecError,
    get_labeler,
)

TIGHT = ";conv_tol=1e-11;cc_conv_tol=1e-9"
COMPONENTS = [(0, 2), (1, 1)]  # a few components keep the finite differences cheap


def _pyscf_mol(atoms: Atoms, basis: str) -> gto.Mole:
    return gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                 basis=basis, verbose=0)


def _picked(forces: np.ndarray) -> np.ndarray:
    return np.array([forces[a, x] for a, x in COMPONENTS])


@pytest.fixture(autouse=True)
def _own_calibration(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTEROID_CALIBRATION", str(tmp_path / "calibration.json"))


def test_ccsd_t_equals_direct_pyscf_calls() -> None:
    atoms = water()
    label = get_labeler("pyscf:ccsd(t)/sto-3g").label(atoms)
    mf = scf.RHF(_pyscf_mol(atoms, "sto-3g"))
    mf.conv_tol = 1e-9
    mf.kernel()
    mycc = cc.CCSD(mf)
    mycc.conv_tol, mycc.conv_tol_normt = 1e-7, 1e-5
    mycc.kernel()
    eris = mycc.ao2mo()
    energy = mycc.e_tot + mycc.ccsd_t(eris=eris)
    _, l1, l2 = ccsd_t_lambda.kernel(mycc, eris, mycc.t1, mycc.t2, tol=1e-5, verbose=0)
    gradient = ccsd_t_grad.Gradients(mycc).kernel(mycc.t1, mycc.t2, l1, l2, eris=eris)
    assert label.energy == pytest.approx(energy * Hartree, abs=1e-7)
    np.testing.assert_allclose(label.forces, -gradient * Hartree / Bohr, atol=1e-6)
    assert label.meta["converged"] == {"scf": True, "ccsd": True, "lambda": True}
    assert label.meta["pyscf"] and label.meta["nao"] == 7 and label.spec == "pyscf:ccsd(t)/sto-3g"


def test_ccsd_t_forces_match_finite_differences() -> None:
    atoms = water()
    forces = get_labeler("pyscf:ccsd(t)/sto-3g" + TIGHT).label(atoms).forces
    energy_only = get_labeler("pyscf:ccsd(t)/sto-3g;forces=false" + TIGHT)
    expected = fd_forces(lambda a: energy_only.label(a).energy, atoms, COMPONENTS)
    np.testing.assert_allclose(_picked(forces), expected, atol=2e-4)  # eV/Å


def test_frozen_core_ccsd_t_forces_match_finite_differences() -> None:
    atoms = water()
    full = get_labeler("pyscf:ccsd(t)/6-31g" + TIGHT).label(atoms)
    frozen = get_labeler("pyscf:ccsd(t)/6-31g;frozen=core" + TIGHT).label(atoms)
    assert frozen.energy > full.energy + 1e-3  # the O 1s correlation is missing
    energy_only = get_labeler("pyscf:ccsd(t)/6-31g;frozen=core;forces=false" + TIGHT)
    expected = fd_forces(lambda a: energy_only.label(a).energy, atoms, COMPONENTS[:1])
    np.testing.assert_allclose(frozen.forces[0, 2], expected[0], atol=2e-4)


def test_pbe_equals_direct_pyscf_and_finite_differences() -> None:
    atoms = water()
    label = get_labeler("pyscf:pbe/def2-svp;grid=4").label(atoms)
    mf = dft.RKS(_pyscf_mol(atoms, "def2-svp"))
    mf.xc, mf.grids.level, mf.conv_tol = "pbe", 4, 1e-9
    mf.kernel()
    assert label.energy == pytest.approx(mf.e_tot * Hartree, abs=1e-6)
    np.testing.assert_allclose(label.forces, -mf.nuc_grad_method().kernel() * Hartree / Bohr, atol=1e-5)
    energy_only = get_labeler("pyscf:pbe/def2-svp;grid=4;forces=false")
    expected = fd_forces(lambda a: energy_only.label(a).energy, atoms, COMPONENTS[:1])
    np.testing.assert_allclose(label.forces[0, 2], expected[0], atol=1e-3)  # no grid response


@pytest.mark.parametrize("method", ["mp2", "ccsd", "hf"])
def test_other_methods_forces_match_finite_differences(method: str) -> None:
    atoms = water()
    forces = get_labeler(f"pyscf:{method}/6-31g" + TIGHT).label(atoms).forces
    energy_only = get_labeler(f"pyscf:{method}/6-31g;forces=false" + TIGHT)
    expected = fd_forces(lambda a: energy_only.label(a).energy, atoms, COMPONENTS[1:])
    np.testing.assert_allclose(forces[1, 1], expected[0], atol=2e-4)


def test_energy_only_label_is_same_energy_and_declared_cheaper() -> None:
    from ase.build import molecule

    atoms = water()
    both = get_labeler("pyscf:ccsd(t)/sto-3g").label(atoms)
    labeler = get_labeler("pyscf:CCSD(T)/STO-3G;Forces=False")
    energy = labeler.label(atoms)
    assert labeler.spec == "pyscf:ccsd(t)/sto-3g;forces=false" and not labeler.fidelity.forces
    assert (labeler.fidelity.method, labeler.fidelity.family) == ("CCSD(T)", "coupled-cluster")
    assert energy.forces is None and energy.energy == pytest.approx(both.energy, abs=1e-8)
    ethanol = molecule("CH3CH2OH")
    with_forces = get_labeler("pyscf:ccsd(t)/cc-pvdz").cost(ethanol)
    assert with_forces == pytest.approx(576.0)  # benchmarks/results/costs.md, run 8, N = 72
    assert get_labeler("pyscf:ccsd(t)/cc-pvdz;forces=false").cost(ethanol) == pytest.approx(15.1)  # benchmarks/results/costs.md
    assert get_labeler("pyscf:ccsd(t)/cc-pvtz").cost(ethanol) > 20 * with_forces  # N^7 beyond
    assert get_labeler("pyscf:pbe/def2-svp").cost(ethanol) == pytest.approx(10.1)  # benchmarks/results/costs.md
    sto3g = get_labeler("pyscf:ccsd(t)/sto-3g;forces=false")
    occupied_ref = 9 * 7 / 48  # the cc-pVDZ anchors' occupied orbitals per function, at water's N = 7
    orbitals = (5 / occupied_ref) ** 3 * (2 / (7 - occupied_ref)) ** 4  # water/STO-3G: 5 occupied, 2 virtual
    assert sto3g.cost(water()) == pytest.approx(1.40 * (7 / 48) ** 3 * orbitals)  # below the anchors: N^3


def test_charge_and_spin_from_atoms_info() -> None:
    atoms = water()
    neutral = get_labeler("pyscf:hf/sto-3g").label(atoms)
    atoms.info.update(charge=1, spin=1)
    cation = get_labeler("pyscf:hf/sto-3g").label(atoms)
    assert (cation.meta["charge"], cation.meta["spin"]) == (1, 1)
    assert cation.energy - neutral.energy > 5.0  # a Koopmans-size ionisation energy, eV
    with pytest.raises(SpecError, match="open-shell"):
        get_labeler("pyscf:ccsd(t)/sto-3g").label(atoms)


def test_open_shell_ccsd_forces_match_finite_differences() -> None:
    cation = water()
    cation.info.update(charge=1, spin=1)
    forces = get_labeler("pyscf:ccsd/6-31g" + TIGHT).label(cation).forces
    energy_only = get_labeler("pyscf:ccsd/6-31g;forces=false" + TIGHT)
    expected = fd_forces(lambda a: energy_only.label(a).energy, cation, COMPONENTS[:1])
    np.testing.assert_allclose(forces[0, 2], expected[0], atol=2e-4)


def test_unconverged_scf_is_rescued_then_fails_typed() -> None:
    reference = get_labeler("pyscf:hf/sto-3g").label(water())
    rescued = get_labeler("pyscf:hf/sto-3g;max_cycle=3").label(water())
    assert rescued.meta["scf_solver"] == "newton"
    assert rescued.energy == pytest.approx(reference.energy, abs=1e-7)
    with pytest.raises(ConvergenceError, match="SCF did not converge"):
        get_labeler("pyscf:pbe/sto-3g;max_cycle=1").label(water())


def test_memory_is_refused_up_front() -> None:
    with pytest.raises(ResourceError, match="MB of memory"):
        get_labeler("pyscf:ccsd(t)/cc-pvdz;max_memory=50").label(water())
    alkane = Atoms("C20H42", positions=np.arange(62 * 3, dtype=float).reshape(62, 3))
    labeler = get_labeler("pyscf:ccsd(t)/cc-pvtz")
    assert labeler.memory_mb(alkane) > 1e5  # o^2 v^2 amplitudes alone are hundreds of GB
    with pytest.raises(ResourceError):
        labeler.label(alkane)


def test_typed_spec_failures() -> None:
    with pytest.raises(SpecError, match="unknown pyscf method"):
        get_labeler("pyscf:foo/sto-3g")
    with pytest.raises(SpecError, match="unknown basis"):
        get_labeler("pyscf:pbe/no-such-basis")
    with pytest.raises(SpecError, match="METHOD/BASIS"):
        get_labeler("pyscf:pbe")
    with pytest.raises(SpecError, match="density fitting"):
        get_labeler("pyscf:ccsd(t)/cc-pvdz;df=true")
    with pytest.raises(SpecError, match="correlated"):
        get_labeler("pyscf:pbe/sto-3g;frozen=core")
    with pytest.raises(SpecError, match="not supported"):
        get_labeler("pyscf:wb97x-d/def2-svp")
    with pytest.raises(MissingDependencyError, match="pip install pyscf-dispersion"):
        get_labeler("pyscf:b3lyp-d3bj/def2-svp")
    with pytest.raises(LabelFailedError, match="no functions for U"):
        get_labeler("pyscf:hf/sto-3g").label(Atoms("U", positions=[[0, 0, 0]]))


def test_canonical_spec_drops_defaults_and_sorts_options() -> None:
    labeler = get_labeler("pyscf:PBE/Def2-SVP;Grid=3;DF=True;threads=1;conv_tol=1e-10")
    assert labeler.spec == "pyscf:pbe/def2-svp;conv_tol=1e-10;df=true"
