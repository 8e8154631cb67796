"""acquire.labeling.store: one row per (configuration, labeler), readable with plain ASE, never duplicated."""
from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from ase.db import connect

from acquire.errors import StoreError
from acquire.labeling.store import Commit, LabelStore, config_hash, new_owner
from labelers import get_labeler

SPEC = "md17:ethanol/dft"


@pytest.fixture(scope="module")
def labeler():
    return get_labeler(SPEC)


def test_config_hash_rounding_and_identity(labeler) -> None:
    a, b = labeler.frames()[0], labeler.frames()[1]
    assert config_hash(a) != config_hash(b)
    nudged = a.copy()
    nudged.positions += 1e-8
    assert config_hash(nudged) == config_hash(a)
    nudged.positions[0, 0] += 1e-4
    assert config_hash(nudged) != config_hash(a)
    charged = a.copy()
    charged.info["charge"] = 1
    assert config_hash(charged) != config_hash(a)


def test_done_rows_read_back_with_plain_ase(tmp_path, labeler) -> None:
    store = LabelStore(tmp_path / "l.db")
    frames = labeler.frames()[:5]
    store.add(frames, SPEC)
    owner = new_owner()
    tasks = store.claim(SPEC, 10, owner)
    assert len(tasks) == 5
    assert store.finish([(t, labeler.label(t.atoms), 60.0) for t in tasks], owner).written == 5
    rows = list(connect(str(tmp_path / "l.db")).select(labeler=SPEC, status="done"))
    assert len(rows) == 5
    for row in rows:
        atoms = row.toatoms()
        index = labeler.find(atoms)
        assert atoms.get_potential_energy() == pytest.approx(labeler.data.energies[index])
        assert np.allclose(atoms.get_forces(), labeler.data.forces[index])
        assert row.cost_s == 60.0 and row.attempts == 1 and row.config_hash == config_hash(atoms)
    arrays = store.arrays(SPEC)
    assert arrays.positions.shape == (5, 9, 3) and arrays.energies.shape == (5,)
    assert store.counts()[SPEC].done == 5 and store.spent_s() == 300.0


def test_add_twice_and_finish_twice_never_duplicate(tmp_path, labeler) -> None:
    store = LabelStore(tmp_path / "l.db")
    frames = labeler.frames()[:6]
    store.add(frames, SPEC)
    store.add(frames + frames[:2], SPEC)
    assert store.counts()[SPEC].total == 6
    owner = new_owner()
    tasks = store.claim(SPEC, 3, owner)
    assert store.claim(SPEC, 10, new_owner(), among={t.config_hash for t in tasks}) == []  # held, owner alive
    results = [(t, labeler.label(t.atoms), 60.0) for t in tasks]
    store.finish(results, owner)
    assert store.finish(results, owner).written == 0  # a done label is never overwritten
    assert store.counts()[SPEC].done == 3 and store.counts()[SPEC].total == 6


def test_failures_retry_then_fail_then_retry_failed(tmp_path, labeler) -> None:
    store = LabelStore(tmp_path / "l.db")
    store.add(labeler.frames()[:1], SPEC)
    owner = new_owner()
    for attempt, expected in ((1, "pending"), (2, "failed")):
        (task,) = store.claim(SPEC, 1, owner)
        assert task.attempts == attempt
        assert store.fail(task, "ConvergenceError: SCF not converged", owner, 2.5, max_attempts=2) == expected
    assert store.claim(SPEC, 1, owner) == []
    row = next(connect(str(tmp_path / "l.db")).select(labeler=SPEC))
    assert row.status == "failed" and "SCF" in row.error and row.cost_s == 5.0
    assert store.retry_failed(SPEC) == 1
    assert len(store.claim(SPEC, 1, owner)) == 1


def test_dead_owner_rows_are_reclaimed(tmp_path, labeler) -> None:
    store = LabelStore(tmp_path / "l.db")
    store.add(labeler.frames()[:2], SPEC)
    process = multiprocessing.get_context("spawn").Process(target=_claim_all, args=(str(tmp_path / "l.db"),))
    process.start()
    process.join()
    assert store.counts()[SPEC].running == 2
    reclaimed = store.claim(SPEC, 5, new_owner())
    assert len(reclaimed) == 2  # the claimer is dead: its rows come back
    assert all(task.attempts == 1 for task in reclaimed)  # ... and its killed try is not counted again


def _claim_all(path: str) -> None:
    LabelStore(path).claim(SPEC, 10, new_owner())


def _reclaim_then_finish(path: str, claimed, go, committed) -> None:
    """Run B: claim the rows whose lease expired, report them, wait for `go`, then commit its labels."""
    store, owner, labeler = LabelStore(path), new_owner(), get_labeler(SPEC)
    tasks = store.claim(SPEC, 10, owner)
    claimed.put(sorted(t.row_id for t in tasks))
    go.wait(timeout=60)
    committed.put(store.finish([(t, labeler.label(t.atoms), 1.0) for t in tasks], owner).written)


def test_a_stale_claim_neither_writes_nor_resets_a_row(tmp_path, labeler) -> None:
    """Run A's lease expires (as if paused) and run B claims its rows: A's late result and A's late
    failure are dropped and counted (their CPU time charged); B's labels are the ones committed."""
    import dataclasses

    path = str(tmp_path / "l.db")
    store = LabelStore(path)
    store.add(labeler.frames()[:2], SPEC)
    a = new_owner()
    first, second = store.claim(SPEC, 2, a, lease_s=-1.0)  # A's claim has already expired
    context = multiprocessing.get_context("spawn")
    claimed, go, committed = context.Queue(), context.Event(), context.Queue()
    b = context.Process(target=_reclaim_then_finish, args=(path, claimed, go, committed))
    b.start()
    try:
        assert claimed.get(timeout=60) == sorted([first.row_id, second.row_id])  # B holds both rows now
        late = labeler.label(first.atoms)
        wrong = dataclasses.replace(late, energy=late.energy + 1.0, seconds=7.0)
        assert store.finish([(first, wrong, 1.0)], a) == Commit(written=0, stale=1)
        assert store.fail(second, "ConvergenceError: late", a, 3.0, max_attempts=1) == "stale"
        held = {r.id: r for r in connect(path).select(labeler=SPEC)}
        assert [held[t.row_id].status for t in (first, second)] == ["running", "running"]
        assert held[first.row_id].owner != a and held[first.row_id].cost_s == 7.0
        assert held[second.row_id].cost_s == 3.0 and held[second.row_id].error == "none"
    finally:
        go.set()
        b.join(timeout=60)
    assert committed.get(timeout=60) == 2
    done = {r.id: r for r in connect(path).select(labeler=SPEC, status="done")}
    assert done[first.row_id].toatoms().get_potential_energy() == pytest.approx(late.energy)  # B's label
    assert done[first.row_id].cost_s >= 7.0  # A's CPU time stays charged


def _claim_loop(path: str, queue) -> None:
    store, owner, mine = LabelStore(path), new_owner(), []
    while tasks := store.claim(SPEC, 3, owner):
        mine += [t.row_id for t in tasks]
    queue.put(mine)


def test_concurrent_claims_never_overlap(tmp_path, labeler) -> None:
    path = str(tmp_path / "l.db")
    LabelStore(path).add(labeler.frames()[:60], SPEC)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_claim_loop, args=(path, queue)) for _ in range(3)]
    for w in workers:
        w.start()
    claimed = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join()
    everything = [i for part in claimed for i in part]
    assert sorted(everything) == sorted(set(everything)) and len(everything) == 60


def _open_at(path: str, barrier, queue) -> None:
    barrier.wait()
    try:
        LabelStore(path)
        queue.put("ok")
    except StoreError as exc:
        queue.put(str(exc))


def test_many_processes_creating_one_store_at_once(tmp_path) -> None:
    """ASE checks-then-creates its tables; the store must make that one transaction (a CI race)."""
    context = multiprocessing.get_context("fork")
    for attempt in range(5):
        path = str(tmp_path / f"new{attempt}.db")
        barrier, queue = context.Barrier(6), context.Queue()
        openers = [context.Process(target=_open_at, args=(path, barrier, queue)) for _ in range(6)]
        for p in openers:
            p.start()
        outcomes = [queue.get(timeout=60) for _ in openers]
        for p in openers:
            p.join()
        assert outcomes == ["ok"] * 6


def test_unique_index_refuses_a_duplicate_slot(tmp_path, labeler) -> None:
    import sqlite3

    store = LabelStore(tmp_path / "l.db")
    store.add(labeler.frames()[:1], SPEC)
    digest = config_hash(labeler.frames()[0])
    with pytest.raises(sqlite3.IntegrityError):
        with connect(str(tmp_path / "l.db")) as db:
            db.write(labeler.frames()[0], labeler=SPEC, config_hash=digest, slot=f"{SPEC}|{digest}", status="pending")


def test_bad_store_paths(tmp_path) -> None:
    (tmp_path / "junk.db").write_text("not a database")
    for path in (tmp_path / "junk.db", tmp_path / "missing" / "l.db", tmp_path / "l.sqlite"):
        with pytest.raises(StoreError):
            LabelStore(path)
    with pytest.raises(StoreError):
        LabelStore(tmp_path / "absent.db", create=False)
    with pytest.raises(StoreError, match="no done labels"):
        LabelStore(tmp_path / "empty.db").arrays(SPEC)


def test_charge_and_spin_travel_with_the_configuration(tmp_path, labeler) -> None:
    store = LabelStore(tmp_path / "l.db")
    cation = labeler.frames()[0]
    cation.info.update(charge=1, spin=1)
    store.add([cation, labeler.frames()[0]], SPEC)
    tasks = store.claim(SPEC, 5, new_owner())
    assert len(tasks) == 2  # a charged copy is another configuration
    assert sorted(t.atoms.info.get("charge", 0) for t in tasks) == [0, 1]
    assert [t.atoms.info.get("spin") for t in tasks if t.atoms.info.get("charge")] == [1]
