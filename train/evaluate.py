"""Evaluation of a `Potential` on graphs: losses, energy and force MAE, force predictions.

MAE convention (the paper's): energy MAE per configuration; force MAE averaged over atoms and
Cartesian components. Reported in kcal/mol and kcal/mol/Å (`KCAL_MOL` eV per kcal/mol).
"""
from __future__ import annotations

import numpy as np
from ase import units

from train.graph import batches
from train.losses import per_config_loss

KCAL_MOL = units.kcal / units.mol  # eV per kcal/mol


def predict(model, data: list, batch_size: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Total energies (n,) eV and forces (n, k, 3) eV/Å of graphs (all with k atoms)."""
    model.eval()
    energies, forces = [], []
    for batch in batches(data, batch_size, shuffle=False):
        residual, f = model.energy_forces(batch)
        total = residual.detach().double() + model.reference(batch.z, batch.batch, batch.num_graphs)
        energies.append(total.cpu().numpy())
        forces.append(f.detach().double().cpu().numpy().reshape(batch.num_graphs, -1, 3))
    return np.concatenate(energies), np.concatenate(forces)


def evaluate(model, data: list, rho: float, kind: str, batch_size: int = 100, per_atom: bool = False) -> dict[str, float]:
    """Unweighted mean loss and MAE (kcal/mol, kcal/mol/Å) of a labelled graph list."""
    model.eval()
    loss_sum, e_abs, f_abs, f_count = 0.0, 0.0, 0.0, 0
    for batch in batches(data, batch_size, shuffle=False):
        loss, residual, forces = per_config_loss(model, batch, rho, kind, create_graph=False, per_atom=per_atom)
        total = residual.detach().double() + model.reference(batch.z, batch.batch, batch.num_graphs)
        loss_sum += float(loss.detach().sum())
        e_abs += float((total - batch.y).abs().sum())
        f_abs += float((forces.detach() - batch.force).abs().sum())
        f_count += forces.numel()
    n = len(data)
    return {
        "loss": loss_sum / n,
        "energy_mae": e_abs / n / KCAL_MOL,
        "force_mae": f_abs / f_count / KCAL_MOL,
    }
