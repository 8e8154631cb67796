"""Every bad input of every subcommand: exit code 2, one line `acquire COMMAND: error: ...` on stderr, no
traceback, and no file outside the command's own changed. One table; add a row with every new option."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import write

from acquire.cli.main import main
from acquire.folders import output_folder

WATER = np.array([[0.0, 0.0, 0.119], [0.0, 0.763, -0.477], [0.0, -0.763, -0.477]])
CACHED = "md17:ethanol/dft"


class Pickled:
    """An object whose unpickling would run code (a tampered checkpoint)."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


def make_inputs(folder: Path) -> Path:
    """Files the bad inputs name: pools, stores good, foreign and damaged, folders and checkpoints."""
    frames = [Atoms("OH2", positions=WATER + 0.01 * k) for k in range(4)]
    write(folder / "water.extxyz", frames)
    close = [f.copy() for f in frames]
    close[2].positions[1] = close[2].positions[0] + [0.05, 0.0, 0.0]  # B11: H 0.05 Å from O
    write(folder / "close.extxyz", close)
    coincident = [f.copy() for f in frames]
    coincident[1].positions[2] = coincident[1].positions[1]  # once a LinAlgError that named no geometry
    write(folder / "coincident.extxyz", coincident)
    nan = [f.copy() for f in frames]
    nan[3].positions[0, 0] = np.nan  # B8
    write(folder / "nan.extxyz", nan)
    assert main(["label", CACHED, "--labeler", CACHED, "--n", "300", "--store", str(folder / "good.db"), "--quiet"]) == 0
    damaged = folder / "damaged.db"
    shutil.copy(folder / "good.db", damaged)
    with damaged.open("r+b") as handle:  # B12: a few pages overwritten
        handle.seek(4096 * 5 + 8)
        handle.write(b"\x07" * 3000)
    assert not _intact(damaged)
    con = sqlite3.connect(folder / "foreign.db")
    con.execute("CREATE TABLE mine (x)")
    con.execute("INSERT INTO mine VALUES (1)")
    con.commit()
    con.close()
    (folder / "list.json").write_text("[1, 2]")
    (folder / "notjson.json").write_text("{nope")
    (folder / "afile").write_text("a file, not a folder")
    output_folder(folder / "trained", "train")  # B5: another command's folder
    torch.save({"format": "asteroid-ff/model", "x": Pickled()}, folder / "tampered.pt")  # B14
    (folder / "random.pt").write_bytes(np.random.default_rng(0).bytes(2000))
    (folder / "out.yaml").write_text("out: somewhere\n")
    return folder


def _intact(path: Path) -> bool:
    """Whether SQLite's own integrity check passes on `path`."""
    try:
        return sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


RUN = ["--molecule", "O", "--budget", "4ccsd", "--accurate", "pyscf:ccsd(t)/sto-3g", "--inaccurate", "xtb:gfn2"]
TRAIN = ["--accurate", "md17:ethanol/ccsd(t)", "--preset", "tiny"]

# (finding, argv with {i} for the inputs folder, fragment of the one-line error)
BAD = [
    ("B1", "status --store {i}/good.db --plan {i}/notjson.json", "not a plan.json"),
    ("B1", "status --store {i}/good.db --plan {i}/list.json", "not a plan.json"),
    ("B1", "status --store {i}/good.db --plan /nonexistent/plan.json", "no such file"),
    ("B2", "train " + " ".join(TRAIN) + " --epochs-scale nan --out {i}/t", "finite"),
    ("B2", "train " + " ".join(TRAIN) + " --epochs-scale inf --out {i}/t", "finite"),
    ("B2", "train " + " ".join(TRAIN) + " --epochs-scale=-1 --out {i}/t", "above 0"),
    ("B2", "calibrate --min-seconds nan", "finite"),
    ("B2", "md {i}/x --molecule O --temperature inf --out {i}/m", "finite"),
    ("B2", "sample --molecule O --n 4 --timestep nan --out {i}/s.extxyz", "finite"),
    ("B3", "train " + " ".join(TRAIN) + " --out {i}/afile", "is a file"),
    ("B3", "scan " + CACHED + " --bond C-H --out {i}/afile", "is a file"),
    ("B3", "compare --dataset ethanol --preset tiny --out {i}/afile", "is a file"),
    ("B3", "summarize x={i}/trained --out {i}/afile", "is a file"),
    ("B3", "demo --buy-only --out {i}/afile", "is a file"),
    ("B3", "run " + " ".join(RUN) + " --out {i}/afile/sub", "is a file"),
    ("B4", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/foreign.db", "did not make"),
    ("B4", "status --store {i}/foreign.db", "did not make"),
    ("B4", "export --store {i}/foreign.db --labeler x --out {i}/e.extxyz", "did not make"),
    ("B4", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/new.db --workers 0", "--workers"),
    ("B4", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/new.db --scheduler tcp://127.0.0.1:9",
     "cannot reach"),
    ("B5", "run " + " ".join(RUN) + " --out {i}/trained", "acquire train"),
    ("B5", "md xtb:gfn2 --molecule O --steps 10 --runs 1 --out {i}/trained", "acquire train"),
    ("B5", "compare --dataset ethanol --preset tiny --out {i}/trained", "acquire train"),
    ("B6", "sample --molecule O --n 99999999999999999999 --out {i}/s.extxyz", "from 1 to 1000000"),
    ("B6", "plan --budget 99999999999999999999ccsd", "a typo"),
    ("B6", "md xtb:gfn2 --molecule O --steps 10000000000 --out {i}/m", "--steps"),
    ("B7", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/new.db --threads 0", "--threads"),
    ("B7", "compare --dataset ethanol --jobs 0 --out {i}/c", "--jobs"),
    ("B7", "md xtb:gfn2 --molecule O --workers 0 --out {i}/m", "--workers"),
    ("B7", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/new.db --max-attempts 0", "--max-attempts"),
    ("B8", "label {i}/nan.extxyz --labeler pyscf:hf/sto-3g --store {i}/new.db", "frame 3 (0-based): atom 0 (O)"),
    ("B10", "plan --budget -5ccsd", "--budget"),
    ("B10", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/new.db --n ten", "--n"),
    ("B10", "md {i}/x --start {i}/water.extxyz --molecule O", "not allowed with"),
    ("B10", "calibrate --list --forget x", "not allowed with"),
    ("B10", "sample --method stretch --molecule {i}/water.extxyz --n 1 --lengths 1.8:1.1:0.1 --out {i}/s.extxyz",
     "--lengths"),
    ("B10", "plan", "required"),
    ("B10", "label {i}/water.extxyz --labeler xtb:gfn2 --store {i}/new.db --seed -1", "--seed"),
    ("B11", "label {i}/close.extxyz --labeler pyscf:hf/sto-3g --store {i}/new.db", "atoms 0 (O) and 1 (H)"),
    ("B11", "label {i}/coincident.extxyz --labeler xtb:gfn2 --store {i}/new.db", "frame 1 (0-based): atoms 1 (H) and 2 (H)"),
    ("B12", "status --store {i}/damaged.db", "damaged"),
    ("B12", "export --store {i}/damaged.db --labeler " + CACHED + " --out {i}/e.extxyz", "damaged"),
    ("B12", "train --accurate {i}/damaged.db:" + CACHED + " --preset tiny --out {i}/t", "damaged"),
    ("B14", "export-model {i}/tampered.pt --format torchscript --out {i}/m.pt", "holds more than tensors"),
    ("B14", "export-model {i}/random.pt --format torchscript --out {i}/m.pt", "damaged or not a torch file"),
    ("B14", "md {i}/tampered.pt --molecule O --steps 10 --runs 1 --out {i}/m", "holds more than tensors"),
    ("B15", "md ..=xtb:gfn2 --molecule O --steps 10 --runs 1 --out {i}/m", "dots alone"),
    ("B15", "md .=xtb:gfn2 --molecule O --steps 10 --runs 1 --out {i}/m", "dots alone"),
    ("config", "train " + " ".join(TRAIN) + " --config {i}/out.yaml --out {i}/t", "out is not read from a file"),
]


@pytest.mark.parametrize("finding, argv, says", BAD, ids=[f"{b[0]}-{k}" for k, b in enumerate(BAD)])
def test_bad_input_is_one_line_exit_2(inputs: Path, capsys, monkeypatch, finding: str, argv: str, says: str) -> None:
    monkeypatch.chdir(inputs)
    before = _digests(inputs)
    words = argv.format(i=inputs).split()
    code = main(words)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"acquire {words[0]}: error: "), err
    assert says in err and "Traceback" not in err
    assert _digests(inputs) == before  # nothing written, created or changed (no empty store, no folder)
    assert not (inputs / "pwned").exists()
