"""Reproducibility: stages are bounded by epochs, never by wall time, so the same command and seed
give the same model on an idle and on a busy machine."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from train.config import PRESETS, StageConfig, TrainConfig, preset

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
STAGES = ("standard", "bias", "pretrain", "finetune_stage")


def test_no_stage_field_bounds_training_by_time() -> None:
    names = {f.name for f in dataclasses.fields(StageConfig)}
    assert not {n for n in names if "second" in n or "time" in n}, names
    for name in PRESETS:
        config = preset(name)
        for stage in STAGES:
            assert getattr(config, stage).epochs >= 1


def test_a_stored_time_capped_config_is_not_resumed() -> None:
    stored = preset("tiny").to_dict()
    stored["standard"]["max_seconds"] = 240.0
    assert not preset("tiny").matches(stored)
    stored["standard"]["max_seconds"] = 0.0  # an uncapped stage written before the field was removed
    assert preset("tiny").matches(stored)
    assert TrainConfig.from_dict(stored) == preset("tiny")


def _compare(out: Path, jobs: int) -> dict:
    args = ["compare", "--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "2", "--preset", "tiny",
            "--validation", "5", "--test", "20", "--ablations", "--quiet", "--jobs", str(jobs), "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "acquire", *args], cwd=out.parent, env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "metrics.json").read_text())
    return {(r["method"], r["seed"]): (r["test"]["force_mae"], r["test"]["energy_mae"])
            for r in doc["runs"] if r["status"] != "skipped"}


@pytest.mark.slow
def test_the_same_comparison_on_an_idle_and_a_busy_machine_gives_the_same_models(tmp_path: Path) -> None:
    """One run at a time on an idle machine, then two at a time (worker processes; the no-finetune
    ablation waits for ASTEROID's stages) beside two busy loops: identical test metrics."""
    idle = _compare(tmp_path / "idle", jobs=1)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        busy = _compare(tmp_path / "busy", jobs=2)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert set(idle) == {("standard", 0), ("asteroid", 0), ("no-bias-weights", 0), ("no-finetune", 0)}
    assert busy == idle
