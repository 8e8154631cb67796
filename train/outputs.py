"""Run-directory outputs: metrics.json, the per-epoch CSV log, the bias/weight histogram PNG."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from train.atomic_files import atomic_path, atomic_write_text

UNITS = {"energy_mae": "kcal/mol", "force_mae": "kcal/mol/Å", "bias": "kcal/mol/Å",
         "gamma": "kcal/mol/Å", "seconds": "s (wall)"}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(data: dict, path: Path) -> None:
    atomic_write_text(path, json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n")


def write_log(stages: dict[str, list[dict]], path: Path) -> None:
    """One CSV row per epoch of every stage, with a `stage` column."""
    rows = [{"stage": name, **row} for name, history in stages.items() for row in history]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def plot_bias(bias: np.ndarray, weights: dict[float, np.ndarray], path: Path) -> None:
    """Histogram of bias B (kcal/mol/Å) and of the normalised weights for each gamma."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist(bias, bins=50, color="tab:blue")
    left.set_xlabel("bias B (kcal/mol/Å)")
    left.set_ylabel("configurations")
    left.set_title(f"bias: mean {bias.mean():.2f}, std {bias.std():.2f}")
    from train.bias import effective_sample_size

    edges = weight_bins(weights)
    for gamma, w in weights.items():
        ess = effective_sample_size(w) if w.size else 0.0
        right.hist(np.clip(w, edges[0], None), bins=edges, histtype="step",
                   label=f"gamma {gamma:.3g}: effective {ess:.0f} of {len(w)}")
    right.set_xscale("log")  # weights span decades when gamma is small against B: a linear axis shows one bar
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # labels at the decades only
    right.set_xlabel(f"weight exp(-B/gamma), mean 1 (log; below {edges[0]:.0e} drawn at it)")
    right.set_yscale("log")
    right.set_ylabel("configurations")
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def weight_bins(weights: dict[float, np.ndarray], floor: float = 1e-6) -> np.ndarray:
    """50 log-spaced histogram edges over every gamma's weights, from the smallest weight (at least
    `floor`: weights that underflowed to 0 are drawn there) to the largest."""
    values = np.concatenate([np.asarray(w, dtype=float).ravel() for w in weights.values()] or [np.ones(1)])
    low = max(float(values.min()), floor)
    high = max(float(values.max()), low * 10)
    return np.logspace(np.log10(low), np.log10(high), 51)


POOL_GEOMETRIES = "bias_geometries.npz"  # beside bias.npy: which configuration each bias value belongs to


def save_pool_geometries(parts: list, path: Path) -> None:
    """The positions (Å) of an ASTEROID run's inaccurate frames, part by part in the order of
    bias.npy, so that `acquire export --weights RUN` finds each frame's weight by geometry in any
    run folder (acquire train, run, compare) without knowing how the pool was made."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{f"part{k}": np.asarray(p.positions, dtype=float) for k, p in enumerate(parts)})


def load_pool_geometries(path: Path) -> list[np.ndarray]:
    """Every inaccurate frame's positions (k, 3) in the order of bias.npy (`save_pool_geometries`)."""
    with np.load(path) as data:
        return [frame for k in range(len(data.files)) for frame in data[f"part{k}"]]
