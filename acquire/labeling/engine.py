"""The labeling coordinator: queue configurations in the store, claim them, farm them out to an
executor, and commit each result as it arrives.

Guarantees (see `acquire.labeling.store` for how): a configuration already labelled by a labeler is never
labelled again by it; a killed run loses only what was in flight, and rerunning the same command
continues; a failed label is retried up to `max_attempts` times, then recorded as failed with its
error (`retry_failed=True` tries those again), and a label that is not physical is failed at once; an
attempt that ended because its run or worker was killed is not counted; a budget ledger (CPU-core seconds spent in the whole
store) stops claiming work that would exceed `budget_s`. The ledger charges measured CPU-core
seconds, or with `charge_declared` the labelers' declared costs (what a plan is made of, so that
`acquire run` buys exactly its plan; then a failed attempt costs its declared cost too).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

from ase import Atoms

from acquire.labeling.executors import EngineError, Executor, LabelFailure, make_executor
from acquire.labeling.physical import first_bad_frame
from acquire.labeling.store import LEASE_S, LabelStore, Task, new_owner
from labelers.base import Label, Labeler

MAX_ATTEMPTS = 3
POLL_S = 1.0  # longest wait for a result before housekeeping (lease renewal, progress)
WINDOW_S = 5.0  # claim about this many seconds of declared work ahead, so cheap labels come in batches
MAX_WINDOW = 256  # ... but never more labels in flight than this
BATCH_S = 0.25  # labels cheaper than this are committed in batches gathered over this long


@dataclass
class RunReport:
    """What one labeling run did; `cost_s` is CPU-core seconds spent by this run."""

    spec: str
    requested: int
    already_done: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    stale: int = 0  # results dropped: this run's claim had expired and another run held the row
    cost_s: float = 0.0
    remaining: int = 0  # targets neither done nor failed at the end (budget stop, held by another run)
    failed_in_store: int = 0  # targets recorded as failed at the end, by this run or earlier ones
    lost: int = 0  # attempts ended by a dead worker (not counted as attempts)
    budget_stopped: bool = False
    executor: str = ""
    wall_s: float = 0.0


ProgressHook = Callable[[RunReport, float], None]  # (report so far, estimated seconds left)


def label_frames(
    store: LabelStore,
    labeler: Labeler,
    frames: list[Atoms],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    threads: int = 1,
    max_attempts: int = MAX_ATTEMPTS,
    retry_failed: bool = False,
    budget_s: float | None = None,
    progress: ProgressHook | None = None,
    executor: Executor | None = None,
    charge_declared: bool = False,
    declared_s: float | None = None,
) -> RunReport:
    """Label `frames` with `labeler` into `store`, resumably (module docstring). `declared_s`: the
    cost per label to schedule and (with `charge_declared`) charge by; default the labeler's own."""
    start = time.time()
    bad = first_bad_frame(frames)  # before the store or any labeler is touched
    if bad is not None:
        raise EngineError(f"configuration {bad[0]} to label: {bad[1]}; no label was computed")
    is_cached = hasattr(labeler, "frames")
    own_executor = executor is None  # started before the store is touched: a bad engine changes nothing
    executor = executor or make_executor(workers, scheduler, inline=is_cached, threads=threads)
    try:
        unit_cost = declared_s if declared_s is not None else (labeler.cost(frames[0]) if frames else 0.0)
        return _run(store, labeler, frames, executor, max_attempts, retry_failed, budget_s, progress,
                    charge_declared, start, unit_cost)
    finally:
        if own_executor:
            executor.close()


def _run(store: LabelStore, labeler: Labeler, frames: list[Atoms], executor: Executor, max_attempts: int,
         retry_failed: bool, budget_s: float | None, progress: ProgressHook | None, charge_declared: bool,
         start: float, unit_cost: float) -> RunReport:
    spec = labeler.spec
    targets = set(store.add(frames, spec))
    if retry_failed:
        store.retry_failed(spec, targets)
    statuses = store.statuses(spec)
    report = RunReport(spec, len(targets), already_done=sum(statuses.get(h) == "done" for h in targets))
    ledger = _Ledger(budget_s, store.spent_s(declared=charge_declared), charge_declared)
    report.executor = executor.name
    owner = new_owner()
    in_flight: dict[Future, tuple[Task, float]] = {}
    last_renew = time.time()
    try:
        while True:
            slots = executor.slots  # a Dask cluster may have grown or shrunk since the last round
            window = max(slots, min(MAX_WINDOW, int(WINDOW_S * slots / max(unit_cost, 1e-9))))
            room = ledger.affordable(unit_cost, window - len(in_flight)) if len(in_flight) <= window // 2 else 0
            for task in store.claim(spec, room, owner, among=targets, declared_s=unit_cost) if room > 0 else []:
                ledger.reserve(unit_cost)
                in_flight[executor.submit(spec, task.atoms)] = (task, time.time())
            if not in_flight:
                break
            finished, _ = wait(list(in_flight), timeout=POLL_S, return_when=FIRST_COMPLETED)
            if finished and unit_cost < BATCH_S and len(finished) < len(in_flight):
                time.sleep(BATCH_S)  # cheap labels: one transaction per batch, not per label
                finished = {f for f in in_flight if f.done()}
            broken = executor.name == "local" and any(_worker_died(f) for f in finished)
            if broken:  # a dead worker breaks a local pool: every task in it fails; collect them all
                finished, _ = wait(list(in_flight), timeout=60)
            _collect(store, owner, {f: in_flight.pop(f) for f in finished}, report, ledger, max_attempts, unit_cost)
            if broken:
                executor.restart()
            if time.time() - last_renew > LEASE_S / 4:
                store.renew(owner)
                last_renew = time.time()
            if progress is not None:
                progress(report, _eta(report, start))
    finally:
        salvaged = {f: in_flight.pop(f) for f in list(in_flight) if f.done() and not f.cancelled() and not _worker_died(f)}
        if salvaged:  # interrupted: results already computed are paid for, keep them
            _collect(store, owner, salvaged, report, ledger, max_attempts, unit_cost)
        store.release(owner)  # whatever is still ours goes back to pending
    statuses = store.statuses(spec)
    report.remaining = sum(statuses.get(h) not in ("done", "failed") for h in targets)
    report.failed_in_store = sum(statuses.get(h) == "failed" for h in targets)
    report.budget_stopped = report.remaining > 0 and ledger.affordable(unit_cost, 1) == 0
    report.wall_s = time.time() - start
    return report


class _Ledger:
    """CPU-core seconds spent in the store, plus the declared cost of labels in flight."""

    def __init__(self, budget_s: float | None, spent_s: float, charge_declared: bool = False) -> None:
        self.budget_s = budget_s
        self.spent_s = spent_s
        self.reserved_s = 0.0
        self.charge_declared = charge_declared

    def affordable(self, unit_cost: float, wanted: int) -> int:
        if self.budget_s is None or unit_cost <= 0 or wanted <= 0:
            return max(wanted, 0)
        left = self.budget_s - self.spent_s - self.reserved_s
        return max(0, min(wanted, int(left / unit_cost + 1e-6)))

    def reserve(self, unit_cost: float) -> None:
        self.reserved_s += unit_cost

    def settle(self, unit_cost: float, measured_s: float) -> None:
        self.reserved_s -= unit_cost
        self.spent_s += unit_cost if self.charge_declared else measured_s


def _worker_died(future: Future) -> bool:
    """The future failed because its worker process died (not because its label failed)."""
    return future.done() and not future.cancelled() and future.exception() is not None


def _collect(store: LabelStore, owner: str, finished: dict[Future, tuple[Task, float]],
             report: RunReport, ledger: _Ledger, max_attempts: int, unit_cost: float) -> None:
    """Commit finished labels in one transaction; record failures (retry or fail)."""
    labels: list[tuple[Task, Label, float]] = []
    for future, (task, submitted) in finished.items():
        if future.cancelled() or future.exception() is not None:  # worker died (BrokenProcessPool, KilledWorker)
            # cost unknown: charge the time since submission, an upper bound (the ledger errs safe)
            seconds = time.time() - submitted
            ledger.settle(unit_cost, seconds)
            report.cost_s += seconds
            report.lost += 1
            _count(report, store.lost(task, owner, seconds))
            continue
        outcome: Label | LabelFailure = future.result()
        ledger.settle(unit_cost, outcome.seconds)
        report.cost_s += outcome.seconds
        if isinstance(outcome, Label):
            labels.append((task, outcome, unit_cost))
        else:
            _count(report, store.fail(task, outcome.error, owner, outcome.seconds, max_attempts, final=outcome.final))
    commit = store.finish(labels, owner)
    report.done += commit.written
    report.stale += commit.stale


def _count(report: RunReport, outcome: str) -> None:
    """A failed or lost attempt's outcome in the report."""
    if outcome == "failed":
        report.failed += 1
    elif outcome == "pending":
        report.retried += 1
    elif outcome == "stale":
        report.stale += 1


def _eta(report: RunReport, start: float) -> float:
    finished = report.done + report.failed
    left = report.requested - report.already_done - finished
    if finished == 0 or left <= 0:
        return 0.0
    return (time.time() - start) / finished * left
