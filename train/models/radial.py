"""Radial basis and smooth cutoff shared by the models."""
from __future__ import annotations

import math

import torch
from torch import nn


def cosine_cutoff(distance: torch.Tensor, cutoff: float) -> torch.Tensor:
    """0.5 (cos(pi r / rc) + 1) inside the cutoff, 0 outside; smooth at rc."""
    return 0.5 * (torch.cos(distance * (math.pi / cutoff)) + 1.0) * (distance < cutoff).to(distance.dtype)


class SineBasis(nn.Module):
    """sin(n pi r / rc) / r, n = 1..count (PaiNN's radial basis)."""

    def __init__(self, count: int, cutoff: float) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("freq", torch.arange(1, count + 1, dtype=torch.float32) * (math.pi / cutoff))

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        d = distance.unsqueeze(-1)
        return torch.sin(d * self.freq.to(d.dtype)) / d


def edge_geometry(pos: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distances (E,), unit vectors (E, 3) from source j to target i) of directed edges (j, i)."""
    j, i = edge_index[0], edge_index[1]
    vec = pos[i] - pos[j]
    dist = torch.sqrt((vec * vec).sum(-1))
    return dist, vec / dist.unsqueeze(-1)
