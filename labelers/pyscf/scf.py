"""The mean-field step of a PySCF label: build HF/KS for a spec and converge it, retrying an
unconverged SCF with stabilised solvers (second-order Newton, then level shift + damping) before
giving up with ConvergenceError."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labelers.errors import ConvergenceError
from labelers.pyscf.spec import PyscfSpec


def mean_field(mol: Any, spec: PyscfSpec) -> Any:
    """RHF/UHF or RKS/UKS (by spin) for `spec`, with its density fitting, grid and thresholds."""
    from pyscf import dft, scf

    if spec.is_dft:
        mf = dft.KS(mol)
        mf.xc = spec.method
        mf.grids.level = spec.options["grid"]
    else:
        mf = scf.HF(mol)
    if spec.options["df"]:
        mf = mf.density_fit()
    mf.conv_tol = spec.options["conv_tol"]
    mf.max_cycle = spec.options["max_cycle"]
    mf.verbose = 0
    return mf


def _newton(mf: Any) -> Any:
    solver = mf.newton()
    solver.kernel(mf.mo_coeff, mf.mo_occ)
    return solver.make_rdm1() if solver.converged else None


def _level_shift(mf: Any) -> Any:
    solver = mf.copy()
    solver.level_shift = 0.5
    solver.damp = 0.5
    solver.diis_start_cycle = 4
    solver.kernel(dm0=mf.make_rdm1())
    return solver.make_rdm1() if solver.converged else None


RESCUES: tuple[tuple[str, Callable[[Any], Any]], ...] = (("newton", _newton), ("level_shift", _level_shift))


def converge(mf: Any, what: str) -> str:
    """Run `mf` to convergence; returns the solver that got there ('diis', 'newton', 'level_shift').

    A rescued density is finished by the plain solver so that orbitals are canonical (post-HF
    methods and their gradients need that). Raises ConvergenceError when every solver fails.
    """
    mf.kernel()
    if mf.converged:
        return "diis"
    for name, rescue in RESCUES:
        dm = rescue(mf)
        if dm is not None:
            mf.kernel(dm0=dm)
            if mf.converged:
                return name
    raise ConvergenceError(
        f"{what}: SCF did not converge in {mf.max_cycle} cycles with DIIS, Newton or level shift "
        "(raise max_cycle=, check charge/spin and geometry)"
    )
