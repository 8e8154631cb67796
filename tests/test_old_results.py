"""Every comparison folder shipped in benchmarks/results/ (each written by an older version) is
still read: `acquire summarize` on a copy of each, a `--ratio auto` folder resumes with the ratio
it was planned with, and a seed split stored before the typed settings fits the same comparison."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from acquire.cli.main import main

RESULTS = ROOT / "benchmarks" / "results"
FOLDERS = sorted(str(p.parent.relative_to(RESULTS)) for p in RESULTS.rglob("metrics.json")
                 if json.loads(p.read_text()).get("format", "").startswith("asteroid-ff/compare"))


def test_every_kind_of_old_comparison_is_shipped() -> None:
    assert len(FOLDERS) >= 20 and {"compare_ethanol_xtb_3seeds", "compare_ethanol_gaff_3seeds",
                                   "compare_ethanol_budgets", "compare_ethanol_ablations",
                                   "selection_ethanol_250ccsd/uncertain"} <= set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_acquire_summarize_reads_an_old_comparison(folder: str, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "old"
    shutil.copytree(RESULTS / folder, copy)
    assert main(["summarize", f"old={copy}", "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out)["rows"] if r["candidate"] is None]
    summary = json.loads((copy / "metrics.json").read_text())["summary"]
    assert len(rows) == len(summary) and rows
    own = {(s["budget"], s["ratio"], s["method"]): s["force_mae_mean"] for s in summary}
    assert all(r["force_mae_mean"] == pytest.approx(own[(r["budget"], r["ratio"], r["method"])]) for r in rows)


def test_an_old_ratio_auto_folder_resumes_with_its_planned_ratio(tmp_path: Path) -> None:
    from acquire.compare.auto_ratio import resolved_ratios
    from acquire.compare.settings import CompareSettings
    from acquire.sources import load_source

    copy = tmp_path / "xtb"
    shutil.copytree(RESULTS / "compare_ethanol_xtb_3seeds", copy)
    recorded = json.loads((copy / "metrics.json").read_text())["settings"]
    settings = CompareSettings(recorded["accurate"], "xtb:gfn2", ratios=("auto",), pool=recorded["pool"])
    resolved = resolved_ratios(settings, copy, load_source(settings.accurate))
    assert resolved.ratios == (pytest.approx(recorded["ratios"][0]),)
    assert not (copy / "ratio_auto.json").exists()  # what it was planned with is read, not computed again


def test_a_seed_split_stored_before_the_typed_settings_fits_the_same_comparison(tmp_path: Path) -> None:
    from acquire.compare.seed_splits import SeedSplit, SplitNeeds

    path = tmp_path / "seed0.json"  # as stored before --pool and --selection existed
    path.write_text(json.dumps({"seed": 0, "train_order": [3, 1], "validation": [0], "test": [2, 4], "pool_order": [5],
                                "params": {"accurate": "a", "inaccurate": "b", "validation": 1, "test_cap": None,
                                           "n_train": 2, "n_inaccurate": 1}}))
    split = SeedSplit.load(path)
    needs = SplitNeeds("a", "b", validation=1, test_cap=None, n_train=2, n_inaccurate=1)
    assert split.needs == needs and split.fits(needs) and split.ordered
    assert not split.fits(SplitNeeds("a", "b", validation=1, test_cap=None, n_train=3))
    assert not split.fits(SplitNeeds("a", "b", validation=1, test_cap=None, n_train=2, selection="diverse"))
    split.save(tmp_path / "again.json")
    assert SeedSplit.load(tmp_path / "again.json") == split
