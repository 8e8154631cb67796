"""Bond-stretched frames (`acquire sample --method stretch`) and their energy-only labels in
ASTEROID's fine-tuning (`acquire train --energy-only`)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.io import read, write

from acquire.cli.main import main
from acquire.errors import AcquireError
from acquire.labeling.stretch_sampling import draw_bases, stretch_frames
from acquire.molecules import load_frames, load_molecule
from acquire.sources import load_source

ENERGY_ONLY = "pyscf:hf/sto-3g;forces=false"


def test_stretch_frames_move_one_atom_to_each_length() -> None:
    base = load_molecule("ethanol")
    frames = stretch_frames([base, base], "O-H", [1.2, 1.6])
    assert len(frames) == 4 and [f.info["length_A"] for f in frames] == [1.2, 1.6, 1.2, 1.6]
    oxygen, hydrogen = (int(x) for x in frames[0].info["bond"].split(","))
    assert base.get_chemical_symbols()[oxygen] == "O" and base.get_chemical_symbols()[hydrogen] == "H"
    for frame in frames:
        assert np.linalg.norm(frame.positions[hydrogen] - frame.positions[oxygen]) == pytest.approx(frame.info["length_A"])
        others = [i for i in range(len(base)) if i != hydrogen]
        np.testing.assert_array_equal(frame.positions[others], base.positions[others])
        direction = frame.positions[hydrogen] - frame.positions[oxygen]
        original = base.positions[hydrogen] - base.positions[oxygen]
        assert np.dot(direction, original) / np.linalg.norm(direction) / np.linalg.norm(original) == pytest.approx(1.0)


def test_draw_bases_is_seeded_and_bounded() -> None:
    frames = [load_molecule("ethanol")] * 5
    assert len(draw_bases(frames, 3, seed=1)) == 3
    assert draw_bases(frames, 5, seed=1) == frames
    with pytest.raises(AcquireError, match="1 to 5"):
        draw_bases(frames, 6, seed=0)


def test_stretch_cli_labels_and_energy_only_fine_tuning(tmp_path: Path, capsys) -> None:
    bases = tmp_path / "bases.extxyz"
    rng = np.random.default_rng(0)
    molecules = [load_molecule("ethanol") for _ in range(3)]
    for molecule in molecules:  # three different geometries (identical ones would be one label)
        molecule.positions += rng.normal(scale=0.02, size=molecule.positions.shape)
    write(bases, molecules, format="extxyz")
    assert len(load_frames(str(bases))) == 3
    pool = tmp_path / "stretched.extxyz"
    assert main(["sample", "--method", "stretch", "--molecule", str(bases), "--n", "2", "--bond", "O-H",
                 "--lengths", "1.2:1.6:0.2", "--out", str(pool), "--quiet"]) == 0
    assert len(read(pool, ":")) == 6
    assert main(["sample", "--method", "stretch", "--molecule", str(bases), "--n", "1", "--bond", "C-Cl",
                 "--out", str(tmp_path / "x.extxyz"), "--quiet"]) == 2
    assert "no bonded C-Cl pair" in capsys.readouterr().err
    db = tmp_path / "labels.db"
    assert main(["label", str(pool), "--labeler", ENERGY_ONLY, "--store", str(db), "--quiet"]) == 0
    labels = load_source(f"{db}:{ENERGY_ONLY}")
    assert labels.forces is None and len(labels.energies) == 6
    capsys.readouterr()
    common = ["train", "--inaccurate", "md17:ethanol/dft", "--train", "8", "--validation", "4", "--test", "8",
              "--inaccurate-count", "16", "--preset", "tiny", "--quiet", "--json"]
    assert main([*common, "--accurate", "md17:ethanol/ccsd(t)", "--energy-only", f"{db}:{ENERGY_ONLY}",
                 "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["counts"]["energy_only"] == 6
    assert main([*common, "--accurate", f"{db}:{ENERGY_ONLY}", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "energies only" in err and err.count("\n") == 1
    out = tmp_path / "compare"
    assert main(["compare", "--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "2", "--preset", "tiny",
                 "--validation", "5", "--test", "20", "--energy-only", f"{db}:{ENERGY_ONLY}", "--quiet",
                 "--out", str(out)]) == 0
    runs = out / "runs" / "60ccsd_r2"
    assert json.loads((runs / "asteroid" / "seed0" / "metrics.json").read_text())["counts"]["energy_only"] == 6
    assert "energy_only" not in json.loads((runs / "standard" / "seed0" / "metrics.json").read_text())["counts"]
    assert "energy-only labels of" in (out / "report.md").read_text()


def test_energy_only_labels_of_another_molecule_fail_before_training(tmp_path: Path, capsys) -> None:
    from ase.build import molecule

    water = tmp_path / "water.extxyz"
    write(water, molecule("H2O"), format="extxyz")
    db = tmp_path / "water.db"
    assert main(["label", str(water), "--labeler", ENERGY_ONLY, "--store", str(db), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "compare"
    assert main(["compare", "--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "2", "--preset", "tiny",
                 "--validation", "5", "--test", "20", "--energy-only", f"{db}:{ENERGY_ONLY}", "--quiet",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "of H2O" in err and "C2H6O" in err and err.count("\n") == 1
    assert not (out / "runs").exists()  # refused before any training
