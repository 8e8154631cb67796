"""ASTEROID's bias identification and bias-aware weights (paper section 3.1-3.2).

`bias_of(model, data)`: B_i = mean over atoms and Cartesian components of |F_model - F_inaccurate|
in kcal/mol/Å, with the model trained on accurate data. `bias_weights(B, gamma)`: w_i =
exp(-B_i / gamma), normalised to mean 1; gamma = inf gives uniform weights, gamma -> 0 puts all
weight on the least-biased configurations.

The weights can collapse: gamma is absolute, and for a pair of methods whose bias is far larger than
ethanol's (formaldehyde, xTB against CCSD(T)/STO-3G: B = 45 ± 6 kcal/mol/Å) gamma 0.5 left an
effective sample size of 1 of 4000 frames. `collapsed` says when, `relative_gammas` scales the
candidates by the measured median B.
"""
from __future__ import annotations

import math

import numpy as np

from train.errors import ConfigError
from train.evaluate import KCAL_MOL, predict


def bias_of(model, data: list, forces: np.ndarray, batch_size: int = 100) -> np.ndarray:
    """Per-configuration bias (n,) in kcal/mol/Å of labelled graphs with reference forces (n, k, 3) eV/Å."""
    _, predicted = predict(model, data, batch_size)
    return np.abs(predicted - forces).mean(axis=(1, 2)) / KCAL_MOL


def bias_weights(bias: np.ndarray, gamma: float) -> np.ndarray:
    """exp(-B / gamma) normalised to mean 1 (B and gamma in kcal/mol/Å; computed stably)."""
    bias = np.asarray(bias, dtype=float)
    if not gamma > 0:
        raise ConfigError(f"gamma must be > 0 (kcal/mol/Å), got {gamma}")
    if math.isinf(gamma):
        return np.ones_like(bias)
    weights = np.exp(-(bias - bias.min()) / gamma)
    return weights * (len(weights) / weights.sum())


def effective_sample_size(weights: np.ndarray) -> float:
    """(sum w)^2 / sum w^2: how many configurations the weighted set is worth."""
    return float(weights.sum() ** 2 / (weights**2).sum())


def collapsed(ess: float, accurate: int) -> bool:
    """Whether bias weights are worth fewer configurations than the accurate training set: the
    weighted pretraining then holds less information than fine-tuning on the accurate labels alone,
    and the cheap labels can no longer help (ethanol's paper setting keeps 1650 of 2000 at gamma 1
    against 200 accurate; gamma 0.1 keeps 14 and is flagged)."""
    return ess < accurate


def absolute_gammas(gammas: tuple[float, ...], bias: np.ndarray, relative: bool) -> tuple[float, ...]:
    """The candidates in kcal/mol/Å: as given, or (`relative`) multiples of the median bias B, so that
    they follow the bias of the pair of methods at hand (inf, uniform weights, stays inf)."""
    if not relative:
        return gammas
    scale = float(np.median(bias)) if len(bias) else 1.0
    return tuple(g if math.isinf(g) else g * max(scale, 1e-12) for g in gammas)
