"""One training stage: Adam (or AMSGrad), warm-up + cosine/plateau schedule, gradient clipping,
EMA, early stopping, best-model selection on the validation loss, and a resumable state file saved
every `checkpoint_seconds`. A batch whose loss or gradient is not finite is skipped (counted in the
epoch's `skipped_steps`) instead of poisoning the weights, and an epoch that diverged (its mean
training loss `DIVERGED` times the stage's lowest, or no finite batch) is undone: the weights,
optimiser and EMA go back to the end of the epoch with the lowest training loss, and the epoch
runs again at half the learning rate (`rolled_back` rows in the history; at most `MAX_ROLLBACKS`).
Stages are bounded by epochs, never by wall time: the same seed gives the same model on an idle or
a busy machine (with the same number of threads). Everything a stage carries from epoch to epoch
is one `StageState`, saved and loaded whole (`state_dict`, `load_state_dict`).

`fit(model, train, val, stage, config, state_path, label)` trains `model` in place and leaves the
selected weights in it (the best validation epoch, or the last epoch without validation). A killed
stage restarts from its state file: same epoch, optimiser, EMA, best weights and shuffling order.
A `monitor(label, state)` called after every epoch sees the stage as it is (a benchmark scores it
against CPU time); the time it takes is not counted as the stage's.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from train.allocator import keep_freed_memory
from train.atomic_files import atomic_path, load_plain
from train.config import StageConfig, TrainConfig
from train.evaluate import evaluate
from train.graph import batches
from train.losses import weighted_loss
from train.stage_progress import stage_progress

# An epoch whose mean training loss is this many times the stage's lowest so far (when that is
# positive: a score-matching loss may be negative) has diverged: far above the ratios of healthy
# runs (a late, tiny loss with a noisy epoch stays below a few hundred) and far below a real
# divergence (ethylene xTB pretraining at lr 1e-2 reached 1e10).
DIVERGED = 1e4
MAX_ROLLBACKS = 8  # then the learning rate is 1/256 of the schedule's and the stage goes on as it is

# Called after each epoch with the stage's label and its StageState (`epoch`: the next to run, as
# its state file would hold it); must not change the state.
Monitor = Callable[[str, "StageState"], None]


@dataclass
class FitResult:
    """What a stage did: per-epoch history rows, best validation loss, epochs run, wall seconds
    and CPU seconds (all threads of this process)."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_loss: float = math.inf
    epochs: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def _lr(stage: StageConfig, epoch: float, factor: float) -> float:
    """The learning rate at fractional `epoch`: warm-up, then the schedule (`factor`: the plateau
    rule's multiplier)."""
    if stage.warmup_epochs and epoch < stage.warmup_epochs:
        return stage.lr * (0.1 + 0.9 * epoch / stage.warmup_epochs)
    if stage.schedule == "cosine":
        span = max(stage.epochs - stage.warmup_epochs, 1)
        progress = min((epoch - stage.warmup_epochs) / span, 1.0)
        return stage.min_lr + 0.5 * (stage.lr - stage.min_lr) * (1 + math.cos(math.pi * progress))
    return max(stage.lr * factor, stage.min_lr)


def _gradient_norm(model) -> torch.Tensor:
    """The 2-norm of every gradient of `model` (what `clip_grad_norm_` computes before it clips)."""
    return torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])


@dataclass
class StageState:
    """A stage between two epochs: the model, optimiser and EMA, the best validation weights, the
    next epoch, the early-stopping and plateau counters, the roll-back state (learning-rate scale,
    roll-backs so far, lowest training loss and the weights it had: `good`) and the result so far."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    ema: torch.nn.Module | None
    result: FitResult = field(default_factory=FitResult)
    best: dict | None = None
    epoch: int = 0
    bad_epochs: int = 0
    factor: float = 1.0
    plateau_best: float = math.inf
    plateau_bad: int = 0
    lr_scale: float = 1.0  # roll-backs halve it
    rollbacks: int = 0
    best_train: float = math.inf
    good: tuple | None = None  # (weights, optimiser, EMA) at the lowest training loss

    @classmethod
    def start(cls, model: torch.nn.Module, stage: StageConfig) -> StageState:
        optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr, weight_decay=stage.weight_decay,
                                     amsgrad=stage.amsgrad)
        return cls(model, optimizer, copy.deepcopy(model) if stage.ema > 0 else None)

    def snapshot(self) -> tuple:
        """Copies of the weights, optimiser state and EMA weights (where a diverged epoch goes back to)."""
        return (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()),
                copy.deepcopy(self.ema.state_dict()) if self.ema is not None else None)

    def restore(self, snapshot: tuple) -> None:
        weights, optimizer_state, ema_state = snapshot
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(optimizer_state)
        if self.ema is not None:
            self.ema.load_state_dict(ema_state)

    def state_dict(self) -> dict[str, Any]:
        r = self.result
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else {}, "best": self.best,
                "epoch": self.epoch, "bad_epochs": self.bad_epochs, "factor": self.factor,
                "plateau_best": self.plateau_best, "plateau_bad": self.plateau_bad, "history": r.history,
                "best_loss": r.best_loss, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds,
                "lr_scale": self.lr_scale, "rollbacks": self.rollbacks, "best_train": self.best_train,
                "good": list(self.good) if self.good is not None else None}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """From `state_dict`, also one saved before the roll-back fields existed."""
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(saved["ema"])
        self.best = saved["best"]
        self.epoch, self.bad_epochs, self.factor = saved["epoch"], saved["bad_epochs"], saved["factor"]
        self.plateau_best, self.plateau_bad = saved["plateau_best"], saved["plateau_bad"]
        self.lr_scale, self.rollbacks = saved.get("lr_scale", 1.0), saved.get("rollbacks", 0)
        self.best_train = saved.get("best_train", math.inf)
        self.good = tuple(saved["good"]) if saved.get("good") else None
        self.result = FitResult(saved["history"], saved["best_loss"], saved["epoch"], saved["seconds"],
                                saved.get("cpu_seconds", 0.0))


def _epoch(state: StageState, train: list, stage: StageConfig, config: TrainConfig, loss_fn: Callable) -> tuple[float, int]:
    """One pass over `train` in the epoch's seeded order: (mean training loss, skipped batches).
    A batch whose loss or gradient is not finite is skipped (one overflow would make every weight NaN)."""
    model, optimizer, ema = state.model, state.optimizer, state.ema
    model.train()
    steps_per_epoch = math.ceil(len(train) / stage.batch_size)
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + state.epoch)
    total, count, skipped = 0.0, 0, 0
    for step, batch in enumerate(batches(train, stage.batch_size, True, generator)):
        rate = _lr(stage, state.epoch + step / steps_per_epoch, state.factor) * state.lr_scale
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, batch)
        loss.backward()
        norm = _gradient_norm(model)
        if not (torch.isfinite(loss) and torch.isfinite(norm)):
            optimizer.zero_grad(set_to_none=True)
            skipped += 1
            continue
        if stage.clip_grad:  # clip_grad_norm_ with the norm computed once
            torch.nn.utils.clip_grads_with_norm_(model.parameters(), stage.clip_grad, norm)
        optimizer.step()
        if ema is not None:
            with torch.no_grad():
                for p_ema, p in zip(ema.parameters(), model.parameters()):
                    p_ema.lerp_(p, 1.0 - stage.ema)
        total += float(loss.detach()) * batch.num_graphs
        count += batch.num_graphs
    return (total / count if count else math.nan), skipped


def _rolled_back(state: StageState, mean: float, skipped: int) -> bool:
    """Undo a diverged epoch (its mean loss not finite, or `DIVERGED` times the lowest so far):
    back to the lowest loss's weights, optimiser and EMA, the epoch again at half the rate (at
    most `MAX_ROLLBACKS` times). Else note a new lowest loss. Whether it rolled back."""
    diverged = not math.isfinite(mean) or (state.best_train > 0 and mean > DIVERGED * state.best_train)
    if diverged and state.rollbacks < MAX_ROLLBACKS:
        state.result.history.append({"epoch": state.epoch + 1, "lr": state.optimizer.param_groups[0]["lr"],
                                     "train_loss": mean, "skipped_steps": skipped, "rolled_back": 1})
        state.restore(state.good)
        state.lr_scale, state.rollbacks = state.lr_scale * 0.5, state.rollbacks + 1
        return True
    if mean < state.best_train:
        state.best_train, state.good = mean, state.snapshot()
    return False


def _validate(state: StageState, val: list, stage: StageConfig, config: TrainConfig,
              val_loss_fn: Callable | None) -> dict[str, float]:
    """Score the judged model (the EMA when there is one) on `val`; keep its weights when best;
    count epochs without a better loss (early stopping, the plateau rule's decay)."""
    judged = state.ema if state.ema is not None else state.model
    metrics = ({"loss": val_loss_fn(judged, val)} if val_loss_fn is not None
               else evaluate(judged, val, config.rho, config.loss, config.eval_batch_size, config.energy_per_atom))
    if metrics["loss"] < state.result.best_loss:
        state.result.best_loss, state.bad_epochs = metrics["loss"], 0
        state.best = copy.deepcopy(judged.state_dict())
    else:
        state.bad_epochs += 1
    if metrics["loss"] < state.plateau_best * (1 - 1e-4):
        state.plateau_best, state.plateau_bad = metrics["loss"], 0
    else:
        state.plateau_bad += 1
        if stage.schedule == "plateau" and state.plateau_bad > stage.plateau_patience:
            state.factor, state.plateau_bad = state.factor * stage.plateau_factor, 0
    return {f"val_{k}": v for k, v in metrics.items()}


def _save(state: StageState, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state.state_dict(), tmp)


def fit(model, train: list, val: list | None, stage: StageConfig, config: TrainConfig,
        state_path: Path | None = None, label: str = "train",
        loss_fn: Callable | None = None, val_loss_fn: Callable | None = None,
        monitor: Monitor | None = None) -> FitResult:
    """Train `model` on graph list `train` (weights in `data.weight`); see the module docstring.

    `loss_fn(model, batch) -> scalar` replaces the default weighted `rho * L_E + L_F` loss;
    `val_loss_fn(model, val) -> float` replaces the validation metrics (for unlabeled `val`);
    `monitor(label, state)` sees each finished epoch, outside the stage's seconds.
    """
    keep_freed_memory()  # PaiNN steps about 1.3x faster on CPU, the same numbers
    if loss_fn is None:
        loss_fn = lambda m, b: weighted_loss(m, b, config.rho, config.loss, config.energy_per_atom)  # noqa: E731
    state = StageState.start(model, stage)
    if state_path is not None and state_path.exists():
        state.load_state_dict(load_plain(state_path, "stage checkpoint", ("model", "optimizer", "best", "epoch", "history")))
    if state.good is None:
        state.good = state.snapshot()
    result = state.result
    last_save = time.monotonic()
    began = time.monotonic() - result.seconds
    cpu_began = time.process_time() - result.cpu_seconds
    with stage_progress(label, stage.epochs, state.epoch, config.progress) as advance:
        while state.epoch < stage.epochs:
            mean, skipped = _epoch(state, train, stage, config, loss_fn)
            if _rolled_back(state, mean, skipped):
                continue
            if state.ema is not None:
                state.ema.ref.copy_(model.ref)
                state.ema.scale.copy_(model.scale)
            row = {"epoch": state.epoch + 1, "lr": state.optimizer.param_groups[0]["lr"], "train_loss": mean}
            if skipped:
                row["skipped_steps"] = skipped  # batches whose loss or gradient was not finite, in this epoch
            if val:
                row.update(_validate(state, val, stage, config, val_loss_fn))
            result.seconds = time.monotonic() - began
            result.cpu_seconds = time.process_time() - cpu_began
            row["seconds"] = result.seconds
            result.history.append(row)
            result.epochs = state.epoch + 1
            advance(state.epoch + 1, row)
            stopped = bool(stage.patience) and state.bad_epochs >= stage.patience
            state.epoch = stage.epochs if stopped else state.epoch + 1
            if monitor is not None:  # its time is not the stage's
                wall, cpu = time.monotonic(), time.process_time()
                monitor(label, state)
                began += time.monotonic() - wall
                cpu_began += time.process_time() - cpu
            if state_path is not None and (time.monotonic() - last_save >= config.checkpoint_seconds
                                           or state.epoch == stage.epochs):
                _save(state, state_path)
                last_save = time.monotonic()
    if state.best is not None:
        model.load_state_dict(state.best)
    elif state.ema is not None:
        model.load_state_dict(state.ema.state_dict())
    return result
