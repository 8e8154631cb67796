"""The comparison's methods, one table: name -> label, what it trains on, its training switches,
and how it runs.

`trains_on`: "mixed" is the planner's split (accurate + inaccurate labels, and accurate energy-only
labels where the budget buys them); "accurate" is the whole budget on accurate force labels (the
standard baseline); "accurate+energies" the budget's accurate energy-only labels and force labels
for the rest (standard training, no cheap labels); "accurate+unlabeled" adds unlabeled
configurations of the inaccurate pool, which cost no labels.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from acquire.compare.runs import RunIndices
from acquire.compare.settings import CompareSettings
from acquire.sources import SourceArrays, frames_of
from acquire.training import RunFrames, Trainer, train_method, training_config

if TYPE_CHECKING:
    from train import Frames
    from train.config import TrainConfig
    from train.models import Potential

MethodName = Literal["standard", "standard-energies", "asteroid", "no-bias-weights", "no-finetune", "delta-ml",
                     "score-matching"]
TrainsOn = Literal["accurate", "accurate+energies", "mixed", "accurate+unlabeled"]
Group = Literal["core", "energies", "ablation", "unlabeled"]


@dataclass(frozen=True)
class Labels:
    """A comparison's labels, loaded once: the accurate and inaccurate arrays, the cheap labels of
    other molecules (`--extra-inaccurate`: (SRC, arrays) per molecule) and the accurate energy-only
    labels (`--energy-only`)."""

    accurate: SourceArrays
    inaccurate: SourceArrays
    extra_inaccurate: tuple[tuple[str, SourceArrays], ...] = ()
    energy_only: Frames | None = None
    bought_energies: bool = False  # the budget buys energy-only labels (--energy-share): none are free


@dataclass(frozen=True)
class RunInputs:
    """What a method's run function gets: the labels, the run's rows, its training config and directory."""

    labels: Labels
    indices: RunIndices
    config: TrainConfig
    run_dir: Path


# A method's run: trains in `run_dir` and returns the model whose test predictions are stored, or
# None when the method stores its own predictions (Delta-ML: two models).
RunMethod = Callable[[RunInputs, "Method"], "Potential | None"]


def run_frames(inputs: RunInputs, method: Method) -> RunFrames:
    """The frames `method` trains, selects and tests on, from the run's rows of the labels."""
    from acquire.sources import frames_outside

    labels, rows = inputs.labels, inputs.indices
    accurate = labels.accurate
    pool = rows.inaccurate
    return RunFrames(
        frames_of(accurate, rows.train, "accurate"), frames_of(accurate, rows.validation, "validation"),
        frames_of(accurate, rows.test, "test"),
        inaccurate=frames_of(labels.inaccurate, pool, "inaccurate") if method.trains_on == "mixed" else None,
        extra_inaccurate=tuple(frames_outside(labels.extra_inaccurate, accurate, rows.test)) if method.pretrains else (),
        unlabeled=(frames_of(labels.inaccurate, pool, "unlabeled", labelled=False)
                   if method.trains_on == "accurate+unlabeled" else None),
        energy_only=_energy_only(labels, rows, method))


def _energy_only(labels: Labels, rows: RunIndices, method: Method) -> Frames | None:
    """The accurate energy-only labels a run fits: those its budget bought (accurate rows whose
    forces are withheld, or the first of `--energy-only`'s frames in the seed's order), else the
    uncharged `--energy-only` labels of a fine-tuning method."""
    from dataclasses import replace

    if rows.energy_only:
        if labels.energy_only is not None:
            order = _seeded_order(len(labels.energy_only), rows.seed)
            return labels.energy_only.subset(order[:len(rows.energy_only)])
        return replace(frames_of(labels.accurate, rows.energy_only, "energy-only"), forces=None)  # withheld
    if labels.energy_only is not None and method.finetunes and not labels.bought_energies:
        return labels.energy_only
    return None


def _seeded_order(n: int, seed: int) -> list[int]:
    import numpy as np

    return np.random.default_rng([seed, 3]).permutation(n).tolist()


def _trained(inputs: RunInputs, method: Method) -> Potential:
    assert method.trainer is not None
    return train_method(method.trainer, run_frames(inputs, method), inputs.config, inputs.run_dir).model


def _no_finetune(inputs: RunInputs, method: Method) -> Potential:
    _reuse_stages(inputs.run_dir.parent.parent / "asteroid" / inputs.run_dir.name, inputs.run_dir)
    return _trained(inputs, method)


def _delta_ml(inputs: RunInputs, method: Method) -> None:
    from acquire.compare.delta import run_delta_ml

    run_delta_ml(inputs.labels.accurate, inputs.labels.inaccurate, inputs.indices, inputs.config, inputs.run_dir)
    return None


def _delta_unavailable(accurate: SourceArrays, inaccurate: SourceArrays, train_index: list[int]) -> str:
    from acquire.compare.delta import delta_unavailable

    return delta_unavailable(accurate, inaccurate, train_index)


def _reuse_stages(source: Path, target: Path) -> None:
    """Copy ASTEROID's finished bias and pretraining stages: the no-finetune ablation trains them
    with the identical config, so only the fine-tuning differs (it is skipped)."""
    if not all((source / name).exists() for name in ("metrics.json", "predictions.npz", "split.json")):
        return
    (target / "stages").mkdir(parents=True, exist_ok=True)
    for stage in (source / "stages").glob("*.pt"):
        if (stage.name == "bias.pt" or stage.name.startswith("pretrain_")) and not stage.name.endswith(".state.pt"):
            if not (target / "stages" / stage.name).exists():
                shutil.copy2(stage, target / "stages" / stage.name)


@dataclass(frozen=True)
class Method:
    """One method of the comparison."""

    name: MethodName
    label: str
    trains_on: TrainsOn
    group: Group
    trainer: Trainer | None  # the training method it runs (`acquire.training.train_method`); None: its own `run`
    run: RunMethod = _trained
    switches: dict[str, Any] = field(default_factory=dict)  # overrides of the training config
    pretrains: bool = False  # pretrains on the cheap labels, so also on --extra-inaccurate's
    finetunes: bool = False  # fine-tunes on the accurate labels, so also on --energy-only's
    # why the method cannot run on (accurate, inaccurate, training indices), '' if it can; None: always can
    unavailable: Callable[[SourceArrays, SourceArrays, list[int]], str] | None = None
    after: MethodName | None = None  # the method whose run (same plan, same seed) must finish first


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("standard", "standard (accurate only)", "accurate", "core", "standard"),
    Method("standard-energies", "standard + accurate energies", "accurate+energies", "energies", "standard"),
    Method("asteroid", "ASTEROID", "mixed", "core", "asteroid", pretrains=True, finetunes=True),
    Method("no-bias-weights", "ASTEROID w/o bias weights (pretrain + fine-tune)", "mixed", "ablation", "asteroid",
           switches={"bias_weights": False}, pretrains=True, finetunes=True),
    Method("no-finetune", "ASTEROID w/o fine-tuning", "mixed", "ablation", "asteroid", _no_finetune,
           {"finetune": False}, pretrains=True, after="asteroid"),
    Method("delta-ml", "Delta-ML (inaccurate base + learned difference)", "mixed", "ablation", None, _delta_ml,
           unavailable=_delta_unavailable),
    Method("score-matching", "score matching (unlabeled) + fine-tune", "accurate+unlabeled", "unlabeled",
           "score-matching"),
)}


def selected(settings: CompareSettings) -> list[str]:
    """The methods a comparison runs, in table order (ASTEROID before the ablations that reuse its stages)."""
    groups = ({"core"} | ({"ablation"} if settings.ablations else set()) | ({"unlabeled"} if settings.unlabeled else set())
              | ({"energies"} if settings.energy_share is not None else set()))
    return [name for name, method in METHODS.items() if method.group in groups]


def label(name: str) -> str:
    """The report's name of a method (the name itself if unknown)."""
    return METHODS[name].label if name in METHODS else name


def train_config(settings: CompareSettings, method: str, seed: int) -> TrainConfig:
    """A run's training config (`acquire.training.training_config`): the preset with the comparison's
    training fields, seed, threads and gammas, and the method's switches."""
    return training_config(settings.preset, settings.training, seed=seed, threads=settings.threads,
                           progress=settings.progress, gammas=settings.gammas, uniform=settings.uniform_candidate,
                           switches=METHODS[method].switches)
