"""`acquire label`, `acquire labelers`, `acquire demo` through a subprocess; bad inputs leave the store intact."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from ase.db import connect
from conftest import acquire


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    assert acquire("label", "md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--n", "3", "--store", "l.db",
                   cwd=folder).returncode == 0
    return folder / "l.db"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_label_from_cached_pool_then_grow_without_relabelling(tmp_path) -> None:
    first = acquire("label", "md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--n", "30", "--seed", "3",
                    "--store", "l.db", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["done"] == 30
    second = acquire("label", "md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--n", "40", "--seed", "3",
                     "--store", "l.db", "--json", cwd=tmp_path)
    report = json.loads(second.stdout)
    assert (report["already_done"], report["done"]) == (30, 10)
    assert connect(str(tmp_path / "l.db")).count(labeler="md17:ethanol/dft") == 40


@pytest.mark.parametrize("args, says", [
    (["nope.extxyz", "--labeler", "md17:ethanol/dft"], "pool file not found"),
    (["md17:ethanol/dft", "--labeler", "nobackend:x"], "unknown labeler backend"),
    (["md17:ethanol/dft", "--labeler", "md17:benzene/dft"], "no embedded"),
    (["md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--n", "5000"], "holds only 3997"),
    (["bad.extxyz", "--labeler", "md17:ethanol/dft"], "cannot read pool"),
    (["md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--budget", "lots"], "cannot read budget"),
    (["md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--store", "no/dir/l.db"], "does not exist"),
    (["md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--store", "junk.db"], "not a readable"),
])
def test_bad_inputs_exit_2_one_line_store_unchanged(tmp_path, small_store: Path, args: list[str], says: str) -> None:
    shutil.copy(small_store, tmp_path / "l.db")
    (tmp_path / "bad.extxyz").write_text("3\nnot extxyz\nX 0 0\n")
    (tmp_path / "junk.db").write_text("junk")
    before = _digest(tmp_path / "l.db")
    if "--store" not in args:
        args = [*args, "--store", "l.db"]
    result = acquire("label", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr and "Traceback" not in result.stderr
    assert _digest(tmp_path / "l.db") == before


def test_labelers_lists_costs_and_marks_unavailable(tmp_path) -> None:
    result = acquire("labelers", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entries = {e["spec"]: e for e in json.loads(result.stdout)["labelers"]}
    assert entries["md17:ethanol/ccsd(t)"]["cost_s"] / entries["md17:ethanol/dft"]["cost_s"] == pytest.approx(40)
    assert entries["xtb:gfn2"]["available"] and entries["xtb:gfn2"]["cost_s"] > 0
    water = json.loads(acquire("labelers", "--molecule", "O", "--json", cwd=tmp_path).stdout)
    assert not {e["spec"]: e for e in water["labelers"]}["md17:ethanol/dft"]["available"]
    bad = acquire("labelers", "--molecule", "C1CC", cwd=tmp_path)
    assert bad.returncode == 2 and "not a valid SMILES" in bad.stderr


def test_demo_buys_the_plan(tmp_path) -> None:
    result = acquire("demo", "--buy-only", "--out", "d", "--budget", "60ccsd", "--ratio", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    db = connect(str(tmp_path / "d" / "labels.db"))
    assert db.count(labeler="md17:ethanol/ccsd(t)", status="done") == 10
    assert db.count(labeler="md17:ethanol/dft", status="done") == 100  # paper policy: 50 x ratio 2
    assert "10 accurate + 100 inaccurate" in result.stdout
