"""What a PySCF label needs: basis functions, memory (refused up front if it will not fit), and
declared CPU-core seconds from scaling laws in the number of basis functions N.

Declared anchors were measured on methanol, ethanol and isopropanol (and formaldehyde for CCSD(T)
with forces) on the project's 2-core machine, one thread (benchmarks/results/costs.md, run 8).
Beyond the anchors the formal exponents apply: CCSD(T) N^7, CCSD N^6, MP2 N^5, HF N^4, DFT N^3.
"""
from __future__ import annotations

import functools
import os
import warnings
from collections import Counter

from ase import Atoms

from labelers.costs import ScalingLaw
from labelers.errors import LabelFailedError, ResourceError

# Anchors: steady-state CPU time per label, one thread, measured in one run of
# benchmarks/bench_costs.py on the project's 2-core machine (benchmarks/results/costs.md, run 8;
# the table in docs/labelers.md): CH4O, C2H6O, C3H8O (cc-pVDZ / def2-SVP N = 48, 72, 96; STO-3G
# N = 14, 21, 28) for PBE/def2-SVP, HF, MP2 (forces) and CCSD(T) (energy; forces at STO-3G), and
# CCSD(T)/cc-pVDZ with forces on CH2O, CH4O, C2H6O (N = 38, 48, 72). One run, so the laws' ratios
# (what a plan's --ratio auto uses) are of one machine state. Laws not measured then (CCSD, and HF,
# MP2 and DFT energies without forces) keep their earlier anchors (docs/costs.md; bench_labelers.py
# under load, divided by 1.5). Machines, and this one from day to day, differ by 2-3x: `acquire
# calibrate` measures yours.
# Correlated methods: cost x (o / o_anchor)^k_o (v / v_anchor)^k_v at the same basis size, o the
# correlated occupied and v the virtual orbitals, exponents from the leading term: (T) o^3 v^4, CCSD
# o^2 v^4, MP2 its integral transformation o v N^3. The anchors' molecules (all electrons
# correlated) and their occupied orbitals: CH4O, C2H6O, C3H8O at STO-3G (N = 14, 21, 28; 9, 13, 17),
# CH2O, CH4O, C2H6O, C3H8O at cc-pVDZ (38, 48, 72, 96; 8, 9, 13, 17). Checked on C2H4 (16 electrons
# in methanol's 48 cc-pVDZ functions), all electrons and frozen core (benchmarks/results/costs.md, run 6).
ORBITAL_EXPONENTS = {"ccsd(t)": (3.0, 4.0), "ccsd": (2.0, 4.0), "mp2": (1.0, 1.0)}
_ETHANOL_DZ = ((72, 13),)


def _correlated(exponent: float, anchors: tuple[tuple[float, float], ...], method: str,
                occupied: tuple[tuple[float, float], ...]) -> ScalingLaw:
    return ScalingLaw(exponent, anchors, orbital_exponents=ORBITAL_EXPONENTS[method], anchor_occupied=occupied)


DECLARED_LAWS: dict[str, ScalingLaw] = {
    "ccsd(t)+forces": _correlated(7.0, ((14, 0.199), (21, 0.896), (28, 7.94), (38, 18.0), (48, 63.8), (72, 576.0)),
                                  "ccsd(t)", ((14, 9), (21, 13), (28, 17), (38, 8), (48, 9), (72, 13))),
    "ccsd(t)": _correlated(7.0, ((48, 1.40), (72, 15.1), (96, 96.1)), "ccsd(t)", ((48, 9), (72, 13), (96, 17))),
    # LNO-CCSD(T), Pipek-Mezey fragments, thresh 1e-6, all electrons (benchmarks/bench_lno.py): one
    # domain CCSD(T) per occupied orbital, so ~ N^3 while every domain is the whole molecule.
    "lno-ccsd(t)": ScalingLaw(3.0, ((72, 46.8),)),
    "ccsd+forces": _correlated(6.0, ((72, 13.3),), "ccsd", _ETHANOL_DZ),
    "ccsd": _correlated(6.0, ((72, 7.0),), "ccsd", _ETHANOL_DZ),
    "mp2+forces": _correlated(5.0, ((48, 0.770), (72, 7.21), (96, 19.6)), "mp2", ((48, 9), (72, 13), (96, 17))),
    "mp2": _correlated(5.0, ((72, 0.58),), "mp2", _ETHANOL_DZ),
    "hf+forces": ScalingLaw(4.0, ((48, 0.437), (72, 1.86), (96, 5.75))),
    "hf": ScalingLaw(4.0, ((72, 0.48),)),
    "dft+forces": ScalingLaw(3.0, ((48, 3.62), (72, 10.1), (96, 19.5))),
    "dft": ScalingLaw(3.0, ((72, 2.9),)),
}


def correlated_orbitals(atoms: Atoms, nao: int, charge: int, spin: int, frozen: str | int) -> tuple[int, int]:
    """(Occupied orbitals a correlated method correlates, virtual orbitals) of `atoms` with `nao`
    basis functions, alpha spin: the frozen ones (`core`: PySCF's chemical core per element,
    ignoring ECPs; an integer: that many) are occupied but not correlated."""
    from pyscf.data.elements import chemcore_atm

    occupied = (int(atoms.numbers.sum()) - charge + spin) // 2
    if frozen == "core":
        n_frozen = sum(chemcore_atm[int(z)] for z in atoms.numbers)
    else:
        n_frozen = 0 if frozen in ("none", 0) else int(frozen)
    return max(occupied - n_frozen, 1), max(nao - occupied, 1)


def pyscf_atoms(atoms: Atoms) -> list[tuple[str, tuple[float, ...]]]:
    """ASE atoms -> PySCF's atom list (Å)."""
    return [(s, tuple(map(float, p))) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)]


@functools.lru_cache(maxsize=256)
def _basis_size(composition: tuple[tuple[str, int], ...], basis: str) -> int:
    from pyscf import gto

    total = 0
    for symbol, count in composition:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                shells = gto.M(atom=[(symbol, (0.0, 0.0, 0.0))], basis=basis, spin=None, verbose=0)
            except Exception as exc:  # noqa: BLE001 - PySCF raises several types for a missing element
                raise LabelFailedError(f"basis {basis} has no functions for {symbol}: {exc}") from None
        total += count * shells.nao
    return total


def basis_size(atoms: Atoms, basis: str) -> int:
    """Number of (spherical) basis functions of `atoms` in `basis`."""
    composition = tuple(sorted(Counter(atoms.get_chemical_symbols()).items()))
    return _basis_size(composition, basis)


def available_mb() -> float:
    """Memory available to a new label now, MB (Linux MemAvailable; else total physical)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def default_memory_mb(threads: int = 1) -> float:
    """A label's share of memory: 80 % of what is available, split over one single-threaded
    label per core (the default worker pool), times the label's threads."""
    cores = os.cpu_count() or 1
    return 0.8 * available_mb() * min(threads, cores) / cores


def memory_mb(method: str, nao: int, nocc: int, forces: bool, unrestricted: bool) -> float:
    """Estimated peak memory of one label, MB: what PySCF must hold in core whatever its
    max_memory (amplitudes and their intermediates, the (T) vvop block, SCF matrices)."""
    nvir = max(nao - nocc, 0)
    doubles = 40.0 * nao * nao  # Fock, densities, DIIS vectors, gradient matrices
    if method == "lno-ccsd(t)":  # the density-fitting tensor (about 4 nao auxiliary functions); domains are smaller
        return 100.0 + (doubles + 4.0 * nao**3) * 8 / 2**20
    o2v2 = float(nocc * nocc * nvir * nvir)
    if method in ("ccsd", "ccsd(t)"):
        doubles += (20.0 if forces else 10.0) * o2v2
        if method == "ccsd(t)":
            doubles += float(nvir * nvir * nocc * nao)
    elif method == "mp2":
        doubles += (6.0 if forces else 3.0) * o2v2
    if unrestricted:
        doubles *= 3.0
    return 100.0 + doubles * 8 / 2**20  # + a floor for grids and temporaries


def check_memory(need_mb: float, limit_mb: float, what: str) -> None:
    """Raise ResourceError when a label's estimated memory exceeds the limit."""
    if need_mb > limit_mb:
        raise ResourceError(
            f"{what} needs about {need_mb:,.0f} MB of memory but {limit_mb:,.0f} MB are available; "
            "use a smaller basis, frozen=core, or raise max_memory= on a bigger machine"
        )
