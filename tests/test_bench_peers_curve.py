"""`benchmarks/bench_peers.py --curve`: mace-torch's command line on a few frames of the embedded
ethanol set, with the model of every kept checkpoint scored against the CPU seconds it had cost."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from benchmarks import bench_peers
from benchmarks.peer_curves import CHECKPOINT, log_spaced

TINY = ["--model", "MACE", "--hidden_irreps", "8x0e", "--max_L", "0", "--correlation", "2", "--r_max", "4.0",
        "--num_interactions", "2"]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed's split files, written by bench_peers from an `acquire compare`-shaped folder: 20
    CCSD(T) training frames, 10 validation, 10 test, and a DFT pool of 60 (the last 50 held out)."""
    compare = tmp_path_factory.mktemp("compare")
    split = {"seed": 0, "accurate": "md17:ethanol/ccsd(t)", "inaccurate": "md17:ethanol/dft",
             "train": list(range(20)), "validation": list(range(20, 30)), "test": list(range(30, 40)),
             "inaccurate_indices": list(range(100, 160))}
    for method in ("standard", "asteroid"):
        run = compare / "runs" / "250ccsd_r40" / method / "seed0"
        run.mkdir(parents=True)
        (run / "split.json").write_text(json.dumps(split))
    folder = tmp_path_factory.mktemp("peers") / "seed0"
    bench_peers.prepare(compare, 0, folder)
    return folder


def checkpoint_epochs(run: Path) -> list[int]:
    return sorted(int(CHECKPOINT.search(p.name).group(1)) for p in (run / "checkpoints").glob("*_epoch-*.pt"))


def test_log_spacing_keeps_each_stage_ends_and_points_a_factor_apart() -> None:
    points = [{"stage": "pretrain", "cpu_s": c} for c in (1.0, 1.1, 1.3, 2.0, 2.4, 2.6, 5.0)]
    points += [{"stage": "finetune", "cpu_s": c} for c in (5.5, 5.6, 9.0, 9.0)]
    kept = [(p["stage"], p["cpu_s"]) for p in log_spaced(points, 1.25)]
    assert kept == [("pretrain", 1.0), ("pretrain", 1.3), ("pretrain", 2.0), ("pretrain", 2.6), ("pretrain", 5.0),
                    ("finetune", 5.5), ("finetune", 9.0)]
    assert log_spaced(points, 1.25)[-1] is points[-1]  # the last epoch, not its twin of the same poll


@pytest.mark.slow
def test_standard_curve_has_every_checkpoint_and_ends_at_the_plain_recipes_model(work: Path) -> None:
    plain = work.parent / "plain"  # the same recipe without --curve, scored first in this process
    plain.mkdir()
    for name in ("train.xyz", "val.xyz", "test.xyz"):
        shutil.copy(work / name, plain / name)
    normal = bench_peers.run_recipe("std", plain, threads=1, model=TINY, epochs={"train": 3})
    assert checkpoint_epochs(plain / "std") == checkpoint_epochs(plain / "std")[-1:]  # without it: the last alone
    result = bench_peers.run_recipe("std", work, threads=1, curve=1.0, model=TINY, epochs={"train": 3})
    curve = json.loads((work / "curve_std.json").read_text())
    rows = curve["rows"]
    assert [r["epoch"] for r in rows] == checkpoint_epochs(work / "std")  # factor 1: one row per checkpoint
    assert rows and {r["stage"] for r in rows} == {"train"}
    cpu = [r["cpu_s"] for r in rows]
    assert all(a < b for a, b in zip(cpu, cpu[1:])) and cpu[0] > 0
    assert cpu[-1] <= json.loads((work / "std.cpu.json").read_text())["cpu_seconds"]
    assert all(math.isfinite(r["val_force_mae"]) and r["val_force_mae"] > 0 for r in rows)
    final = bench_peers.score(work / "std" / "model" / "std.model", work / "test.xyz")
    assert rows[-1]["test_force_mae"] == final["force_mae"] == result["force_mae"] == normal["force_mae"]
    assert curve["final"]["matches_last_row"] and curve["threads"] == 1
    assert len(curve["load_average"]["start"]) == 3 and curve["versions"]["mace-torch"]


@pytest.mark.slow
def test_finetune_curve_counts_the_pretraining_first(work: Path) -> None:
    result = bench_peers.run_recipe("ft", work, threads=1, curve=100.0, model=TINY,
                                    epochs={"pretrain": 3, "finetune": 3})
    rows = json.loads((work / "curve_ft.json").read_text())["rows"]
    pre_cpu = json.loads((work / "pre.cpu.json").read_text())["cpu_seconds"]
    for stage, run in (("pretrain", "pre"), ("finetune", "ft")):  # factor 100: each stage's first and last
        epochs = checkpoint_epochs(work / run)
        assert [r["epoch"] for r in rows if r["stage"] == stage] == sorted({epochs[0], epochs[-1]})
    assert [r["stage"] for r in rows] == sorted((r["stage"] for r in rows), key=["pretrain", "finetune"].index)
    cpu = [r["cpu_s"] for r in rows]
    assert all(a < b for a, b in zip(cpu, cpu[1:]))
    assert max(r["cpu_s"] for r in rows if r["stage"] == "pretrain") <= pre_cpu < rows[-1]["cpu_s"]
    assert rows[-1]["test_force_mae"] == result["force_mae"]
    assert rows[-1]["cpu_s"] <= result["cpu_minutes"] * 60


def test_curve_refuses_a_recipe_trained_without_it(tmp_path: Path) -> None:
    (tmp_path / "std.json").write_text(json.dumps({"force_mae": 1.0, "energy_mae": 1.0, "cpu_minutes": 1.0}))
    (tmp_path / "std.cpu.json").write_text(json.dumps({"cpu_seconds": 60.0, "threads": 1}))
    with pytest.raises(SystemExit, match="trained without --curve"):
        bench_peers.run_recipe("std", tmp_path, threads=1, curve=1.25)
    assert not (tmp_path / "curve_std.json").exists()
