"""Bond-stretched pretraining frames: one bond moved per frame, labels on the pool's scale plus the
cheap labeler's change, stored cheap labels never recomputed, and their place in a comparison."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from acquire.labeling.stretched import Stretch, StretchError, stretched_frames, stretched_geometries
from acquire.sources import load_source

pytest.importorskip("tblite")


def test_each_frame_moves_one_bond_within_the_range() -> None:
    dft = load_source("md17:ethanol/dft")
    rows = [5, 17, 99, 400]
    geometries, notes = stretched_geometries(dft, rows, Stretch(4, low_A=0.3, high_A=0.5), seed=1)
    for atoms, note, row in zip(geometries, notes, rows):
        moved = np.flatnonzero(np.linalg.norm(atoms.positions - dft.positions[row], axis=1) > 1e-9)
        i, j = (int(x) for x in note["bond"].split("-"))
        assert len(moved) == 1 and moved[0] in (i, j)
        partner = j if moved[0] == i else i
        assert atoms[int(moved[0])].mass <= atoms[partner].mass  # the lighter atom moves
        change = atoms.get_distance(i, j) - np.linalg.norm(dft.positions[row][i] - dft.positions[row][j])
        assert change == pytest.approx(note["stretch_A"], abs=1e-4) and 0.3 <= change <= 0.5
    again, _ = stretched_geometries(dft, rows, Stretch(4, low_A=0.3, high_A=0.5), seed=1)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(geometries, again))  # seeded
    with pytest.raises(StretchError):
        Stretch(4, low_A=0.5, high_A=0.1)


def test_labels_are_the_pools_plus_the_cheap_change_and_are_stored(tmp_path: Path) -> None:
    from ase import Atoms

    from labelers import get_labeler

    dft, rows = load_source("md17:ethanol/dft"), [3, 30, 300]
    arrays, record = stretched_frames(dft, rows, Stretch(3), seed=0, store_path=tmp_path / "l.db")
    xtb = get_labeler("xtb:gfn2")
    for k, row in enumerate(rows):
        before = xtb.label(Atoms(numbers=dft.numbers, positions=dft.positions[row]))
        after = xtb.label(Atoms(numbers=dft.numbers, positions=arrays.positions[k]))
        assert arrays.energies[k] == pytest.approx(dft.energies[row] + after.energy - before.energy, abs=1e-6)
        np.testing.assert_allclose(arrays.forces[k], dft.forces[row] + after.forces - before.forces, atol=1e-6)
    assert record["frames"] == 3 and record["cheap_labels_computed_now"] == 6
    _, again = stretched_frames(dft, rows, Stretch(3), seed=0, store_path=tmp_path / "l.db")
    assert again["cheap_labels_computed_now"] == 0  # paid for once


def test_a_comparison_pretrains_on_them(tmp_path: Path) -> None:
    from acquire.cli.main import main

    out = tmp_path / "c"
    args = ["compare", "--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "2", "--preset", "tiny", "--validation", "5",
            "--test", "10", "--stretched", "12", "--quiet", "--json", "--out", str(out)]
    assert main(args) == 0
    metrics = {r["method"]: r for r in json.loads((out / "metrics.json").read_text())["runs"]}
    asteroid = json.loads((out / metrics["asteroid"]["dir"] / "metrics.json").read_text())
    assert asteroid["counts"]["inaccurate"] == 100 + 12 and metrics["standard"]["n_inaccurate"] == 0
    assert "stretched" not in json.loads((out / metrics["standard"]["dir"] / "split.json").read_text())
    assert "bond-stretched pool frames" in (out / "report.md").read_text()
    assert main(args) == 0  # a rerun resumes: nothing trained or labelled again
    assert {r["status"] for r in json.loads((out / "metrics.json").read_text())["runs"]} == {"resumed-finished"}
    assert main([*args[:-2], "--stretch-labeler", "md17:ethanol/dft", "--out", str(tmp_path / "d")]) == 2


def test_acquire_train_takes_them_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from acquire.cli.main import main

    args = ["train", "--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", "md17:ethanol/dft", "--train", "8",
            "--validation", "4", "--test", "4", "--inaccurate-count", "30", "--preset", "tiny", "--json"]
    assert main([*args, "--stretched", "5", "--out", str(tmp_path / "t")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["counts"]["inaccurate"] == 35 and [m["frames"] for m in metrics["inaccurate_molecules"]] == [30, 5]
    assert json.loads((tmp_path / "t" / "stretched.json").read_text())["frames"] == 5
    for bad in (["--stretched", "5", "--stretch-labeler", "md17:ethanol/dft"], ["--stretched", "-1"],
                ["--stretched", "5", "--method", "standard"]):
        assert main([*args, *bad, "--out", str(tmp_path / "bad")]) == 2, bad
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
