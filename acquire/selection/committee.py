"""`uncertain` selection: buy first the candidates where a small committee of models trained on the
cheap labels disagrees most.

Each of `MEMBERS` models (the run's model, its own seed) trains with the preset's pretraining
stage, for a third of its epochs (no step floor), on its own random `MEMBER_FRAMES` frames of the cheap-label pool
(validated on up to `MEMBER_VALIDATION` others). The disagreement of a candidate is the force spread
across members: the mean over atoms of the norm of the per-component standard deviation
(kcal/mol/Å). Candidates are bought in order of decreasing disagreement. The members live in
`<dir>/member<m>/` and resume like any training run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acquire.errors import AcquireError
from acquire.sources import SourceArrays, frames_of, predict_frames

if TYPE_CHECKING:
    from train import Frames
    from train.config import TrainConfig

MEMBERS = 3
MEMBER_FRAMES = 500
MEMBER_VALIDATION = 50


def member_config(config: TrainConfig, seed: int, member: int) -> TrainConfig:
    """A committee member's training: the preset's pretraining stage for a third of its epochs,
    bounded by epochs alone (the stage's step floor, meant for thousands of frames, would give a
    member on 500 frames 23 times the epochs: 12 CPU-min each with the quick preset)."""
    stage = replace(config.pretrain, epochs=max(1, config.pretrain.epochs // 3), min_steps=0)
    return replace(config, seed=seed * MEMBERS + member, standard=stage)


def member_frames(pool_index: list[int], seed: int, member: int) -> tuple[list[int], list[int]]:
    """(training, validation) pool rows of one member: a seeded draw, at most MEMBER_FRAMES + MEMBER_VALIDATION."""
    n_val = max(1, min(MEMBER_VALIDATION, len(pool_index) // 5))
    n_train = min(MEMBER_FRAMES, len(pool_index) - n_val)
    if n_train < 1:
        raise AcquireError(f"--selection uncertain needs at least 2 cheap labels to train its committee on, "
                           f"got {len(pool_index)}")
    drawn = np.random.default_rng([seed, 6, member]).permutation(pool_index)[:n_train + n_val]
    return [int(i) for i in drawn[:n_train]], [int(i) for i in drawn[n_train:]]


def disagreement(forces: np.ndarray) -> np.ndarray:
    """(members, n, k, 3) predicted forces, eV/Å -> (n,) committee spread, kcal/mol/Å."""
    from train.evaluate import KCAL_MOL

    spread = np.linalg.norm(np.std(forces, axis=0), axis=-1)  # (n, k): per atom
    return spread.mean(axis=1) / KCAL_MOL


def committee_spread(candidates: Frames, pool: SourceArrays, pool_index: list[int], config: TrainConfig,
                     seed: int, out_dir: Path, log: Callable[[str], None]) -> tuple[np.ndarray, dict]:
    """(force spread of each candidate, kcal/mol/Å; what the committee was and cost) for a committee
    trained on the labelled pool rows `pool_index`."""
    from train import run_standard

    began = time.process_time()
    forces = []
    for member in range(MEMBERS):
        train_rows, val_rows = member_frames(pool_index, seed, member)
        log(f"selection committee member {member + 1} of {MEMBERS}: {len(train_rows)} cheap-label frames")
        result = run_standard(frames_of(pool, train_rows, "committee"), frames_of(pool, val_rows, "committee-validation"),
                              None, member_config(config, seed, member), out_dir / f"member{member}")
        forces.append(predict_frames(result.model, candidates)[1])
    spread = disagreement(np.asarray(forces))
    info = {"method": "uncertain", "members": MEMBERS, "member_frames": len(train_rows),
            "member_epochs": member_config(config, seed, 0).standard.epochs, "candidates": len(spread),
            "cpu_s": round(time.process_time() - began, 1),
            "disagreement_kcal_mol_A": {"max": float(spread.max()), "median": float(np.median(spread)),
                                        "min": float(spread.min())}}
    return spread, info


def most_uncertain_first(spread: np.ndarray, keys: list[int]) -> list[int]:
    """Positions 0..n-1 in order of decreasing spread (ties: lower key first)."""
    return sorted(range(len(spread)), key=lambda i: (-spread[i], keys[i]))
