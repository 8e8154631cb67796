"""ASTEROID's fine-tuning with accurate energy-only labels: a CCSD(T) energy without its gradient
costs a fraction of a force label, so the fine-tuning loss may also fit such frames,

    L = L_accurate + energy_only_rho * L_E(energy-only batch),

with the energy alone computed on a batch of them per step. That batch is drawn by a generator
seeded from the accurate batch's positions and the run's seed: the same accurate batch always
draws the same frames, so a resumed stage is the stage that was interrupted.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable

import torch

from train.config import TrainConfig
from train.graph import collate
from train.losses import energy_only_loss, weighted_loss


def _draw(graphs: list, batch, seed: int, size: int):
    """`size` of `graphs`, drawn with a generator seeded from `batch`'s positions and `seed`."""
    key = zlib.crc32(batch.pos.detach().cpu().numpy().tobytes()) ^ (seed * 2_654_435_761 % 2**32)
    picks = torch.randint(len(graphs), (size,), generator=torch.Generator().manual_seed(key)).tolist()
    return collate([graphs[i] for i in picks])


def finetune_loss(config: TrainConfig, batch_size: int, energy_only: list) -> Callable:
    """The fine-tuning loss `L_accurate + energy_only_rho * L_E(energy-only)` of a model, with
    `batch_size` of the `energy_only` graphs drawn per step."""

    def loss(model, batch) -> torch.Tensor:
        total = weighted_loss(model, batch, config.rho, config.loss, config.energy_per_atom)
        drawn = _draw(energy_only, batch, config.seed + 1, batch_size)
        return total + energy_only_loss(model, drawn, config.energy_only_rho, config.loss, config.energy_per_atom)

    return loss
