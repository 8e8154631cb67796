"""`Potential`: a per-atom network plus reference energies; energies in eV, forces in eV/Å.

E(x) = scale * sum_i net(x)_i + sum_i ref[z_i]. `ref` holds per-element reference energies fitted
by least squares on the training set of the current fidelity (`fit_reference`); `scale` (eV/Å,
the RMS force component of the first training set) makes the network's outputs O(1). The network
part and the reference part are kept apart (`residual`) so that float32 training never sees the
large total energies (about -4200 eV for ethanol).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def energy_forces(residual, batch, create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(residual energies (B,), forces (N, 3) = -dE/dx) of a batch, from `residual(z, pos,
    edge_index, batch, num_graphs)` (a `Potential`'s, or any sum of them)."""
    pos = batch.pos
    if not pos.requires_grad:
        pos = pos.detach().requires_grad_(True)
    energy = residual(batch.z, pos, batch.edge_index, batch.batch, batch.num_graphs)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=create_graph)
    return energy, -grad


class Potential(nn.Module):
    def __init__(self, net: nn.Module, max_z: int) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("ref", torch.zeros(max_z + 1, dtype=torch.float64))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))

    def _apply(self, fn, recurse: bool = True):  # dtype casts leave reference energies in float64
        ref, scale = self.ref, self.scale
        super()._apply(fn, recurse)
        self.ref = ref.to(device=self.ref.device, dtype=torch.float64)
        self.scale = scale.to(device=self.scale.device, dtype=torch.float64)
        return self

    def residual(self, z: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                 batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        """Energy minus reference energies per configuration (eV), in the network's dtype."""
        atomic = self.net(z, pos, edge_index) * self.scale.to(pos.dtype)
        out = torch.zeros(num_graphs, dtype=pos.dtype, device=pos.device)
        return out.index_add(0, batch, atomic)

    def reference(self, z: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        """Sum of per-element reference energies per configuration (eV, float64)."""
        out = torch.zeros(num_graphs, dtype=torch.float64, device=z.device)
        return out.index_add(0, batch, self.ref[z])

    def energy_forces(self, batch, create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(residual energies (B,), forces (N, 3)) of a torch-geometric batch; forces = -dE/dx."""
        return energy_forces(self.residual, batch, create_graph)

    def fit_reference(self, counts: np.ndarray, energies: np.ndarray) -> None:
        """Least-squares per-element energies from (n, max_z+1) composition counts and energies (eV).

        With one composition the system is rank one and the minimum-norm solution spreads the mean
        energy over the elements; that is all a single-molecule model needs.
        """
        present = counts.sum(axis=0) > 0
        solution, *_ = np.linalg.lstsq(counts[:, present], energies, rcond=None)
        ref = np.zeros(counts.shape[1])
        ref[present] = solution
        self.ref.copy_(torch.as_tensor(ref, dtype=torch.float64))

    def set_scale(self, value: float) -> None:
        self.scale.fill_(float(value))
