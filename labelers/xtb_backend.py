"""`xtb:gfn2` / `xtb:gfn1` / `xtb:ipea1`: semi-empirical tight-binding labels through tblite.

Options: `accuracy=` (tblite's SCC thresholds, default 1), `max_iter=` (SCC cycles, default 250),
`etemp=` (electronic temperature, K, default 300), `charge=`, `spin=` (2S; else from atoms.info).
tblite works in Hartree and Bohr; labels leave in eV and eV/Å.
"""
from __future__ import annotations

import functools
import importlib.metadata
import time

import numpy as np
from ase import Atoms
from ase.units import Bohr, Hartree, kB

from labelers.base import Fidelity, Label
from labelers.costs import LawCosted, ScalingLaw
from labelers.errors import ConvergenceError, LabelFailedError, MissingDependencyError, SpecError
from labelers.molecule_info import charge_and_spin
from labelers.spec_options import join_options, split_options

METHODS = {"gfn2": "GFN2-xTB", "gfn1": "GFN1-xTB", "ipea1": "IPEA1-xTB"}
OPTION_TYPES = {"accuracy": float, "max_iter": int, "etemp": float, "charge": int, "spin": int}
DEFAULTS = {"accuracy": 1.0, "max_iter": 250, "etemp": 300.0}
# Energy + forces, steady state, one thread, CPU time (benchmarks/bench_costs.py,
# benchmarks/results/costs.md, run 8: CH4O, C2H6O, C3H8O on the project's machine, one training
# run on the other core); GFN1 and IPEA1 1.8x GFN2 (bench_labelers.py). Small molecules are
# dominated by set-up (N^1.3 below 6 atoms); N^2 is assumed beyond 12.
_GFN2 = ((6.0, 0.551e-3), (9.0, 0.996e-3), (12.0, 1.69e-3))
DECLARED_LAWS = {"gfn2": ScalingLaw(2.0, _GFN2, small_exponent=1.3),
                 "gfn1": ScalingLaw(2.0, tuple((n, 1.8 * s) for n, s in _GFN2), small_exponent=1.3),
                 "ipea1": ScalingLaw(2.0, tuple((n, 1.8 * s) for n, s in _GFN2), small_exponent=1.3)}


class XtbLabeler(LawCosted):
    """GFN-xTB energies and forces of any configuration (elements up to Rn)."""

    def __init__(self, method: str, options: dict) -> None:
        self.method = method
        self.options = {**DEFAULTS, **options}
        self.spec = "xtb:" + join_options(method, options, DEFAULTS)
        self.fidelity = Fidelity(method=METHODS[method], family="semi-empirical", forces=True)

    cost_packages = ("tblite",)

    def cost_law(self) -> ScalingLaw:
        """Declared cost law in the number of atoms."""
        return DECLARED_LAWS[self.method]

    def label(self, atoms: Atoms) -> Label:
        """Energy (eV) and forces (eV/Å); raises ConvergenceError or LabelFailedError."""
        from tblite.exceptions import TBLiteRuntimeError
        from tblite.interface import Calculator

        charge, spin = charge_and_spin(atoms, self.options.get("charge"), self.options.get("spin"))
        start = time.process_time()  # CPU of every thread: a busy machine does not inflate it
        try:
            calc = Calculator(METHODS[self.method], atoms.numbers, atoms.positions / Bohr,
                              charge=float(charge), uhf=spin)
            calc.set("verbosity", 0)
            calc.set("accuracy", self.options["accuracy"])
            calc.set("max-iter", self.options["max_iter"])
            calc.set("temperature", self.options["etemp"] * kB / Hartree)
            result = calc.singlepoint()
        except TBLiteRuntimeError as exc:
            kind = ConvergenceError if "converge" in str(exc).lower() else LabelFailedError
            raise kind(f"{self.spec} on {atoms.get_chemical_formula()}: {exc}") from None
        seconds = time.process_time() - start
        return Label(
            energy=float(result.get("energy")) * Hartree,
            forces=-np.asarray(result.get("gradient")) * (Hartree / Bohr),
            seconds=seconds,
            spec=self.spec,
            meta={"tblite": _tblite_version(), "method": METHODS[self.method],
                  "charge": charge, "spin": spin, **{k: v for k, v in self.options.items()
                                                     if k not in ("charge", "spin")}},
        )


@functools.cache
def _tblite_version() -> str:
    return importlib.metadata.version("tblite")


def make_labeler(rest: str) -> XtbLabeler:
    """Factory for the registry: `rest` is the spec after `xtb:` (e.g. `gfn2;accuracy=0.1`)."""
    method, options = split_options(rest, OPTION_TYPES, backend="xtb")
    method = method.replace("-xtb", "").replace("_", "")
    if method not in METHODS:
        raise SpecError(f"unknown xtb method {method!r}; known: {', '.join(METHODS)}")
    try:
        import tblite.interface  # noqa: F401
    except ImportError:
        raise MissingDependencyError("xtb labels need tblite: pip install tblite") from None
    return XtbLabeler(method, options)
