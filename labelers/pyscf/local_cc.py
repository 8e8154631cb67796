"""LNO-CCSD(T) energies (pyscf-forge's `pyscf.lno`): CCSD(T) in local natural orbitals.

Each Pipek-Mezey localised occupied orbital is a fragment; its correlation is solved by CCSD(T) in
a domain of natural orbitals whose occupations exceed the thresholds (`thresh` for the virtual
space, 10 x `thresh` for the occupied one, PySCF's default pair at 1e-6), and the fragment
energies add up to the molecule's. The cost grows about linearly with size once the domains stop
growing, where canonical CCSD(T) grows as N^7; for small molecules every domain is the whole
molecule, and canonical CCSD(T) is cheaper (docs/costs.md). Density fitting is required.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from labelers.errors import ConvergenceError, SpecError

LOCALISATION_CYCLES = 100  # Jacobi sweeps that take Pipek-Mezey out of saddle points (PySCF's own test)


def localised_occupied(mf: Any, n_frozen: int) -> np.ndarray:
    """Pipek-Mezey orbitals of the correlated occupied space (frozen orbitals excluded)."""
    from pyscf import lo

    occupied = mf.mo_coeff[:, n_frozen:int(np.count_nonzero(mf.mo_occ))]
    localiser = lo.PipekMezey(mf.mol, occupied)
    localiser.verbose = 0
    orbitals = localiser.kernel()
    for _ in range(LOCALISATION_CYCLES):
        rotated, stable = localiser.stability_jacobi(return_status=True)
        if stable:
            break
        localiser = lo.PipekMezey(mf.mol, rotated)
        localiser.verbose = 0
        localiser.init_guess = None
        orbitals = localiser.kernel()
    return orbitals


def lno_ccsd_t(mf: Any, n_frozen: int, thresh: float, what: str) -> float:
    """Total LNO-CCSD(T) energy (Hartree) of a converged restricted, density-fitted mean field."""
    from pyscf.lno import LNOCCSD_T

    if getattr(mf, "with_df", None) is None:
        raise SpecError(f"{what}: LNO-CCSD(T) needs a density-fitted mean field")
    if mf.mol.spin:
        raise SpecError(f"{what}: LNO-CCSD(T) is closed-shell here (spin 0); use ccsd(t);forces=false")
    orbitals = localised_occupied(mf, n_frozen)
    fragments = [[i] for i in range(orbitals.shape[1])]
    solver = LNOCCSD_T(mf, orbitals, fragments, frozen=n_frozen or None)
    solver.verbose = 0
    solver.lno_thresh = [10.0 * thresh, thresh]
    solver.kernel()
    energy = float(solver.e_tot_ccsd_t)
    if not np.isfinite(energy):
        raise ConvergenceError(f"{what}: LNO-CCSD(T) gave a non-finite energy")
    return energy
