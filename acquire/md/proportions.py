"""How sure a count of stable runs is: Wilson score intervals for one stable fraction, and the exact
McNemar test for two models run from the same seeds (paired runs).

Twenty runs per model and time step is what the paper's Figure 6b uses; at that size 0 of 20 against
2 of 20 is within chance, and these figures say so. Wilson, J. Am. Stat. Assoc. 22, 209 (1927);
McNemar, Psychometrika 12, 153 (1947), exact (binomial) form.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when there are no trials."""
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} outside 0..{trials}")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))  # rounding never puts p outside
    high = 1.0 if successes == trials else min(1.0, max(p, centre + half))
    return low, high


@dataclass(frozen=True)
class PairedComparison:
    """Two models at one time step over the runs both made from the same seeds."""

    model_a: str
    model_b: str
    timestep_fs: float
    paired_runs: int
    stable_a: int
    stable_b: int
    only_a_failed: int  # runs where model a failed and model b stayed stable
    only_b_failed: int
    p_value: float  # exact McNemar, two-sided: the chance of a split this uneven if both were equally stable


def mcnemar_exact_p(only_a_failed: int, only_b_failed: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (binomial, p = 1/2)."""
    discordant = only_a_failed + only_b_failed
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, i) for i in range(min(only_a_failed, only_b_failed) + 1))
    return min(1.0, 2.0 * tail / 2.0 ** discordant)


def compare_paired(model_a: str, model_b: str, timestep_fs: float,
                   outcomes: Iterable[tuple[bool, bool]]) -> PairedComparison:
    """Compare two models from (a stable, b stable) of each run index both made."""
    pairs = list(outcomes)
    only_a = sum(1 for a, b in pairs if not a and b)
    only_b = sum(1 for a, b in pairs if a and not b)
    return PairedComparison(model_a=model_a, model_b=model_b, timestep_fs=timestep_fs, paired_runs=len(pairs),
                            stable_a=sum(a for a, _ in pairs), stable_b=sum(b for _, b in pairs),
                            only_a_failed=only_a, only_b_failed=only_b, p_value=mcnemar_exact_p(only_a, only_b))
