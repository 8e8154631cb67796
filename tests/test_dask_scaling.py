"""Dask: a worker that joins a running labeling run gets tasks (tasks in flight follow the cluster's
size), and a scheduler file locates the cluster. Deterministic: the run blocks in its progress
hook until the second worker has joined; no sleeps."""
from __future__ import annotations

import json

import pytest

from acquire.labeling.engine import label_frames
from acquire.labeling.executors import DaskExecutor
from acquire.labeling.store import LabelStore
from labelers import get_labeler

distributed = pytest.importorskip("distributed")


def test_a_worker_that_joins_mid_run_computes_labels(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(DaskExecutor, "SLOTS_REFRESH_S", 0.0)  # re-read the cluster's size every round
    labeler = get_labeler("md17:ethanol/dft")
    frames = labeler.frames()[:300]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        scheduler_file = tmp_path / "scheduler.json"
        scheduler_file.write_text(json.dumps({"address": cluster.scheduler_address}))
        executor = DaskExecutor(f"file:{scheduler_file}")
        assert executor.slots == 2
        first = set(client.nthreads())
        joined: list[int] = []

        def grow(report, eta_s: float) -> None:  # on the first progress report: add a worker, wait for it
            if not joined:
                joined.append(report.done)
                cluster.scale(2)
                client.wait_for_workers(2, timeout=120)

        store = LabelStore(tmp_path / "labels.db")
        try:
            report = label_frames(store, labeler, frames, executor=executor, progress=grow)
            assert executor.slots == 4  # two per worker thread, after the join
        finally:
            executor.close()
        counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert report.done == 300 and report.failed == 0
    assert joined and joined[0] < 300
    second = [address for address in counts if address not in first]
    assert len(second) == 1 and counts[second[0]] > 0, counts
    assert sum(counts.values()) == 300


def test_scheduler_file_that_does_not_exist_is_one_line(tmp_path, capsys) -> None:
    from acquire.cli.main import main

    code = main(["label", "md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--n", "2",
                 "--store", str(tmp_path / "l.db"), "--scheduler-file", str(tmp_path / "none.json")])
    assert code == 2
    assert "none.json" in capsys.readouterr().err
    assert not (tmp_path / "l.db").exists()
