"""What a PySCF label needs: basis functions, memory (refused up front if it will not fit), and
declared CPU-core seconds from scaling laws in the number of basis functions N.

Declared anchors were measured on ethanol (C2H6O) on the project's 2-core machine, one thread
(docs/costs.md; cc-pVDZ and def2-SVP give N = 72, 6-31G N = 39, STO-3G N = 21). Beyond the anchors the
formal exponents apply: CCSD(T) N^7, CCSD N^6, MP2 N^5, HF N^4, DFT N^3.
"""
from __future__ import annotations

import functools
import os
import warnings
from collections import Counter

from ase import Atoms

from labelers.costs import ScalingLaw
from labelers.errors import LabelFailedError, ResourceError

# Anchors: docs/costs.md's figures (CCSD(T) with forces at STO-3G/6-31G/cc-pVDZ, CCSD(T) energy and PBE
# at cc-pVDZ/def2-SVP) and benchmarks/bench_labelers.py for the rest, whose figures were taken under
# a load average of ~5 on 2 cores and are divided by 1.5, the ratio of its figures to docs/costs.md's on
# the four specs measured both ways (benchmarks/results/labelers_ethanol.md). CCSD(T)/STO-3G with
# forces on CH2O, CH4O and C2H6O (N = 12, 14, 21): steady-state CPU time (benchmarks/results/costs.md);
# below ~20 functions the fixed cost of the lambda equations and gradient dominates. DFT with forces:
# PBE/def2-SVP on CH4O, C2H6O, C3H8O (N = 48, 72, 96), same benchmark; CCSD(T)/cc-pVDZ energy
# only on the same three (the earlier STO-3G/6-31G energy anchors, 2-3x below these, were dropped).
# These were measured under a load average of 5-10 on 2 cores (CPU time; shared cores still slow a
# label down). CCSD(T)/cc-pVDZ with forces on CH4O and C2H6O (N = 48, 72): 67.3 s and 718 s on the
# idle machine of 2026-11-28 (benchmarks/results/costs.md, run 4; the earlier ethanol anchor, 339 s
# from docs/costs.md, was 2.1x low there). Machines differ by 2-3x: `acquire calibrate` measures yours.
# Correlated methods: cost x (o / o_anchor)^k_o (v / v_anchor)^k_v at the same basis size, o the
# correlated occupied and v the virtual orbitals, exponents from the leading term: (T) o^3 v^4, CCSD
# o^2 v^4, MP2 its integral transformation o v N^3. The anchors' molecules (all electrons
# correlated): CH2O, CH4O, C2H6O at STO-3G (N = 12, 14, 21; 8, 9, 13 occupied), C2H6O at 6-31G
# (39; 13), CH4O, C2H6O, C3H8O at cc-pVDZ (48, 72, 96; 9, 13, 17). Checked on C2H4 (16 electrons in
# methanol's 48 cc-pVDZ functions), all electrons and frozen core (benchmarks/results/costs.md, run 6).
ORBITAL_EXPONENTS = {"ccsd(t)": (3.0, 4.0), "ccsd": (2.0, 4.0), "mp2": (1.0, 1.0)}
_ETHANOL_DZ = ((72, 13),)


def _correlated(exponent: float, anchors: tuple[tuple[float, float], ...], method: str,
                occupied: tuple[tuple[float, float], ...]) -> ScalingLaw:
    return ScalingLaw(exponent, anchors, orbital_exponents=ORBITAL_EXPONENTS[method], anchor_occupied=occupied)


DECLARED_LAWS: dict[str, ScalingLaw] = {
    "ccsd(t)+forces": _correlated(7.0, ((12, 0.58), (14, 0.60), (21, 2.0), (39, 33.0), (48, 67.3), (72, 718.0)),
                                  "ccsd(t)", ((12, 8), (14, 9), (21, 13), (39, 13), (48, 9), (72, 13))),
    "ccsd(t)": _correlated(7.0, ((48, 3.16), (72, 26.3), (96, 146.0)), "ccsd(t)", ((48, 9), (72, 13), (96, 17))),
    "ccsd+forces": _correlated(6.0, ((72, 13.3),), "ccsd", _ETHANOL_DZ),
    "ccsd": _correlated(6.0, ((72, 7.0),), "ccsd", _ETHANOL_DZ),
    "mp2+forces": _correlated(5.0, ((72, 4.7),), "mp2", _ETHANOL_DZ),
    "mp2": _correlated(5.0, ((72, 0.58),), "mp2", _ETHANOL_DZ),
    "hf+forces": ScalingLaw(4.0, ((72, 2.1),)),
    "hf": ScalingLaw(4.0, ((72, 0.48),)),
    "dft+forces": ScalingLaw(3.0, ((48, 4.48), (72, 13.1), (96, 26.9))),
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


def pyscf_atoms(atoms: Atoms) -> list[tuple[str, tuple[float, float, float]]]:
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
