"""Rigid alignment of two copies of one configuration (used by cached labels and Delta-ML pairs)."""
from __future__ import annotations

import numpy as np


def kabsch(moving: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, float]:
    """The proper rotation R (3x3) that best maps centred `moving` (k, 3) onto centred `fixed`,
    `fixed - c_f ≈ (moving - c_m) @ R.T` (Kabsch), and the RMSD left (Å). Vectors of the moving
    frame (forces) rotate into the fixed frame as `vectors @ R.T`."""
    p = moving - moving.mean(axis=0)
    q = fixed - fixed.mean(axis=0)
    u, _, vt = np.linalg.svd(p.T @ q)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0  # never a reflection
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    rmsd = float(np.sqrt(np.mean(np.sum((p @ rotation.T - q) ** 2, axis=1))))
    return rotation, rmsd
