"""Labels at scale with real labelers: kill -9 and rerun, SIGTERM, a killed worker retried, Dask equals the
local pool, concurrent runs never duplicate, the budget ledger stops spending, bad engines exit 2."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from ase.db import connect
from conftest import ENV

from acquire.labeling.sampling import SamplingSettings, normal_mode_frames, write_frames
from acquire.labeling.store import LabelStore
from acquire.molecules import load_molecule

HF = "pyscf:hf/sto-3g"
N = 16


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pool") / "pool.extxyz"
    write_frames(normal_mode_frames(load_molecule("CO"), N, SamplingSettings(seed=1)), str(path))
    return path


def label_cmd(pool: Path, store: Path, *extra: str, labeler: str = HF) -> list[str]:
    return [sys.executable, "-m", "acquire", "label", str(pool), "--labeler", labeler, "--store", str(store),
            "--no-progress", "--json", *extra]


def rows(store: Path) -> list:
    return list(connect(str(store), use_lock_file=False).select())


def wait_for_done(store: Path, count: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if store.exists():
            try:
                # read through the project's store, which never writes: ASE's connect() would add its
                # tables to a file the labeling process is still creating, which then refuses it as foreign
                if sum(c.done for c in LabelStore(store, create=False).counts().values()) >= count:
                    return
            except Exception:  # noqa: BLE001 - the store is being created (ASE raises several types)
                pass
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} labels after {timeout} s")


def assert_complete_no_duplicates(store: Path, spec: str, n: int) -> list:
    done = [r for r in rows(store) if r.labeler == spec]
    assert len(done) == n and all(r.status == "done" for r in done)
    assert len({r.config_hash for r in done}) == n
    return done


def test_kill_9_then_rerun_keeps_every_label_and_completes(tmp_path, pool) -> None:
    store = tmp_path / "l.db"
    process = subprocess.Popen(label_cmd(pool, store, "--workers", "2"), env=ENV, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_done(store, 4, process)
    os.killpg(process.pid, signal.SIGKILL)  # coordinator and workers, no clean-up
    process.wait()
    before = {r.config_hash: (r.energy, r.id) for r in rows(store) if r.status == "done"}
    assert 4 <= len(before) < N
    result = subprocess.run(label_cmd(pool, store, "--workers", "2"), env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["already_done"] >= len(before) and report["already_done"] + report["done"] == N
    done = assert_complete_no_duplicates(store, HF, N)
    for row in done:
        if row.config_hash in before:
            assert (row.energy, row.id) == before[row.config_hash]  # untouched


def test_sigterm_stops_like_ctrl_c_and_a_rerun_completes(tmp_path, pool) -> None:
    """A batch scheduler's time limit sends SIGTERM: the run stops with 143, returns its claimed rows
    to the queue at once (none left 'running'), and a rerun labels only what is missing."""
    store = tmp_path / "l.db"
    process = subprocess.Popen(label_cmd(pool, store, "--workers", "2"), env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    wait_for_done(store, 3, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and "terminated (SIGTERM); everything already stored is kept" in err
    statuses = [r.status for r in rows(store) if r.labeler == HF]
    assert "running" not in statuses and statuses.count("done") >= 3
    before = {r.config_hash: r.id for r in rows(store) if r.status == "done"}
    result = subprocess.run(label_cmd(pool, store, "--workers", "2"), env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["already_done"] == len(before)
    assert_complete_no_duplicates(store, HF, N)


def test_worker_killed_mid_label_is_retried(tmp_path, pool) -> None:
    store = tmp_path / "l.db"
    process = subprocess.Popen(label_cmd(pool, store, "--workers", "2"), env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_for_done(store, 2, process)
    workers = [p for p in psutil.Process(process.pid).children() if "resource_tracker" not in " ".join(p.cmdline())]
    assert workers
    workers[0].kill()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    done = assert_complete_no_duplicates(store, HF, N)
    # the tasks of the dead worker ran again, and the loss is not counted as an attempt
    assert max(int(r.get("lost", 0)) for r in done) >= 1
    assert all(r.attempts == 1 for r in done)
    report = json.loads(out)
    assert report["retried"] >= 1 and report["lost"] >= 1 and report["failed_in_store"] == 0


def test_dask_cluster_equals_local_pool_and_survives_a_killed_worker(tmp_path, pool) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(scheduler_file)], env=ENV, cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
                                  env=ENV, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = subprocess.run(label_cmd(pool, tmp_path / "local.db", "--workers", "2"), env=ENV,
                               capture_output=True, text=True, timeout=120)
        assert local.returncode == 0, local.stderr
        run = subprocess.Popen(label_cmd(pool, tmp_path / "dask.db", "--scheduler", address), env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_done(tmp_path / "dask.db", 2, run)
        victims = [p for p in psutil.Process(worker.pid).children(recursive=True)
                   if "resource_tracker" not in " ".join(p.cmdline())]
        assert victims
        victims[0].kill()  # the scheduler reschedules its tasks (its nanny starts a new worker)
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out)["executor"] == "dask"
        by_hash = {}
        for name in ("local.db", "dask.db"):
            done = assert_complete_no_duplicates(tmp_path / name, HF, N)
            by_hash[name] = {r.config_hash: r.toatoms() for r in done}
        assert by_hash["local.db"].keys() == by_hash["dask.db"].keys()
        for digest, atoms in by_hash["local.db"].items():
            other = by_hash["dask.db"][digest]
            assert atoms.get_potential_energy() == pytest.approx(other.get_potential_energy(), abs=1e-9)
            assert np.allclose(atoms.get_forces(), other.get_forces(), atol=1e-8)
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def test_two_concurrent_runs_never_label_twice(tmp_path, pool) -> None:
    store = tmp_path / "l.db"
    runs = [subprocess.Popen(label_cmd(pool, store, "--workers", "1"), env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    done = assert_complete_no_duplicates(store, HF, N)
    assert all(r.attempts == 1 for r in done)  # each configuration computed exactly once
    assert sum(r["done"] for r in reports) == N


def test_budget_ledger_stops_spending(tmp_path) -> None:
    command = [sys.executable, "-m", "acquire", "label", "md17:ethanol/dft", "--labeler", "md17:ethanol/dft",
               "--n", "20", "--store", str(tmp_path / "l.db"), "--json"]
    report = json.loads(subprocess.run([*command, "--budget", "300s"], env=ENV, capture_output=True, text=True).stdout)
    assert (report["done"], report["remaining"], report["budget_stopped"]) == (5, 15, True)  # 60 s each
    again = json.loads(subprocess.run([*command, "--budget", "300s"], env=ENV, capture_output=True, text=True).stdout)
    assert again["done"] == 0  # the ledger is the store's: nothing left to spend
    more = json.loads(subprocess.run([*command, "--budget", "10min"], env=ENV, capture_output=True, text=True).stdout)
    assert (more["done"], more["remaining"]) == (5, 10)


@pytest.mark.parametrize("extra, says", [
    (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["--workers", "0", "--labeler", HF], "argument --workers: expected a number of workers from 1"),
])
def test_bad_engine_exit_2_store_intact(tmp_path, pool, extra: list[str], says: str) -> None:
    store = tmp_path / "l.db"
    first = subprocess.run(label_cmd(pool, store, "--n", "2", labeler="xtb:gfn2"), env=ENV, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = [(r.id, r.status, r.get("energy")) for r in rows(store)]
    result = subprocess.run([*label_cmd(pool, store, "--n", "4", labeler="xtb:gfn2"), *extra], env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and says in result.stderr and result.stderr.count("\n") == 1
    assert [(r.id, r.status, r.get("energy")) for r in rows(store)] == before


def test_unwritable_store_exit_2(pool) -> None:
    result = subprocess.run(label_cmd(pool, Path("/proc/labels.db"), "--n", "2", labeler="xtb:gfn2"), env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr



def test_failing_label_retried_then_failed_then_retry_failed(tmp_path, pool) -> None:
    from acquire.labeling.engine import label_frames
    from acquire.labeling.executors import InlineExecutor
    from acquire.labeling.pools import read_pool
    from acquire.labeling.store import LabelStore
    from labelers import get_labeler

    store = LabelStore(tmp_path / "l.db")
    labeler = get_labeler("pyscf:hf/sto-3g;max_cycle=1")  # a real SCF that cannot converge in one cycle
    frames = read_pool(str(pool))[:2]

    def attempt(**options):
        return label_frames(store, labeler, frames, executor=InlineExecutor(), max_attempts=2, **options)

    first = attempt()
    assert (first.done, first.failed, first.retried) == (0, 2, 2)
    failed = rows(tmp_path / "l.db")
    assert all(r.status == "failed" and r.attempts == 2 and "ConvergenceError" in r.error for r in failed)
    again = attempt()
    assert (again.done, again.failed, again.retried) == (0, 0, 0)  # failed rows are left alone
    assert again.failed_in_store == 2  # ... and the rerun says they are there
    retry = attempt(retry_failed=True)
    assert retry.failed == 2 and all(r.attempts == 2 for r in rows(tmp_path / "l.db"))
