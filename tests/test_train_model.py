"""Models: forces are -dE/dx; energies invariant and forces equivariant under E(3) and permutations."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, ModelConfig
from train.graph import collate, radius_graph, to_data_list
from train.models import MODELS, build_model

torch.set_num_threads(1)


def _frames(n: int = 2) -> Frames:
    data = load_md17("ethanol", "ccsd(t)")
    return Frames(data.positions[:n], data.numbers, data.energies[:n], data.forces[:n])


def _model(name: str):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, hidden=8, layers=2, rbf=6)).double()
    model.set_scale(0.5)
    return model


def _energy_forces(model, positions: np.ndarray, numbers: np.ndarray):
    frames = Frames(positions, numbers)
    batch = collate(to_data_list(frames, 5.0, torch.float64))
    energy, forces = model.energy_forces(batch)
    return energy.detach().numpy(), forces.detach().numpy().reshape(len(positions), -1, 3)


@pytest.mark.parametrize("name", MODELS)
def test_forces_are_minus_energy_gradient(name: str) -> None:
    model, frames = _model(name), _frames(1)
    _, forces = _energy_forces(model, frames.positions, frames.numbers)
    step = 1e-5
    for atom, axis in [(0, 0), (3, 1), (8, 2)]:
        plus, minus = frames.positions.copy(), frames.positions.copy()
        plus[0, atom, axis] += step
        minus[0, atom, axis] -= step
        e_plus, _ = _energy_forces(model, plus, frames.numbers)
        e_minus, _ = _energy_forces(model, minus, frames.numbers)
        numeric = -(e_plus[0] - e_minus[0]) / (2 * step)
        assert forces[0, atom, axis] == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("name", MODELS)
def test_invariance_and_equivariance(name: str) -> None:
    model, frames = _model(name), _frames(2)
    assert model.net.cutoff == 5.0  # every network exposes its cutoff (graphs are built from it)
    energy, forces = _energy_forces(model, frames.positions, frames.numbers)
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) > 0:
        q[:, 0] *= -1  # an improper rotation: reflections too
    moved = frames.positions @ q.T + rng.normal(size=3)
    e2, f2 = _energy_forces(model, moved, frames.numbers)
    np.testing.assert_allclose(e2, energy, atol=1e-10)
    np.testing.assert_allclose(f2, forces @ q.T, atol=1e-10)
    perm = rng.permutation(frames.positions.shape[1])
    e3, f3 = _energy_forces(model, frames.positions[:, perm], frames.numbers[perm])
    np.testing.assert_allclose(e3, energy, atol=1e-10)
    np.testing.assert_allclose(f3, forces[:, perm], atol=1e-10)


def test_radius_graph_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    pos = torch.tensor(rng.uniform(0, 6, size=(20, 3)))
    batch = torch.tensor([0] * 12 + [1] * 8)
    edges = set(map(tuple, radius_graph(pos, 3.0, batch).T.tolist()))
    expected = {(j, i) for i in range(20) for j in range(20)
                if i != j and batch[i] == batch[j] and torch.dist(pos[i], pos[j]) < 3.0}
    assert edges == expected


def test_reference_energies_absorb_the_offset() -> None:
    frames = _frames(5)
    model = _model("painn")
    graphs = to_data_list(frames, 5.0, torch.float64)
    from train.api import _align

    _align(model, frames, graphs, fresh=True)
    from train.evaluate import predict

    energies, _ = predict(model, graphs)
    assert abs(np.mean(energies - frames.energies)) < 1e-6  # eV; ethanol totals are about -4200 eV


def test_mace_one_hot_follows_the_run_data(tmp_path) -> None:
    """A MACE run encodes exactly its data's elements (speed), normalises by its neighbour count,
    records both, and reloads."""
    from train import preset, run_standard, with_model
    from train.checkpoint import load_model

    frames = _frames(12)
    config = with_model(preset("tiny"), name="mace", hidden=4, layers=1, rbf=4, max_ell=1, correlation=2)
    part = lambda lo, hi: frames.subset(np.arange(lo, hi))  # noqa: E731
    run = run_standard(part(0, 8), part(8, 10), part(10, 12), config, tmp_path)
    assert list(run.metrics["config"]["model"]["elements"]) == [1, 6, 8]
    assert run.model.net.elements == (1, 6, 8)
    assert run.metrics["config"]["model"]["neighbours"] == 8.0  # ethanol: all 8 other atoms within 5 Å
    again = load_model(tmp_path)
    batch = collate(to_data_list(part(10, 12), 5.0, torch.float32))
    np.testing.assert_allclose(again.energy_forces(batch)[1].detach().numpy(),
                               run.model.energy_forces(batch)[1].detach().numpy(), atol=1e-6)
    from ase import Atoms

    from train import load_calculator

    atoms = Atoms(numbers=frames.numbers, positions=frames.positions[10])
    atoms.calc = load_calculator(tmp_path)  # the ASE calculator (MD) drives MACE too, in eV/Å
    np.testing.assert_allclose(atoms.get_forces(), again.energy_forces(batch)[1].detach().numpy()[:9], atol=1e-5)


def test_a_mace_file_from_before_the_envelope_and_basis_fields_reloads_as_built(tmp_path) -> None:
    """New MACE models use mace-torch's command-line envelope order (5) and full Clebsch-Gordan
    basis; a file written before those fields existed holds an order-6, reduced-basis network with
    the same parameter shapes, and must reload as that network (its config says so, and so does
    a resumed run's), not as today's."""
    from dataclasses import asdict, replace

    from train.checkpoint import load_model, save_model
    from train.config import ModelConfig, TrainConfig, preset
    from train.models import build_model

    new = ModelConfig(name="mace", hidden=4, layers=1, rbf=4, max_ell=1, correlation=2, elements=(1, 6, 8))
    assert (new.cutoff_power, new.reduced_cg) == (5, False) == (preset("paper").model.cutoff_power, preset("paper").model.reduced_cg)
    old = replace(new, cutoff_power=6, reduced_cg=True)
    torch.manual_seed(0)
    model = build_model(old).eval()
    save_model(model, old, tmp_path / "model.pt")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    for field in ("cutoff_power", "reduced_cg"):  # as the older code wrote it
        del state["model_config"][field]
    torch.save(state, tmp_path / "model.pt")
    batch = collate(to_data_list(_frames(2), 5.0, torch.float32))
    reloaded = load_model(tmp_path)
    np.testing.assert_allclose(reloaded.energy_forces(batch)[1].detach().numpy(),
                               model.energy_forces(batch)[1].detach().numpy(), atol=1e-6)
    assert reloaded.net.settings["num_polynomial_cutoff"] == 6 and reloaded.net.settings["use_reduced_cg"]
    as_new = build_model(new).eval()
    as_new.load_state_dict(dict(model.named_parameters()), strict=False)  # the same weights, today's envelope and basis
    assert not np.allclose(as_new.energy_forces(batch)[1].detach().numpy(), model.energy_forces(batch)[1].detach().numpy(), atol=1e-4)
    stored = {**preset("paper").to_dict(), "model": asdict(new)}
    for field in ("cutoff_power", "reduced_cg"):
        del stored["model"][field]
    assert TrainConfig.from_dict(stored).model == old  # a run's config.json, written before the fields
    paper = preset("paper")
    assert paper.matches(paper.to_dict())
    older = {**paper.to_dict(), "model": {k: v for k, v in asdict(paper.model).items() if k not in ("cutoff_power", "reduced_cg")}}
    assert not paper.matches(older)  # an old MACE run directory is not resumed by today's network


def test_min_steps_gives_a_small_training_set_more_epochs(tmp_path) -> None:
    from dataclasses import replace

    from train import preset, run_standard
    from train.config import StageConfig

    assert StageConfig(epochs=2, batch_size=8, min_steps=10).epochs_for(20) == 4  # 3 steps per epoch
    assert StageConfig(epochs=2, batch_size=8, min_steps=10).epochs_for(200) == 2
    frames = _frames(16)
    config = preset("tiny")
    config = replace(config, standard=replace(config.standard, epochs=1, batch_size=4, min_steps=6))
    run_standard(frames.subset(np.arange(8)), frames.subset(np.arange(8, 12)), None, config, tmp_path)
    rows = (tmp_path / "log.csv").read_text().strip().splitlines()[1:]
    assert [row.split(",")[1] for row in rows] == ["1", "2", "3"]  # 2 steps per epoch: 3 epochs reach 6 steps


def test_building_a_mace_model_prints_nothing() -> None:
    """mace-torch prints on import; stdout carries `--json` output, so the wrapper must silence it."""
    import subprocess
    import sys

    code = ("from train import ModelConfig; from train.models import build_model; "
            "build_model(ModelConfig(name='mace', hidden=4, layers=1, rbf=4))")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "Warning" not in done.stderr


def test_build_model_is_one_name_to_network_table() -> None:
    from train.config import MODEL_NAMES
    from train.errors import ConfigError
    from train.models import ARCHITECTURE_VERSIONS, NETWORKS
    from train.models.egnn import EGNN
    from train.models.painn import PaiNN
    from train.models.tensornet import TensorNet

    assert set(NETWORKS) == set(MODEL_NAMES) == set(ARCHITECTURE_VERSIONS)
    for name, cls in (("painn", PaiNN), ("egnn", EGNN), ("tensornet", TensorNet)):
        assert isinstance(build_model(ModelConfig(name=name, hidden=8, layers=1, rbf=4)).net, cls)
    with pytest.raises(ConfigError, match="name: Input should be 'painn'"):
        ModelConfig.from_dict({"name": "nope"})


def test_a_batch_with_a_non_finite_loss_is_skipped_not_poisoning_the_weights() -> None:
    """One configuration whose forces overflow float32 in the loss: its batches are skipped and
    counted, the weights stay finite and the other batches still train."""
    import train
    from train.api import _align
    from train.loop import fit

    frames = _frames(8)
    model = _model("painn").float()
    graphs = to_data_list(frames, 5.0, torch.float32)
    _align(model, frames, graphs, fresh=True)
    graphs[3].force[0, 0] = 1e30  # eV/Å: squared in the loss, beyond float32
    config = train.preset("tiny", seed=0)
    stage = train.StageConfig(epochs=3, batch_size=4, lr=1e-3, warmup_epochs=0)
    result = fit(model, graphs, None, stage, config)
    assert [row["skipped_steps"] for row in result.history] == [1, 1, 1]  # the overflowing batch, each epoch
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(np.isfinite(row["train_loss"]) for row in result.history)
