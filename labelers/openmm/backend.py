"""`openmm:gaff-2.11`: empirical force-field labels (GAFF + AM1-BCC) through OpenMM.

Options: `platform=` (reference, the default, or cpu), `charge=` (net charge; else atoms.info).
The parametrisation is cached per molecule (atomic numbers in order, net charge, and the bond graph
perceived from the first configuration) with one OpenMM Context reused for every later label of it;
a configuration whose perceived bonds are broken is parametrised anew. OpenMM works in kJ/mol and
nm; labels leave in eV and eV/Å.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.units import kJ, mol

from labelers.base import Fidelity, Label
from labelers.costs import LawCosted, ScalingLaw
from labelers.errors import SpecError
from labelers.molecule_info import charge_and_spin
from labelers.openmm.topology import Parametrised, parametrise, require_gaff_stack
from labelers.spec_options import join_options, split_options

FORCEFIELDS = ("gaff-1.81", "gaff-2.11", "gaff-2.2.20")
PLATFORMS = {"reference": "Reference", "cpu": "CPU"}
OPTION_TYPES = {"platform": str, "charge": int}
DEFAULTS = {"platform": "reference"}
EV_PER_KJ_MOL = kJ / mol
EV_PER_ANGSTROM_PER_KJ_MOL_NM = kJ / mol / 10.0
# GAFF energy + forces, Reference platform, reused context, steady state, CPU time
# (benchmarks/bench_costs.py, benchmarks/results/costs.md, run 8): ~0.05 ms from 6 to 12 atoms, all
# of it per-call overhead (positions in, state out); N^2 (pairwise non-bonded terms) assumed beyond.
DECLARED_LAW = ScalingLaw(exponent=2.0, anchors=((6.0, 0.0503e-3), (9.0, 0.0518e-3), (12.0, 0.0553e-3)),
                          small_exponent=0.0)


@dataclass
class _Prepared:
    parametrised: Parametrised
    context: Any  # openmm.Context, reused across labels


class OpenmmLabeler(LawCosted):
    """GAFF energies and forces of organic molecules (bonds perceived from coordinates)."""

    def __init__(self, forcefield: str, options: dict) -> None:
        self.forcefield = forcefield
        self.options = {**DEFAULTS, **options}
        self.spec = "openmm:" + join_options(forcefield, options, DEFAULTS)
        self.fidelity = Fidelity(method=forcefield, family="force-field", forces=True)
        self._cache: dict[tuple[tuple[int, ...], int], list[_Prepared]] = {}

    cost_packages = ("openmm", "openmmforcefields")

    def cost_law(self) -> ScalingLaw:
        """Declared cost law in the number of atoms (parametrisation excluded: once per molecule)."""
        return DECLARED_LAW

    def prepared(self, atoms: Atoms) -> _Prepared:
        """The cached System/Context for `atoms`' molecule, parametrising it on first sight."""
        charge, _ = charge_and_spin(atoms, self.options.get("charge"))
        candidates = self._cache.setdefault((tuple(int(z) for z in atoms.numbers), charge), [])
        for candidate in candidates:
            if candidate.parametrised.bonds_intact(atoms):
                return candidate
        import openmm

        parametrised = parametrise(atoms, charge, self.forcefield)
        platform = openmm.Platform.getPlatformByName(PLATFORMS[self.options["platform"]])
        properties = {"Threads": "1"} if self.options["platform"] == "cpu" else {}
        context = openmm.Context(parametrised.system, openmm.VerletIntegrator(1.0), platform, properties)
        candidates.append(_Prepared(parametrised, context))
        return candidates[-1]

    def label(self, atoms: Atoms) -> Label:
        """Energy (eV) and forces (eV/Å); raises LabelFailedError if the molecule cannot be typed."""
        import openmm.unit as unit

        start = time.process_time()  # CPU of every thread: a busy machine does not inflate it
        prepared = self.prepared(atoms)
        prepared.context.setPositions(atoms.positions * 0.1)  # Å -> nm
        state = prepared.context.getState(getEnergy=True, getForces=True)
        energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        forces = state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
        seconds = time.process_time() - start
        return Label(
            energy=float(energy) * EV_PER_KJ_MOL,
            forces=np.asarray(forces) * EV_PER_ANGSTROM_PER_KJ_MOL_NM,
            seconds=seconds,
            spec=self.spec,
            meta={"openmm": _version("openmm"), "openmmforcefields": _version("openmmforcefields"),
                  "forcefield": self.forcefield, "charges": "am1bcc", "smiles": prepared.parametrised.smiles,
                  "platform": PLATFORMS[self.options["platform"]]},
        )


@functools.cache
def _version(package: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(package)


def make_labeler(rest: str) -> OpenmmLabeler:
    """Factory for the registry: `rest` is the spec after `openmm:` (e.g. `gaff-2.11`)."""
    forcefield, options = split_options(rest, OPTION_TYPES, backend="openmm")
    if forcefield not in FORCEFIELDS:
        raise SpecError(f"unknown openmm force field {forcefield!r}; known: {', '.join(FORCEFIELDS)}")
    if options.get("platform", "reference") not in PLATFORMS:
        raise SpecError(f"unknown openmm platform {options['platform']!r}; known: {', '.join(PLATFORMS)}")
    require_gaff_stack()
    return OpenmmLabeler(forcefield, options)
