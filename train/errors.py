"""Typed errors of the trainer. Imports nothing heavy: the CLI imports this module without torch."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class TrainError(Exception):
    """Base of the trainer's user-facing errors; the CLI prints one line and exits with code 2."""


class DataError(TrainError):
    """Training data are missing, empty, inconsistent in shape, or not finite."""


class ConfigError(TrainError):
    """A training configuration, preset or model name is invalid."""


class CheckpointError(TrainError):
    """A checkpoint or run directory cannot be read, or belongs to a different configuration."""


def describe(error: ValidationError) -> str:
    """A pydantic validation error on one line: 'standard.epochs: Input should be a valid integer; ...'."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())
