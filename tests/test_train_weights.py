"""Bias weights and weighted losses: gamma limits, zero weights, every loss type honours weights;
uniform weights as one more gamma candidate."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, ModelConfig, bias_weights
from train.bias import effective_sample_size
from train.graph import collate, to_data_list
from train.losses import LOSSES, weighted_loss
from train.models import build_model

torch.set_num_threads(1)


def test_infinite_gamma_gives_uniform_weights() -> None:
    bias = np.array([4.1, 5.0, 6.7, 5.2])
    np.testing.assert_allclose(bias_weights(bias, math.inf), 1.0)
    np.testing.assert_allclose(bias_weights(bias, 1e6), 1.0, rtol=1e-5)


def test_small_gamma_drops_high_bias_configurations() -> None:
    bias = np.array([4.1, 5.0, 6.7, 5.2])
    weights = bias_weights(bias, 0.01)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[0] == pytest.approx(len(bias))
    assert np.all(weights[1:] < 1e-30)
    assert effective_sample_size(weights) == pytest.approx(1.0)


def test_weights_decrease_with_bias_and_have_mean_one() -> None:
    bias = np.random.default_rng(0).normal(5.0, 0.4, 100)
    weights = bias_weights(bias, 0.5)
    assert weights.mean() == pytest.approx(1.0)
    order = np.argsort(bias)
    assert np.all(np.diff(weights[order]) <= 0)


def _batch(weights: list[float]):
    data = load_md17("ethanol", "ccsd(t)")
    n = len(weights)
    frames = Frames(data.positions[:n], data.numbers, data.energies[:n], data.forces[:n], weights=np.array(weights))
    return collate(to_data_list(frames, 5.0, torch.float64))


def _grads(model, batch, kind: str) -> torch.Tensor:
    model.zero_grad()
    weighted_loss(model, batch, 1e-3, kind).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("kind", LOSSES)
def test_zero_weight_removes_a_configuration_and_weights_scale_losses(kind: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="painn", hidden=8, layers=1, rbf=6)).double()
    model.set_scale(0.5)
    with_zero = _grads(model, _batch([1.0, 0.0, 1.0]), kind)
    data = load_md17("ethanol", "ccsd(t)")
    frames = Frames(data.positions[[0, 2]], data.numbers, data.energies[[0, 2]], data.forces[[0, 2]])
    without = _grads(model, collate(to_data_list(frames, 5.0, torch.float64)), kind)
    torch.testing.assert_close(with_zero * 3 / 2, without)  # batch mean over 3 vs over 2
    doubled = _grads(model, _batch([2.0, 2.0, 2.0]), kind)
    torch.testing.assert_close(doubled, 2 * _grads(model, _batch([1.0, 1.0, 1.0]), kind))


def test_energy_per_atom_divides_the_energy_error_by_the_atom_count() -> None:
    from train.losses import per_config_loss

    torch.manual_seed(0)
    model = build_model(ModelConfig(name="painn", hidden=8, layers=1, rbf=6)).double()
    model.set_scale(0.5)
    batch = _batch([1.0, 1.0])
    forces_only, _, _ = per_config_loss(model, batch, 0.0, "mse", create_graph=False)
    total, _, _ = per_config_loss(model, batch, 1.0, "mse", create_graph=False)
    per_atom, _, _ = per_config_loss(model, batch, 1.0, "mse", create_graph=False, per_atom=True)
    atoms = 9  # ethanol
    torch.testing.assert_close(per_atom - forces_only, (total - forces_only) / atoms**2)
    assert bool(((total - forces_only) > 0).all())


def test_uniform_weights_as_a_gamma_candidate_are_the_ablations_pretraining(tmp_path: Path) -> None:
    """`uniform_candidate` adds gamma = inf (no bias weights) to the search; the validation loss
    chooses; that candidate's pretraining is the no-bias-weights ablation's, weight for weight."""
    from train import preset, run_asteroid

    acc, dft = load_md17("ethanol", "ccsd(t)"), load_md17("ethanol", "dft")

    def frames(data, index) -> Frames:
        return Frames(data.positions[index], data.numbers, data.energies[index], data.forces[index])

    args = (frames(acc, np.arange(16)), frames(dft, np.arange(100, 132)), frames(acc, np.arange(16, 24)),
            frames(acc, np.arange(24, 32)))
    config = replace(preset("tiny"), gammas=(0.5,), uniform_candidate=True)
    both = run_asteroid(*args, config, tmp_path / "both").metrics
    plain = run_asteroid(*args, replace(config, bias_weights=False), tmp_path / "plain").metrics
    search = {point["gamma"]: point["val_loss"] for point in both["gamma_search"]}
    assert set(search) == {0.5, math.inf} and both["gamma"] == min(search, key=search.get)
    chosen = next(point for point in both["gamma_search"] if point["gamma"] == both["gamma"])
    assert chosen["test_force_mae"] == pytest.approx(both["test"]["force_mae"], rel=1e-9)  # every candidate is tested too
    assert both["weights"] == ("uniform" if both["gamma"] == math.inf else "bias") and plain["weights"] == "uniform"
    ours = torch.load(tmp_path / "both/stages/pretrain_uniform.pt", weights_only=True)
    theirs = torch.load(tmp_path / "plain/stages/pretrain_uniform.pt", weights_only=True)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours if isinstance(ours[k], torch.Tensor))
