"""Fine-tuning with more than the accurate force labels: the cheap labels replayed through a
learned fidelity shift, and accurate energy-only labels.

The paper's fine-tuning sees the accurate labels only, so what the pretraining learnt from the
cheap labels is kept only as far as the starting weights carry it. Here each fine-tuning step also
takes a batch of cheap-label frames, predicted as the model plus a shift:

    E_cheap(x) = E(x) + gate * E_shift(x) + (ref_cheap - ref)

`E` is the model being fine-tuned (the accurate fidelity), `E_shift` a small network of the same
architecture (`shift_hidden` channels, one interaction) that learns the cheap fidelity's error,
`gate` a scalar that starts at 0 (so the cheap head starts as the pretrained model, exactly) and
`ref_cheap` the per-element reference energies fitted in pretraining. The loss is
`L_accurate + replay * L_cheap`. The cheap labels thus keep constraining the shape of `E` where
the shift is too small a network to absorb it, as mace-torch's multi-head fine-tuning keeps its
pretraining data in play with a head of its own. Validation, selection and the saved model use `E`
alone; the shift is discarded after the stage.

Accurate energy-only labels (a CCSD(T) energy without its gradient costs about 1/40 of a force
label) add `energy_only_rho * L_E` on a batch of them per step, with the energy alone computed.

A replay or energy-only batch is drawn by a generator seeded from the accurate batch's positions
and the run's seed: the same accurate batch always draws the same frames, so a resumed stage is
the stage that was interrupted.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn

from train.config import TrainConfig
from train.graph import collate
from train.losses import energy_only_loss, weighted_loss
from train.models import Potential, build_model
from train.models.potential import energy_forces


class JointFidelity(nn.Module):
    """The model being fine-tuned (`potential`, the accurate fidelity) and the shift that turns it
    into the cheap fidelity. Behaves as `potential` for training-loop bookkeeping and evaluation."""

    def __init__(self, potential: Potential, shift: Potential, cheap_ref: torch.Tensor) -> None:
        super().__init__()
        self.potential = potential
        self.shift = shift
        self.gate = nn.Parameter(torch.zeros((), dtype=next(potential.parameters()).dtype))
        self.register_buffer("cheap_ref", cheap_ref.detach().clone().to(torch.float64))

    @property
    def ref(self) -> torch.Tensor:
        return self.potential.ref

    @property
    def scale(self) -> torch.Tensor:
        return self.potential.scale

    def energy_forces(self, batch, create_graph: bool = False):
        return self.potential.energy_forces(batch, create_graph)

    def reference(self, z: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        return self.potential.reference(z, batch, num_graphs)

    def cheap(self) -> CheapFidelity:
        return CheapFidelity(self)


class CheapFidelity:
    """The cheap-fidelity head of a `JointFidelity`: what the loss functions need of a model."""

    def __init__(self, joint: JointFidelity) -> None:
        self.joint = joint
        self.scale = joint.potential.scale

    def residual(self, z: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor,
                 num_graphs: int) -> torch.Tensor:
        """The model's residual energies plus the gated shift's (eV)."""
        joint = self.joint
        energy = joint.potential.residual(z, pos, edge_index, batch, num_graphs)
        return energy + joint.gate.to(energy.dtype) * joint.shift.residual(z, pos, edge_index, batch, num_graphs)

    def energy_forces(self, batch, create_graph: bool = False):
        return energy_forces(self.residual, batch, create_graph)

    def reference(self, z: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        out = torch.zeros(num_graphs, dtype=torch.float64, device=z.device)
        return out.index_add(0, batch, self.joint.cheap_ref[z])


def joint_fidelity(potential: Potential, config: TrainConfig, cheap_ref: torch.Tensor) -> JointFidelity:
    """`potential` (reference energies already fitted on the accurate labels; `cheap_ref` those of
    the cheap labels) with a fresh shift network of `config.shift_hidden` channels, one interaction."""
    dtype = next(potential.parameters()).dtype
    torch.manual_seed(config.seed_for("shift"))
    shift = build_model(replace(config.model, hidden=config.shift_hidden, layers=1)).to(dtype)
    shift.set_scale(float(potential.scale))
    return JointFidelity(potential, shift, cheap_ref)


def _draw(graphs: list, batch, seed: int, size: int):
    """`size` of `graphs`, drawn with a generator seeded from `batch`'s positions and `seed`."""
    key = zlib.crc32(batch.pos.detach().cpu().numpy().tobytes()) ^ (seed * 2_654_435_761 % 2**32)
    picks = torch.randint(len(graphs), (size,), generator=torch.Generator().manual_seed(key)).tolist()
    return collate([graphs[i] for i in picks])


def finetune_loss(config: TrainConfig, batch_size: int, cheap: list | None = None,
                  energy_only: list | None = None) -> Callable:
    """The fine-tuning loss `L_accurate [+ replay * L_cheap] [+ energy_only_rho * L_E(energy-only)]`
    of a model (a `JointFidelity` when `cheap` graphs are replayed), with `batch_size` frames of
    each extra set drawn per step."""

    def loss(model, batch) -> torch.Tensor:
        potential = model.potential if isinstance(model, JointFidelity) else model
        total = weighted_loss(potential, batch, config.rho, config.loss, config.energy_per_atom)
        if cheap:
            total = total + config.replay * weighted_loss(model.cheap(), _draw(cheap, batch, config.seed, batch_size),
                                                          config.rho, config.loss, config.energy_per_atom)
        if energy_only:
            total = total + energy_only_loss(potential, _draw(energy_only, batch, config.seed + 1, batch_size),
                                             config.energy_only_rho, config.loss, config.energy_per_atom)
        return total

    return loss
