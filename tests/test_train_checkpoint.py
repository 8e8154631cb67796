"""Checkpoints: a model file reloads to identical predictions; a killed run resumes to the same result."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from conftest import ROOT

import train
from labelers.datasets import load_md17
from train import Frames, preset, with_stage
from train.errors import CheckpointError

torch.set_num_threads(1)


def _frames(index: np.ndarray) -> Frames:
    data = load_md17("ethanol", "ccsd(t)")
    return Frames(data.positions[index], data.numbers, data.energies[index], data.forces[index])


def test_model_file_reloads_to_identical_predictions(tmp_path: Path) -> None:
    config = preset("tiny")
    result = train.run_standard(_frames(np.arange(16)), _frames(np.arange(16, 24)), _frames(np.arange(24, 32)),
                                config, tmp_path)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert state["metrics"]["test"]["force_mae"] == result.metrics["test"]["force_mae"]
    data = load_md17("ethanol", "ccsd(t)")
    atoms = Atoms(numbers=data.numbers, positions=data.positions[40])
    atoms.calc = train.load_calculator(tmp_path)
    reloaded = train.load_model(tmp_path / "model.pt")
    again = Atoms(numbers=data.numbers, positions=data.positions[40])
    again.calc = train.load_calculator(tmp_path / "model.pt")
    assert atoms.get_potential_energy() == again.get_potential_energy()
    np.testing.assert_array_equal(atoms.get_forces(), again.get_forces())
    for key, value in result.model.state_dict().items():
        torch.testing.assert_close(reloaded.state_dict()[key], value, rtol=0, atol=0)
    assert abs(atoms.get_potential_energy() - data.energies[40]) < 5.0  # eV, reference energies applied

    # the calculator recomputes when positions move, and agrees with a fresh one there
    energy = atoms.get_potential_energy()
    atoms.positions[0, 0] += 0.01
    again.positions[0, 0] += 0.01
    moved = train.load_calculator(tmp_path)
    assert atoms.calc.check_state(atoms) == ["positions"]
    assert atoms.get_potential_energy() != energy
    assert atoms.get_potential_energy() == moved.get_potential_energy(again)
    np.testing.assert_array_equal(atoms.get_forces(), moved.get_forces(again))

    # a file written by another version of the architecture is refused, not silently loaded
    assert state["architecture"] == "painn/1"
    torch.save({**state, "architecture": "painn/0"}, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="painn/0"):
        train.load_model(tmp_path / "old.pt")


SCRIPT = textwrap.dedent("""
    import sys, numpy as np, torch
    torch.set_num_threads(1)
    import train
    from labelers.datasets import load_md17
    from train import Frames, preset, with_stage
    data = load_md17("ethanol", "ccsd(t)")
    f = lambda i: Frames(data.positions[i], data.numbers, data.energies[i], data.forces[i])
    config = with_stage(preset("tiny", checkpoint_seconds=0.0, gammas=(1.0,)), "finetune_stage", epochs=int(sys.argv[2]))
    train.run_asteroid(f(np.arange(16)), f(np.arange(100, 132)), f(np.arange(16, 24)), f(np.arange(24, 32)),
                       config, sys.argv[1])
""")


def test_killed_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    epochs = 40
    killed = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(killed), str(epochs)], cwd=ROOT, env=env)
    state = killed / "stages" / "finetune_g1.state.pt"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and len(torch.load(state, weights_only=True)["history"]) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state.exists(), "the stage saved no resumable state before the kill"
    assert not (killed / "model.pt").exists()
    done_before = len(torch.load(state, weights_only=True)["history"])
    assert done_before < epochs
    config = with_stage(preset("tiny", checkpoint_seconds=0.0, gammas=(1.0,)), "finetune_stage", epochs=epochs)
    f = _frames
    args = (f(np.arange(16)), f(np.arange(100, 132)), f(np.arange(16, 24)), f(np.arange(24, 32)), config)
    resumed = train.run_asteroid(*args, killed)
    straight = train.run_asteroid(*args, tmp_path / "straight")
    history = [row["epoch"] for row in torch.load(killed / "stages" / "finetune_g1.pt", weights_only=True)["history"]]
    assert history == list(range(1, epochs + 1))
    assert resumed.metrics["test"]["force_mae"] == straight.metrics["test"]["force_mae"]


def test_a_run_directory_refuses_a_different_run(tmp_path: Path) -> None:
    import pytest

    from train.errors import CheckpointError

    args = (_frames(np.arange(8)), _frames(np.arange(8, 12)), None)
    train.run_standard(*args, preset("tiny", standard=with_stage(preset("tiny"), "standard", epochs=1).standard), tmp_path)
    with pytest.raises(CheckpointError, match="different run"):
        train.run_standard(*args, preset("tiny"), tmp_path)


def test_a_config_from_an_older_version_still_matches() -> None:
    """Fields added since a run was written take their defaults, so the run still resumes."""
    config = preset("quick")
    stored = config.to_dict()
    for added in ("elements", "neighbours", "max_ell", "correlation"):
        del stored["model"][added]
    assert config.matches(stored)
    assert not with_stage(config, "standard", lr=1e-4).matches(stored)
    assert not config.matches({**stored, "no_such_field": 1})
