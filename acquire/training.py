"""One run's training, the single place `acquire train`, `acquire compare` and `acquire run` go
through: the training config a run asks for (`training_config`), the frames it trains, selects and
tests on (`RunFrames`), and the trainer of each method (`train_method`).

torch loads only when a method trains (`train.config` is plain dataclasses).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from train import Frames, RunResult
    from train.config import TrainConfig
    from train.loop import Monitor

Trainer = Literal["standard", "asteroid", "score-matching"]
TRAINERS: tuple[Trainer, ...] = ("standard", "asteroid", "score-matching")


@dataclass(frozen=True)
class RunFrames:
    """What one run trains, selects and tests on (energies eV, forces eV/Å). Each kind of label is
    one field, next to the accurate training labels: a method reads the fields it trains on."""

    accurate: Frames | None  # accurate training labels (energies and forces); None: energy-only labels alone
    validation: Frames  # accurate labels the models are selected on
    test: Frames | None = None
    inaccurate: Frames | None = None  # ASTEROID: cheap labels of the molecule, pretrained on
    extra_inaccurate: tuple[Frames, ...] = ()  # ASTEROID: cheap labels of other molecules, pretrained on too
    unlabeled: Frames | None = None  # score matching: configurations without labels
    energy_only: Frames | None = None  # accurate energy-only labels (forces withheld) trained on beside `accurate`


def training_config(preset: str, training: Mapping[str, Any] | None = None, *, seed: int = 0, threads: int = 1,
                    progress: bool = True, gammas: tuple[float, ...] | None = None, uniform: bool = False,
                    switches: Mapping[str, Any] | None = None) -> TrainConfig:
    """The preset with a run's training-config fields (`training`, as in `train.config.with_overrides`),
    its seed, threads and progress; gammas asked for turn bias weights on (also in a preset
    without them), `uniform` adds uniform weights as one more candidate; then a method's `switches`."""
    from train.config import preset as named_preset
    from train.config import with_overrides

    config = with_overrides(named_preset(preset), {**(training or {}), "seed": seed, "threads": threads,
                                                   "progress": progress})
    if gammas is not None:
        config = replace(config, gammas=tuple(gammas), bias_weights=True)
    if uniform:
        config = replace(config, uniform_candidate=True)
    return replace(config, **(switches or {}))


def train_method(method: Trainer, frames: RunFrames, config: TrainConfig, out: str | Path,
                 monitor: Monitor | None = None) -> RunResult:
    """Train `method` on `frames` in `out` (resumable: finished stages are reused); `monitor` sees
    every epoch trained (`train.loop.fit`: a benchmark's curve against CPU time)."""
    import train

    if method == "standard":
        return train.run_standard(frames.accurate, frames.validation, frames.test, config, out,
                                  energy_only=frames.energy_only, monitor=monitor)
    if method == "asteroid":
        if frames.inaccurate is None:
            raise train.TrainError("ASTEROID needs inaccurate labels")
        pool = [frames.inaccurate, *frames.extra_inaccurate] if frames.extra_inaccurate else frames.inaccurate
        return train.run_asteroid(frames.accurate, pool, frames.validation, frames.test, config, out,
                                  energy_only=frames.energy_only, monitor=monitor)
    if method == "score-matching":
        if frames.unlabeled is None or frames.accurate is None:
            raise train.TrainError("score matching needs unlabeled configurations and accurate force labels")
        return train.run_score_matching(frames.accurate, frames.unlabeled, frames.validation, frames.test, config, out)
    raise train.TrainError(f"unknown method {method!r}; methods: {', '.join(TRAINERS)}")
