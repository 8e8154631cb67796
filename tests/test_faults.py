"""Faults and physically impossible inputs: foreign and damaged stores, the attempts rule, geometry and
label checks, refused checkpoints, names that are paths, Dask without a scheduler or workers, and md
reports at edge values."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms

from acquire.errors import StoreError
from acquire.labeling import store_file
from acquire.labeling.store import MAX_LOST, LabelStore, new_owner
from labelers import get_labeler

SPEC = "md17:ethanol/dft"
WATER = np.array([[0.0, 0.0, 0.119], [0.0, 0.763, -0.477], [0.0, -0.763, -0.477]])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _filled(path: Path, n: int = 4) -> LabelStore:
    labeler = get_labeler(SPEC)
    store = LabelStore(path)
    store.add(labeler.frames()[:n], SPEC)
    owner = new_owner()
    store.finish([(t, labeler.label(t.atoms), 1.0) for t in store.claim(SPEC, n, owner)], owner)
    return store


# ---- stores -----------------------------------------------------------------------------------
def test_a_store_is_created_by_its_first_write_and_marked(tmp_path) -> None:
    store = LabelStore(tmp_path / "l.db")
    assert not (tmp_path / "l.db").exists() and store.counts() == {} and store.done_atoms(SPEC) == []
    _filled(tmp_path / "l.db")
    con = sqlite3.connect(tmp_path / "l.db")
    assert con.execute(f"SELECT value FROM {store_file.MARKER} WHERE name = 'format'").fetchone() == (store_file.FORMAT,)


def test_foreign_sqlite_files_are_refused_untouched(tmp_path) -> None:
    foreign = tmp_path / "mine.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE mine (x)")
    con.commit()
    con.close()
    before = _digest(foreign)
    for create in (True, False):
        with pytest.raises(StoreError, match="did not make"):
            LabelStore(foreign, create=create)
    assert _digest(foreign) == before


def test_status_never_writes(tmp_path) -> None:
    from acquire.cli.main import main

    _filled(tmp_path / "l.db")
    empty = tmp_path / "empty.db"
    empty.touch()
    before = {p: _digest(p) for p in (tmp_path / "l.db", empty)}
    for path in before:
        assert main(["status", "--store", str(path), "--json"]) == 0
    assert {p: _digest(p) for p in before} == before


def test_a_store_from_before_the_marker_is_read_and_marked_on_write(tmp_path) -> None:
    _filled(tmp_path / "l.db", 2)
    con = sqlite3.connect(tmp_path / "l.db")
    con.execute(f"DROP TABLE {store_file.MARKER}")  # as every store written before this version
    con.commit()
    con.close()
    store = LabelStore(tmp_path / "l.db", create=False)
    assert store.counts()[SPEC].done == 2
    LabelStore(tmp_path / "l.db").add(get_labeler(SPEC).frames()[2:3], SPEC)
    assert store_file.inspect(tmp_path / "l.db") == "ours"


def test_a_damaged_store_is_one_error_naming_the_file_and_the_recovery(tmp_path) -> None:
    _filled(tmp_path / "l.db", 200)
    damaged = tmp_path / "d.db"
    shutil.copy(tmp_path / "l.db", damaged)
    with damaged.open("r+b") as handle:
        handle.seek(4096 * 6 + 8)
        handle.write(b"\x07" * 2000)
    for create in (True, False):
        with pytest.raises(StoreError, match=r"d\.db is damaged .*\.recover") as caught:
            LabelStore(damaged, create=create).counts()
        assert "\n" not in str(caught.value)


# ---- the attempts rule ------------------------------------------------------------------------
def test_lost_workers_are_not_attempts_but_a_label_that_kills_every_worker_fails(tmp_path) -> None:
    store = LabelStore(tmp_path / "l.db")
    store.add(get_labeler(SPEC).frames()[:1], SPEC)
    owner = new_owner()
    for loss in range(1, MAX_LOST + 1):
        (task,) = store.claim(SPEC, 1, owner)
        assert task.attempts == 1
        assert store.lost(task, owner, 1.0) == ("pending" if loss < MAX_LOST else "failed")
    (row,) = list(store._db.select(labeler=SPEC))
    assert row.status == "failed" and row.lost == MAX_LOST and "worker died" in row.error


# ---- geometry and label checks ----------------------------------------------------------------
def test_geometry_check_names_the_pair_and_passes_real_molecules() -> None:
    from acquire.labeling.physical import first_bad_frame, geometry_problem

    assert first_bad_frame(get_labeler(SPEC).frames()[:200]) is None
    close = Atoms("OH2", positions=WATER)
    close.positions[2] = close.positions[0] + [0.0, 0.3, 0.0]
    assert "atoms 0 (O) and 2 (H) are 0.300 Å apart" in geometry_problem(close)
    coincident = Atoms("OH2", positions=WATER)
    coincident.positions[1] = coincident.positions[2]
    assert "atoms 1 (H) and 2 (H) are 0.000 Å apart" in geometry_problem(coincident)


def test_a_label_that_is_not_physical_is_failed_at_once_never_done(tmp_path) -> None:
    from acquire.labeling.executors import LabelFailure, compute

    atoms = Atoms("OH2", positions=WATER)
    atoms.positions[1] = atoms.positions[0] + [0.05, 0.0, 0.0]  # past the geometry check: a label's own check
    outcome = compute("pyscf:hf/sto-3g", atoms)
    assert isinstance(outcome, LabelFailure) and outcome.final and "eV/Å bound" in outcome.error
    store = LabelStore(tmp_path / "l.db")
    store.add([atoms], "pyscf:hf/sto-3g")
    owner = new_owner()
    (task,) = store.claim("pyscf:hf/sto-3g", 1, owner)
    assert store.fail(task, outcome.error, owner, outcome.seconds, max_attempts=3, final=True) == "failed"
    assert store.counts()["pyscf:hf/sto-3g"].done == 0
    good = compute("pyscf:hf/sto-3g", Atoms("OH2", positions=WATER))
    assert not isinstance(good, LabelFailure)


# ---- checkpoints and names --------------------------------------------------------------------
class _Pickled:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_refused_checkpoints_name_the_file_without_torch_advice(tmp_path, monkeypatch) -> None:
    from train.atomic_files import load_plain
    from train.errors import CheckpointError

    monkeypatch.chdir(tmp_path)
    torch.save({"state_dict": _Pickled()}, tmp_path / "tampered.pt")
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(1).bytes(1000))
    torch.save({"other": 1}, tmp_path / "foreign.pt")
    for name, says in (("tampered", "refused; nothing in it was run"), ("random", "damaged"), ("foreign", "lacks state_dict")):
        with pytest.raises(CheckpointError) as caught:
            load_plain(tmp_path / f"{name}.pt", "finished stage", ("state_dict",))
        message = str(caught.value)
        assert says in message and f"{name}.pt" in message and "weights_only" not in message and "\n" not in message
    assert not (tmp_path / "pwned").exists()


def test_a_tampered_stage_file_stops_a_resumed_run_with_one_line(tmp_path) -> None:
    import train
    from labelers.datasets import load_md17
    from train import Frames, preset, with_stage
    from train.errors import CheckpointError

    data = load_md17("ethanol", "ccsd(t)")
    frames = [Frames(data.positions[i], data.numbers, data.energies[i], data.forces[i])
              for i in (np.arange(8), np.arange(8, 12))]
    config = preset("tiny", standard=with_stage(preset("tiny"), "standard", epochs=1).standard)
    train.run_standard(*frames, None, config, tmp_path)
    (stage,) = (tmp_path / "stages").glob("*.pt")
    torch.save({"state_dict": _Pickled()}, stage)
    (tmp_path / "model.pt").unlink()
    with pytest.raises(CheckpointError, match=f"cannot read finished stage {stage}"):
        train.run_standard(*frames, None, config, tmp_path)


def test_names_made_of_dots_are_refused() -> None:
    from acquire.md.calculators import ModelSourceError, model_labels

    for name in (".", "..", "..."):
        with pytest.raises(ModelSourceError, match="dots alone"):
            model_labels([f"{name}=xtb:gfn2"])
    assert model_labels(["a.b=xtb:gfn2"]) == [("a.b", "xtb:gfn2")]


# ---- Dask ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler():
    port = _free_port()
    dask = str(Path(sys.executable).with_name("dask"))
    process = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"tcp://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    yield process, address
    process.kill()
    process.wait(timeout=30)


def test_dask_without_workers_and_without_its_scheduler_is_an_error(tmp_path, scheduler) -> None:
    from acquire.labeling.engine import label_frames
    from acquire.labeling.executors import DaskExecutor, EngineError

    process, address = scheduler
    frames = [Atoms("OH2", positions=WATER)]
    executor = DaskExecutor(address)
    executor.NO_WORKERS_S = 1.0
    try:
        with pytest.raises(EngineError, match="no Dask worker"):
            label_frames(LabelStore(tmp_path / "l.db"), get_labeler("xtb:gfn2"), frames, executor=executor)
        assert LabelStore(tmp_path / "l.db").counts()["xtb:gfn2"].pending == 1  # the row is kept, not claimed
        process.kill()
        process.wait(timeout=30)
        with pytest.raises(EngineError, match="lost the Dask scheduler"):
            deadline = time.time() + 60
            while time.time() < deadline:
                executor._read_at = -float("inf")
                executor.slots  # noqa: B018 - reading it checks the cluster
                time.sleep(0.5)
    finally:
        executor.close()


# ---- md reports at edge values --------------------------------------------------------------------
def _result(stable: list[list[bool]], timesteps=(0.5, 1.5)):
    from acquire.md.runs import MDFailure, MDRun, MDSettings, StabilityResult

    settings = MDSettings(steps=100)
    runs = []
    for m, per_step in enumerate(stable):
        for dt in timesteps:
            for k, ok in enumerate(per_step):
                failure = None if ok else MDFailure("bond", "O0-H1 left its range", 50, 50 * dt)
                runs.append(MDRun(f"m{m}", dt, k, k, 100 if ok else 50, ok, failure, 500.0, 0.1,
                                  trace={"time_fs": [0.0, 50 * dt], "max_bond_deviation_A": [0.0, 0.6]}))
    return StabilityResult(settings, {f"m{m}": "xtb:gfn2" for m in range(len(stable))}, list(timesteps), 0, runs, 1.0)


@pytest.mark.parametrize("stable", [
    [[True] * 10, [True] * 10],  # all stable: the Wilson bound of 10/10 rounds below 1 (B16)
    [[False] * 10, [False] * 10],  # none stable
    [[True]],  # one run, one model
    [[True, False, True]],
])
def test_md_report_survives_edge_values(tmp_path, stable) -> None:
    from acquire.md.report import write_outputs

    paths = write_outputs(_result(stable), tmp_path)
    for key in ("metrics", "report", "stability_plot", "traces_plot"):
        assert paths[key].is_file() and paths[key].stat().st_size > 0


def test_a_failing_plot_never_costs_the_results(tmp_path, capsys) -> None:
    from acquire.md.report import write_outputs

    (tmp_path / "stability_vs_timestep.png").mkdir()  # the figure cannot be written there
    paths = write_outputs(_result([[True, False]]), tmp_path)
    assert "stability_plot" not in paths and paths["metrics"].is_file() and paths["traces_plot"].is_file()
    assert "could not be drawn" in paths["report"].read_text()
    assert "stability_vs_timestep.png not drawn" in capsys.readouterr().err
