"""Which training frames the accurate budget buys first: farthest-point sampling on a descriptor of
interatomic distances (`diverse`).

The descriptor of a frame is its sorted inverse interatomic distances (1/Å): invariant to rotation,
translation and the order of atoms. The first frame is drawn with the seed; each next one is the
candidate farthest (Euclidean) from every frame chosen so far, ties broken by the lower index.
"""
from __future__ import annotations

import numpy as np


def inverse_distances(positions: np.ndarray) -> np.ndarray:
    """(n, k, 3) Å -> (n, k(k-1)/2) sorted inverse interatomic distances, 1/Å."""
    positions = np.asarray(positions, dtype=float)
    upper = np.triu_indices(positions.shape[1], k=1)
    distances = np.linalg.norm(positions[:, :, None, :] - positions[:, None, :, :], axis=-1)[:, upper[0], upper[1]]
    return np.sort(1.0 / distances, axis=1)


def farthest_points(candidates: list[int], positions: np.ndarray, seed: int) -> list[int]:
    """Every candidate index (rows of `positions`) in farthest-point order from a seeded start."""
    if not candidates:
        return []
    index = np.asarray(candidates, dtype=int)
    features = inverse_distances(np.asarray(positions)[index])
    start = int(np.random.default_rng([seed, 5]).integers(len(index)))
    order = [start]
    nearest = np.linalg.norm(features - features[start], axis=1)
    nearest[start] = -np.inf
    for _ in range(len(index) - 1):
        pick = int(np.argmax(nearest))
        order.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(features - features[pick], axis=1))
        nearest[order] = -np.inf
    return [int(index[i]) for i in order]
