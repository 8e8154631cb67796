"""`acquire plan` through a subprocess: the table, the JSON object, bad inputs, no heavy imports."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ENV
from conftest import acquire as run_acquire

HEAVY = ("torch", "pyscf", "openmm", "tblite", "rdkit", "matplotlib")
def acquire(*args: str) -> subprocess.CompletedProcess[str]:
    return run_acquire("plan", *args, env={**ENV, "COLUMNS": "100"}, timeout=60)


def test_table_shows_the_paper_plan_and_the_standard_baseline() -> None:
    result = acquire("--budget", "250ccsd", "--ratio", "40")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("ASTEROID" in line and "accurate" in line and " 200 " in f"{line} " for line in lines)
    assert any("inaccurate" in line and "2000" in line for line in lines)
    assert any("standard" in line and "250" in line for line in lines)
    assert "cost (accurate labels)" in result.stdout and "not charged" in result.stdout


def test_json_has_the_documented_keys() -> None:
    result = acquire("--budget", "850ccsd", "--ratio", "80", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["accurate"]["count"] == 800 and document["inaccurate"]["count"] == 4000
    assert document["standard"]["count"] == 850
    assert document["ratio"] == 80.0 and document["budget"] == "850ccsd"
    assert document["validation"] == {**document["validation"], "count": 50, "charged": False}
    assert document["leftover"]["cost_accurate_labels"] == 0.0
    assert document["accurate"]["spec"] == "md17:ethanol/ccsd(t)"


def test_share_and_charged_validation() -> None:
    document = json.loads(acquire("--budget", "300ccsd", "--ratio", "40", "--inaccurate-share", "50ccsd",
                                  "--charge-validation", "--json").stdout)
    assert (document["accurate"]["count"], document["inaccurate"]["count"], document["standard"]["count"]) == (200, 2000, 250)
    assert document["validation"]["charged"] is True


def test_ratio_auto_uses_the_labelers_declared_costs() -> None:
    result = acquire("--budget", "250ccsd", "--ratio", "auto", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    accurate, inaccurate = document["accurate"]["label_cost_s"], document["inaccurate"]["label_cost_s"]
    assert document["ratio"] == pytest.approx(accurate / inaccurate) and document["ratio"] > 1
    assert document["accurate"]["cost_cpu_h"] == pytest.approx(document["accurate"]["count"] * accurate / 3600)


@pytest.mark.parametrize(
    "args",
    [
        ("--budget", "lots"),
        ("--budget", "250ccsd", "--ratio", "0.5"),
        ("--budget", "250ccsd", "--ratio", "forty"),
        ("--budget", "40ccsd", "--ratio", "40"),
        ("--budget", "250ccsd", "--ratio", "40", "--inaccurate-share", "150%"),
        ("--budget", "250ccsd", "--ratio", "40", "--policy", "share"),
        ("--budget", "250ccsd", "--ratio", "40", "--policy", "paper", "--inaccurate-share", "20%"),
        ("--budget", "250ccsd", "--ratio", "auto", "--accurate", "nosuch:thing"),
        ("--budget", "250ccsd", "--ratio", "auto", "--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", "md17:ethanol/ccsd(t)"),
        ("--budget", "250ccsd", "--ratio", "40", "--validation", "-3"),
        ("--budget", "2h", "--ratio", "auto", "--molecule", "/no/such/file.xyz"),
        ("--ratio", "40",),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    result = acquire(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("ratio", "also_absent"), [("40", ("numpy", "ase")), ("auto", ())])
def test_plan_imports_no_heavy_library(ratio: str, also_absent: tuple[str, ...]) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from acquire.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['plan', '--budget', '250ccsd', '--ratio', '{ratio}']) == 0\n"
        f"print(sorted(m for m in {HEAVY + also_absent!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
