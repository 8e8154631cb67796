"""Score matching for unlabeled configurations (paper section 4, eq. 3), sliced estimator.

L = E_x[ (1/beta) Tr(grad_x F) + 1/2 |F|^2 ], beta = 1/kT. Tr(grad_x F) is estimated with
`projections` Gaussian vectors v as mean of v . grad_x (F . v) (Hutchinson / sliced score matching,
Song et al. 2020). Per configuration the loss is divided by 3k and by scale^2 (eV/Å)^2, like the
force loss, and multiplied by the configuration's weight.

The objective is not a force error: on MD17 ethanol (2000 DFT frames, 500 K) it kept falling, on
held-out configurations too, while the model's force error against DFT rose from 7.5 to 14
kcal/mol/Å (docs/results.md). So the stage keeps the epoch whose forces
are best on the accurate validation set (`train.api.run_score_matching`).
"""
from __future__ import annotations

import torch
from ase import units


def beta_of(temperature: float) -> float:
    """1 / kT in 1/eV at `temperature` K."""
    return 1.0 / (units.kB * temperature)


def score_matching_loss(model, batch, beta: float, projections: int = 1) -> torch.Tensor:
    """Weighted batch mean of the sliced score-matching objective (differentiable in the weights)."""
    pos = batch.pos.detach().requires_grad_(True)
    energy = model.residual(batch.z, pos, batch.edge_index, batch.batch, batch.num_graphs)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
    forces = -grad
    trace = torch.zeros(pos.shape[0], dtype=pos.dtype)
    for _ in range(projections):
        v = torch.randn_like(pos)
        (jv,) = torch.autograd.grad((forces * v).sum(), pos, create_graph=True)
        trace = trace + (jv * v).sum(dim=1)
    per_atom = trace / (projections * beta) + 0.5 * (forces * forces).sum(dim=1)
    sums = torch.zeros(batch.num_graphs, dtype=pos.dtype).index_add(0, batch.batch, per_atom)
    atoms = torch.bincount(batch.batch, minlength=batch.num_graphs).to(pos.dtype)
    per_config = sums / (3.0 * atoms) / model.scale.to(pos.dtype) ** 2
    return (batch.weight.to(pos.dtype) * per_config).mean()

