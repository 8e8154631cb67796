"""`acquire compare --energy-share`: a budget that buys accurate energy-only labels. The planned
frames train on their energies alone (forces withheld from training and validation), no frame is
both a force and an energy label, the test frames keep their forces, and each run is charged for
what it trains on."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import acquire

from acquire.compare.methods import METHODS, RunInputs, run_frames
from acquire.compare.runner import is_finished, load_labels, unused_by
from acquire.compare.runs import RunIndices
from acquire.compare.settings import CompareError, CompareSettings
from train.config import TrainConfig

pytestmark = pytest.mark.slow
COMMON = ("--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "40", "--energy-share", "5ccsd",
          "--energy-ratio", "38", "--preset", "tiny", "--test", "100", "--quiet")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("energies") / "cmp"
    result = acquire("compare", *COMMON, "--json", "--out", str(out), timeout=900)
    assert result.returncode == 0, result.stderr
    return out


def _runs(out: Path) -> dict[str, dict]:
    return {r["method"]: r for r in json.loads((out / "metrics.json").read_text())["runs"]}


def test_the_budget_buys_energies_and_charges_them(comparison: Path) -> None:
    runs = _runs(comparison)
    assert set(runs) == {"standard", "standard-energies", "asteroid"}
    # 60 units: 5 on 190 energies (38 each), the paper's 50 on 2000 DFT labels, 5 force labels
    assert (runs["asteroid"]["n_accurate"], runs["asteroid"]["n_energy_only"], runs["asteroid"]["n_inaccurate"]) == (5, 190, 2000)
    assert (runs["standard-energies"]["n_accurate"], runs["standard-energies"]["n_energy_only"]) == (55, 190)
    assert (runs["standard"]["n_accurate"], runs["standard"]["n_energy_only"]) == (60, 0)
    for run in runs.values():
        assert run["cost_accurate_labels"] == pytest.approx(60.0)
    assert "190 energies" in (comparison / "report.md").read_text()


def test_energy_frames_are_neither_force_nor_test_frames_and_lose_their_forces(comparison: Path) -> None:
    runs = _runs(comparison)
    for method in ("asteroid", "standard-energies"):
        split = json.loads((comparison / runs[method]["dir"] / "split.json").read_text())
        energies, train, test = (set(split[k]) for k in ("energy_only_indices", "train", "test"))
        assert len(energies) == runs[method]["n_energy_only"]
        assert not energies & train and not energies & test and not energies & set(split["validation"])
        run = json.loads((comparison / runs[method]["dir"] / "metrics.json").read_text())
        assert run["counts"]["energy_only"] == len(energies)
    settings = CompareSettings(accurate="md17:ethanol/ccsd(t)", inaccurate="md17:ethanol/dft", budgets=("60ccsd",),
                               energy_share="5ccsd", energy_ratio=38.0, preset="tiny", test=100)
    labels, _ = load_labels(settings)
    split = json.loads((comparison / runs["asteroid"]["dir"] / "split.json").read_text())
    rows = RunIndices(0, split["train"], split["validation"], split["test"], split["inaccurate_indices"],
                      split["energy_only_indices"])
    frames = run_frames(RunInputs(labels, rows, None, comparison), METHODS["asteroid"])  # type: ignore[arg-type]
    assert frames.energy_only is not None and frames.energy_only.forces is None  # withheld
    np.testing.assert_allclose(frames.energy_only.energies, labels.accurate.energies[split["energy_only_indices"]])
    assert frames.test is not None and frames.test.forces is not None and len(frames.test) == 100
    assert frames.validation.forces is not None


def test_energy_share_needs_its_price() -> None:
    with pytest.raises(CompareError, match="--energy-ratio"):
        CompareSettings(accurate="md17:ethanol/ccsd(t)", inaccurate="md17:ethanol/dft", energy_share="10%")
    with pytest.raises(CompareError, match="--energy-share"):
        CompareSettings(accurate="md17:ethanol/ccsd(t)", inaccurate="md17:ethanol/dft", energy_ratio=38.0)
    bad = acquire("compare", "--dataset", "ethanol", "--budget", "60ccsd", "--energy-share", "5ccsd",
                  "--energy-ratio", "0.5", "--out", "never", timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("acquire compare: error:") and len(bad.stderr.splitlines()) == 1


def test_the_energy_weight_counts_only_for_runs_that_train_on_energies(comparison: Path) -> None:
    runs = _runs(comparison)
    for method, trains_on_energies in (("standard-energies", True), ("asteroid", True), ("standard", False)):
        folder = comparison / runs[method]["dir"]
        stored = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
        split = json.loads((folder / "split.json").read_text())
        other = replace(stored, energy_only_rho=stored.energy_only_rho * 10)
        assert is_finished(folder, stored, split, method)
        if trains_on_energies:  # another weight trains another model: never resumed or reused
            with pytest.raises(CompareError, match="other settings"):
                is_finished(folder, other, split, method)
        else:
            assert is_finished(folder, other, split, method)
    assert "energy_only_rho" in unused_by("asteroid", energies=False)[0]  # a run without energies reuses
    assert "energy_only_rho" not in unused_by("asteroid", energies=True)[0]
