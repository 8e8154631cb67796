"""TensorNet-style model (after Simeon & De Fabritiis, NeurIPS 2023) in plain torch.

Each atom carries F Cartesian 3x3 tensors X = I + A + S (scalar, antisymmetric and symmetric
traceless parts). Edges build the initial tensors from the unit vector r̂ (identity, skew(r̂),
r̂r̂ᵀ - 1/3); interactions mix channels per part, gather neighbours' parts weighted by radial
filters, and combine them with per-channel matrix products Y M + M Y, which raise the body order
cheaply. Energies come from the norms of the parts. O(3)-equivariant tensors, invariant energy.
Tensors are stored as (N, 3, 3, F) so that channel mixing is a plain `nn.Linear`.
"""
from __future__ import annotations

import torch
from torch import nn

from train.models.radial import SineBasis, cosine_cutoff, edge_geometry


def _decompose(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(trace/3 (N, F), antisymmetric (N,3,3,F), symmetric traceless (N,3,3,F)) of x (N,3,3,F)."""
    mean = (x[:, 0, 0] + x[:, 1, 1] + x[:, 2, 2]) / 3.0
    xt = x.transpose(1, 2)
    eye = torch.eye(3, dtype=x.dtype, device=x.device).view(1, 3, 3, 1)
    return mean, 0.5 * (x - xt), 0.5 * (x + xt) - mean[:, None, None, :] * eye


def _compose(mean: torch.Tensor, a: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(3, dtype=a.dtype, device=a.device).view(1, 3, 3, 1)
    return mean[:, None, None, :] * eye + a + s


def _norm2(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(dim=(1, 2))


def _matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-channel 3x3 matrix product of (N, 3, 3, F) tensors."""
    return (x.unsqueeze(3) * y.unsqueeze(1)).sum(dim=2)


def _skew(u: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros_like(u[:, 0])
    return torch.stack([torch.stack([zero, -u[:, 2], u[:, 1]], -1),
                        torch.stack([u[:, 2], zero, -u[:, 0]], -1),
                        torch.stack([-u[:, 1], u[:, 0], zero], -1)], 1)


class _Mix(nn.Module):
    """Channel mixing of each part separately (no bias: keeps equivariance)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.i = nn.Linear(hidden, hidden, bias=False)
        self.a = nn.Linear(hidden, hidden, bias=False)
        self.s = nn.Linear(hidden, hidden, bias=False)

    def forward(self, mean, a, s):
        return self.i(mean), self.a(a), self.s(s)


class _Interaction(nn.Module):
    def __init__(self, hidden: int, rbf: int) -> None:
        super().__init__()
        self.filter = nn.Sequential(nn.Linear(rbf, hidden), nn.SiLU(), nn.Linear(hidden, 3 * hidden), nn.SiLU())
        self.mix_in = _Mix(hidden)
        self.mix_out = _Mix(hidden)

    def forward(self, x, edge_index, basis, fcut):
        j, i = edge_index[0], edge_index[1]
        x = x / (_norm2(x) + 1.0)[:, None, None, :]
        mean, a, s = self.mix_in(*_decompose(x))
        f_i, f_a, f_s = torch.split(self.filter(basis) * fcut.unsqueeze(-1), mean.shape[-1], dim=-1)
        m_mean = torch.zeros_like(mean).index_add(0, i, f_i * mean[j])
        m_a = torch.zeros_like(a).index_add(0, i, f_a[:, None, None, :] * a[j])
        m_s = torch.zeros_like(s).index_add(0, i, f_s[:, None, None, :] * s[j])
        y, m = _compose(mean, a, s), _compose(m_mean, m_a, m_s)
        product = _matmul(y, m) + _matmul(m, y)
        p_mean, p_a, p_s = _decompose(product)
        scale = (_norm2(product) + 1.0)[:, None, None, :]
        d_mean, d_a, d_s = self.mix_out(p_mean / scale[:, 0, 0], p_a / scale, p_s / scale)
        dx = _compose(d_mean, d_a, d_s)
        return x + dx + _matmul(dx, dx)


class TensorNet(nn.Module):
    """Per-atom energies from `layers` tensor interactions of width `hidden`."""

    def __init__(self, hidden: int = 64, layers: int = 2, rbf: int = 32, cutoff: float = 5.0,
                 max_z: int = 100) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.embed = nn.Embedding(max_z + 1, hidden)
        self.pair = nn.Linear(2 * hidden, hidden)
        self.basis = SineBasis(rbf, cutoff)
        self.radial = nn.Linear(rbf, 3 * hidden)
        self.norm = nn.LayerNorm(3 * hidden)
        self.gate = nn.Sequential(nn.Linear(3 * hidden, 2 * hidden), nn.SiLU(), nn.Linear(2 * hidden, 3 * hidden), nn.SiLU())
        self.mix = _Mix(hidden)
        self.layers = nn.ModuleList(_Interaction(hidden, rbf) for _ in range(layers))
        self.out_norm = nn.LayerNorm(3 * hidden)
        self.readout = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, z: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        j, i = edge_index[0], edge_index[1]
        dist, unit = edge_geometry(pos, edge_index)
        basis = self.basis(dist)
        fcut = cosine_cutoff(dist, self.cutoff)
        emb = self.embed(z).to(pos.dtype)
        hidden = emb.shape[-1]
        zij = self.pair(torch.cat([emb[i], emb[j]], dim=-1)) * fcut.unsqueeze(-1)
        c_i, c_a, c_s = torch.split(self.radial(basis) * zij.repeat(1, 3), hidden, dim=-1)
        n = z.shape[0]
        eye = torch.eye(3, dtype=pos.dtype, device=pos.device)
        sym = unit[:, :, None] * unit[:, None, :] - eye / 3.0
        mean = torch.zeros(n, hidden, dtype=pos.dtype, device=pos.device).index_add(0, i, c_i)
        a = torch.zeros(n, 3, 3, hidden, dtype=pos.dtype, device=pos.device).index_add(
            0, i, _skew(unit)[..., None] * c_a[:, None, None, :])
        s = torch.zeros(n, 3, 3, hidden, dtype=pos.dtype, device=pos.device).index_add(
            0, i, sym[..., None] * c_s[:, None, None, :])
        norms = self.norm(torch.cat([3 * mean * mean, _norm2(a), _norm2(s)], dim=-1))
        g_i, g_a, g_s = torch.split(self.gate(norms), hidden, dim=-1)
        mean, a, s = self.mix(mean, a, s)
        x = _compose(mean * g_i, a * g_a[:, None, None, :], s * g_s[:, None, None, :])
        for layer in self.layers:
            x = layer(x, edge_index, basis, fcut)
        mean, a, s = _decompose(x)
        features = self.out_norm(torch.cat([3 * mean * mean, _norm2(a), _norm2(s)], dim=-1))
        return self.readout(features).squeeze(-1)
