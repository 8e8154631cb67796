"""ASE calculator for a trained model: `load_calculator(path)` -> energies eV, forces eV/Å."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from torch_geometric.data import Data

from train.checkpoint import load_model
from train.graph import collate, radius_graph


class PotentialCalculator(Calculator):
    """ASE calculator wrapping a `Potential` (no periodic boundaries)."""

    implemented_properties = ["energy", "forces", "free_energy"]

    def __init__(self, model, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.dtype = next(model.parameters()).dtype
        self.cutoff = float(model.net.cutoff)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        pos = torch.as_tensor(self.atoms.get_positions(), dtype=self.dtype)
        z = torch.as_tensor(self.atoms.get_atomic_numbers(), dtype=torch.long)
        weight = torch.ones(1, dtype=self.dtype)
        batch = collate([Data(pos=pos, z=z, edge_index=radius_graph(pos, self.cutoff), weight=weight)])
        residual, forces = self.model.energy_forces(batch)
        energy = float(residual.detach().double()[0] + self.model.reference(batch.z, batch.batch, 1)[0])
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["forces"] = forces.detach().double().numpy().astype(np.float64)


def load_calculator(path: str | Path, threads: int | None = None) -> PotentialCalculator:
    """An ASE calculator from a model file or run directory (`DIR/model.pt`)."""
    if threads is not None:
        torch.set_num_threads(threads)
    return PotentialCalculator(load_model(path))
