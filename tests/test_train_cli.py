"""`acquire train` end to end on a tiny slice of the embedded ethanol data, and lazy imports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from conftest import ROOT

from acquire.cli.main import main


def test_acquire_train_asteroid_end_to_end(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["train", "--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", "md17:ethanol/dft",
            "--train", "16", "--validation", "8", "--test", "16", "--inaccurate-count", "32",
            "--preset", "tiny", "--gammas", "0.5,2", "--out", str(out), "--json", "--quiet"]
    assert main(argv) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["method"] == "asteroid"
    assert metrics["gamma"] in (0.5, 2.0)
    assert [row["gamma"] for row in metrics["gamma_search"]] == [0.5, 2.0]
    assert metrics["counts"] == {"accurate": 16, "inaccurate": 32, "validation": 8, "test": 16}
    assert metrics["test"]["force_mae"] > 0 and metrics["units"]["force_mae"] == "kcal/mol/Å"
    for name in ("model.pt", "metrics.json", "log.csv", "bias.png", "split.json"):
        assert (out / name).exists(), name
    torch.load(out / "model.pt", weights_only=True)
    split = json.loads((out / "split.json").read_text())
    assert not set(split["train"]) & set(split["test"])
    assert main(argv) == 0  # a rerun resumes: every stage is already done
    assert json.loads(capsys.readouterr().out)["test"] == metrics["test"]


def test_acquire_train_standard_table(tmp_path: Path, capsys) -> None:
    argv = ["train", "--accurate", "md17:ethanol/ccsd(t)", "--method", "standard", "--train", "12",
            "--validation", "6", "--test", "10", "--preset", "tiny", "--model", "egnn", "--hidden", "8",
            "--layers", "2", "--out", str(tmp_path / "std"), "--quiet"]
    assert main(argv) == 0
    assert "force MAE (kcal/mol/Å)" in capsys.readouterr().out


def test_model_option_starts_from_that_architecture_default_size() -> None:
    import argparse

    import train
    from acquire.cli.train_cmd import add_arguments, build_config

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = lambda *extra: build_config(parser.parse_args(["--accurate", "x", "--out", "o", *extra]))  # noqa: E731
    assert config().model == train.default_model("painn")  # the quick preset's own model
    assert config("--model", "mace").model == train.default_model("mace")
    assert config("--model", "mace", "--hidden", "8").model.hidden == 8
    assert config("--preset", "paper").model.name == "mace"
    assert not config("--preset", "paper").bias_weights  # uniform weights, measured better on ethanol
    assert config("--preset", "paper", "--gammas", "0.5,uniform").bias_weights  # asking for gammas turns them on
    assert not config("--preset", "paper", "--gammas", "1", "--no-bias-weights").bias_weights
    assert config("--model", "painn", "--layers", "2").model == train.with_model(train.preset(), layers=2).model


def test_acquire_train_score_matching(tmp_path: Path) -> None:
    argv = ["train", "--accurate", "md17:ethanol/ccsd(t)", "--unlabeled", "md17:ethanol/dft",
            "--method", "score-matching", "--train", "12", "--validation", "6", "--test", "10",
            "--inaccurate-count", "16", "--preset", "tiny", "--out", str(tmp_path / "sm"), "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "sm" / "metrics.json").read_text())
    assert metrics["method"] == "score-matching" and metrics["temperature_K"] == 500.0


def test_user_errors_are_one_line(capsys) -> None:
    code = main(["train", "--accurate", "md17:ethanol/ccsd(t)", "--method", "asteroid", "--out", "/tmp/x-unused"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--inaccurate" in err


def test_cli_and_train_errors_do_not_import_torch() -> None:
    code = "import sys, acquire.cli.main as m, train.errors; m.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
