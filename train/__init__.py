"""ASTEROID-FF's trainer: ML force fields from mixed-fidelity labels (Bukharin et al., ICML 2023).

It owns graphs and datasets (`Frames` of numpy arrays in Å/eV/eV/Å -> torch-geometric graphs
with its own radius graph), models (PaiNN, the paper's EGNN, a TensorNet-style model, MACE; forces =
-dE/dx), weighted losses, standard training, ASTEROID (bias identification, bias-aware training,
fine-tuning, gamma search), score matching on unlabeled configurations, resumable checkpoints
and an ASE calculator. It imports nothing from `acquire`, `labelers` or `budget`. Public names
load lazily (PEP 562), so importing `train.errors` does not import torch: `Frames`,
`TrainConfig`, `ModelConfig`, `StageConfig`, `preset`, `with_stage`, `with_model`, `default_model`,
`run_standard`, `run_asteroid`, `run_score_matching`, `RunResult`, `load_model`,
`load_calculator`, `bias_weights`, `TrainError`. See `train.api` for the calling convention.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Frames": "train.frames",
    "TrainConfig": "train.config",
    "ModelConfig": "train.config",
    "StageConfig": "train.config",
    "preset": "train.config",
    "with_stage": "train.config",
    "with_model": "train.config",
    "default_model": "train.config",
    "PRESETS": "train.config",
    "run_standard": "train.api",
    "run_asteroid": "train.api",
    "run_score_matching": "train.api",
    "RunResult": "train.api",
    "load_model": "train.checkpoint",
    "load_calculator": "train.calculator",
    "bias_weights": "train.bias",
    "TrainError": "train.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'train' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
