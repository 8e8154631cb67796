"""pyscf:lno-ccsd(t): LNO-CCSD(T) energies against canonical CCSD(T) on water, and its spec rules."""
from __future__ import annotations

import pytest
from ase.units import kcal, mol
from labeler_checks import water

from labelers import SpecError, get_labeler

pytest.importorskip("pyscf.lno", reason="pyscf-forge is built by `make venv`")

KCAL_MOL = kcal / mol  # eV


@pytest.fixture(autouse=True)
def _own_calibration(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTEROID_CALIBRATION", str(tmp_path / "calibration.json"))


def _stretched(atoms, by: float):
    out = atoms.copy()
    out.set_distance(0, 1, out.get_distance(0, 1) + by, fix=0)
    return out


def test_lno_ccsd_t_reaches_canonical_ccsd_t_on_water() -> None:
    frames = [water(), _stretched(water(), 0.08), _stretched(water(), -0.05)]
    exact = get_labeler("pyscf:lno-ccsd(t)/cc-pvdz;thresh=1e-10")  # no truncation: DF-CCSD(T) itself
    default = get_labeler("pyscf:lno-ccsd(t)/cc-pvdz")
    df_canonical = get_labeler("pyscf:ccsd(t)/cc-pvdz;forces=false;df=true")
    canonical = get_labeler("pyscf:ccsd(t)/cc-pvdz;forces=false")
    e = {lab.spec: [lab.label(f).energy for f in frames] for lab in (exact, default, df_canonical, canonical)}
    assert all(lab_e is not None for row in e.values() for lab_e in row)
    for got, ref in zip(e[exact.spec], e[df_canonical.spec]):
        assert abs(got - ref) < 1e-4  # eV: the same method, untruncated
    relative = {spec: [x - row[0] for x in row[1:]] for spec, row in e.items()}
    for got, ref in zip(relative[default.spec], relative[canonical.spec]):
        assert abs(got - ref) < 0.05 * KCAL_MOL  # default truncation + density fitting
    label = default.label(frames[0])
    assert label.forces is None and label.meta["converged"]["lno"]
    assert default.fidelity.family == "coupled-cluster" and not default.fidelity.forces


@pytest.mark.parametrize("spec, fragment", [
    ("pyscf:lno-ccsd(t)/cc-pvdz;forces=true", "no analytic gradient"),
    ("pyscf:lno-ccsd(t)/cc-pvdz;df=false", "density-fitted"),
    ("pyscf:ccsd(t)/cc-pvdz;thresh=1e-5", "LNO truncation"),
])
def test_lno_spec_rules(spec: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        get_labeler(spec)


def test_lno_spec_is_canonical_and_priced() -> None:
    lab = get_labeler("pyscf:LNO-CCSD(T)/cc-pVDZ;thresh=1e-6;df=true")
    assert lab.spec == "pyscf:lno-ccsd(t)/cc-pvdz"
    assert get_labeler("pyscf:lno-ccsd(t)/cc-pvdz;thresh=1e-5").spec == "pyscf:lno-ccsd(t)/cc-pvdz;thresh=1e-05"
    assert lab.cost(water()) > 0
