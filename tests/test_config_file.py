"""`--config FILE` (JSON or YAML) for `acquire compare` and `acquire train`: the file's options and
training-config fields are used and recorded, the command line wins, a run's own record replays as
is, and bad files are one-line errors with exit code 2. Also the one spelling `temperature_K`."""
from __future__ import annotations

import json

import pytest
from conftest import acquire

RECIPE = """\
dataset: ethanol
budget: 60ccsd
ratio: 10
preset: tiny
validation: 10
test: 20
gammas: [1, uniform]
training:
  rho: 0.02
  standard: {epochs: 2}
"""


def test_compare_config_is_used_recorded_overridden_and_replayed(tmp_path) -> None:
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    done = acquire("compare", "--config", "recipe.yaml", "--test", "15", "--out", "a", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    settings = metrics["settings"]
    assert settings["training"] == {"rho": 0.02, "standard": {"epochs": 2}}
    assert settings["test"] == 15 and settings["validation"] == 10  # the command line wins over the file
    config = json.loads((tmp_path / "a" / "runs" / "60ccsd_r10" / "standard" / "seed0" / "config.json").read_text())
    assert config["rho"] == 0.02 and config["standard"]["epochs"] == 2 and config["pretrain"]["epochs"] == 3
    assert settings["gammas"] == [1.0] and settings["uniform_candidate"] is True

    again = acquire("compare", "--config", "a/metrics.json", "--out", "a", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "training" not in again.stderr
    replayed = json.loads((tmp_path / "a" / "metrics.json").read_text())["settings"]
    assert {**replayed, "command": ""} == {**settings, "command": ""}
    runs = json.loads((tmp_path / "a" / "metrics.json").read_text())["runs"]
    assert {r["status"] for r in runs} == {"resumed-finished"}, runs


@pytest.mark.parametrize("name, text, message", [
    ("unknown.json", '{"dataset": "ethanol", "nope": 1}', "unknown option(s) nope"),
    ("broken.yaml", "budgets: [", "not valid YAML"),
    ("list.yaml", "- 1\n- 2\n", "expected a mapping"),
    ("choice.json", '{"dataset": "ethanol", "preset": "huge"}', "preset must be one of quick, paper, tiny"),
    ("switch.json", '{"dataset": "ethanol", "ablations": "yes"}', "ablations is a switch"),
    ("training.json", '{"dataset": "ethanol", "training": {"standard": {"epochs": 0}}}', "epochs, batch_size, lr"),
    ("field.json", '{"dataset": "ethanol", "training": {"pretrain": {"epoch": 3}}}', "pretrain.epoch: Unexpected"),
    ("type.json", '{"dataset": "ethanol", "training": {"rho": "much"}}', "rho: Input should be a valid number"),
    ("reuse.json", '{"dataset": "ethanol", "reuse": ["nowhere", "b"]}', "--reuse nowhere: not a comparison's"),
])
def test_bad_config_files_are_one_line_errors(tmp_path, name, text, message) -> None:
    (tmp_path / name).write_text(text)
    done = acquire("compare", "--config", name, "--out", "o", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_missing_config_file(tmp_path) -> None:
    done = acquire("train", "--config", "nowhere.yaml", "--accurate", "md17:ethanol/ccsd(t)", "--out", "o", cwd=tmp_path)
    assert done.returncode == 2 and "--config: file not found: nowhere.yaml" in done.stderr


def test_train_replays_a_runs_recorded_config(tmp_path) -> None:
    common = ("--accurate", "md17:ethanol/ccsd(t)", "--method", "standard", "--train", "20", "--validation", "10",
              "--test", "10", "--quiet")
    (tmp_path / "recipe.json").write_text(json.dumps({"preset": "tiny", "seed": 4, "training": {"loss": "huber"}}))
    first = acquire("train", "--config", "recipe.json", *common, "--out", "a", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    recorded = json.loads((tmp_path / "a" / "run.json").read_text())["config"]
    assert recorded["loss"] == "huber" and recorded["seed"] == 4 and recorded["standard"]["epochs"] == 3
    second = acquire("train", "--config", "a/run.json", *common, "--out", "b", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads((tmp_path / "b" / "run.json").read_text())["config"] == recorded
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text())["test"] for d in ("a", "b"))
    assert a["force_mae"] == b["force_mae"]  # the same seed and config: the same model


def test_training_config_overrides_and_the_old_temperature_spelling() -> None:
    from train.config import TrainConfig, preset, with_overrides
    from train.errors import ConfigError

    paper = preset("paper")
    changed = with_overrides(paper, {"rho": 0.5, "model": {"max_ell": 2}, "pretrain": {"epochs": 7}})
    assert (changed.rho, changed.model.max_ell, changed.pretrain.epochs) == (0.5, 2, 7)
    assert changed.pretrain.lr == paper.pretrain.lr and changed.standard == paper.standard
    old = {**paper.to_dict(), "temperature": 300.0}
    del old["temperature_K"]
    assert TrainConfig.from_dict(old).temperature_K == 300.0
    with pytest.raises(ConfigError, match="model.name: Input should be"):
        with_overrides(paper, {"model": {"name": "schnet"}})
    with pytest.raises(ConfigError, match="wall time"):
        TrainConfig.from_dict({**paper.to_dict(), "standard": {**paper.to_dict()["standard"], "max_seconds": 60}})
