"""A budget that counts everything: sampling, labeling and training priced; CPU-time budgets cover
all three; the inaccurate count capped (count and training budget) with the rest going to accurate
labels; `acquire plan` and `acquire run --dry-run` show the parts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from budget import BudgetError
from budget.full_plan import Overheads, TrainingStage, full_plan

ROOT = Path(__file__).resolve().parents[1]


def _overheads(**changes) -> Overheads:
    stages = (TrainingStage(name="standard", frames="accurate", epochs=10),
              TrainingStage(name="pretrain", frames="inaccurate", epochs=2, repeats=2))
    return Overheads(**{"sampling_fixed_s": 5.0, "sampling_s_per_config": 0.5, "training_s_per_config_epoch": 0.01,
                        "training_stages": stages, **changes})


def test_training_cost_is_epochs_times_frames_per_stage_and_repeat() -> None:
    extra = _overheads()
    assert extra.training_s(10, 100) == pytest.approx(10 * 10 * 0.01 + 2 * 2 * 100 * 0.01)
    assert extra.training_s(5000, 0) == pytest.approx(10 * 5000 * 0.01)  # no wall-time cap: grows with frames
    assert extra.sampling_s(0) == 0 and extra.sampling_s(10) == pytest.approx(10.0)


def test_a_minimum_of_steps_prices_a_small_set_at_the_minimum() -> None:
    stage = TrainingStage(name="pretrain", frames="inaccurate", epochs=60, min_configs=120_000)
    assert stage.configs(500) == 120_000 and stage.configs(4000) == 240_000 and stage.configs(0) == 0


def test_energy_batches_drawn_beside_each_step_are_counted() -> None:
    """`train.energy_only.finetune_loss` computes a batch of energy-only labels beside each accurate
    batch: twice the configurations of such a stage; without force labels they are its training set."""
    stage = TrainingStage(name="finetune", frames="accurate", epochs=10, energy_batches=True)
    assert stage.configs_of(100, 0, 500) == 2 * 10 * 100 and stage.configs_of(100, 0) == 10 * 100
    assert stage.configs_of(0, 0, 500) == 10 * 500
    bias = TrainingStage(name="bias", frames="accurate", epochs=10)  # fits the force labels alone
    assert bias.configs_of(100, 0, 500) == 10 * 100


def test_plan_training_estimate_and_training_cap_count_the_energy_batches() -> None:
    from budget import energy_labels

    stages = (TrainingStage(name="standard", frames="accurate", epochs=10, energy_batches=True),
              TrainingStage(name="pretrain", frames="inaccurate", epochs=2, repeats=2))
    extra = _overheads(training_stages=stages)
    energy = energy_labels("50ccsd", 38)
    full = full_plan("250ccsd", 40, "paper", 60.0, None, extra, validation=0, energy=energy)
    n_acc, n_inacc, n_energy = full.labels.accurate.count, full.labels.inaccurate.count, full.labels.energy_only.count
    assert (n_acc, n_inacc, n_energy) == (150, 2000, 1900)
    assert full.training.cpu_s == pytest.approx((2 * 10 * 150 + 2 * 2 * 2000) * 0.01)
    capped = full_plan("250ccsd", 40, "paper", 60.0, None, extra, validation=0, energy=energy, max_training_s=70.0)
    assert capped.cap["why"] == "the training budget" and capped.training.cpu_s <= 70.0


def test_cpu_budget_covers_sampling_labeling_and_training() -> None:
    full = full_plan("2cpu-h", None, "paper", 60.0, 0.6, _overheads(), validation=0,
                     max_inaccurate=None)
    total = full.sampling.cpu_s + full.labeling.cpu_s + full.training.cpu_s
    assert full.within_budget and total == pytest.approx(full.total.cpu_s) and total <= 7200.0
    assert total > 0.95 * 7200.0  # nearly all of it spent
    assert full.sampling.cpu_s > 0 and full.training.cpu_s > 0 and full.cap is None


def test_cap_binds_and_moves_the_rest_to_accurate_labels() -> None:
    free = full_plan("250ccsd", 1000.0, "paper", 60.0, None, _overheads(), max_inaccurate=None)
    capped = full_plan("250ccsd", 1000.0, "paper", 60.0, None, _overheads(), max_inaccurate=4000)
    assert free.labels.inaccurate.count == 50_000 and capped.labels.inaccurate.count == 4000
    assert capped.labels.accurate.count == free.labels.accurate.count + 46
    assert capped.cap == {"cap": 4000, "why": "the cap on inaccurate labels", "requested": 50_000, "extra_accurate": 46}
    assert any("binds" in note for note in capped.notes)
    training = full_plan("250ccsd", 1000.0, "paper", 60.0, None, _overheads(), max_inaccurate=None,
                         max_training_s=1000.0)
    assert training.cap["why"] == "the training budget" and training.training.cpu_s <= 1000.0
    with pytest.raises(BudgetError, match="cannot pay"):
        full_plan("60s", 2.0, "paper", 60.0, None, _overheads())


def _acquire(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "ASTEROID_CALIBRATION": str(cwd / "calibration.json")}
    return subprocess.run([sys.executable, "-m", "acquire", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)


def test_run_dry_run_plans_a_bounded_number_of_xtb_labels(tmp_path) -> None:
    result = _acquire("run", "--molecule", "CO", "--budget", "60ccsd", "--ratio", "auto", "--accurate",
                      "pyscf:ccsd(t)/6-31g", "--inaccurate", "xtb:gfn2", "--inaccurate-share", "25%",
                      "--preset", "tiny", "--dry-run", "--out", "run-co", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    targets = {t["spec"]: t["target"] for t in document["targets"]}
    assert 0 < targets["xtb:gfn2"] <= 4000
    costs = document["plan"]["costs"]
    assert costs["sampling"]["cpu_s"] > 0 and costs["training"]["cpu_s"] > 0
    assert costs["cap"]["why"] == "the cap on inaccurate labels" and costs["cap"]["requested"] > 4000
    assert "sampling" in result.stderr and "training" in result.stderr and "binds" in result.stderr
    assert not (tmp_path / "run-co").exists()  # a dry run writes nothing


def test_plan_cpu_budget_counts_sum_within_the_budget(tmp_path) -> None:
    result = _acquire("plan", "--budget", "2cpu-h", "--ratio", "auto", "--accurate", "pyscf:ccsd(t)/cc-pvdz",
                      "--inaccurate", "xtb:gfn2", "--molecule", "CCO", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    costs = document["costs"]
    assert costs["within_budget"] and costs["budget_covers"] == "sampling + labeling + training"
    assert costs["sampling"]["cpu_s"] + costs["labeling"]["cpu_s"] + costs["training"]["cpu_s"] <= 7200.0
    labeling = (document["accurate"]["count"] * document["accurate"]["label_cost_s"]
                + document["inaccurate"]["count"] * document["inaccurate"]["label_cost_s"])
    assert labeling == pytest.approx(costs["labeling"]["cpu_s"], rel=1e-6)
    assert document["accurate"]["count"] >= 1 and 0 < document["inaccurate"]["count"] <= 4000


def test_preset_training_cost_is_epochs_times_frames_with_mace_l3_slower() -> None:
    from ase.build import molecule

    from acquire.plan_costs import MACE_L3_SLOWDOWN, TRAINING_CONFIGS_PER_S, overheads, training_s_per_config
    from train.config import preset, with_model

    ethanol = molecule("CH3CH2OH")
    quick, paper = preset("quick"), preset("paper")
    extra = overheads(ethanol, "quick", "md", None, None)
    epochs = {s.name: s.epochs for s in extra.training_stages}
    assert epochs == {"standard": quick.standard.epochs, "bias": quick.bias.epochs,
                      "pretrain": quick.pretrain.epochs, "finetune": quick.finetune_stage.epochs}
    per_config = 1.0 / TRAINING_CONFIGS_PER_S["painn"]
    pretrain = max(quick.pretrain.epochs * 1000, quick.pretrain.min_steps * quick.pretrain.batch_size)  # its step floor
    assert extra.training_s(100, 1000) == pytest.approx(per_config * (
        (quick.standard.epochs + quick.bias.epochs + quick.finetune_stage.epochs) * 100 + pretrain))
    assert not paper.bias_weights  # its ASTEROID trains no bias model and pretrains once
    assert [s.name for s in overheads(ethanol, "paper", "md", None, None).training_stages] == ["standard", "pretrain", "finetune"]
    drawn = sum(s.repeats * s.configs(100) for s in extra.training_stages if s.name in ("standard", "finetune"))
    assert extra.training_s(100, 1000, 500) == pytest.approx(extra.training_s(100, 1000) + per_config * drawn)
    l2 = training_s_per_config(with_model(paper, max_ell=2).model, 9)
    assert paper.model.max_ell == 3 and MACE_L3_SLOWDOWN > 1
    assert training_s_per_config(paper.model, 9) == pytest.approx(MACE_L3_SLOWDOWN * l2)
