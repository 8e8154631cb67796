"""Energy models. Each network maps (z, pos, edge_index) to per-atom scalars; `Potential` wraps one
with per-element reference energies and a scale, and gives energies (eV) and forces -dE/dx (eV/Å).

Architectures: `painn` (PaiNN, Schütt et al. 2021, equivariant vector features; the quick preset's,
chosen for accuracy per CPU-second; docs/results.md) and `egnn` (the paper's EGNN, invariant
energy form, 5 x 128 in the paper), `tensornet` (Cartesian-tensor features) and `mace` (mace-torch's
MACE, the `[mace]` extra; higher body order, the most data-efficient here).
"""
from __future__ import annotations

from collections.abc import Callable

from torch.nn import Module

from train.config import MODEL_NAMES, ModelConfig
from train.errors import ConfigError
from train.models.potential import Potential

MODELS = MODEL_NAMES
# Bump a model's number when a change keeps its parameter names but changes what they mean, so
# that model files written before the change are refused instead of loading silently.
ARCHITECTURE_VERSIONS = {"painn": 1, "egnn": 1, "tensornet": 1, "mace": 1}


def architecture(name: str) -> str:
    """'name/version' of an architecture; mace adds the mace-torch release its modules come from."""
    tag = f"{name}/{ARCHITECTURE_VERSIONS[name]}"
    if name == "mace":
        from importlib.metadata import PackageNotFoundError, version

        try:
            tag += f"+mace-torch-{version('mace-torch')}"
        except PackageNotFoundError:
            tag += "+mace-torch-missing"
    return tag


def _painn(c: ModelConfig) -> Module:
    from train.models.painn import PaiNN

    return PaiNN(c.hidden, c.layers, c.rbf, c.cutoff, c.max_z)


def _egnn(c: ModelConfig) -> Module:
    from train.models.egnn import EGNN

    return EGNN(c.hidden, c.layers, c.cutoff, c.max_z)


def _tensornet(c: ModelConfig) -> Module:
    from train.models.tensornet import TensorNet

    return TensorNet(c.hidden, c.layers, c.rbf, c.cutoff, c.max_z)


def _mace(c: ModelConfig) -> Module:
    from train.models.mace_net import MACENet

    return MACENet(c.hidden, c.layers, c.rbf, c.cutoff, c.max_z, c.elements, c.max_ell, c.correlation, c.neighbours,
                   c.cutoff_power, c.reduced_cg)


# name -> the network's constructor from a ModelConfig (each imports its module when called: mace-torch is heavy)
NETWORKS: dict[str, Callable[[ModelConfig], Module]] = {
    "painn": _painn, "egnn": _egnn, "tensornet": _tensornet, "mace": _mace,
}


def build_model(config: ModelConfig) -> Potential:
    """A freshly initialised `Potential` for `config` (torch's global RNG seeds the weights)."""
    if config.name not in NETWORKS:
        raise ConfigError(f"unknown model {config.name!r}; models: {', '.join(MODELS)}")
    return Potential(NETWORKS[config.name](config), config.max_z)


__all__ = ["NETWORKS", "Potential", "architecture", "build_model"]
