"""Labelers: energies (eV) and forces (eV/Å) of configurations at one fidelity each, with a
declared cost per label in CPU-core seconds. Owns the Labeler protocol, spec strings and their
registry, typed errors, and the backends (cached MD17/user files, PySCF, xTB, OpenMM). Knows
nothing of budgets or training; what it returns are plain values (floats, numpy arrays).
"""
from labelers.base import Fidelity, Label, Labeler
from labelers.errors import (
    ConvergenceError,
    LabelerError,
    LabelFailedError,
    MissingDependencyError,
    NonFiniteLabelError,
    NotInCacheError,
    ResourceError,
    SpecError,
)
from labelers.registry import BACKENDS, get_labeler, split_spec

__all__ = [
    "BACKENDS", "ConvergenceError", "Fidelity", "Label", "Labeler", "LabelerError",
    "LabelFailedError", "MissingDependencyError", "NonFiniteLabelError", "NotInCacheError",
    "ResourceError", "SpecError", "get_labeler", "split_spec",
]
