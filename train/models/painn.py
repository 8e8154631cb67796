"""PaiNN (Schütt, Unke, Gastegger, ICML 2021) in plain torch: invariant scalars s (N, F) and
equivariant vectors v (N, 3, F) exchanged along edges with a sine radial basis and cosine cutoff."""
from __future__ import annotations

import torch
from torch import nn

from train.models.radial import SineBasis, cosine_cutoff, edge_geometry


class _Message(nn.Module):
    def __init__(self, hidden: int, rbf: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 3 * hidden))
        self.filter = nn.Linear(rbf, 3 * hidden)

    def forward(self, s, v, edge_index, basis, fcut, unit):
        j, i = edge_index[0], edge_index[1]
        x = self.phi(s)[j] * (self.filter(basis) * fcut.unsqueeze(-1))
        xs, xvv, xvs = torch.split(x, s.shape[-1], dim=-1)
        dv_edge = xvv.unsqueeze(1) * v[j] + xvs.unsqueeze(1) * unit.unsqueeze(-1)
        ds = torch.zeros_like(s).index_add(0, i, xs)
        dv = torch.zeros_like(v).index_add(0, i, dv_edge)
        return s + ds, v + dv


class _Update(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.uv = nn.Linear(hidden, 2 * hidden, bias=False)
        self.mlp = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, 3 * hidden))

    def forward(self, s, v):
        u, w = torch.split(self.uv(v), s.shape[-1], dim=-1)
        norm = torch.sqrt((w * w).sum(dim=1) + 1e-8)
        a = self.mlp(torch.cat([s, norm], dim=-1))
        avv, asv, ass = torch.split(a, s.shape[-1], dim=-1)
        return s + ass + asv * (u * w).sum(dim=1), v + avv.unsqueeze(1) * u


class PaiNN(nn.Module):
    """Per-atom energies from a PaiNN with `layers` message/update blocks of width `hidden`."""

    def __init__(self, hidden: int = 128, layers: int = 3, rbf: int = 20, cutoff: float = 5.0,
                 max_z: int = 100) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.embed = nn.Embedding(max_z + 1, hidden)
        self.basis = SineBasis(rbf, cutoff)
        self.messages = nn.ModuleList(_Message(hidden, rbf) for _ in range(layers))
        self.updates = nn.ModuleList(_Update(hidden) for _ in range(layers))
        self.readout = nn.Sequential(nn.Linear(hidden, hidden // 2), nn.SiLU(), nn.Linear(hidden // 2, 1))

    def forward(self, z: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        dist, unit = edge_geometry(pos, edge_index)
        basis = self.basis(dist)
        fcut = cosine_cutoff(dist, self.cutoff)
        s = self.embed(z).to(pos.dtype)
        v = torch.zeros(s.shape[0], 3, s.shape[1], dtype=pos.dtype, device=pos.device)
        for message, update in zip(self.messages, self.updates):
            s, v = message(s, v, edge_index, basis, fcut, unit)
            s, v = update(s, v)
        return self.readout(s).squeeze(-1)
