"""Delta-ML baseline: a base model on inaccurate labels plus a model of (accurate - inaccurate).

It needs paired labels: every accurate training frame must also carry an inaccurate label of the
same geometry (as in a label store where both labelers labelled the same configurations). The
embedded MD17 ethanol sets have only 6 such pairs, so there it is reported as not run. Forces of a
pair found up to a rotation are rotated into the accurate frame (Kabsch) before subtracting.

Budget: the same labels as ASTEROID: the accurate training frames, their inaccurate twins, and
inaccurate pool frames up to the planned inaccurate count. Validation of the base model uses
inaccurate frames beyond the planned ones (not charged, like the accurate validation set).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acquire.sources import SourceArrays
from labelers.atomic_files import atomic_write_text
from labelers.geometry import kabsch

if TYPE_CHECKING:
    from acquire.compare.runs import RunIndices


def twins(accurate: SourceArrays, inaccurate: SourceArrays, index: list[int]) -> np.ndarray:
    """For each accurate frame in `index`, the inaccurate frame of the same geometry, or -1."""
    from labelers.datasets import match_frames

    if not index:
        return np.zeros(0, dtype=int)
    return match_frames(accurate.positions[np.asarray(index)], inaccurate.positions)


def delta_unavailable(accurate: SourceArrays, inaccurate: SourceArrays, train_index: list[int]) -> str:
    """Why Delta-ML cannot run on these training frames ('' when every one has an inaccurate twin)."""
    paired = int((twins(accurate, inaccurate, train_index) >= 0).sum())
    if paired == len(train_index):
        return ""
    total = int((twins(accurate, inaccurate, list(range(len(accurate)))) >= 0).sum())
    return (f"Delta-ML needs paired labels, and only {paired} of the {len(train_index)} accurate training frames "
            f"have an inaccurate label of the same geometry ({total} pairs in the whole data); label the same "
            "configurations with both labelers in a store to compare it")


def aligned_forces(accurate: SourceArrays, inaccurate: SourceArrays, acc_index: np.ndarray,
                   inacc_index: np.ndarray) -> np.ndarray:
    """Inaccurate forces (n, k, 3) of the twins, rotated into the accurate frames' orientation."""
    out = np.empty((len(acc_index), *inaccurate.forces.shape[1:]))
    for row, (i, j) in enumerate(zip(acc_index, inacc_index)):
        rotation, _ = kabsch(inaccurate.positions[j], accurate.positions[i])
        out[row] = inaccurate.forces[j] @ rotation.T
    return out


def _delta_frames(accurate: SourceArrays, inaccurate: SourceArrays, index: list[int], name: str) -> Any:
    import train

    acc_index = np.asarray(index, dtype=int)
    pairs = twins(accurate, inaccurate, index)
    forces = accurate.forces[acc_index] - aligned_forces(accurate, inaccurate, acc_index, pairs)
    energies = accurate.energies[acc_index] - inaccurate.energies[pairs]
    return train.Frames(accurate.positions[acc_index], accurate.numbers, energies, forces, name=name), pairs


def run_delta_ml(accurate: SourceArrays, inaccurate: SourceArrays, indices: RunIndices, config: Any,
                 run_dir: Path) -> None:
    """Train base and delta models (resumable sub-runs `base/`, `delta/`); write the combined
    metrics.json and predictions.npz in `run_dir`."""
    import train
    from acquire.sources import frames_of, predict_frames
    from train.checkpoint import versions

    began = time.monotonic()
    delta_train, pairs = _delta_frames(accurate, inaccurate, indices.train, "delta")
    planned = list(indices.inaccurate)
    extra = [j for j in planned if j not in set(pairs.tolist())]
    base_index = pairs.tolist() + extra[:max(len(planned) - len(pairs), 0)]
    held_out = [j for j in range(len(inaccurate)) if j not in set(base_index) and j not in set(planned)]
    held_out = _not_test(accurate, inaccurate, indices.test, held_out)[:max(len(indices.validation), 1)]
    if not held_out:
        held_out = base_index[: max(1, len(base_index) // 10)]
    base = train.run_standard(frames_of(inaccurate, base_index, "inaccurate"),
                              frames_of(inaccurate, held_out, "inaccurate-validation"), None, config,
                              run_dir / "base")
    val_pairs = twins(accurate, inaccurate, indices.validation)
    delta_val = (_delta_frames(accurate, inaccurate, indices.validation, "delta-validation")[0]
                 if len(val_pairs) and (val_pairs >= 0).all() else delta_train)
    delta = train.run_standard(delta_train, delta_val, None, config, run_dir / "delta")
    metrics = {"method": "delta-ml", "units": {"energy_mae": "kcal/mol", "force_mae": "kcal/mol/Å"},
               "counts": {"accurate": len(indices.train), "inaccurate": len(base_index),
                          "paired": len(pairs), "base_validation": len(held_out)}}
    for split in ("validation", "test"):
        frames = frames_of(accurate, getattr(indices, split), split)
        energies, forces = (a + b for a, b in zip(predict_frames(base.model, frames), predict_frames(delta.model, frames)))
        metrics[split] = _mae(energies, forces, frames)
        if split == "test":
            np.savez_compressed(run_dir / "predictions.tmp.npz", energies=energies, forces=forces,
                                ref_energies=frames.energies, ref_forces=frames.forces)
    metrics["seconds"] = base.metrics["seconds"] + delta.metrics["seconds"]
    metrics["stage_seconds"] = {"base": base.metrics["seconds"], "delta": delta.metrics["seconds"]}
    metrics["evaluation_seconds"] = time.monotonic() - began
    metrics["delta"] = {"validation_on": "paired validation frames" if delta_val is not delta_train else
                        "the delta training frames (validation frames are not paired)"}
    metrics["config"] = config.to_dict()
    metrics["versions"] = versions()
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
    (run_dir / "predictions.tmp.npz").replace(run_dir / "predictions.npz")


def _not_test(accurate: SourceArrays, inaccurate: SourceArrays, test: list[int], candidates: list[int]) -> list[int]:
    """Candidates that are not a geometry of the test split."""
    from labelers.datasets import match_frames

    if not candidates:
        return []
    hit = match_frames(inaccurate.positions[np.asarray(candidates)], accurate.positions[np.asarray(test)]) >= 0
    return [c for c, h in zip(candidates, hit) if not h]


def _mae(energies: np.ndarray, forces: np.ndarray, frames: Any) -> dict[str, float]:
    from train.evaluate import KCAL_MOL

    return {"energy_mae": float(np.abs(energies - frames.energies).mean() / KCAL_MOL),
            "force_mae": float(np.abs(forces - frames.forces).mean() / KCAL_MOL)}
