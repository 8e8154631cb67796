"""`acquire scan`: a bond's energy and force curve from labelers and trained models, the data's
range, labels reused on a rerun, and one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from acquire.cli.main import main
from acquire.molecules import load_molecule
from acquire.scan import Bond, bond_constants, parse_distances, resolve_bond, stretched

pytest.importorskip("tblite")


def test_a_bond_is_named_by_indices_or_by_elements() -> None:
    ethanol = load_molecule("ethanol")  # C C O H H H H H H: the hydroxyl H is atom 8
    assert resolve_bond(ethanol, "O-H") == Bond(2, 8) and resolve_bond(ethanol, "H-O") == Bond(8, 2)
    assert resolve_bond(ethanol, "2,8") == Bond(2, 8)
    moved = stretched(ethanol, Bond(2, 8), 1.4)
    assert moved.get_distance(2, 8) == pytest.approx(1.4)
    assert np.allclose(np.delete(moved.positions, 8, axis=0), np.delete(ethanol.positions, 8, axis=0))
    assert parse_distances("0.8:1.0:0.1") == [0.8, 0.9, 1.0]


def test_bond_constants_recover_a_morse_curve() -> None:
    r = np.round(np.arange(0.70, 1.801, 0.05), 3)
    for a in (1.0, 2.3, 2.7):  # Morse: k2 = 2 D a², k3 = -6 D a³
        energy = 100.0 * (1 - np.exp(-a * (r - 0.96))) ** 2
        fit = bond_constants(list(r), list(energy))
        assert fit["r0_A"] == pytest.approx(0.96, abs=2e-3)
        assert fit["k2_kcal_mol_A2"] == pytest.approx(200 * a * a, rel=0.01)
        assert fit["morse_a_per_A"] == pytest.approx(a, rel=0.01)
    assert bond_constants(list(r), list(r)) is None  # no minimum inside the scan
    assert bond_constants(list(r[:5]), [1.0, 0.5, 0.0, 0.5, 1.0]) is None  # too few points to fit


def test_xtb_scan_rises_both_ways_and_a_rerun_reuses_the_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scan"
    args = ["scan", "xtb:gfn2", "--bond", "O-H", "--distances", "0.75:1.45:0.1", "--coverage", "md17:ethanol/dft",
            "--out", str(out), "--json"]
    assert main(args) == 0
    document = json.loads(capsys.readouterr().out)
    curve = document["sources"]["xtb_gfn2"]
    energy, force = np.array(curve["energy_kcal_mol"]), np.array(curve["force_kcal_mol_A"])
    assert document["distances_A"][int(np.argmin(energy))] == pytest.approx(0.95)  # nearest the 0.967 Å start
    assert energy[0] > 10 and energy[-1] > 30 and np.all(np.diff(energy[2:]) > 0)  # walls on both sides
    assert force[0] > 0 > force[-1]  # pushed out when compressed, pulled back when stretched
    assert document["coverage"]["md17:ethanol/dft"]["p100"] == pytest.approx(1.087, abs=1e-3)
    assert (out / "scan.png").read_bytes()[:4] == b"\x89PNG"
    stored = json.loads((out / "scan.json").read_text())  # a paid-for point is read back, not recomputed:
    stored["sources"]["xtb_gfn2"]["points"][3]["energy_eV"] += 1.0  # mark one, and see the mark come back
    (out / "scan.json").write_text(json.dumps(stored))
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)["sources"]["xtb_gfn2"]["energy_kcal_mol"]
    assert again[3] == pytest.approx(energy[3] + 23.0605, abs=1e-2) and again[4] == pytest.approx(energy[4])


def test_energy_only_labels_and_a_trained_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labelers.datasets import load_md17
    from train import Frames, preset, run_standard

    data = load_md17("ethanol", "ccsd(t)")
    frames = [Frames(data.positions[s], data.numbers, data.energies[s], data.forces[s]) for s in (slice(0, 16), slice(16, 24))]
    run_standard(frames[0], frames[1], None, preset("tiny"), tmp_path / "tiny")
    geometries = tmp_path / "geometries.xyz"  # unlabeled frames: coverage reads geometries only
    write(geometries, [Atoms(data.numbers, p) for p in data.positions[:5]], format="extxyz")
    args = ["scan", f"model={tmp_path / 'tiny'}", "HF=pyscf:hf/sto-3g;forces=false", "--bond", "2,8",
            "--distances", "0.9:1.1:0.1", "--coverage", str(geometries), "--out", str(tmp_path / "scan"), "--json"]
    assert main(args) == 0
    document = json.loads(capsys.readouterr().out)
    longest = np.linalg.norm(data.positions[:5, 8] - data.positions[:5, 2], axis=1).max()
    assert document["coverage"][str(geometries)]["frames"] == 5
    assert document["coverage"][str(geometries)]["p100"] == pytest.approx(longest, abs=1e-4)
    sources = document["sources"]
    assert sources["HF"]["force_kcal_mol_A"] == [None] * 3 and sources["HF"]["energy_kcal_mol"][1] == 0.0
    assert sources["HF"]["energy_kcal_mol"][0] > 0 and sources["HF"]["energy_kcal_mol"][2] > 0
    model = sources["model"]
    assert model["labeler"] is False and all(np.isfinite(model["force_kcal_mol_A"])) and model["energy_kcal_mol"][1] == 0.0


def test_bad_input_is_one_line_exit_2_and_keeps_an_earlier_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scan"
    assert main(["scan", "xtb:gfn2", "--bond", "O-H", "--distances", "0.9:1.0:0.1", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    kept = (out / "scan.json").read_bytes()
    for args in (["--bond", "2,2"], ["--bond", "N-H"], ["--bond", "2,99"], ["--bond", "O-H", "--distances", "1:0.5:0.1"],
                 ["--bond", "O-H", "--distances", "a:b"], ["--bond", "C-O"],  # C-O: the folder holds the O-H scan
                 ["--bond", "O-H", "--coverage", "md17:ethanol/nope"]):
        assert main(["scan", "xtb:gfn2", *args, "--out", str(out)]) == 2, args
        captured = capsys.readouterr()
        assert len(captured.err.strip().splitlines()) == 1 and captured.out == "", (args, captured.err)
    assert main(["scan", "no-such-model", "--bond", "O-H", "--out", str(tmp_path / "other")]) == 2
    assert (out / "scan.json").read_bytes() == kept and not (tmp_path / "other").exists()
