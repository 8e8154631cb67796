"""EGNN (Satorras, Hoogeboom, Welling, ICML 2021) as an energy model, as used by the ASTEROID
paper (5 layers x 128): invariant messages from node features and squared distances, summed per
atom, residual node updates. Coordinates are not updated (forces come from -dE/dx). As in the
paper there is no smooth envelope: edges are the radius graph's (all pairs in small molecules,
where the energy is smooth); in a molecule larger than the cutoff the energy jumps a little when
a pair crosses it, so use PaiNN there. (An envelope cost about a third of the throughput.)"""
from __future__ import annotations

import torch
from torch import nn


class _Layer(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.edge = nn.Sequential(nn.Linear(2 * hidden + 1, hidden), nn.SiLU(),
                                  nn.Linear(hidden, hidden), nn.SiLU())
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, h, edge_index, dist2):
        j, i = edge_index[0], edge_index[1]
        m = self.edge(torch.cat([h[i], h[j], dist2.unsqueeze(-1)], dim=-1))
        agg = torch.zeros_like(h).index_add(0, i, m)
        return h + self.node(torch.cat([h, agg], dim=-1))


class EGNN(nn.Module):
    def __init__(self, hidden: int = 128, layers: int = 5, cutoff: float = 5.0, max_z: int = 100) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.embed = nn.Embedding(max_z + 1, hidden)
        self.layers = nn.ModuleList(_Layer(hidden) for _ in range(layers))
        self.readout = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, z: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        j, i = edge_index[0], edge_index[1]
        vec = pos[i] - pos[j]
        dist2 = (vec * vec).sum(-1)
        h = self.embed(z).to(pos.dtype)
        for layer in self.layers:
            h = layer(h, edge_index, dist2)
        return self.readout(h).squeeze(-1)
