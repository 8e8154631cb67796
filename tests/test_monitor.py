"""The epoch monitor of `train.loop.fit` (what the time-to-accuracy benchmark scores through): it does
not change what a stage learns, its time is not the stage's, and a constant-rate stage's state saved
at epoch E by a monitor resumes into exactly an E-epoch stage (the benchmark's pretraining branches)."""
from __future__ import annotations

import time
from pathlib import Path

import torch

from labelers.datasets import load_md17
from train import Frames, ModelConfig, preset
from train.config import StageConfig
from train.graph import to_data_list
from train.loop import fit
from train.models import build_model

torch.set_num_threads(1)
CONSTANT = StageConfig(epochs=4, batch_size=4, lr=1e-3, warmup_epochs=0, schedule="constant", ema=0.9)


def _graphs(n: int = 8) -> list:
    data = load_md17("ethanol", "ccsd(t)")
    graphs = to_data_list(Frames(data.positions[:n], data.numbers, data.energies[:n], data.forces[:n]), 5.0)
    for g in graphs:
        g.weight = torch.ones(1)
    return graphs


def _model():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="painn", hidden=8, layers=1, rbf=4))
    model.set_scale(1.0)
    return model


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_monitor_sees_every_epoch_and_changes_nothing_it_trains() -> None:
    config = preset("tiny", seed=0)
    seen: list[tuple[str, int]] = []

    def slow_monitor(label: str, state) -> None:
        seen.append((label, state.epoch))
        time.sleep(0.02)
        cpu = time.process_time()
        while time.process_time() - cpu < 0.3:  # CPU the stage must not be charged for
            pass

    plain, watched = _model(), _model()
    fit(plain, _graphs(), None, CONSTANT, config)
    result = fit(watched, _graphs(), None, CONSTANT, config, monitor=slow_monitor)
    assert seen == [("train", e) for e in range(1, CONSTANT.epochs + 1)]  # epoch: the next to run
    assert _same(plain, watched)
    assert result.cpu_seconds < 0.3 * CONSTANT.epochs  # four monitor calls took 1.2 CPU-s


def test_state_saved_at_epoch_e_resumes_into_an_e_epoch_stage(tmp_path: Path) -> None:
    config = preset("tiny", seed=0)
    branch = tmp_path / "branch.state.pt"

    def save_at_two(label: str, state) -> None:
        if state.epoch == 2:
            torch.save(state.state_dict(), branch)

    fit(_model(), _graphs(), None, CONSTANT, config, monitor=save_at_two)
    short = StageConfig(**{**CONSTANT.__dict__, "epochs": 2})
    fresh, resumed = _model(), _model()
    fit(fresh, _graphs(), None, short, config)
    result = fit(resumed, _graphs(), None, short, config, state_path=branch)
    assert result.epochs == 2 and result.cpu_seconds > 0  # nothing trained again, the CPU it had kept
    assert _same(fresh, resumed)
