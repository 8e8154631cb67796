"""Training configuration: model, per-stage optimisation settings and the `quick`/`paper` presets.

Every config is a frozen pydantic dataclass of numbers and strings: types and closed sets
(`Literal`) are checked when one is made, ranges in `__post_init__` (ConfigError), and a config
serialises to JSON and into checkpoints (`asdict`). `preset(name, **overrides)` returns a
`TrainConfig`; `with_overrides(config, {...})` merges a (partial) config mapping such as a YAML
file or a run's `config.json`; `with_stage(config, 'pretrain', lr=...)` changes one stage.
"""
from __future__ import annotations

import json
import math
import zlib
from dataclasses import asdict, field, replace
from typing import Any, Literal, get_args

from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass

from train.errors import ConfigError, describe

ModelName = Literal["painn", "tensornet", "egnn", "mace"]
Schedule = Literal["cosine", "plateau", "constant"]
Loss = Literal["mse", "mae", "huber"]
DType = Literal["float32", "float64"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)
STRICT = ConfigDict(extra="forbid")  # an unknown field is an error, not silently dropped


@dataclass(frozen=True, config=STRICT)
class ModelConfig:
    """Architecture: `name` in MODEL_NAMES; width, interaction layers, radial basis size, cutoff (Å).
    MACE only: `max_ell` (spherical harmonics), `correlation` (body order - 1), `elements` (the
    atomic numbers it one-hot encodes), `neighbours` (its message normalisation, the mean number
    of neighbours within the cutoff; left empty / 0, a run sets them from its data),
    `cutoff_power` (the polynomial envelope's order) and `reduced_cg` (mace-torch's reduced
    Clebsch-Gordan basis for the symmetric products). Their defaults are those of mace-torch's
    command line (5, False); model files written before they existed hold 6 and True (`from_dict`)."""

    name: ModelName = "painn"
    hidden: int = 128
    layers: int = 3
    rbf: int = 20
    cutoff: float = 5.0
    max_z: int = 100
    max_ell: int = 2
    correlation: int = 3
    elements: tuple[int, ...] = ()
    neighbours: float = 0.0
    cutoff_power: int = 5
    reduced_cg: bool = False

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelConfig:
        """From `asdict` output, JSON or a checkpoint (old files lack `elements`, and those written
        before `cutoff_power` and `reduced_cg` existed get the values their network was built with)."""
        try:
            return ModelConfig(**stored_model(data))
        except ValidationError as error:
            raise ConfigError(f"invalid model config: {describe(error)}") from None


@dataclass(frozen=True, config=STRICT)
class StageConfig:
    """Optimisation of one training stage (Adam or AMSGrad, linear warm-up, cosine or plateau
    decay). A stage is bounded by epochs only, never by wall time, so that a seed gives the same
    model on an idle and on a busy machine."""

    epochs: int = 100
    batch_size: int = 10
    lr: float = 1e-3
    min_lr: float = 1e-6
    warmup_epochs: int = 2
    schedule: Schedule = "cosine"
    plateau_patience: int = 20
    plateau_factor: float = 0.5
    patience: int = 0  # early stopping on validation loss, in epochs; 0 = off
    ema: float = 0.0  # EMA decay of the weights (0 = off); evaluation and selection use the EMA
    weight_decay: float = 0.0
    amsgrad: bool = False  # Adam's AMSGrad variant (mace-torch's default recipe)
    clip_grad: float = 0.0  # clip the gradient norm to this value (0 = off)
    min_steps: int = 0  # at least this many optimiser steps: a small training set gets more epochs (0 = off)

    def epochs_for(self, frames: int) -> int:
        """The epochs this stage runs on `frames` training configurations: `epochs`, or more when
        they make fewer than `min_steps` optimiser steps."""
        steps_per_epoch = max(math.ceil(frames / self.batch_size), 1)
        return max(self.epochs, math.ceil(self.min_steps / steps_per_epoch))


@dataclass(frozen=True, config=STRICT)
class TrainConfig:
    """A whole run: model, loss, the stages of standard/ASTEROID/score-matching training."""

    model: ModelConfig = field(default_factory=ModelConfig)
    rho: float = 1e-3  # energy weight in rho * L_E + L_F (losses in normalised units)
    energy_per_atom: bool = False  # L_E on the energy error per atom (mace-torch's convention)
    loss: Loss = "mse"
    dtype: DType = "float32"
    seed: int = 0
    threads: int = 1
    gammas: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)  # kcal/mol/Å (the paper's), or multiples of the median B
    relative_gammas: bool = False  # ASTEROID: gammas are multiples of the measured median bias B, not kcal/mol/Å
    uniform_candidate: bool = False  # ASTEROID: uniform weights (gamma = inf) is one more candidate for validation
    bias_weights: bool = True  # ASTEROID ablation switch: False = uniform weights
    finetune: bool = True  # ASTEROID ablation switch: False = stop after bias-aware training
    energy_only_rho: float = 1.0  # energy weight of accurate energy-only labels (as rho; standard and fine-tuning)
    temperature_K: float = 500.0  # for score matching (beta = 1 / kT)
    projections: int = 1  # random projections of the sliced score-matching trace estimator
    standard: StageConfig = field(default_factory=StageConfig)
    bias: StageConfig = field(default_factory=StageConfig)  # stage (a): model on accurate data
    pretrain: StageConfig = field(default_factory=StageConfig)  # stage (b): inaccurate data
    finetune_stage: StageConfig = field(default_factory=StageConfig)  # stage (c)
    eval_batch_size: int = 100
    checkpoint_seconds: float = 30.0  # how often a running stage saves its resumable state
    progress: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.model.hidden > 0 and self.model.layers > 0 and self.model.rbf > 0, "model sizes (must be > 0)"),
            (self.model.cutoff > 0, f"cutoff {self.model.cutoff} Å (must be > 0)"),
            (self.rho >= 0, f"rho {self.rho} (must be >= 0)"),
            (len(self.gammas) > 0 and all(g > 0 for g in self.gammas), f"gammas {self.gammas} (need one or more, > 0)"),
            (self.threads >= 1 and self.projections >= 1, "threads and projections (must be >= 1)"),
            (self.energy_only_rho >= 0, f"energy_only_rho {self.energy_only_rho} (>= 0)"),
            (self.temperature_K > 0, f"temperature {self.temperature_K} K (must be > 0)"),
        ]
        for stage in _STAGES:
            s = getattr(self, stage)
            checks.append((s.epochs >= 1 and s.batch_size >= 1 and s.lr > 0 and s.min_steps >= 0,
                           f"{stage}: epochs, batch_size, lr (must be > 0), min_steps (>= 0)"))
        for ok, what in checks:
            if not ok:
                raise ConfigError(f"invalid training config: {what}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def seed_for(self, tag: str) -> int:
        """The torch seed of the fresh network built for `tag` (a stage or a head) in this run."""
        return self.seed * 7919 + zlib.crc32(tag.encode()) % 100_000

    def weightings(self) -> tuple[float, ...]:
        """ASTEROID's candidate gammas (kcal/mol/Å), one pretraining and fine-tuning each; math.inf
        is uniform weights, the only candidate without bias weights."""
        if not self.bias_weights:
            return (math.inf,)
        return self.gammas + ((math.inf,) if self.uniform_candidate else ())

    def comparable(self) -> dict[str, Any]:
        """The settings that change what a run learns (not progress, threads or checkpoint timing),
        as plain JSON values."""
        runtime = ("progress", "threads", "checkpoint_seconds")
        return json.loads(json.dumps({k: v for k, v in self.to_dict().items() if k not in runtime}))

    def matches(self, stored: dict[str, Any], ignore: tuple[str, ...] = ()) -> bool:
        """Whether a config dict written by this or an older version (fields added since then take
        their defaults) trains what this config trains, apart from the fields in `ignore`: the test
        for resuming or reusing a run directory."""
        try:
            other = TrainConfig.from_dict(stored).comparable()
        except (ConfigError, TypeError, ValueError):
            return False
        mine = self.comparable()
        return all(other[k] == mine[k] for k in mine if k not in ignore)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TrainConfig:
        """From `to_dict` output: a run's `config.json` or a checkpoint, also one written by an older
        version (fields added since take their defaults, model fields the values that version built
        with; `temperature` is now `temperature_K`)."""
        if isinstance(data.get("model"), dict):
            data = {**data, "model": stored_model(data["model"])}
        return with_overrides(TrainConfig(), data)


# How a MACE stored before these fields existed was built (other architectures do not read them).
_MACE_BEFORE = {"cutoff_power": 6, "reduced_cg": True}


def stored_model(data: dict[str, Any]) -> dict[str, Any]:
    """A complete model-config mapping read from a file, with the fields it predates filled in as
    the code that wrote it built the network (not with today's defaults)."""
    return {**_MACE_BEFORE, **data} if data.get("name") == "mace" else dict(data)


_STAGES = ("standard", "bias", "pretrain", "finetune_stage")
# The fields only the methods that learn from inaccurate or unlabeled data read: a standard run
# trains the same model whatever they hold.
PRETRAINING_FIELDS = ("gammas", "relative_gammas", "uniform_candidate", "bias_weights", "finetune",
                      "temperature_K", "projections", "bias", "pretrain", "finetune_stage")
# The fields only a run with accurate energy-only labels reads, whatever its method.
ENERGY_ONLY_FIELDS = ("energy_only_rho",)


def parse_gammas(text: str) -> tuple[tuple[float, ...], bool]:
    """`--gammas` text: comma-separated gammas (kcal/mol/Å) and optionally `uniform` (gamma = inf,
    no bias weights) as one more candidate; returns (the finite gammas, whether uniform is one)."""
    items = [t.strip().lower() for t in text.split(",")]
    uniform = any(t in ("uniform", "inf") for t in items)
    try:
        gammas = tuple(float(t) for t in items if t not in ("uniform", "inf"))
    except ValueError:
        gammas = ()
    if not gammas or not all(0 < g < math.inf for g in gammas):
        raise ConfigError(f"--gammas must list positive gammas in kcal/mol/Å, optionally with uniform, such as "
                          f"0.5,1,uniform; got {text!r}")
    return gammas, uniform


def gammas_text(gammas: tuple[float, ...], uniform: bool = False) -> str:
    """The `--gammas` text that `parse_gammas` reads back as (gammas, uniform)."""
    return ",".join([f"{g:g}" for g in gammas] + (["uniform"] if uniform else []))


def with_overrides(config: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    """`config` with the fields of a (partial) config mapping changed: top-level fields, and the
    model's and each stage's fields by name, e.g. `{"rho": 0.02, "pretrain": {"epochs": 40}}`.
    Unknown fields, wrong types and out-of-range values raise ConfigError (one line)."""
    changes = _without_removed(dict(changes), _REMOVED, "")
    if "temperature" in changes:  # the spelling before temperature_K
        changes["temperature_K"] = changes.pop("temperature")
    for name in _STAGES:
        if isinstance(changes.get(name), dict) and changes[name].get("max_seconds"):  # written before epoch bounds
            raise ConfigError(f"{name}: a stage bounded by wall time (max_seconds) cannot be reproduced")
    nested = {}
    for name in ("model", *_STAGES):
        if isinstance(changes.get(name), dict):
            section = {k: v for k, v in changes.pop(name).items() if k != "max_seconds"}
            if name in _STAGES:
                section = _without_removed(section, _REMOVED_STAGE, f"{name}.")
            nested[name] = _replaced(getattr(config, name), section, f"{name}.")
    return _replaced(config, {**changes, **nested}, "")


# Options measured as worse and removed (benchmarks/results/ keeps their history): the value at
# which each did nothing, which older config files hold; None: ignored at any value.
_REMOVED: dict[str, float | None] = {"replay": 0.0, "shift_hidden": None}
_REMOVED_STAGE: dict[str, float | None] = {"cooldown": 0.0, "anchor": 0.0}


def _without_removed(changes: dict[str, Any], removed: dict[str, float | None], where: str) -> dict[str, Any]:
    """`changes` without the removed options, which an older file holds at their neutral value;
    another value cannot be reproduced any more (ConfigError)."""
    for name, neutral in removed.items():
        if name in changes and (value := changes.pop(name)) != neutral and neutral is not None:
            raise ConfigError(f"{where}{name} = {value}: this option was removed (it trained worse); "
                              f"only {neutral} (off) is still read")
    return changes


def _replaced(config: Any, changes: dict[str, Any], where: str) -> Any:
    """`replace(config, **changes)` with errors as one-line ConfigErrors naming the field."""
    try:
        return replace(config, **changes)
    except ValidationError as error:
        raise ConfigError(f"invalid training config: {where}{describe(error)}") from None
    except TypeError as error:
        raise ConfigError(f"invalid training config: {where}{error}") from None


def with_stage(config: TrainConfig, stage: str, **changes: Any) -> TrainConfig:
    """A copy of `config` with fields of one stage changed, e.g. `with_stage(c, 'pretrain', epochs=5)`."""
    if stage not in _STAGES:
        raise ConfigError(f"unknown stage {stage!r}; stages: {', '.join(_STAGES)}")
    return replace(config, **{stage: replace(getattr(config, stage), **changes)})


def with_model(config: TrainConfig, **changes: Any) -> TrainConfig:
    """A copy of `config` with model fields changed, e.g. `with_model(c, name='egnn', layers=5)`."""
    return replace(config, model=replace(config.model, **changes))


def default_model(name: str) -> ModelConfig:
    """The default size of each architecture, the one measured best per CPU-second on ethanol: what
    `acquire train --model NAME` starts from when the preset's model is another one."""
    sizes = {"painn": dict(hidden=64, layers=3, rbf=16), "egnn": dict(hidden=128, layers=5),
             "tensornet": dict(hidden=32, layers=2, rbf=16), "mace": dict(hidden=32, layers=2, rbf=8)}
    if name not in sizes:
        raise ConfigError(f"unknown model {name!r}; models: {', '.join(MODEL_NAMES)}")
    return ModelConfig(name=name, **sizes[name])


def _quick() -> TrainConfig:
    """PaiNN 64 x 3, bounded by epochs and steps, sized for at most 15 minutes on two cores (`acquire
    demo` runs standard and ASTEROID side by side): standard 400 epochs at lr 5e-3; ASTEROID (one
    gamma) bias model 100 epochs; pretraining on the cheap labels 60 epochs and at least 7500 steps
    at lr 1e-2 (batch 32: 120 epochs of 2000 frames; a small pool gets more epochs); fine-tuning at
    lr 5e-4 with plateau decay, stopped after 40 epochs without a better validation loss (at most
    400), so that a molecule whose validation error keeps falling is fine-tuned for longer. Each
    setting was measured against its alternatives (docs/results.md, "Why the presets are what they
    are")."""
    accurate = StageConfig(epochs=300, batch_size=10, lr=2e-3, min_lr=1e-5, warmup_epochs=5, ema=0.99)
    return TrainConfig(
        model=default_model("painn"),
        gammas=(1.0,),
        standard=replace(accurate, epochs=400, lr=5e-3),  # better than 600 epochs at 2e-3
        bias=replace(accurate, epochs=100),
        pretrain=StageConfig(epochs=60, min_steps=7500, batch_size=32, lr=1e-2, min_lr=1e-5, warmup_epochs=2,
                             ema=0.99),  # steps, not epochs: a small pool still gets a full pretraining
        finetune_stage=replace(accurate, epochs=400, lr=5e-4, warmup_epochs=2, schedule="plateau",
                               plateau_patience=10, patience=40),  # until validation stops improving
    )


def _paper() -> TrainConfig:
    """Accuracy over speed: MACE (32 channels of 0e + 1o, l <= 3, correlation 3, envelope and basis
    as mace-torch's command line builds them) with mace-torch's own optimisation recipe (AMSGrad,
    lr 1e-2 at batch 10, plateau decay x0.8 after 10 flat epochs, EMA 0.99, gradient norm clipped
    at 10, energy weight 0.01 per atom against forces). Standard 400 epochs (mace-torch's peer
    recipe). ASTEROID: pretraining on the cheap labels with uniform weights at a constant lr 2e-2,
    80 epochs and at least 16,000 steps; fine-tuning 200 epochs, cosine decay from lr 3e-3 (early
    stopping after 40 flat epochs). Uniform weights because bias weights at gamma 1 were worse on
    ethanol with this model; `--gammas` turns them back on. A constant, high pretraining rate and
    at least 16,000 steps because the fine-tuned model is limited by how well the pretraining fits
    the cheap labels. The figures behind each choice: docs/results.md, "Why the presets are what
    they are"."""
    accurate = StageConfig(epochs=400, batch_size=10, lr=1e-2, min_lr=1e-5, warmup_epochs=0, ema=0.99,
                           schedule="plateau", plateau_patience=10, plateau_factor=0.8, amsgrad=True, clip_grad=10.0)
    return TrainConfig(
        model=replace(default_model("mace"), max_ell=3),
        rho=1e-2,
        energy_per_atom=True,
        gammas=(1.0,),
        bias_weights=False,  # uniform weights: better than gamma 1 on ethanol (docs/results.md)
        standard=accurate,
        bias=replace(accurate, epochs=50),
        pretrain=replace(accurate, epochs=80, min_steps=16000, schedule="constant", lr=2e-2),
        finetune_stage=replace(accurate, epochs=200, lr=3e-3, schedule="cosine", patience=40),
    )


def _tiny() -> TrainConfig:
    stage = StageConfig(epochs=3, batch_size=8, lr=1e-3, warmup_epochs=1)
    return TrainConfig(
        model=ModelConfig(name="painn", hidden=16, layers=2, rbf=8),
        gammas=(0.5, 2.0), standard=stage, bias=stage, pretrain=stage, finetune_stage=stage,
        progress=False,
    )


PRESETS = {"quick": _quick, "paper": _paper, "tiny": _tiny}


def preset(name: str = "quick", **overrides: Any) -> TrainConfig:
    """The named preset ('quick', 'paper', 'tiny') with top-level fields overridden."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return with_overrides(PRESETS[name](), overrides)
