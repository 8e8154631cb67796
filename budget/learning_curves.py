"""Learning curves fitted to measured comparison results, and the split they predict is best.

Model (fitted by linear least squares in logs):

    log err(n_a, n_i) = log a - alpha * log n_a - delta * log(1 + n_i / n_a)

n_a accurate and n_i inaccurate training labels. `delta = 0` is standard training; a positive
delta says how much inaccurate labels per accurate label help. With the measured points of standard
training (n_i = 0) and of ASTEROID at several splits, `best_split` searches every integer split of a
budget at a cost ratio and returns the one with the lowest predicted error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from budget.errors import BudgetError


@dataclass(frozen=True)
class LearningCurve:
    """err = a * n_a**-alpha * (1 + n_i/n_a)**-delta, fitted to `n_points` measurements."""

    a: float
    alpha: float
    delta: float
    n_points: int
    rms_log_residual: float

    def predict(self, n_accurate: float, n_inaccurate: float) -> float:
        if n_accurate <= 0:
            return math.inf
        return self.a * n_accurate ** -self.alpha * (1.0 + n_inaccurate / n_accurate) ** -self.delta


def fit_learning_curve(points: list[tuple[int, int, float]]) -> LearningCurve:
    """Fit to (n_accurate, n_inaccurate, error) measurements (error > 0, any unit)."""
    rows = [(na, ni, err) for na, ni, err in points if na > 0 and err > 0 and math.isfinite(err)]
    if len({(na, ni) for na, ni, _ in rows}) < 3:
        raise BudgetError(
            "the optimal policy needs results at 3 or more different (accurate, inaccurate) splits; "
            "run `acquire compare` with --budgets or --ratios first, or fit several comparisons (--from DIR, repeated)"
        )
    na, ni, err = (np.array(c, dtype=float) for c in zip(*rows))
    design = np.column_stack([np.ones_like(na), -np.log(na), -np.log1p(ni / na)])
    coef, *_ = np.linalg.lstsq(design, np.log(err), rcond=None)
    residual = np.log(err) - design @ coef
    return LearningCurve(
        a=float(np.exp(coef[0])), alpha=float(coef[1]), delta=float(coef[2]),
        n_points=len(rows), rms_log_residual=float(np.sqrt(np.mean(residual**2))),
    )


def best_split(curve: LearningCurve, budget_accurate_units: float, ratio: float, min_accurate: int = 1) -> tuple[int, int, float]:
    """(n_accurate, n_inaccurate, predicted error) minimising the curve at a budget and cost ratio."""
    if ratio <= 1 or not math.isfinite(ratio):
        raise BudgetError(f"cost ratio must be a finite number > 1, got {ratio}")
    n_max = int(math.floor(budget_accurate_units + 1e-9))
    if n_max < min_accurate:
        raise BudgetError(f"a budget of {budget_accurate_units:g} accurate labels is below the minimum of {min_accurate}")
    best = (n_max, 0, curve.predict(n_max, 0))
    for n_a in range(min_accurate, n_max + 1):
        n_i = int(math.floor((budget_accurate_units - n_a) * ratio + 1e-9))
        predicted = curve.predict(n_a, n_i)
        if predicted < best[2]:
            best = (n_a, n_i, predicted)
    return best
