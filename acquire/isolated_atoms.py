"""Per-element reference energies as isolated-atom frames, the form mace-torch reads E0s from
(`config_type=IsolatedAtom`): each element's lone atom labelled with the same labeler as the data,
in its ground-state spin (Hund's rule). On one molecule's frames a fit of E0s (`--E0s average`) is
underdetermined (every frame has the same composition) and gave H -1020 eV on formaldehyde."""
from __future__ import annotations

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from acquire.errors import AcquireError

ISOLATED_ATOM = "IsolatedAtom"  # mace-torch's config_type for E0 frames
_SUBSHELLS = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (4, 0), (3, 2), (4, 1), (5, 0), (4, 2), (5, 1), (6, 0),
              (4, 3), (5, 2), (6, 1), (7, 0)]  # aufbau (Madelung) order: (n, l)


def ground_state_spin(z: int) -> int:
    """2S of the isolated atom's ground state by aufbau and Hund's rule (the half-filled or
    under-half-filled outer subshell's electrons unpaired; Cr/Cu-type exceptions not modelled)."""
    left, unpaired = int(z), 0
    for _, ell in _SUBSHELLS:
        capacity = 2 * (2 * ell + 1)
        taken = min(left, capacity)
        unpaired = taken if taken <= capacity // 2 else capacity - taken
        left -= taken
        if left == 0:
            break
    return unpaired


def energy_labeler(spec: str, z: int):
    """The labeler of `spec` for element `z`'s lone atom: energies only where it would compute forces
    it cannot (PySCF refuses open-shell CCSD(T) forces; a lone atom's forces are zero anyway); for a
    one-electron atom, whose correlation energy is zero, a correlated method's HF (PySCF's UCCSD
    fails on a single electron)."""
    from labelers import get_labeler
    from labelers.pyscf.spec import CORRELATED, DEFAULTS
    from labelers.spec_options import join_options

    labeler = get_labeler(spec)
    parsed = getattr(labeler, "parsed", None)
    if parsed is None:
        return labeler
    method = "hf" if z == 1 and parsed.method in CORRELATED else parsed.method
    options = {k: v for k, v in parsed.options.items() if not (method == "hf" and k == "frozen")}
    return get_labeler("pyscf:" + join_options(f"{method}/{parsed.basis}", {**options, "forces": False}, DEFAULTS))


def isolated_atom_frames(spec: str, numbers: list[int], head: str) -> list[Atoms]:
    """One frame per element of `numbers`: its lone atom, energy (eV) by `spec`, zero forces,
    config_type IsolatedAtom, REF_energy/REF_forces as the data frames carry them."""
    import numpy as np

    frames = []
    for z in sorted(set(int(n) for n in numbers)):
        atom = Atoms(numbers=[z], positions=[[0.0, 0.0, 0.0]], info={"spin": ground_state_spin(z), "charge": 0})
        labeler = energy_labeler(spec, z)
        try:
            energy = float(labeler.label(atom).energy)
        except Exception as exc:  # noqa: BLE001 - PySCF's UCCSD(T) breaks on atoms with no virtual orbitals of one spin (minimal bases)
            raise AcquireError(f"--isolated-atoms: {labeler.spec} on the lone {atom.get_chemical_formula()} atom "
                               f"(2S={atom.info['spin']}) failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                               "; a larger basis has the virtual orbitals it needs") from None
        atom.calc = SinglePointCalculator(atom, energy=energy, forces=np.zeros((1, 3)))
        atom.info.update(config_type=ISOLATED_ATOM, head=head, labeler=spec, REF_energy=energy, config_weight=0.0)
        atom.arrays["REF_forces"] = np.zeros((1, 3))
        frames.append(atom)
    return frames
