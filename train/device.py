"""Where the trainer and the calculator run: `resolve_device('cpu' | 'cuda' | 'auto')`.

Training runs on a device as torch's default device: `with resolve_device('auto'): run_standard(...)`
builds the model and the graphs there (what `acquire train --device` does); model files are
written from there and load onto the CPU (`train.checkpoint`). The calculator takes `device=`."""
from __future__ import annotations

import torch

from train.errors import ConfigError

DEVICES = ("cpu", "cuda", "auto")


def resolve_device(name: str = "cpu") -> torch.device:
    """'auto' is cuda when a GPU is visible, else cpu; 'cuda' without a visible GPU is refused."""
    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r}; devices: {', '.join(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda: no GPU is visible to torch (CUDA build and driver needed); use cpu or auto")
    return torch.device(name)
