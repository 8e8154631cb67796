"""ASE calculator for a trained model: `load_calculator(path)` -> energies eV, forces eV/Å."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from train.allocator import keep_freed_memory
from train.checkpoint import load_model
from train.device import resolve_device
from train.errors import DataError
from train.graph import radius_graph


class PotentialCalculator(Calculator):
    """ASE calculator wrapping a `Potential` on its device; isolated molecules only (an `Atoms`
with any periodic direction is refused: the graphs have no periodic images).

    One configuration per call, so no PyG batch is built: the model gets the fields it reads
    (pos, z, edge_index, batch, num_graphs); atomic numbers and the reference energy are cached per
    composition, which keeps the per-step overhead in MD small.
    """

    implemented_properties = ["energy", "forces", "free_energy"]

    def __init__(self, model, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.dtype = next(model.parameters()).dtype
        self.device = next(model.parameters()).device
        self.cutoff = float(model.net.cutoff)
        self._composition: tuple | None = None  # (numbers, z, batch index, reference energy eV)

    def _cached_composition(self, numbers: np.ndarray) -> tuple:
        if self._composition is None or not np.array_equal(self._composition[0], numbers):
            z = torch.as_tensor(numbers, dtype=torch.long, device=self.device)
            index = torch.zeros(len(z), dtype=torch.long, device=self.device)
            self._composition = (numbers.copy(), z, index, float(self.model.reference(z, index, 1)[0]))
        return self._composition

    def check_state(self, atoms, tol: float = 1e-15) -> list[str]:
        return exact_changes(self.atoms, atoms)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if self.atoms.pbc.any():
            raise DataError(f"periodic systems are not supported (pbc={self.atoms.pbc.tolist()}): the model was "
                            "trained on isolated molecules; set atoms.pbc = False for a molecule in vacuum")
        _, z, index, reference = self._cached_composition(self.atoms.numbers)
        pos = torch.as_tensor(self.atoms.positions, dtype=self.dtype, device=self.device)
        batch = SimpleNamespace(pos=pos, z=z, edge_index=radius_graph(pos, self.cutoff), batch=index, num_graphs=1)
        residual, forces = self.model.energy_forces(batch)
        energy = float(residual.detach().double()[0]) + reference
        self.results = {"energy": energy, "free_energy": energy, "forces": forces.detach().double().cpu().numpy()}

    def evaluate_many(self, molecules: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
        """(energy eV, forces eV/Å) of several isolated molecules, each given as (atomic numbers,
        positions Å), in one batched model call: MD replicas stepped together (`acquire.md.lockstep`)
        pay a model's fixed per-call cost once, which dominates one small molecule in MACE."""
        z = torch.as_tensor(np.concatenate([numbers for numbers, _ in molecules]), dtype=torch.long, device=self.device)
        sizes = [len(numbers) for numbers, _ in molecules]
        index = torch.repeat_interleave(torch.arange(len(molecules), device=self.device),
                                        torch.as_tensor(sizes, device=self.device))
        pos = torch.as_tensor(np.concatenate([positions for _, positions in molecules]), dtype=self.dtype, device=self.device)
        batch = SimpleNamespace(pos=pos, z=z, edge_index=radius_graph(pos, self.cutoff, index), batch=index,
                                num_graphs=len(molecules))
        residual, forces = self.model.energy_forces(batch)
        energies = residual.detach().double() + self.model.reference(z, index, len(molecules))
        parts = torch.split(forces.detach().double().cpu(), sizes)
        return [(float(e), f.numpy()) for e, f in zip(energies.cpu(), parts)]


def exact_changes(previous, atoms) -> list[str]:
    """What changed since the last calculation: numbers or positions (a model of isolated molecules
    ignores cell and pbc). Exact comparisons, cheaper than ASE's general check, which dominates
    small-model MD steps."""
    if previous is None:
        return list(all_changes)
    if not np.array_equal(atoms.numbers, previous.numbers):
        return ["numbers"]
    if not np.array_equal(atoms.positions, previous.positions):
        return ["positions"]
    return []


def load_calculator(path: str | Path, threads: int | None = None, device: str = "cpu") -> PotentialCalculator:
    """An ASE calculator from a model file or run directory (`DIR/model.pt`) on `device`
    ('cpu', 'cuda', or 'auto': cuda when a GPU is visible)."""
    if threads is not None:
        torch.set_num_threads(threads)
    keep_freed_memory()
    return PotentialCalculator(load_model(path).to(resolve_device(device)))
