"""Model files: save and load a `Potential` with its config, reference energies, metrics, versions.

A model file is a dict of tensors and plain values (loads with `torch.load(weights_only=True)`):
{"format", "architecture", "model_config", "state_dict", "metrics", "config", "versions", "molecule"}
("molecule": `train.frames.training_molecule`; files written before it was recorded have none).
A file whose architecture tag differs from this code's is refused (`models.ARCHITECTURE_VERSIONS`).
"""
from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch

from train.atomic_files import atomic_path, load_plain
from train.config import ModelConfig
from train.errors import CheckpointError
from train.models import Potential, architecture, build_model

FORMAT = "asteroid-ff/model/1"


def versions() -> dict[str, str]:
    import ase
    import numpy
    import torch_geometric

    return {"torch": str(torch.__version__), "torch_geometric": str(torch_geometric.__version__),
            "numpy": str(numpy.__version__), "ase": str(ase.__version__), "python": platform.python_version()}


def save_model(model: Potential, model_config: ModelConfig, path: Path, **extra: Any) -> None:
    """Write `model` to `path` atomically; `extra` (metrics, config, ...) must be plain values."""
    from dataclasses import asdict

    state = {"format": FORMAT, "architecture": architecture(model_config.name), "model_config": asdict(model_config), "state_dict": model.state_dict(),
             "versions": versions(), **extra}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def read_model_file(path: str | Path) -> dict[str, Any]:
    """The raw dict of a model file (or of `DIR/model.pt` when given a run directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        raise CheckpointError(f"no model file at {path}")
    state = load_plain(path, "model file")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an ASTEROID-FF model file")
    return state


def load_model(path: str | Path) -> Potential:
    """The `Potential` stored in a model file or run directory, in eval mode."""
    state = read_model_file(path)
    config = ModelConfig.from_dict(state["model_config"])
    saved, current = state.get("architecture"), architecture(config.name)
    if saved is not None and saved != current:  # files from before the tag existed carry none
        raise CheckpointError(f"{path} holds a {saved} model; this code builds {current}: "
                              "retrain, or load it with the version that wrote it")
    model = build_model(config)
    model.load_state_dict(state["state_dict"])
    dtype = next(v.dtype for k, v in state["state_dict"].items() if k.startswith("net.") and v.is_floating_point())
    return model.to(dtype).eval()


def trained_molecule(path: str | Path) -> dict | None:
    """The molecule record of a model file or run directory (`train.frames.training_molecule`:
    numbers, positions_A, formulas, elements), or None for a file written before it was recorded."""
    record = read_model_file(path).get("molecule")
    return record if isinstance(record, dict) and record.get("elements") else None
