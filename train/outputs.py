"""Run-directory outputs: metrics.json, the per-epoch CSV log, the bias/weight histogram PNG."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from train.atomic_files import atomic_write_text

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

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist(bias, bins=50, color="tab:blue")
    left.set_xlabel("bias B (kcal/mol/Å)")
    left.set_ylabel("configurations")
    left.set_title(f"bias: mean {bias.mean():.2f}, std {bias.std():.2f}")
    for gamma, w in weights.items():
        right.hist(w, bins=50, histtype="step", label=f"gamma {gamma:g}")
    right.set_xlabel("weight exp(-B/gamma), mean 1")
    right.set_yscale("log")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
