"""Charge and spin of a configuration: from the labeler spec, else `atoms.info`, else neutral
lowest spin. `spin` is PySCF's and tblite's: 2S = n_alpha - n_beta (0 for a singlet)."""
from __future__ import annotations

from ase import Atoms

from labelers.errors import LabelFailedError


def charge_and_spin(atoms: Atoms, charge: int | None = None, spin: int | None = None) -> tuple[int, int]:
    """(charge, 2S) for `atoms`; raises LabelFailedError when the pair is impossible."""
    info = atoms.info
    if charge is None:
        charge = int(info.get("charge", 0))
    if spin is None:
        if "spin" in info:
            spin = int(info["spin"])
        elif "multiplicity" in info:
            spin = int(info["multiplicity"]) - 1
    n_electrons = int(atoms.numbers.sum()) - charge
    if spin is None:
        spin = n_electrons % 2
    if n_electrons < 0 or spin < 0 or spin > n_electrons or (n_electrons - spin) % 2:
        raise LabelFailedError(
            f"charge {charge} and spin 2S={spin} are impossible for {atoms.get_chemical_formula()} "
            f"({n_electrons} electrons); set atoms.info['charge'/'spin'] or the spec's charge=/spin="
        )
    return charge, spin
