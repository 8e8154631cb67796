"""Declared label costs: a power law in a backend's natural size (basis functions, atoms) through
measured anchor points, CPU-core seconds.

Between anchors the law interpolates log-log (the local exponent of real timings at small sizes is
well below the formal one); above them it extends with the method's formal exponent (N^7 for
CCSD(T), N^3 for DFT, ...), below them with at most N^3 (small labels are dominated by integrals
and set-up: CCSD(T) STO-3G -> 6-31G on ethanol scales as N^2.9, not N^7). Calibrations measured with `acquire calibrate` (labelers.calibration)
replace the declared anchors of the exact spec they were measured for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from labelers import calibration


SMALL_SIZE_EXPONENT = 3.0


@dataclass(frozen=True)
class ScalingLaw:
    """seconds(size) through `anchors` ((size, seconds), measured); outside them the formal
    `exponent` above and `min(exponent, SMALL_SIZE_EXPONENT)` below."""

    exponent: float
    anchors: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.anchors:
            raise ValueError("a scaling law needs at least one measured (size, seconds) anchor")
        merged: dict[float, list[float]] = {}
        for size, seconds in self.anchors:
            merged.setdefault(float(size), []).append(float(seconds))
        points = tuple(sorted((s, sum(v) / len(v)) for s, v in merged.items()))
        object.__setattr__(self, "anchors", points)

    def seconds(self, size: float) -> float:
        """CPU-core seconds at `size`."""
        points = self.anchors
        if size <= points[0][0]:
            n0, s0 = points[0]
            return s0 * (size / n0) ** min(self.exponent, SMALL_SIZE_EXPONENT)
        if size >= points[-1][0]:
            n1, s1 = points[-1]
            return s1 * (size / n1) ** self.exponent
        for (n0, s0), (n1, s1) in zip(points, points[1:]):
            if n0 <= size <= n1:
                slope = math.log(s1 / s0) / math.log(n1 / n0)
                return s0 * (size / n0) ** slope
        raise AssertionError("unreachable: size inside the anchors' range")

    def with_anchors(self, anchors: tuple[tuple[float, float], ...]) -> "ScalingLaw":
        """The same formal exponent through other anchors."""
        return ScalingLaw(self.exponent, anchors)


def declared_seconds(spec: str, size: float, law: ScalingLaw) -> float:
    """Cost of one label of `spec` at natural size `size`: calibrated anchors of this spec if any
    (user file, then the package's measured table), else the backend's declared `law`."""
    anchors = calibration.anchors_for(spec)
    return (law.with_anchors(anchors) if anchors else law).seconds(size)
