"""Per-configuration weighted losses `rho * L_E + L_F` and evaluation metrics.

Errors are divided by the model's `scale` (eV/Å) so that learning rates carry over between data
sets. With `per_atom` the energy error is divided by the number of atoms (mace-torch's convention,
so that one `rho` serves molecules of every size). Each configuration's force loss is its mean over atoms and Cartesian components; weights
multiply the per-configuration loss for every loss type, and the batch loss is the mean of
weight x loss (weights normalised to mean 1 over a data set reproduce the paper's eq. 2; a zero
weight gives zero gradient).
"""
from __future__ import annotations

import torch

from train.errors import ConfigError

LOSSES = ("mse", "mae", "huber")


def _elementwise(error: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "mse":
        return error * error
    if kind == "mae":
        return error.abs()
    if kind == "huber":
        return torch.nn.functional.huber_loss(error, torch.zeros_like(error), reduction="none", delta=0.01)
    raise ConfigError(f"unknown loss {kind!r}; losses: {', '.join(LOSSES)}")


def per_config_loss(model, batch, rho: float, kind: str, create_graph: bool = True, per_atom: bool = False):
    """(per-configuration loss (B,), predicted residual energies (B,), forces (N, 3))."""
    energy, forces = model.energy_forces(batch, create_graph=create_graph)
    scale = model.scale.to(energy.dtype)
    atom_losses = _elementwise((forces - batch.force) / scale, kind).sum(dim=1)
    sums = torch.zeros(batch.num_graphs, dtype=atom_losses.dtype).index_add(0, batch.batch, atom_losses)
    loss_f = sums / (3.0 * _atoms(batch, atom_losses.dtype))
    return rho * _energy_loss(model, batch, energy, kind, per_atom) + loss_f, energy, forces


def _atoms(batch, dtype: torch.dtype) -> torch.Tensor:
    return torch.bincount(batch.batch, minlength=batch.num_graphs).to(dtype)


def _energy_loss(model, batch, energy: torch.Tensor, kind: str, per_atom: bool) -> torch.Tensor:
    """Per-configuration L_E of predicted residual energies `energy` (B,) against the batch's labels."""
    target = (batch.y - model.reference(batch.z, batch.batch, batch.num_graphs)).to(energy.dtype)
    scale = model.scale.to(energy.dtype)
    return _elementwise((energy - target) / (scale * _atoms(batch, energy.dtype) if per_atom else scale), kind)


def energy_only_loss(model, batch, rho: float, kind: str, per_atom: bool = False) -> torch.Tensor:
    """Mean over the batch of weight x rho * L_E, for energy-only labels (no forces computed)."""
    energy = model.residual(batch.z, batch.pos, batch.edge_index, batch.batch, batch.num_graphs)
    loss = rho * _energy_loss(model, batch, energy, kind, per_atom)
    return (batch.weight.to(loss.dtype) * loss).mean()


def weighted_loss(model, batch, rho: float, kind: str, per_atom: bool = False) -> torch.Tensor:
    """Mean over the batch of weight x (rho * L_E + L_F)."""
    loss, _, _ = per_config_loss(model, batch, rho, kind, per_atom=per_atom)
    return (batch.weight.to(loss.dtype) * loss).mean()
