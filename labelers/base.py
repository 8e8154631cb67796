"""The labeler contract: what every backend is and returns.

Units at this boundary (docs/architecture.md, "Conventions"): positions Å, energy eV, forces eV/Å, cost in CPU-core
seconds (the CPU time of every thread used, `time.process_time`: waiting for a busy core does not count).
Backends convert their native units once, on the way out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from ase import Atoms

from labelers.errors import LabelShapeError, NonFiniteLabelError


@dataclass(frozen=True)
class Label:
    """One label of one configuration at one fidelity.

    energy: eV; forces: (n_atoms, 3) eV/Å, or None for an energy-only label;
    seconds: CPU-core seconds actually spent; spec: the labeler's canonical spec;
    meta: versions and settings that produced it (JSON-serialisable).
    """

    energy: float
    forces: np.ndarray | None
    seconds: float
    spec: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not math.isfinite(self.energy):
            raise NonFiniteLabelError(f"{self.spec}: non-finite energy {self.energy!r}")
        if self.forces is not None:
            forces = np.asarray(self.forces, dtype=float)
            if forces.ndim != 2 or forces.shape[1] != 3:
                raise LabelShapeError(f"{self.spec}: forces must be (n_atoms, 3), got {forces.shape}")
            if not np.all(np.isfinite(forces)):
                raise NonFiniteLabelError(f"{self.spec}: non-finite forces")
            object.__setattr__(self, "forces", forces)


@dataclass(frozen=True)
class Fidelity:
    """What a labeler's labels are: method, basis, level name, and whether forces are given."""

    method: str
    basis: str | None = None
    family: str = ""  # "coupled-cluster", "dft", "semi-empirical", "force-field", "cached"
    forces: bool = True


@runtime_checkable
class Labeler(Protocol):
    """One fidelity of energy and force labels with a declared cost."""

    spec: str
    fidelity: Fidelity

    def cost(self, atoms: Atoms) -> float:
        """Declared cost of labelling `atoms`, CPU-core seconds."""
        ...

    def label(self, atoms: Atoms) -> Label:
        """Energy (eV) and forces (eV/Å) of `atoms`; raises a LabelerError on failure."""
        ...
