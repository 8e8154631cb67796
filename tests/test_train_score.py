"""Score matching (paper eq. 3): the sliced estimator is unbiased for Tr(grad_x F)."""
from __future__ import annotations

import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, ModelConfig
from train.graph import collate, to_data_list
from train.models import build_model
from train.score import beta_of, score_matching_loss

torch.set_num_threads(1)


def test_sliced_estimator_matches_exact_trace() -> None:
    data = load_md17("ethanol", "ccsd(t)")
    frames = Frames(data.positions[:1], data.numbers)
    batch = collate(to_data_list(frames, 5.0, torch.float64))
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="painn", hidden=8, layers=2, rbf=6)).double()
    model.set_scale(1.0)
    pos = batch.pos.detach().requires_grad_(True)
    energy = model.residual(batch.z, pos, batch.edge_index, batch.batch, 1)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
    forces = -grad.reshape(-1)
    trace = sum(torch.autograd.grad(forces[k], pos, retain_graph=True)[0].reshape(-1)[k] for k in range(forces.numel()))
    beta = beta_of(500.0)
    exact = float(trace / beta + 0.5 * (forces**2).sum()) / forces.numel()
    torch.manual_seed(1)
    estimate = float(score_matching_loss(model, batch, beta, projections=500))
    assert estimate == pytest.approx(exact, rel=0.1)


def test_beta_is_inverse_kT() -> None:
    assert 1 / beta_of(500.0) == pytest.approx(0.0430868, rel=1e-4)  # eV at 500 K



def test_score_stage_selects_its_epoch_on_validation_forces(tmp_path) -> None:
    from train import preset, run_score_matching

    data = load_md17("ethanol", "ccsd(t)")
    part = lambda lo, hi: Frames(data.positions[lo:hi], data.numbers, data.energies[lo:hi], data.forces[lo:hi])  # noqa: E731
    unlabeled = Frames(data.positions[100:140], data.numbers)
    run_score_matching(part(0, 12), unlabeled, part(12, 18), None, preset("tiny", seed=3), tmp_path)
    history = torch.load(tmp_path / "stages" / "score_matching.pt", weights_only=True)["history"]
    assert len(history) == 3 and all(row["val_loss"] > 0 for row in history)  # force MAE, kcal/mol/Å
