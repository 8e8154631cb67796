"""MACE (Batatia et al., NeurIPS 2022) from mace-torch, behind the per-atom network interface.

The network is mace-torch's own `MACE` module (the `[mace]` extra), called with forces off: it
returns per-atom energies, and `Potential` adds reference energies and differentiates, as for the
other architectures. Elements are one-hot encoded over the model config's `elements` (a run fills
in those of its data; `ORGANIC` when none are given). Their number costs: MACE's per-element
product weights make 10 elements 2.4x slower to train than ethanol's 3. Messages are normalised by
the config's `neighbours` (a run measures its data's mean). Importing mace-torch sets
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD; every `torch.load` here passes `weights_only` explicitly.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from train.errors import ConfigError

ORGANIC = (1, 6, 7, 8, 9, 15, 16, 17, 35, 53)  # H C N O F P S Cl Br I
AVG_NEIGHBOURS = 8.0  # message normalisation when none is given (runs measure it on their data)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """mace-torch prints to stdout on import (it would corrupt `--json` output) and e3nn and
    TorchScript warn while modules are built; neither says anything a user can act on."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _mace_modules():
    try:
        with _quiet():
            import mace.modules as modules  # before e3nn (mace-torch sets e3nn up on import)
            from e3nn import o3
    except ImportError:
        raise ConfigError("model 'mace' needs mace-torch: pip install -e '.[mace]'") from None
    return modules, o3


class MACENet(nn.Module):
    """Per-atom energies from a MACE with `layers` interactions, `hidden` channels of 0e + 1o
    features, `rbf` Bessel functions, spherical harmonics up to `max_ell`, and symmetric products
    of up to `correlation` neighbour features (3: four-body messages, MACE's default), a polynomial
    envelope of order `cutoff_power` and, with `reduced_cg`, the reduced Clebsch-Gordan basis."""

    def __init__(self, hidden: int = 32, layers: int = 2, rbf: int = 8, cutoff: float = 5.0,
                 max_z: int = 100, elements: tuple[int, ...] = (), max_ell: int = 2,
                 correlation: int = 3, neighbours: float = 0.0, cutoff_power: int = 5,
                 reduced_cg: bool = False) -> None:
        super().__init__()
        modules, o3 = _mace_modules()
        self.cutoff = cutoff
        self.elements = tuple(sorted(set(elements or ORGANIC)))
        if max(self.elements) > max_z:
            raise ConfigError(f"model elements {self.elements} exceed max_z {max_z}")
        index = torch.full((max_z + 1,), -1, dtype=torch.long)
        index[list(self.elements)] = torch.arange(len(self.elements))
        self.register_buffer("element_index", index, persistent=False)
        # mace-torch's constructor arguments, kept so that `train.export` can build the same
        # network as a stand-alone ScaleShiftMACE
        self.settings = dict(
            r_max=cutoff, num_bessel=rbf, num_polynomial_cutoff=cutoff_power, max_ell=max_ell,
            interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
            interaction_cls_first=modules.interaction_classes["RealAgnosticInteractionBlock"],
            num_interactions=layers, num_elements=len(self.elements),
            hidden_irreps=o3.Irreps(f"{hidden}x0e + {hidden}x1o"), MLP_irreps=o3.Irreps("16x0e"),
            atomic_energies=np.zeros(len(self.elements)), avg_num_neighbors=neighbours or AVG_NEIGHBOURS,
            atomic_numbers=list(self.elements), correlation=correlation,
            gate=torch.nn.functional.silu, radial_MLP=[64, 64, 64], use_reduced_cg=reduced_cg,
        )
        with _quiet():
            self.mace = modules.MACE(**self.settings)

    def forward(self, z: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        index = self.element_index[z]
        if bool((index < 0).any()):
            missing = sorted(set(z[index < 0].tolist()))
            raise ConfigError(f"MACE model has no element(s) {missing}; it knows {list(self.elements)}")
        n = pos.shape[0]
        data = {
            "positions": pos,
            "node_attrs": nn.functional.one_hot(index, len(self.elements)).to(pos.dtype),
            "edge_index": edge_index,
            "shifts": pos.new_zeros((edge_index.shape[1], 3)),
            "batch": index.new_zeros(n),  # node energies do not depend on graph membership
            "ptr": torch.tensor([0, n], device=pos.device),
            "cell": pos.new_zeros((1, 3, 3)),
        }
        return self.mace(data, training=self.training, compute_force=False)["node_energy"]
