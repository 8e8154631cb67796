"""A trained model knows its molecule: `acquire md` and `acquire scan` start from it, refuse
elements it never saw, and warn for another formula (acquire.model_molecule)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.io import read
from conftest import acquire


@pytest.fixture(scope="module")
def water_model(tmp_path_factory) -> Path:
    """A tiny model trained on xTB-labelled water (a molecule other than the default ethanol)."""
    from acquire.molecules import load_molecule
    from labelers import get_labeler
    from train import Frames, preset, run_standard

    water, xtb = load_molecule("O"), get_labeler("xtb:gfn2")
    rng = np.random.default_rng(0)
    positions = water.positions + rng.normal(0, 0.05, (12, len(water), 3))
    labels = [xtb.label(water.__class__(water.numbers, p)) for p in positions]
    frames = Frames(positions, water.numbers, [x.energy for x in labels], [x.forces for x in labels])
    out = tmp_path_factory.mktemp("water") / "run"
    run_standard(frames.subset(range(8)), frames.subset(range(8, 12)), None, preset("tiny"), out)
    return out


def test_model_file_records_its_molecule(water_model: Path) -> None:
    from train.checkpoint import trained_molecule

    record = trained_molecule(water_model)
    assert record["formulas"] == ["H2O"] and record["elements"] == [1, 8]
    assert record["numbers"] == [8, 1, 1] and np.shape(record["positions_A"]) == (3, 3)


def test_a_model_file_without_the_record_still_loads(water_model: Path, tmp_path: Path) -> None:
    from train.calculator import load_calculator
    from train.checkpoint import trained_molecule

    state = torch.load(water_model / "model.pt", weights_only=True)
    del state["molecule"]
    torch.save(state, tmp_path / "old.pt")
    assert trained_molecule(tmp_path / "old.pt") is None
    assert load_calculator(tmp_path / "old.pt") is not None


def test_md_defaults_to_the_models_own_molecule(water_model: Path, tmp_path: Path) -> None:
    result = acquire("md", str(water_model), "--steps", "4", "--runs", "1", "--workers", "1", "--save-every", "1",
                     "--out", str(tmp_path / "md"), "--json")
    assert result.returncode == 0, result.stderr
    trajectory = next((tmp_path / "md" / "trajectories").rglob("*.extxyz"))
    assert read(trajectory).get_chemical_formula() == "H2O"  # was ethanol, silently


def test_md_refuses_an_element_the_model_never_saw(water_model: Path, tmp_path: Path) -> None:
    result = acquire("md", str(water_model), "--molecule", "C#N", "--steps", "4", "--runs", "1", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "never saw" in result.stderr and "C N" in result.stderr


def test_scan_defaults_to_the_models_molecule_and_warns_for_another_formula(water_model: Path, tmp_path: Path) -> None:
    own = acquire("scan", str(water_model), "--bond", "O-H", "--distances", "0.9:1.0:0.05", "--out",
                  str(tmp_path / "own"), "--json")
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["formula"] == "H2O" and "warning" not in own.stderr
    other = acquire("scan", str(water_model), "--molecule", "OO", "--bond", "O-H", "--distances", "0.9:1.0:0.05",
                    "--out", str(tmp_path / "other"), "--json")
    assert other.returncode == 0, other.stderr
    assert "warning:" in other.stderr and "not H2O2" in other.stderr
    refused = acquire("scan", str(water_model), "--molecule", "CCO", "--bond", "O-H", "--out", str(tmp_path / "x"))
    assert refused.returncode == 2 and "never saw" in refused.stderr
