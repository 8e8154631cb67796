"""One training stage: Adam (or AMSGrad), warm-up + cosine/plateau schedule, gradient clipping,
EMA, early stopping, best-model selection on the validation loss, and a resumable state file saved
every `checkpoint_seconds`. A batch whose loss or gradient is not finite is skipped (counted in the
epoch's `skipped_steps`) instead of poisoning the weights, and an epoch that diverged (its mean
training loss `DIVERGED` times the stage's lowest, or no finite batch) is undone: the weights,
optimiser and EMA go back to the end of the epoch with the lowest training loss, and the epoch
runs again at half the learning rate (`rolled_back` rows in the history; at most `MAX_ROLLBACKS`).
Stages are bounded by epochs, never by wall time: the same seed gives the same model on an idle or
a busy machine (with the same number of threads). `anchor` pulls the weights back towards the
stage's starting ones after every step (L2-SP for a fine-tuning on few labels).

`fit(model, train, val, stage, config, state_path, label)` trains `model` in place and leaves the
selected weights in it (the best validation epoch, or the last epoch without validation). A killed
stage restarts from its state file: same epoch, optimiser, EMA, best weights and shuffling order.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from train.allocator import keep_freed_memory
from train.config import StageConfig, TrainConfig
from train.evaluate import evaluate
from train.files import atomic_path, load_plain
from train.graph import batches
from train.losses import weighted_loss
from train.progress import stage_progress

# An epoch whose mean training loss is this many times the stage's lowest so far (when that is
# positive: a score-matching loss may be negative) has diverged: far above the ratios of healthy
# runs (a late, tiny loss with a noisy epoch stays below a few hundred) and far below a real
# divergence (ethylene xTB pretraining at lr 1e-2 reached 1e10).
DIVERGED = 1e4
MAX_ROLLBACKS = 8  # then the learning rate is 1/256 of the schedule's and the stage goes on as it is


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
    rule's multiplier), then, in the last `cooldown` fraction of the epochs, a linear fall to min_lr
    (warm-up, stable, decay; in no preset: it was worse on ethanol, docs/results.md)."""
    if stage.warmup_epochs and epoch < stage.warmup_epochs:
        return stage.lr * (0.1 + 0.9 * epoch / stage.warmup_epochs)
    if stage.schedule == "cosine":
        span = max(stage.epochs - stage.warmup_epochs, 1)
        progress = min((epoch - stage.warmup_epochs) / span, 1.0)
        rate = stage.min_lr + 0.5 * (stage.lr - stage.min_lr) * (1 + math.cos(math.pi * progress))
    else:
        rate = max(stage.lr * factor, stage.min_lr)
    start = stage.epochs * (1.0 - stage.cooldown)
    if stage.cooldown and epoch > start:
        rate = stage.min_lr + (rate - stage.min_lr) * max(1.0 - (epoch - start) / (stage.epochs - start), 0.0)
    return rate


def _save(state: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _gradient_norm(model) -> torch.Tensor:
    """The 2-norm of every gradient of `model` (what `clip_grad_norm_` computes before it clips)."""
    return torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])


def _snapshot(model, optimizer, ema) -> tuple:
    """Copies of the weights, optimiser state and EMA weights (where a diverged epoch goes back to)."""
    return (copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict()),
            copy.deepcopy(ema.state_dict()) if ema is not None else None)


def _restore(snapshot: tuple, model, optimizer, ema) -> None:
    weights, optimizer_state, ema_state = snapshot
    model.load_state_dict(weights)
    optimizer.load_state_dict(optimizer_state)
    if ema is not None:
        ema.load_state_dict(ema_state)


def fit(model, train: list, val: list | None, stage: StageConfig, config: TrainConfig,  # noqa: C901 (to be split)
        state_path: Path | None = None, label: str = "train",
        loss_fn: Callable | None = None, val_loss_fn: Callable | None = None) -> FitResult:
    """Train `model` on graph list `train` (weights in `data.weight`); see the module docstring.

    `loss_fn(model, batch) -> scalar` replaces the default weighted `rho * L_E + L_F` loss;
    `val_loss_fn(model, val) -> float` replaces the validation metrics (for unlabelled `val`).
    """
    keep_freed_memory()  # PaiNN steps about 1.3x faster on CPU, the same numbers
    if loss_fn is None:
        loss_fn = lambda m, b: weighted_loss(m, b, config.rho, config.loss, config.energy_per_atom)  # noqa: E731
    optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr, weight_decay=stage.weight_decay,
                                 amsgrad=stage.amsgrad)
    ema = copy.deepcopy(model) if stage.ema > 0 else None
    anchor = [p.detach().clone() for p in model.parameters()] if stage.anchor > 0 else None
    result = FitResult()
    best_state = None
    start_epoch, bad_epochs, factor, plateau_best, plateau_bad = 0, 0, 1.0, math.inf, 0
    scale, rollbacks, best_train = 1.0, 0, math.inf  # rollbacks halve `scale`, the learning rate's multiplier
    saved: dict = {}
    if state_path is not None and state_path.exists():
        saved = load_plain(state_path, "stage checkpoint", ("model", "optimizer", "best", "epoch", "history"))
        model.load_state_dict(saved["model"])
        if anchor is not None:
            anchor = saved["anchor"]
        optimizer.load_state_dict(saved["optimizer"])
        if ema is not None:
            ema.load_state_dict(saved["ema"])
        best_state = saved["best"]
        start_epoch, bad_epochs, factor = saved["epoch"], saved["bad_epochs"], saved["factor"]
        plateau_best, plateau_bad = saved["plateau_best"], saved["plateau_bad"]
        scale, rollbacks = saved.get("lr_scale", 1.0), saved.get("rollbacks", 0)
        best_train = saved.get("best_train", math.inf)
        result = FitResult(saved["history"], saved["best_loss"], saved["epoch"], saved["seconds"],
                           saved.get("cpu_seconds", 0.0))
    good = tuple(saved["good"]) if saved.get("good") else _snapshot(model, optimizer, ema)  # the lowest loss's state
    steps_per_epoch = math.ceil(len(train) / stage.batch_size)
    last_save = time.monotonic()
    began = time.monotonic() - result.seconds
    cpu_began = time.process_time() - result.cpu_seconds
    stopped = False
    with stage_progress(label, stage.epochs, start_epoch, config.progress) as advance:
        epoch = start_epoch
        while epoch < stage.epochs:
            model.train()
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
            total, count, skipped = 0.0, 0, 0
            for step, batch in enumerate(batches(train, stage.batch_size, True, generator)):
                position = epoch + step / steps_per_epoch
                for group in optimizer.param_groups:
                    group["lr"] = _lr(stage, position, factor) * scale
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model, batch)
                loss.backward()
                norm = _gradient_norm(model)
                if not (torch.isfinite(loss) and torch.isfinite(norm)):  # one overflow would make every weight NaN
                    optimizer.zero_grad(set_to_none=True)
                    skipped += 1
                    continue
                if stage.clip_grad:  # clip_grad_norm_ with the norm computed once
                    torch.nn.utils.clip_grads_with_norm_(model.parameters(), stage.clip_grad, norm)
                optimizer.step()
                if anchor is not None:  # decoupled L2-SP: a fraction lr * anchor of the way back
                    with torch.no_grad():
                        for p, p0 in zip(model.parameters(), anchor):
                            p.lerp_(p0, min(optimizer.param_groups[0]["lr"] * stage.anchor, 1.0))
                if ema is not None:
                    with torch.no_grad():
                        for p_ema, p in zip(ema.parameters(), model.parameters()):
                            p_ema.lerp_(p, 1.0 - stage.ema)
                total += float(loss.detach()) * batch.num_graphs
                count += batch.num_graphs
            mean = total / count if count else math.nan
            diverged = not math.isfinite(mean) or (best_train > 0 and mean > DIVERGED * best_train)
            if diverged and rollbacks < MAX_ROLLBACKS:
                result.history.append({"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                                       "train_loss": mean, "skipped_steps": skipped, "rolled_back": 1})
                _restore(good, model, optimizer, ema)  # back to the lowest loss; this epoch again at half the rate
                scale, rollbacks = scale * 0.5, rollbacks + 1
                continue
            if mean < best_train:
                best_train, good = mean, _snapshot(model, optimizer, ema)
            judged = ema if ema is not None else model
            if ema is not None:
                ema.ref.copy_(model.ref)
                ema.scale.copy_(model.scale)
            row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": mean}
            if skipped:
                row["skipped_steps"] = skipped  # batches whose loss or gradient was not finite, in this epoch
            if val:
                metrics = ({"loss": val_loss_fn(judged, val)} if val_loss_fn is not None
                           else evaluate(judged, val, config.rho, config.loss, config.eval_batch_size, config.energy_per_atom))
                row.update({f"val_{k}": v for k, v in metrics.items()})
                if metrics["loss"] < result.best_loss:
                    result.best_loss, bad_epochs = metrics["loss"], 0
                    best_state = copy.deepcopy(judged.state_dict())
                else:
                    bad_epochs += 1
                if metrics["loss"] < plateau_best * (1 - 1e-4):
                    plateau_best, plateau_bad = metrics["loss"], 0
                else:
                    plateau_bad += 1
                    if stage.schedule == "plateau" and plateau_bad > stage.plateau_patience:
                        factor, plateau_bad = factor * stage.plateau_factor, 0
            result.seconds = time.monotonic() - began
            result.cpu_seconds = time.process_time() - cpu_began
            row["seconds"] = result.seconds
            result.history.append(row)
            result.epochs = epoch + 1
            advance(epoch + 1, row)
            if stage.patience and bad_epochs >= stage.patience:
                stopped = True
            if state_path is not None and (time.monotonic() - last_save >= config.checkpoint_seconds
                                           or stopped or epoch + 1 == stage.epochs):
                _save({
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "ema": ema.state_dict() if ema is not None else {}, "best": best_state,
                    "epoch": epoch + 1 if not stopped else stage.epochs, "bad_epochs": bad_epochs,
                    "factor": factor, "plateau_best": plateau_best, "plateau_bad": plateau_bad,
                    "history": result.history, "best_loss": result.best_loss, "seconds": result.seconds,
                    "cpu_seconds": result.cpu_seconds, "lr_scale": scale, "rollbacks": rollbacks,
                    "best_train": best_train, "good": list(good), "anchor": anchor,
                }, state_path)
                last_save = time.monotonic()
            if stopped:
                break
            epoch += 1
    if best_state is not None:
        model.load_state_dict(best_state)
    elif ema is not None:
        model.load_state_dict(ema.state_dict())
    return result
