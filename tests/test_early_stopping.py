"""A stage bounded by its validation loss (the quick preset's fine-tuning): plateau decay lowers the
learning rate after flat epochs, early stopping ends the stage, and a finished early-stopped stage
does not train again when resumed."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from labelers.datasets import load_md17
from train import Frames, ModelConfig, preset
from train.config import StageConfig, TrainConfig
from train.errors import ConfigError
from train.graph import to_data_list
from train.loop import fit
from train.models import build_model

torch.set_num_threads(1)


def _graphs(start: int, n: int) -> list:
    data = load_md17("ethanol", "ccsd(t)")
    frames = Frames(data.positions[start:start + n], data.numbers, data.energies[start:start + n],
                    data.forces[start:start + n])
    graphs = to_data_list(frames, 5.0, torch.float32)
    for g in graphs:
        g.weight = torch.ones(1)
    return graphs


def _model():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="painn", hidden=8, layers=1, rbf=4))
    model.set_scale(1.0)
    return model


# A learning rate too small to change the validation loss: every epoch after the first is flat.
FLAT = StageConfig(epochs=30, batch_size=4, lr=1e-12, min_lr=1e-15, warmup_epochs=0, schedule="plateau",
                   plateau_patience=1, plateau_factor=0.5, patience=4)


def test_stage_stops_after_patience_flat_epochs_and_plateau_halves_the_rate(tmp_path: Path) -> None:
    config = preset("tiny", seed=0)
    result = fit(_model(), _graphs(0, 8), _graphs(8, 4), FLAT, config, tmp_path / "state.pt", "flat")
    assert result.epochs == 1 + FLAT.patience < FLAT.epochs  # the best epoch, then `patience` flat ones
    rates = [row["lr"] for row in result.history]
    assert rates[-1] < rates[0] and all(b <= a for a, b in zip(rates, rates[1:]))


def test_early_stopped_stage_is_finished_when_resumed(tmp_path: Path) -> None:
    config = preset("tiny", seed=0)
    state = tmp_path / "state.pt"
    first = fit(_model(), _graphs(0, 8), _graphs(8, 4), FLAT, config, state, "flat")
    again = fit(_model(), _graphs(0, 8), _graphs(8, 4), FLAT, config, state, "flat")
    assert len(again.history) == len(first.history) == first.epochs


def test_stage_that_keeps_improving_is_not_stopped(tmp_path: Path) -> None:
    config = preset("tiny", seed=0)
    learning = replace(FLAT, epochs=6, lr=1e-3, min_lr=1e-5, plateau_patience=10, patience=5)
    result = fit(_model(), _graphs(0, 8), _graphs(8, 4), learning, config, None, "learning")
    assert result.epochs == learning.epochs
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]


def test_diverging_epoch_is_undone_and_rerun_at_half_the_rate() -> None:
    """A warm-up to a learning rate too high for the tiny model: the epoch whose mean loss blows up
    goes back to the weights of the lowest-loss epoch and runs again at half the rate, and the
    stage ends finite, near its healthy loss instead of a million times above it."""
    from train.api import _align

    data = load_md17("ethanol", "ccsd(t)")
    frames = Frames(data.positions[:8], data.numbers, data.energies[:8], data.forces[:8])
    model, graphs = _model(), _graphs(0, 8)
    _align(model, frames, graphs, fresh=True)
    wild = StageConfig(epochs=6, batch_size=2, lr=0.3, min_lr=1e-6, warmup_epochs=4, schedule="constant")
    result = fit(model, graphs, None, wild, preset("tiny", seed=0), None, "wild")
    rolled = [row for row in result.history if row.get("rolled_back")]
    kept = [row for row in result.history if not row.get("rolled_back")]
    assert rolled and len(kept) == wild.epochs
    assert kept[-1]["lr"] <= wild.lr / 2  # the rate after a rollback is halved
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert kept[-1]["train_loss"] < 10 * kept[0]["train_loss"] < rolled[0]["train_loss"] / 1e4


def test_configs_holding_the_removed_options_at_off_still_load_and_others_are_refused() -> None:
    """`cooldown`, `anchor` (stage fields) and `replay` were measured as worse and removed: a
    config.json or run.json written with them off loads as today's config; switched on, it cannot
    be reproduced and is refused with one line."""
    stored = preset("tiny").to_dict()
    old = {**stored, "replay": 0.0, "shift_hidden": 8,
           **{s: {**stored[s], "cooldown": 0.0, "anchor": 0.0} for s in ("standard", "pretrain")}}
    assert TrainConfig.from_dict(old) == preset("tiny") and preset("tiny").matches(old)
    for changed, what in (({"replay": 1.0}, "replay"), ({"pretrain": {**stored["pretrain"], "anchor": 5.0}}, "pretrain.anchor"),
                          ({"standard": {**stored["standard"], "cooldown": 0.5}}, "standard.cooldown")):
        with pytest.raises(ConfigError, match=f"{what} = .*removed"):
            TrainConfig.from_dict({**stored, **changed})
        assert not preset("tiny").matches({**stored, **changed})


def test_a_stage_state_round_trips_and_a_resumed_stage_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    from train.loop import StageState

    config = preset("tiny", seed=0)
    stage = StageConfig(epochs=4, batch_size=2, lr=1e-2, min_lr=1e-5, warmup_epochs=0, schedule="constant", ema=0.9)
    whole = _model()
    fit(whole, _graphs(0, 8), _graphs(8, 12), stage, config, None, "whole")
    resumed, path = _model(), tmp_path / "state.pt"
    fit(resumed, _graphs(0, 8), _graphs(8, 12), replace(stage, epochs=2), config, path, "part")
    saved = torch.load(path, weights_only=True)
    state = StageState.start(_model(), stage)
    state.load_state_dict(saved)
    assert state.epoch == 2 and len(state.result.history) == 2 and state.best is not None
    assert state.state_dict().keys() == saved.keys()
    resumed = _model()
    fit(resumed, _graphs(0, 8), _graphs(8, 12), stage, config, path, "part")
    assert all(torch.equal(a, b) for a, b in zip(resumed.parameters(), whole.parameters()))
