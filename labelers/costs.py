"""Label costs with their origin: a declared power law in a backend's natural size (basis
functions, atoms) through measured anchor points, or a calibration (`labelers.calibration`) of
this molecule, or one of another molecule carried over by the declared law. CPU-core seconds.

Between anchors the law interpolates log-log (the local exponent of real timings at small sizes is
well below the formal one); above them it extends with the method's formal exponent (N^7 for
CCSD(T), N^3 for DFT, ...), below them with at most N^3 (small labels are dominated by integrals
and set-up: CCSD(T) STO-3G -> 6-31G on ethanol scales as N^2.9, not N^7).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ase import Atoms

from labelers import calibration
from labelers.calibration import Calibration

SMALL_SIZE_EXPONENT = 3.0
DECLARED, CALIBRATED, SCALED = "declared", "calibrated", "scaled"


@dataclass(frozen=True)
class ScalingLaw:
    """seconds(size) through `anchors` ((size, seconds), measured); outside them the formal
    `exponent` above and `min(exponent, small_exponent)` below.

    Correlated methods also depend on how many orbitals are correlated, not only on the basis size:
    with `orbital_exponents` (k_o, k_v) and the occupied orbitals of each anchor's molecule
    (`anchor_occupied`, (size, orbitals), all electrons correlated), a label with o correlated
    occupied and v virtual orbitals costs the law at its size times (o / o_a)^k_o (v / v_a)^k_v, o_a
    and v_a = size - o_a the anchors' at that size (CCSD(T): (3, 4), its (T) step is o^3 v^4), so
    frozen core orbitals and more or fewer electrons per basis function are priced."""

    exponent: float
    anchors: tuple[tuple[float, float], ...]
    small_exponent: float = SMALL_SIZE_EXPONENT
    orbital_exponents: tuple[float, float] = (0.0, 0.0)
    anchor_occupied: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not self.anchors:
            raise ValueError("a scaling law needs at least one measured (size, seconds) anchor")
        object.__setattr__(self, "anchors", _merged(self.anchors))
        object.__setattr__(self, "anchor_occupied", _merged(self.anchor_occupied))

    def seconds(self, size: float, orbitals: tuple[float, float] | None = None) -> float:
        """CPU-core seconds at `size`, for (correlated occupied, virtual) `orbitals` if given."""
        base = _log_log(self.anchors, size, self.exponent, min(self.exponent, self.small_exponent))
        if orbitals is None or not any(self.orbital_exponents) or not self.anchor_occupied:
            return base
        occupied_ref = _log_log(self.anchor_occupied, size, 1.0, 1.0)  # orbitals grow with the molecule
        virtual_ref = max(size - occupied_ref, 0.5)
        (occupied, virtual), (k_o, k_v) = orbitals, self.orbital_exponents
        return base * (max(occupied, 0.5) / occupied_ref) ** k_o * (max(virtual, 0.5) / virtual_ref) ** k_v

    def describe(self) -> str:
        anchors = ", ".join(f"{s:g}: {t:.3g} s" for s, t in self.anchors)
        text = f"power law through ({anchors}), N^{self.exponent:g} beyond"
        if any(self.orbital_exponents) and self.anchor_occupied:
            k_o, k_v = self.orbital_exponents
            text += f"; x (o / o_anchors)^{k_o:g} (v / v_anchors)^{k_v:g} in correlated occupied and virtual orbitals"
        return text


def _merged(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """Points sorted by size, repeated sizes averaged."""
    merged: dict[float, list[float]] = {}
    for size, value in points:
        merged.setdefault(float(size), []).append(float(value))
    return tuple(sorted((s, sum(v) / len(v)) for s, v in merged.items()))


def _log_log(points: tuple[tuple[float, float], ...], size: float, above: float, below: float) -> float:
    """Log-log interpolation through `points`; power laws `above`/`below` outside them."""
    if size <= points[0][0]:
        n0, s0 = points[0]
        return s0 * (size / n0) ** below
    if size >= points[-1][0]:
        n1, s1 = points[-1]
        return s1 * (size / n1) ** above
    for (n0, s0), (n1, s1) in zip(points, points[1:]):
        if n0 <= size <= n1:
            slope = math.log(s1 / s0) / math.log(n1 / n0)
            return s0 * (size / n0) ** slope
    raise AssertionError("unreachable: size inside the points' range")


@dataclass(frozen=True)
class CostEstimate:
    """One label's cost and where it came from: `origin` is declared (the backend's law),
    calibrated (measured on this molecule) or scaled (measured on `source.formula`, carried over
    by the declared law); `flags` say why a calibration may not hold here."""

    seconds: float
    origin: str
    spec: str
    formula: str
    size: float
    declared_s: float
    source: Calibration | None = None
    flags: tuple[str, ...] = ()
    law: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: 'declared law' / 'calibrated on CH4O 2026-..., 40 labels, ±3 %' / 'scaled from ...'."""
        if self.origin == DECLARED:
            text = "declared law" if self.law.startswith("power law") else "declared figure"
        else:
            c = self.source
            assert c is not None
            what = "calibrated here" if self.origin == CALIBRATED else f"scaled by the declared law from {c.formula}"
            spread = 100.0 * c.seconds_mad / c.seconds if c.seconds > 0 else 0.0
            text = f"{what} ({c.measured_at[:10]}, {c.repeats} labels, ±{spread:.0f} %, {c.threads} thread(s))"
        return text + "".join(f"; WARNING: {f}" for f in self.flags)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready origin record."""
        c = self.source
        return {"seconds": self.seconds, "origin": self.origin, "describe": self.describe(),
                "declared_s": self.declared_s, "formula": self.formula, "size": self.size,
                "flags": list(self.flags), "law": self.law, **self.extra,
                "calibration": None if c is None else {
                    "formula": c.formula, "size": c.size, "seconds": c.seconds, "seconds_min": c.seconds_min,
                    "seconds_max": c.seconds_max, "seconds_mad": c.seconds_mad, "repeats": c.repeats,
                    "threads": c.threads, "host": c.host, "measured_at": c.measured_at, "versions": c.versions}}


def _nearest(entries: list[Calibration], size: float) -> Calibration:
    """This host's calibration nearest in size (log scale); another host's only if none here."""
    here = [e for e in entries if calibration.host_name(e.host) == calibration.this_host()]
    return min(here or entries, key=lambda e: abs(math.log(max(e.size, 1e-9) / max(size, 1e-9))))


def estimate(spec: str, formula: str, size: float, law: ScalingLaw, threads: int = 1,
             packages: tuple[str, ...] = (), orbitals: tuple[float, float] | None = None,
             orbitals_of: Callable[[str], tuple[float, float] | None] | None = None) -> CostEstimate:
    """Cost of one label of `spec` on a molecule of `formula` (natural size `size`; (correlated
    occupied, virtual) `orbitals` for a law that uses them): a calibration of this molecule if
    stored, else one of another molecule scaled by `law` (`orbitals_of(formula)` gives that
    molecule's orbitals), else `law` itself."""
    declared = law.seconds(size, orbitals)
    extra = {} if orbitals is None else {"occupied": orbitals[0], "virtual": orbitals[1]}
    entries = calibration.entries_for(spec, threads)
    if not entries:
        return CostEstimate(declared, DECLARED, spec, formula, size, declared, law=law.describe(), extra=extra)
    same = [e for e in entries if e.formula == formula]
    source = _nearest(same or entries, size)
    if same:
        seconds = source.seconds
    else:
        source_orbitals = orbitals_of(source.formula) if orbitals_of is not None else None
        seconds = source.seconds * declared / law.seconds(source.size, source_orbitals)
    return CostEstimate(seconds, CALIBRATED if same else SCALED, spec, formula, size, declared, source,
                        tuple(source.flags(packages)), law=law.describe(), extra=extra)


class LawCosted:
    """Mixin for backends whose cost is a declared `ScalingLaw` in `cost_size(atoms)`, overridden
    by calibrations: gives `cost_estimate(atoms)` and `cost(atoms)`."""

    spec: str
    threads: int = 1
    cost_packages: tuple[str, ...] = ()

    def cost_law(self) -> ScalingLaw:
        raise NotImplementedError

    def cost_size(self, atoms: Atoms) -> float:
        return float(len(atoms))

    def cost_orbitals(self, atoms: Atoms) -> tuple[float, float] | None:
        """(Correlated occupied, virtual) orbitals of a label of `atoms`, for laws that use them (else None)."""
        return None

    def cost_estimate(self, atoms: Atoms) -> CostEstimate:
        """Cost of one label of `atoms` with its origin."""
        return estimate(self.spec, atoms.get_chemical_formula(), self.cost_size(atoms), self.cost_law(),
                        self.threads, self.cost_packages, orbitals=self.cost_orbitals(atoms),
                        orbitals_of=lambda formula: self.cost_orbitals(Atoms(formula)))

    def cost(self, atoms: Atoms) -> float:
        """CPU-core seconds for one label: calibrated, scaled from a calibration, or declared."""
        return self.cost_estimate(atoms).seconds


def cost_estimate(labeler: Any, atoms: Atoms) -> CostEstimate:
    """Any labeler's cost with its origin (labelers without a law, e.g. cached ones, are declared)."""
    own = getattr(labeler, "cost_estimate", None)
    if own is not None:
        return own(atoms)
    seconds = float(labeler.cost(atoms))
    return CostEstimate(seconds, DECLARED, labeler.spec, atoms.get_chemical_formula(), float(len(atoms)), seconds,
                        law="a fixed figure of the labeler")
