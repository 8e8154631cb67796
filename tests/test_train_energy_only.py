"""Learning forces from accurate energies: standard training and ASTEROID on energy-only labels,
alone or beside force labels (train/energy_only.py); their forces, if any, never reach training."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, preset, run_asteroid, run_standard
from train.config import with_overrides
from train.energy_only import finetune_loss
from train.errors import DataError
from train.graph import collate, to_data_list
from train.losses import energy_only_loss, weighted_loss
from train.models import build_model

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


def _model(config):
    torch.manual_seed(0)
    model = build_model(config.model)
    model.set_scale(0.5)
    model.ref[1], model.ref[6], model.ref[8] = -13.0, -1030.0, -2040.0
    return model


def test_energy_only_frames_train_on_their_energies_alone() -> None:
    data = _frames("ccsd(t)", 0, 6)
    energies = Frames(data.positions, data.numbers, data.energies, name="energies")
    assert energies.energy_only and not energies.labelled
    with pytest.raises(DataError, match="forces without energies"):
        Frames(data.positions, data.numbers, None, data.forces)
    config = preset("tiny")
    model = _model(config)
    batch = collate(to_data_list(energies, config.model.cutoff))
    assert "force" not in batch
    energy, _ = model.energy_forces(collate(to_data_list(data, config.model.cutoff)))
    target = batch.y - model.reference(batch.z, batch.batch, batch.num_graphs)
    expected = 0.7 * float(torch.mean(((energy.double() - target) / model.scale) ** 2))
    assert float(energy_only_loss(model, batch, 0.7, "mse")) == pytest.approx(expected, rel=1e-4)
    accurate = collate(to_data_list(_frames("ccsd(t)", 10, 14), config.model.cutoff))
    plain = float(weighted_loss(model, accurate, config.rho, config.loss))
    graphs = to_data_list(energies, config.model.cutoff)
    assert float(finetune_loss(config, 3, graphs)(model, accurate)) > plain
    assert float(finetune_loss(config, 3, graphs)(model, accurate)) == float(finetune_loss(config, 3, graphs)(model, accurate))


def test_asteroid_fine_tunes_on_energy_only_labels_beside_the_force_labels(tmp_path) -> None:
    config = with_overrides(preset("tiny", gammas=(1.0,)), {"model": {"hidden": 8}})
    energies = _frames("ccsd(t)", 300, 340)
    run = run_asteroid(_frames("ccsd(t)", 0, 12), _frames("dft", 0, 40), _frames("ccsd(t)", 100, 108),
                       _frames("ccsd(t)", 200, 210), config, tmp_path / "a",
                       energy_only=Frames(energies.positions, energies.numbers, energies.energies))
    assert (tmp_path / "a" / "stages" / "finetune_energies_g1.pt").exists()
    assert run.metrics["counts"]["energy_only"] == 40
    with pytest.raises(DataError, match="energy_only"):
        run_asteroid(_frames("ccsd(t)", 0, 12), _frames("dft", 0, 40), _frames("ccsd(t)", 100, 108), None, config,
                     tmp_path / "b", energy_only=energies.subset([0]).with_weights(None).unlabeled())
