"""ASTEROID's bias identification and bias-aware weights (paper section 3.1-3.2).

`bias_of(model, data)`: B_i = mean over atoms and Cartesian components of |F_model - F_inaccurate|
in kcal/mol/Å, with the model trained on accurate data. `bias_weights(B, gamma)`: w_i =
exp(-B_i / gamma), normalised to mean 1; gamma = inf gives uniform weights, gamma -> 0 puts all
weight on the least-biased configurations.
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
