"""`pyscf:METHOD/BASIS[;options]`: CCSD(T), CCSD, MP2, HF and DFT energies and analytic forces.

CCSD(T) forces use PySCF's (T) lambda equations and `pyscf.grad.ccsd_t` (closed shell),
which PySCF does not chain by itself (open-shell CCSD(T) forces are refused: PySCF's UCCSD(T)
gradient does not match finite differences). Labels are computed with one thread by
default; a label whose estimated memory exceeds the limit is refused before any work (ResourceError).
PySCF works in Hartree and Bohr; labels leave in eV and eV/Å. Grammar: labelers.pyscf.spec.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from ase import Atoms
from ase.units import Bohr, Hartree

from labelers.base import Fidelity, Label
from labelers.costs import LawCosted, ScalingLaw
from labelers.errors import ConvergenceError, LabelFailedError, ResourceError, SpecError
from labelers.molecule_info import charge_and_spin
from labelers.pyscf.resources import (
    DECLARED_LAWS,
    ORBITAL_EXPONENTS,
    basis_size,
    check_memory,
    correlated_orbitals,
    default_memory_mb,
    memory_mb,
    pyscf_atoms,
)
from labelers.pyscf.scf import converge, mean_field
from labelers.pyscf.spec import LOCAL, PyscfSpec, parse


class PyscfLabeler(LawCosted):
    """One PySCF method/basis/options combination as a labeler."""

    def __init__(self, parsed: PyscfSpec) -> None:
        self.parsed = parsed
        self.spec = parsed.canonical
        self.fidelity = Fidelity(method=parsed.method.upper(), basis=parsed.basis, family=parsed.family,
                                 forces=parsed.options["forces"])
        self.threads = int(parsed.options["threads"])

    cost_packages = ("pyscf",)

    def cost_law(self) -> ScalingLaw:
        """Declared cost law in the number of basis functions."""
        return DECLARED_LAWS[self.parsed.cost_class]

    def cost_size(self, atoms: Atoms) -> float:
        """Natural size of the cost law: number of basis functions."""
        return float(basis_size(atoms, self.parsed.basis))

    def cost_orbitals(self, atoms: Atoms) -> tuple[float, float] | None:
        """(Correlated occupied, virtual) orbitals, frozen ones excluded, for the correlated methods' laws."""
        if self.parsed.method not in ORBITAL_EXPONENTS:
            return None
        opts = self.parsed.options
        charge, spin = charge_and_spin(atoms, opts.get("charge"), opts.get("spin"))
        nao = basis_size(atoms, self.parsed.basis)
        occupied, virtual = correlated_orbitals(atoms, nao, charge, spin, opts["frozen"])
        return float(occupied), float(virtual)

    def memory_mb(self, atoms: Atoms) -> float:
        """Estimated peak memory of one label of `atoms`, MB."""
        charge, spin = charge_and_spin(atoms, self.parsed.options.get("charge"), self.parsed.options.get("spin"))
        return self._memory(atoms, int(basis_size(atoms, self.parsed.basis)), charge, spin)

    def _memory(self, atoms: Atoms, nao: int, charge: int, spin: int) -> float:
        n_alpha = (int(atoms.numbers.sum()) - charge + spin) // 2
        return memory_mb(self.parsed.method, nao, n_alpha, self.parsed.options["forces"], spin > 0)

    def label(self, atoms: Atoms) -> Label:
        """Energy (eV) and, unless forces=false, forces (eV/Å) of `atoms`."""
        from pyscf import __version__, gto, lib

        opts = self.parsed.options
        what = f"{self.spec} on {atoms.get_chemical_formula()}"
        charge, spin = charge_and_spin(atoms, opts.get("charge"), opts.get("spin"))
        _check_open_shell(self.parsed, spin, what)
        nao = basis_size(atoms, self.parsed.basis)
        limit = opts.get("max_memory") or default_memory_mb(opts["threads"])
        check_memory(self._memory(atoms, nao, charge, spin), limit, what)
        threads_before = lib.num_threads()
        lib.num_threads(opts["threads"])
        start = time.process_time()  # CPU of every thread: a busy machine does not inflate it
        try:
            mol = gto.M(atom=pyscf_atoms(atoms), basis=self.parsed.basis, charge=charge, spin=spin,
                        unit="Angstrom", verbose=0, max_memory=limit)
            mf = mean_field(mol, self.parsed)
            solver = converge(mf, what)
            energy, gradient, flags = _solve(self.parsed, mf, what)
        except MemoryError:
            raise ResourceError(f"{what}: ran out of memory (limit {limit:,.0f} MB); set max_memory= lower "
                                "so PySCF works out of core, or use a smaller basis") from None
        except (np.linalg.LinAlgError, OSError) as exc:  # singular overlap, HDF5 scratch (disk full)
            raise LabelFailedError(f"{what}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
        finally:
            lib.num_threads(threads_before)
        seconds = time.process_time() - start
        return Label(
            energy=float(energy) * Hartree,
            forces=None if gradient is None else -np.asarray(gradient) * (Hartree / Bohr),
            seconds=seconds,
            spec=self.spec,
            meta={"pyscf": __version__, "method": self.parsed.method, "basis": self.parsed.basis,
                  "options": dict(opts), "charge": charge, "spin": spin, "nao": int(mol.nao),
                  "scf_solver": solver, "converged": {"scf": bool(mf.converged), **flags}},
        )


def _check_open_shell(spec: PyscfSpec, spin: int, what: str) -> None:
    """PySCF 2.14's UCCSD(T) gradient misses finite differences (its own example: -0.14842 vs
    -0.14809 Hartree/Bohr; ~0.15 eV/Å on triplet water/STO-3G), so open-shell CCSD(T) forces are
    refused rather than returned wrong."""
    if spin and spec.method == "ccsd(t)" and spec.options["forces"]:
        raise SpecError(
            f"{what}: PySCF's open-shell (UCCSD(T)) analytic gradient is not exact; "
            "use forces=false, ccsd, or a closed-shell molecule"
        )


def _frozen(mf: Any, setting: str | int) -> int | None:
    if setting == "none" or setting == 0:
        return None
    if setting == "core":
        from pyscf.data.elements import chemcore

        return chemcore(mf.mol) or None
    return int(setting)


def _require(converged: bool, stage: str, what: str) -> None:
    if not converged:
        raise ConvergenceError(f"{what}: {stage} did not converge")


def _solve(spec: PyscfSpec, mf: Any, what: str) -> tuple[float, np.ndarray | None, dict[str, bool]]:
    """Energy (Hartree), gradient (Hartree/Bohr or None) and convergence flags after the SCF."""
    forces = spec.options["forces"]
    if spec.method in LOCAL:
        from labelers.pyscf.local_cc import lno_ccsd_t

        return lno_ccsd_t(mf, _frozen(mf, spec.options["frozen"]) or 0, spec.options["thresh"], what), None, {"lno": True}
    if spec.method in ("ccsd", "ccsd(t)"):
        return _coupled_cluster(spec, mf, what)
    if spec.method == "mp2":
        from pyscf import mp

        solver = mp.MP2(mf, frozen=_frozen(mf, spec.options["frozen"]))
        solver.kernel()
        return solver.e_tot, solver.nuc_grad_method().kernel() if forces else None, {}
    return mf.e_tot, mf.nuc_grad_method().kernel() if forces else None, {}


def _coupled_cluster(spec: PyscfSpec, mf: Any, what: str) -> tuple[float, np.ndarray | None, dict[str, bool]]:
    from pyscf import cc

    mycc = cc.CCSD(mf, frozen=_frozen(mf, spec.options["frozen"]))
    mycc.conv_tol = spec.options["cc_conv_tol"]
    mycc.conv_tol_normt = 100 * spec.options["cc_conv_tol"]  # PySCF's default ratio (1e-7 : 1e-5)
    mycc.verbose = 0
    mycc.kernel()
    _require(mycc.converged, "CCSD amplitudes", what)
    flags = {"ccsd": True}
    forces = spec.options["forces"]
    if spec.method == "ccsd":
        if not forces:
            return mycc.e_tot, None, flags
        gradient = mycc.nuc_grad_method().kernel()
        _require(mycc.converged_lambda, "CCSD lambda equations", what)
        return mycc.e_tot, gradient, {**flags, "lambda": True}
    eris = mycc.ao2mo()
    energy = mycc.e_tot + mycc.ccsd_t(eris=eris)
    if not forces:
        return energy, None, flags
    from pyscf.cc import ccsd_t_lambda as t_lambda
    from pyscf.grad import ccsd_t as t_grad

    converged, l1, l2 = t_lambda.kernel(mycc, eris, mycc.t1, mycc.t2, max_cycle=mycc.max_cycle,
                                         tol=mycc.conv_tol_normt, verbose=0)
    _require(converged, "CCSD(T) lambda equations", what)
    gradient = t_grad.Gradients(mycc).kernel(mycc.t1, mycc.t2, l1, l2, eris=eris)
    return energy, gradient, {**flags, "lambda": True}


def make_labeler(rest: str) -> PyscfLabeler:
    """Factory for the registry: `rest` is the spec after `pyscf:` (e.g. `ccsd(t)/cc-pvdz`)."""
    return PyscfLabeler(parse(rest))
