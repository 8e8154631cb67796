"""Spec grammar of the PySCF backend: `METHOD/BASIS[;option=value...]`, checked up front.

Methods: `ccsd(t)`, `ccsd`, `mp2`, `hf`, `lno-ccsd(t)` (local natural orbital CCSD(T) energies
through pyscf-forge: energy-only, density-fitted; `thresh` its LNO truncation, 1e-6), or any DFT
functional PySCF's libxc knows (`pbe`, `b3lyp`, `wb97x-v`, `r2scan`, ...). Options: forces (true), df (density fitting, false), grid (DFT grid level
0-9, PySCF's 3), frozen (`core` or a count of frozen occupied orbitals; correlated methods only),
conv_tol (SCF energy, Hartree, 1e-9), cc_conv_tol (CC energy, Hartree, 1e-7; amplitude and
lambda residuals converge to 100x it, PySCF's default ratio), max_cycle (SCF
iterations, 50), charge, spin (2S), max_memory (MB; default 80 % of available RAM
shared by one label per core), threads (1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labelers.errors import MissingDependencyError, SpecError
from labelers.spec_options import join_options, parse_bool, split_options

LOCAL = ("lno-ccsd(t)",)  # local correlation: energies only, density fitting always
CORRELATED = ("ccsd(t)", "ccsd", "mp2", *LOCAL)
WAVEFUNCTION = (*CORRELATED, "hf")
ALIASES = {"ccsd_t": "ccsd(t)", "ccsdt": "ccsd(t)", "rhf": "hf", "uhf": "hf", "scf": "hf",
           "lno-ccsd_t": "lno-ccsd(t)", "lnoccsd(t)": "lno-ccsd(t)", "lno_ccsd(t)": "lno-ccsd(t)"}
LOCAL_DEFAULTS: dict[str, Any] = {"forces": False, "df": True, "thresh": 1e-6}


def _frozen(text: str) -> str | int:
    if text in ("core", "none"):
        return text
    count = int(text)
    if count < 0:
        raise ValueError("frozen must be 'core', 'none' or a count >= 0")
    return count


def _grid(text: str) -> int:
    level = int(text)
    if not 0 <= level <= 9:
        raise ValueError("grid level must be 0..9")
    return level


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise ValueError("must be positive")
        return value
    return parse


OPTION_TYPES = {
    "forces": parse_bool, "df": parse_bool, "grid": _grid, "frozen": _frozen,
    "conv_tol": _positive(float), "cc_conv_tol": _positive(float), "max_cycle": _positive(int),
    "charge": int, "spin": int, "max_memory": _positive(float), "threads": _positive(int),
    "thresh": _positive(float),
}
DEFAULTS: dict[str, Any] = {
    "forces": True, "df": False, "grid": 3, "frozen": "none", "conv_tol": 1e-9,
    "cc_conv_tol": 1e-7, "max_cycle": 50, "threads": 1,
}


@dataclass(frozen=True)
class PyscfSpec:
    """A parsed, validated `pyscf:` spec; `options` hold every setting, defaults filled in."""

    method: str
    basis: str
    options: dict[str, Any]
    canonical: str  # 'pyscf:ccsd(t)/cc-pvdz;forces=false'

    @property
    def is_dft(self) -> bool:
        return self.method not in WAVEFUNCTION

    @property
    def family(self) -> str:
        if self.method in ("ccsd(t)", "ccsd", *LOCAL):
            return "coupled-cluster"
        return {"mp2": "perturbation-theory", "hf": "hartree-fock"}.get(self.method, "dft")

    @property
    def cost_class(self) -> str:
        """Which declared scaling law applies: method kind and whether forces are computed."""
        kind = "dft" if self.is_dft else self.method
        return f"{kind}+forces" if self.options["forces"] else kind


def _check_functional(name: str) -> None:
    from pyscf.dft import libxc
    from pyscf.scf import dispersion

    try:
        xc, _nlc, disp = dispersion.parse_dft(name)
    except NotImplementedError as exc:
        raise SpecError(
            f"PySCF cannot run {name!r} ({exc}); try wb97x-v, or wb97x-d3bj with pyscf-dispersion"
        ) from None
    try:
        libxc.parse_xc(xc)
    except KeyError:
        raise SpecError(
            f"unknown pyscf method {name!r}: not ccsd(t), ccsd, mp2, hf or a functional PySCF knows"
        ) from None
    if disp and disp[:2] in ("d3", "d4") and getattr(dispersion, "dftd" + disp[1]) is None:
        raise MissingDependencyError(
            f"{name!r} needs DFT-{disp[:2].upper()} dispersion: pip install pyscf-dispersion"
        )


def _check_basis(basis: str) -> None:
    import warnings

    from pyscf import gto

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gto.basis.load(basis, "H")
    except Exception as exc:  # noqa: BLE001 - PySCF raises several types for an unknown basis
        if "not found for H" in str(exc):
            return  # the basis exists, hydrogen just is not in it
        raise SpecError(f"unknown basis set {basis!r} (PySCF's basis library does not have it)") from None


def _check_local(method: str, options: dict[str, Any]) -> None:
    """LNO-CCSD(T) gives energies only, from density-fitted integrals, with pyscf-forge installed."""
    if options["forces"]:
        raise SpecError(f"{method} has no analytic gradient: it labels energies only (drop forces=true)")
    if not options["df"]:
        raise SpecError(f"{method} works with density-fitted integrals only (drop df=false)")
    import importlib.util

    if importlib.util.find_spec("pyscf.lno") is None:
        raise MissingDependencyError(f"{method} needs pyscf-forge (pyscf.lno): `make venv` builds it, "
                                     "or see the Makefile's pyscf-forge step")


def parse(rest: str) -> PyscfSpec:
    """`'CCSD(T)/cc-pVDZ;forces=false'` -> PyscfSpec; raises SpecError or MissingDependencyError."""
    head, options = split_options(rest, OPTION_TYPES, backend="pyscf")
    if "/" not in head:
        raise SpecError(f"pyscf spec {rest!r} must look like METHOD/BASIS, e.g. 'ccsd(t)/cc-pvdz'")
    method, basis = (s.strip() for s in head.split("/", 1))
    method = ALIASES.get(method, method)
    if not method or not basis:
        raise SpecError(f"pyscf spec {rest!r} must name both a method and a basis")
    defaults = {**DEFAULTS, **LOCAL_DEFAULTS} if method in LOCAL else DEFAULTS
    full = {**defaults, **options}
    if method in LOCAL:
        _check_local(method, full)
    elif "thresh" in options:
        raise SpecError(f"thresh= is the LNO truncation of {', '.join(LOCAL)}, not an option of {method}")
    if method not in WAVEFUNCTION:
        _check_functional(method)
    _check_basis(basis)
    if full["frozen"] != "none" and method not in CORRELATED:
        raise SpecError(f"frozen= applies to correlated methods ({', '.join(CORRELATED)}), not {method}")
    if full["df"] and method in CORRELATED and full["forces"]:
        raise SpecError(
            f"PySCF has no analytic {method} gradient with density fitting; use df=false or forces=false"
        )
    if "grid" in options and method in WAVEFUNCTION:
        raise SpecError(f"grid= applies to DFT functionals, not {method}")
    canonical = "pyscf:" + join_options(f"{method}/{basis}", options, defaults)
    return PyscfSpec(method=method, basis=basis, options=full, canonical=canonical)
