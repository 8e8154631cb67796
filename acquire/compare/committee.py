"""`--selection uncertain`: the accurate budget buys first the candidates where a small committee of
models trained on the cheap labels disagrees most.

Each of `MEMBERS` models (the comparison's model, its own seed) trains with the preset's
pretraining stage, for a third of its epochs, on its own random `MEMBER_FRAMES` frames of the
seed's inaccurate pool (validated on `MEMBER_VALIDATION` others). The disagreement of a candidate
is the force spread across members: the mean over atoms of the norm of the per-component standard
deviation (kcal/mol/Å). Candidates are bought in order of decreasing disagreement (ties: lower
index first). The members live in `OUT/selection/seed<k>/member<m>/` and resume like any run; the
ranked order is stored in the seed's split, so it is computed once.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from acquire.compare.plans import SeedSplit
from acquire.sources import SourceArrays, frames_of, predict_frames
from train.config import TrainConfig

MEMBERS = 3
MEMBER_FRAMES = 500
MEMBER_VALIDATION = 50


def member_config(config: TrainConfig, seed: int, member: int) -> TrainConfig:
    """A committee member's training: the preset's pretraining stage for a third of its epochs."""
    stage = replace(config.pretrain, epochs=max(1, config.pretrain.epochs // 3))
    return replace(config, seed=seed * MEMBERS + member, standard=stage)


def member_frames(pool_index: list[int], seed: int, member: int) -> tuple[list[int], list[int]]:
    """(training, validation) pool rows of one member: a seeded draw, at most MEMBER_FRAMES + MEMBER_VALIDATION."""
    n_val = max(1, min(MEMBER_VALIDATION, len(pool_index) // 5))
    n_train = min(MEMBER_FRAMES, len(pool_index) - n_val)
    if n_train < 1:
        raise ValueError(f"--selection uncertain needs at least 2 labelled pool frames, got {len(pool_index)}")
    drawn = np.random.default_rng([seed, 6, member]).permutation(pool_index)[:n_train + n_val]
    return [int(i) for i in drawn[:n_train]], [int(i) for i in drawn[n_train:]]


def disagreement(forces: np.ndarray) -> np.ndarray:
    """(members, n, k, 3) predicted forces, eV/Å -> (n,) committee spread, kcal/mol/Å."""
    from train.evaluate import KCAL_MOL

    spread = np.linalg.norm(np.std(forces, axis=0), axis=-1)  # (n, k): per atom
    return spread.mean(axis=1) / KCAL_MOL


def rank_by_committee(split: SeedSplit, accurate: SourceArrays, pool: SourceArrays, pool_size: int,
                      config: TrainConfig, out: Path, log: Callable[[str], None]) -> SeedSplit:
    """`split` with its training candidates ranked by committee disagreement, stored in `out/splits/`."""
    from train import run_standard

    if split.ordered:
        return split
    began = time.process_time()
    pool_index = split.pool_order[:pool_size]
    candidates = frames_of(accurate, split.train_order, "candidates", labelled=False)
    forces = []
    for member in range(MEMBERS):
        train_rows, val_rows = member_frames(pool_index, split.seed, member)
        log(f"seed {split.seed}: selection committee member {member + 1} of {MEMBERS} "
            f"({len(train_rows)} pool frames)")
        result = run_standard(frames_of(pool, train_rows, "committee"), frames_of(pool, val_rows, "committee-validation"),
                              None, member_config(config, split.seed, member),
                              out / "selection" / f"seed{split.seed}" / f"member{member}")
        forces.append(predict_frames(result.model, candidates)[1])
    spread = disagreement(np.asarray(forces))
    order = sorted(range(len(spread)), key=lambda i: (-spread[i], split.train_order[i]))
    info = {"method": "uncertain", "members": MEMBERS, "member_frames": len(train_rows),
            "member_epochs": member_config(config, split.seed, 0).standard.epochs,
            "candidates": len(order), "cpu_s": round(time.process_time() - began, 1),
            "disagreement_kcal_mol_A": {"max": float(spread.max()), "median": float(np.median(spread)),
                                        "min": float(spread.min())}}
    ranked = replace(split, train_order=[split.train_order[i] for i in order], ordered=True, selection_info=info)
    ranked.save(out / "splits" / f"seed{split.seed}.json")
    return ranked
