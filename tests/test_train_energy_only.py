"""Learning forces from accurate energies: standard training and ASTEROID on energy-only labels,
alone or beside force labels; their forces, if any, never reach training."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, preset, run_asteroid, run_standard
from train.config import with_overrides
from train.errors import DataError

torch.set_num_threads(1)


def _frames(fidelity: str, start: int, stop: int) -> Frames:
    data = load_md17("ethanol", fidelity)
    return Frames(data.positions[start:stop], data.numbers, data.energies[start:stop], data.forces[start:stop])


def _config(**fields):
    return with_overrides(preset("tiny", gammas=(1.0,), **fields), {"model": {"hidden": 8}})


def _weights(run) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in run.model.state_dict().items()}


def test_standard_on_energies_alone_trains_without_any_force_label(tmp_path) -> None:
    energies = _frames("ccsd(t)", 300, 340)
    withheld = replace(energies, forces=None)
    run = run_standard(None, _frames("ccsd(t)", 100, 108), _frames("ccsd(t)", 200, 210), _config(), tmp_path / "e",
                       energy_only=withheld)
    assert (tmp_path / "e" / "stages" / "standard_energies_only.pt").exists()
    assert run.metrics["counts"] == {"validation": 8, "test": 10, "energy_only": 40}
    assert np.isfinite(run.metrics["test"]["force_mae"])
    # the forces of energy-only frames are dropped: giving them (even wrong ones) trains the same model
    wrong = replace(energies, forces=energies.forces * -50.0)
    again = run_standard(None, _frames("ccsd(t)", 100, 108), _frames("ccsd(t)", 200, 210), _config(), tmp_path / "w",
                         energy_only=wrong)
    for key, value in _weights(run).items():
        torch.testing.assert_close(_weights(again)[key], value)


def test_standard_with_force_and_energy_labels_differs_from_force_labels_alone(tmp_path) -> None:
    forces, val, test = _frames("ccsd(t)", 0, 12), _frames("ccsd(t)", 100, 108), _frames("ccsd(t)", 200, 210)
    plain = run_standard(forces, val, test, _config(), tmp_path / "p")
    both = run_standard(forces, val, test, _config(), tmp_path / "b", energy_only=replace(_frames("ccsd(t)", 300, 340), forces=None))
    assert (tmp_path / "b" / "stages" / "standard_energies.pt").exists()
    assert both.metrics["counts"]["energy_only"] == 40 and "energy_only" not in plain.metrics["counts"]
    assert both.metrics["test"]["force_mae"] != plain.metrics["test"]["force_mae"]


def test_asteroid_without_force_labels_pretrains_then_fine_tunes_on_energies(tmp_path) -> None:
    energies = replace(_frames("ccsd(t)", 300, 340), forces=None)
    val, test, cheap = _frames("ccsd(t)", 100, 108), _frames("ccsd(t)", 200, 210), _frames("dft", 0, 40)
    run = run_asteroid(None, cheap, val, test, _config(bias_weights=False), tmp_path / "a", energy_only=energies)
    assert (tmp_path / "a" / "stages" / "finetune_energies_only_uniform.pt").exists()
    assert run.metrics["counts"]["energy_only"] == 40 and "accurate" not in run.metrics["counts"]
    with pytest.raises(DataError, match="bias model needs forces"):
        run_asteroid(None, cheap, val, test, _config(), tmp_path / "b", energy_only=energies)
    with pytest.raises(DataError, match="no force labels and no energy-only labels"):
        run_standard(None, val, test, _config(), tmp_path / "c")
