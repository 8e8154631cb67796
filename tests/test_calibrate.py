"""Calibration: measured per-label costs are stored in the user's table and used by cost();
`acquire calibrate` prints seconds and ratios and stores them."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from ase.build import molecule
from labeler_checks import water

from acquire.cli.main import main
from labelers import get_labeler
from labelers.calibration import CalibrationError, load, lookup, measure, store, user_table_path


@pytest.fixture()
def table(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("ASTEROID_CALIBRATION", str(path))
    return path


def test_user_table_path_follows_environment(table) -> None:
    assert user_table_path() == table


def test_measured_cost_is_stored_and_used(table) -> None:
    labeler = get_labeler("xtb:gfn2")
    atoms = water()
    declared = labeler.cost(atoms)
    entry = measure(labeler, atoms, min_repeats=3, min_seconds=0.2)
    assert entry.repeats >= 3 and entry.warmup == 1 and entry.size == 3 and entry.formula == "H2O"
    assert sum(entry.meta["warmup_seconds"]) > 0
    assert entry.meta["timed_seconds"] >= 0.2 or entry.repeats == 5000  # the count cap binds on a fast machine
    assert entry.seconds_min <= entry.seconds <= entry.seconds_max and entry.seconds_mad >= 0
    assert entry.threads == 1 and entry.versions["tblite"] and entry.host
    store(entry, table)
    assert lookup("xtb:gfn2", "H2O") == entry
    assert labeler.cost(atoms) == pytest.approx(entry.seconds)
    assert labeler.cost_estimate(atoms).origin == "calibrated"
    assert entry.seconds != pytest.approx(declared, rel=1e-3)
    ethanol = molecule("CH3CH2OH")  # 9 atoms: carried over from the 3-atom measurement by the declared law
    law = labeler.cost_law()
    scaled = labeler.cost_estimate(ethanol)
    assert scaled.origin == "scaled" and scaled.source == entry
    assert scaled.seconds == pytest.approx(entry.seconds * law.seconds(9) / law.seconds(3))
    assert "scaled by the declared law from H2O" in scaled.describe()
    other = get_labeler("xtb:gfn1")  # a spec without a calibration keeps its declared law
    assert other.cost(ethanol) == pytest.approx(other.cost_law().seconds(9))
    assert other.cost_estimate(ethanol).origin == "declared"


def test_pyscf_calibration_in_basis_functions(table) -> None:
    labeler = get_labeler("pyscf:hf/sto-3g;forces=false")
    entry = measure(labeler, water(), min_repeats=2, min_seconds=0)
    assert entry.size == 7 and entry.repeats == 2  # STO-3G water: O 1s2s2p + 2 H 1s
    store(entry, table)
    assert labeler.cost(water()) == pytest.approx(entry.seconds)
    stored = json.loads(table.read_text())
    assert stored["entries"][0]["spec"] == "pyscf:hf/sto-3g;forces=false"


def test_store_replaces_same_key_only(table) -> None:
    labeler = get_labeler("xtb:gfn2")
    first = measure(labeler, water(), min_repeats=1, min_seconds=0)
    second = measure(labeler, water(), min_repeats=2, min_seconds=0, seed=1)
    store(first, table)
    store(second, table)
    assert [e.repeats for e in load(table)] == [2]
    store(dataclasses.replace(first, threads=2), table)  # threads per label are part of the key
    assert sorted(e.threads for e in load(table)) == [1, 2]
    assert lookup("xtb:gfn2", "H2O", threads=2).repeats == 1


def test_unreadable_table_is_a_typed_error(table) -> None:
    table.write_text("{not json")
    with pytest.raises(CalibrationError, match="unreadable"):
        get_labeler("xtb:gfn2").cost(water())


def test_cli_prints_seconds_and_ratio_and_stores(table, capsys) -> None:
    code = main(["calibrate", "--molecule", "O", "--labeler", "xtb:gfn2", "--labeler", "openmm:gaff-2.11",
                 "--repeats", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ratio xtb:gfn2 ÷ openmm:gaff-2.11 = " in out and "CPU-core seconds" in out
    assert {e.spec for e in load(table)} == {"xtb:gfn2", "openmm:gaff-2.11"}
    assert main(["calibrate", "--molecule", "O", "--labeler", "xtb:GFN2", "--repeats", "2", "--min-seconds", "0.3",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["formula"] == "H2O" and report["labelers"][0]["spec"] == "xtb:gfn2"
    row = report["labelers"][0]
    assert row["seconds"] > 0 and report["ratios"] == [] and row["warmup"] == 1
    assert row["repeats"] > 2  # a ~1 ms label repeats until 0.3 s of CPU time are timed, not just twice


def test_cli_bad_input_is_one_line_and_exit_2(table, capsys) -> None:
    assert main(["calibrate", "--molecule", "O", "--labeler", "pyscf:foo/sto-3g"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown pyscf method" in err
    assert main(["calibrate", "--molecule", "O", "--labeler", "xtb:gfn2", "--repeats", "0"]) == 2
    assert not table.exists()


def test_user_table_wins_over_package_table(table, tmp_path, monkeypatch) -> None:
    from labelers import calibration

    package = tmp_path / "package.json"
    monkeypatch.setattr(calibration, "PACKAGE_TABLE", package)
    labeler = get_labeler("xtb:gfn2")
    shipped = measure(labeler, water(), min_repeats=1, min_seconds=0)
    store(shipped, package)
    assert labeler.cost(water()) == pytest.approx(shipped.seconds)
    mine = measure(labeler, water(), min_repeats=2, min_seconds=0, seed=3)
    store(mine, table)
    assert labeler.cost(water()) == pytest.approx(mine.seconds)


def test_scaling_law_interpolates_between_anchors_and_extends_outside() -> None:
    from labelers.costs import ScalingLaw

    law = ScalingLaw(7.0, ((72, 339.0), (39, 33.0), (21, 0.9)))
    assert law.seconds(39) == pytest.approx(33.0)
    slope = np.log(339 / 33) / np.log(72 / 39)
    assert law.seconds(50) == pytest.approx(33.0 * (50 / 39) ** slope)
    assert law.seconds(144) == pytest.approx(339.0 * 2**7)
    assert law.seconds(10.5) == pytest.approx(0.9 / 8)  # N^3 below the smallest anchor
    with pytest.raises(ValueError):
        ScalingLaw(3.0, ())
