"""Fine-tuning with the cheap labels replayed through a fidelity shift, and with accurate energy-only
labels (train/replay.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, ModelConfig, load_calculator, preset, run_asteroid
from train.config import with_overrides
from train.errors import ConfigError, DataError
from train.graph import collate, to_data_list
from train.losses import energy_only_loss, weighted_loss
from train.models import build_model
from train.replay import finetune_loss, joint_fidelity

torch.set_num_threads(1)


def _frames(fidelity: str, start: int, stop: int) -> Frames:
    data = load_md17("ethanol", fidelity)
    return Frames(data.positions[start:stop], data.numbers, data.energies[start:stop], data.forces[start:stop])


def _joint(config):
    torch.manual_seed(0)
    model = build_model(config.model)
    model.set_scale(0.5)
    model.ref[1], model.ref[6], model.ref[8] = -13.0, -1030.0, -2040.0
    cheap_ref = model.ref.clone()
    cheap_ref[6] += 0.3  # the cheap fidelity's reference energies differ from the accurate ones
    return model, joint_fidelity(model, config, cheap_ref)


def test_the_cheap_head_starts_as_the_pretrained_model_with_its_own_reference_energies() -> None:
    config = preset("tiny", replay=1.0)
    model, joint = _joint(config)
    batch = collate(to_data_list(_frames("dft", 0, 4), config.model.cutoff))
    energy, forces = model.energy_forces(batch)
    cheap_energy, cheap_forces = joint.cheap().energy_forces(batch)
    torch.testing.assert_close(cheap_energy, energy)
    torch.testing.assert_close(cheap_forces, forces)
    offset = joint.cheap().reference(batch.z, batch.batch, batch.num_graphs) - model.reference(batch.z, batch.batch, batch.num_graphs)
    np.testing.assert_allclose(offset.numpy(), 0.6)  # two carbons
    with torch.no_grad():
        joint.gate.fill_(0.5)
    moved, _ = joint.cheap().energy_forces(batch)
    assert not torch.allclose(moved, energy)  # the shift network adds to the model once the gate opens


def test_replay_loss_adds_the_weighted_cheap_loss_and_replays_the_same_frames_for_a_batch() -> None:
    config = preset("tiny", replay=2.0)
    model, joint = _joint(config)
    pool = to_data_list(_frames("dft", 0, 30), config.model.cutoff)
    batch = collate(to_data_list(_frames("ccsd(t)", 0, 4), config.model.cutoff))
    loss = finetune_loss(config, 5, cheap=pool)
    first, again = float(loss(joint, batch)), float(loss(joint, batch))
    assert first == again
    accurate = float(weighted_loss(model, batch, config.rho, config.loss))
    assert first > accurate  # the cheap term is there and positive
    half = float(finetune_loss(with_overrides(config, {"replay": 1.0}), 5, cheap=pool)(joint, batch))
    assert (first - accurate) == pytest.approx(2 * (half - accurate), rel=1e-5)
    other = collate(to_data_list(_frames("ccsd(t)", 4, 8), config.model.cutoff))
    assert float(loss(joint, other)) != pytest.approx(float(weighted_loss(model, other, config.rho, config.loss)) + first - accurate)


def test_replay_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="replay"):
        preset("tiny", replay=-1.0)
    with pytest.raises(ConfigError, match="shift_hidden"):
        preset("tiny", shift_hidden=0)


def test_asteroid_with_replay_trains_a_plain_model_and_resumes_to_the_same_one(tmp_path) -> None:
    config = with_overrides(preset("tiny", replay=1.0, gammas=(1.0,)), {"model": {"hidden": 8}})
    data = dict(accurate=_frames("ccsd(t)", 0, 12), inaccurate=_frames("dft", 0, 40),
                validation=_frames("ccsd(t)", 100, 108), test=_frames("ccsd(t)", 200, 210))
    first = run_asteroid(**data, config=config, out_dir=tmp_path / "a")
    assert (tmp_path / "a" / "stages" / "finetune_replay_g1.pt").exists()
    plain = run_asteroid(**data, config=preset("tiny", gammas=(1.0,), model=ModelConfig(name="painn", hidden=8, layers=2, rbf=8)),
                         out_dir=tmp_path / "b")
    assert first.metrics["test"]["force_mae"] != plain.metrics["test"]["force_mae"]
    (tmp_path / "a" / "stages" / "finetune_replay_g1.pt").unlink()  # fine-tune again from the stored pretraining
    again = run_asteroid(**data, config=config, out_dir=tmp_path / "a")
    assert again.metrics["test"] == first.metrics["test"]
    calculator = load_calculator(tmp_path / "a")  # the saved model is the accurate head alone
    assert calculator is not None


def test_energy_only_frames_train_on_their_energies_alone() -> None:
    data = _frames("ccsd(t)", 0, 6)
    energies = Frames(data.positions, data.numbers, data.energies, name="energies")
    assert energies.energy_only and not energies.labelled
    with pytest.raises(DataError, match="forces without energies"):
        Frames(data.positions, data.numbers, None, data.forces)
    config = preset("tiny")
    model, _ = _joint(config)
    batch = collate(to_data_list(energies, config.model.cutoff))
    assert "force" not in batch
    energy, _ = model.energy_forces(collate(to_data_list(data, config.model.cutoff)))
    target = batch.y - model.reference(batch.z, batch.batch, batch.num_graphs)
    expected = 0.7 * float(torch.mean(((energy.double() - target) / model.scale) ** 2))
    assert float(energy_only_loss(model, batch, 0.7, "mse")) == pytest.approx(expected, rel=1e-4)
    accurate = collate(to_data_list(_frames("ccsd(t)", 10, 14), config.model.cutoff))
    plain = float(finetune_loss(config, 3)(model, accurate))
    assert plain == pytest.approx(float(weighted_loss(model, accurate, config.rho, config.loss)))
    assert float(finetune_loss(config, 3, energy_only=to_data_list(energies, config.model.cutoff))(model, accurate)) > plain


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
                     tmp_path / "b", energy_only=energies.subset([0]).with_weights(None).unlabelled())
