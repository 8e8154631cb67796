"""The comparison's methods, one table: name -> label, what it trains on, its training switches,
and how it runs.

`trains_on`: "mixed" is the planner's split (accurate + inaccurate labels); "accurate" is the whole
budget on accurate labels (the standard baseline); "accurate+unlabelled" adds unlabelled
configurations of the inaccurate pool, which cost no labels.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from acquire.compare.plans import CompareSettings
from acquire.sources import SourceArrays, energy_only_frames, frames_of

if TYPE_CHECKING:
    from train.config import TrainConfig
    from train.models import Potential

MethodName = Literal["standard", "asteroid", "no-bias-weights", "no-finetune", "delta-ml", "score-matching"]
TrainsOn = Literal["accurate", "mixed", "accurate+unlabelled"]
Group = Literal["core", "ablation", "unlabeled"]


@dataclass(frozen=True)
class RunInputs:
    """What a method's run function gets: the labelled arrays, the run's frame indices (split.json),
    its training config and directory."""

    accurate: SourceArrays
    inaccurate: SourceArrays
    indices: dict[str, Any]
    config: TrainConfig
    run_dir: Path


# A method's run: trains in `run_dir` and returns the model whose test predictions are stored, or
# None when the method stores its own predictions (Delta-ML: two models).
RunMethod = Callable[[RunInputs], "Potential | None"]


def _frames(inputs: RunInputs) -> tuple:
    i = inputs.indices
    return (frames_of(inputs.accurate, i["train"], "accurate"), frames_of(inputs.accurate, i["validation"], "validation"),
            frames_of(inputs.accurate, i["test"], "test"))


def _standard(inputs: RunInputs) -> Potential:
    import train

    return train.run_standard(*_frames(inputs), inputs.config, inputs.run_dir).model


def _asteroid(inputs: RunInputs) -> Potential:
    import train
    from acquire.sources import extra_frames

    acc, val, test = _frames(inputs)
    pool = frames_of(inputs.inaccurate, inputs.indices["inaccurate_indices"], "inaccurate")
    extra = extra_frames(inputs.indices.get("extra_inaccurate", []), inputs.accurate, inputs.indices["test"])
    return train.run_asteroid(acc, [pool, *extra] if extra else pool, val, test, inputs.config, inputs.run_dir,
                              energy_only=energy_only_frames(inputs.indices.get("energy_only"), inputs.accurate)).model


def _no_finetune(inputs: RunInputs) -> Potential:
    _reuse_stages(inputs.run_dir.parent.parent / "asteroid" / inputs.run_dir.name, inputs.run_dir)
    return _asteroid(inputs)


def _score_matching(inputs: RunInputs) -> Potential:
    import train

    acc, val, test = _frames(inputs)
    pool = frames_of(inputs.inaccurate, inputs.indices["inaccurate_indices"], "unlabeled", labelled=False)
    return train.run_score_matching(acc, pool, val, test, inputs.config, inputs.run_dir).model


def _delta_ml(inputs: RunInputs) -> None:
    from acquire.compare.delta import run_delta_ml

    run_delta_ml(inputs.accurate, inputs.inaccurate, inputs.indices, inputs.config, inputs.run_dir)
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
    run: RunMethod
    switches: dict[str, bool] = field(default_factory=dict)  # overrides of the training config
    # why the method cannot run on (accurate, inaccurate, training indices), '' if it can; None: always can
    unavailable: Callable[[SourceArrays, SourceArrays, list[int]], str] | None = None
    after: MethodName | None = None  # the method whose run (same plan, same seed) must finish first


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("standard", "standard (accurate only)", "accurate", "core", _standard),
    Method("asteroid", "ASTEROID", "mixed", "core", _asteroid),
    Method("no-bias-weights", "ASTEROID w/o bias weights (pretrain + fine-tune)", "mixed", "ablation", _asteroid,
           {"bias_weights": False}),
    Method("no-finetune", "ASTEROID w/o fine-tuning", "mixed", "ablation", _no_finetune, {"finetune": False},
           after="asteroid"),
    Method("delta-ml", "Delta-ML (inaccurate base + learned difference)", "mixed", "ablation", _delta_ml,
           unavailable=_delta_unavailable),
    Method("score-matching", "score matching (unlabelled) + fine-tune", "accurate+unlabelled", "unlabeled",
           _score_matching),
)}


PRETRAINING: tuple[str, ...] = ("asteroid", "no-bias-weights", "no-finetune")  # take --extra-inaccurate
FINETUNING: tuple[str, ...] = ("asteroid", "no-bias-weights")  # take --energy-only


def selected(settings: CompareSettings) -> list[str]:
    """The methods a comparison runs, in table order (ASTEROID before the ablations that reuse its stages)."""
    groups = {"core"} | ({"ablation"} if settings.ablations else set()) | ({"unlabeled"} if settings.unlabeled else set())
    return [name for name, method in METHODS.items() if method.group in groups]


def label(name: str) -> str:
    """The report's name of a method (the name itself if unknown)."""
    return METHODS[name].label if name in METHODS else name


def train_config(settings: CompareSettings, method: str, seed: int) -> TrainConfig:
    """The preset with the comparison's training fields, seed, threads, gammas (which turn bias weights
    on) and the method's switches."""
    import train
    from train.config import with_overrides

    config = with_overrides(train.preset(settings.preset), {**(settings.training or {}), "seed": seed,
                                                           "threads": settings.threads, "progress": settings.progress})
    if settings.gammas is not None:  # asked for: bias weights on, also in a preset without them
        config = replace(config, gammas=tuple(settings.gammas), bias_weights=True)
    if settings.uniform_candidate:
        config = replace(config, uniform_candidate=True)
    return replace(config, **METHODS[method].switches)
