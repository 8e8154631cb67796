"""Pure-torch radius graph and conversion of `Frames` to torch-geometric `Data` objects.

`radius_graph(pos, cutoff, batch)` returns directed edges (source j, target i) between distinct
atoms of the same molecule closer than `cutoff` Å: the dense per-molecule distance matrix is
cheap for molecules (tens of atoms), so no pyg-lib is needed.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from train.frames import Frames


def radius_graph(pos: torch.Tensor, cutoff: float, batch: torch.Tensor | None = None) -> torch.Tensor:
    """Edge index (2, E), row 0 = source j, row 1 = target i, |x_i - x_j| < cutoff, same molecule."""
    n = pos.shape[0]
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=pos.device)
    counts = torch.bincount(batch)
    edges = []
    start = 0
    for count in counts.tolist():  # one dense block per molecule
        p = pos[start:start + count].detach()
        dist = torch.cdist(p, p)
        mask = (dist < cutoff) & ~torch.eye(count, dtype=torch.bool, device=pos.device)
        j, i = torch.nonzero(mask, as_tuple=True)
        edges.append(torch.stack([j, i]) + start)
        start += count
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return torch.cat(edges, dim=1)


def to_data_list(frames: Frames, cutoff: float, dtype: torch.dtype = torch.float32) -> list[Data]:
    """One `Data` per configuration: pos, z, edge_index, and y (energy), force, weight if present."""
    numbers = torch.tensor(np.array(frames.atom_numbers), dtype=torch.long)
    positions = torch.tensor(frames.positions, dtype=dtype)
    energies = None if frames.energies is None else torch.tensor(frames.energies, dtype=torch.float64)
    forces = None if frames.forces is None else torch.tensor(frames.forces, dtype=dtype)
    weights = torch.ones(len(frames), dtype=dtype) if frames.weights is None else torch.tensor(frames.weights, dtype=dtype)
    cache: dict[bytes, torch.Tensor] = {}
    out = []
    for index in range(len(frames)):
        pos = positions[index]
        edge_index = radius_graph(pos, cutoff)
        key = edge_index.cpu().numpy().tobytes()  # share identical graphs (all-pairs molecules)
        edge_index = cache.setdefault(key, edge_index)
        data = Data(pos=pos, z=numbers[index], edge_index=edge_index, weight=weights[index:index + 1])
        if energies is not None:
            data.y = energies[index:index + 1]
        if forces is not None:
            data.force = forces[index]
        out.append(data)
    return out


def collate(data: list[Data]) -> Batch:
    """A torch-geometric `Batch` of configurations (the fields `to_data_list` makes).

    Equivalent to `Batch.from_data_list` for these fields, built with a few `torch.cat`s because
    collation is a visible share of a training step for 9-atom molecules.
    """
    counts = [d.pos.shape[0] for d in data]
    ptr = torch.zeros(len(data) + 1, dtype=torch.long)
    ptr[1:] = torch.tensor(np.cumsum(counts))
    edges = [d.edge_index + ptr[k] for k, d in enumerate(data)]
    fields = {"pos": torch.cat([d.pos for d in data]), "z": torch.cat([d.z for d in data]),
              "edge_index": torch.cat(edges, dim=1), "weight": torch.cat([d.weight for d in data]),
              "batch": torch.cat([torch.full((int(c),), k, dtype=torch.long) for k, c in enumerate(counts)]),
              "ptr": ptr}
    if "y" in data[0]:
        fields["y"] = torch.cat([d.y for d in data])
    if "force" in data[0]:
        fields["force"] = torch.cat([d.force for d in data])
    batch = Batch(**fields)
    batch._num_graphs = len(data)
    return batch


def batches(data: list[Data], batch_size: int, shuffle: bool, generator: torch.Generator | None = None):
    """Yield `Batch`es; with `shuffle`, a permutation drawn from `generator` (reproducible resumes)."""
    order = torch.randperm(len(data), generator=generator, device="cpu").tolist() if shuffle else range(len(data))
    order = list(order)
    for start in range(0, len(order), batch_size):
        yield collate([data[i] for i in order[start:start + batch_size]])


def mean_neighbours(frames: Sequence[Frames], cutoff: float, limit: int = 200) -> float:
    """Mean number of neighbours within `cutoff` (Å) per atom over up to `limit` frames of each set."""
    counts = []
    for f in frames:
        pos = f.positions[:limit]
        dist = np.linalg.norm(pos[:, :, None, :] - pos[:, None, :, :], axis=-1)
        counts.append(((dist < cutoff).sum(axis=-1) - 1).ravel())
    return round(float(np.concatenate(counts).mean()), 3)


def composition_matrix(frames: Frames, max_z: int) -> np.ndarray:
    """(n, max_z + 1) counts of each element per configuration."""
    numbers = frames.atom_numbers
    counts = np.zeros((len(frames), max_z + 1))
    for row, z in enumerate(numbers):
        np.add.at(counts[row], z, 1.0)
    return counts
