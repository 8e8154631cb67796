"""Where labels are computed: in this process, a local process pool, or a Dask cluster.

Every executor offers `submit(spec, atoms) -> concurrent.futures.Future` whose result is a
`Label` or a `LabelFailure` (a labeler error caught where it happened, with the seconds it cost), and
`slots` (how many tasks to keep in flight now; Dask's follows the cluster's size). Workers only compute; they never touch the store.
A worker process that dies makes its futures raise (`BrokenProcessPool`, Dask's `KilledWorker`);
the engine retries those without counting them as attempts (`LabelStore.lost`).
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from ase import Atoms

from acquire.errors import AcquireError
from acquire.threads import THREAD_VARIABLES
from labelers.base import Label


class EngineError(AcquireError):
    """The execution engine cannot start (bad worker count, unreachable scheduler, ...)."""


@dataclass(frozen=True)
class LabelFailure:
    """A label that could not be computed: the error's one-line message and the seconds it took;
    `final` when computing it again would give the same result (a label that is not physical)."""

    error: str
    seconds: float
    final: bool = False


_LABELERS: dict = {}
def compute(spec: str, atoms: Atoms) -> Label | LabelFailure:
    """Label `atoms` with `spec` (runs in a worker); failures are returned, never raised."""
    from acquire.labeling.physical import label_problem
    from labelers import get_labeler
    from labelers.errors import NonFiniteLabelError
    from train.allocator import keep_freed_memory

    keep_freed_memory()  # PySCF's large arrays reused, not page-faulted in again (costs.md, run 7)
    start = time.perf_counter()
    try:
        labeler = _LABELERS.get(spec)
        if labeler is None:
            labeler = _LABELERS[spec] = get_labeler(spec)
        label = labeler.label(atoms)
    except NonFiniteLabelError as exc:
        return LabelFailure(f"not physical: {exc}", time.perf_counter() - start, final=True)
    except Exception as exc:  # noqa: BLE001 - a labeler error, or a backend bug: recorded on the row, retried
        message = (str(exc).splitlines() or [""])[0]
        return LabelFailure(f"{type(exc).__name__}: {message}", time.perf_counter() - start)
    problem = label_problem(label)
    return label if problem is None else LabelFailure(f"not physical: {problem}", label.seconds, final=True)


class Executor(Protocol):
    name: str
    slots: int

    def submit(self, spec: str, atoms: Atoms) -> Future: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Computes in the coordinator: right for cached labels, which take microseconds."""

    name = "inline"

    def __init__(self, slots: int = 256) -> None:
        self.slots = slots

    def submit(self, spec: str, atoms: Atoms) -> Future:
        future: Future = Future()
        future.set_result(compute(spec, atoms))
        return future

    def restart(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of worker processes on this machine, `threads` OpenMP/BLAS threads each."""

    name = "local"

    def __init__(self, workers: int, threads: int = 1) -> None:
        if workers < 1:
            raise EngineError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.slots = workers
        self._saved_env = {v: os.environ.get(v) for v in THREAD_VARIABLES}
        for variable in THREAD_VARIABLES:  # spawned workers inherit these before importing numpy
            os.environ[variable] = str(threads)
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing

        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, spec: str, atoms: Atoms) -> Future:
        return self._pool.submit(compute, spec, atoms)

    def restart(self) -> None:
        """A worker died: the pool is broken; start a fresh one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for variable, value in self._saved_env.items():  # the coordinator keeps its own settings
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


class DaskExecutor:
    """Tasks on a Dask distributed cluster (`dask scheduler` + `dask worker --nthreads 1`).

    `address` is tcp://HOST:PORT or `file:PATH`, a scheduler file (`dask scheduler
    --scheduler-file`, dask-jobqueue). `slots` follows the cluster's current thread count
    (re-read at most every `SLOTS_REFRESH_S`), so workers that join mid-run get tasks."""

    name = "dask"
    SLOTS_REFRESH_S = 2.0
    # no worker at all for this long while labels wait: an error, not a silent wait. A worker that
    # crashed restarts in seconds and a batch job's workers join within minutes of the job starting;
    # ten minutes with none means none is coming, and a rerun later continues where this one stopped.
    NO_WORKERS_S = 600.0

    def __init__(self, address: str, timeout_s: float = 5.0) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise EngineError("--scheduler needs dask distributed: pip install 'dask[distributed]'") from exc
        scheduler_file = address[len("file:"):] if address.startswith("file:") else None
        if scheduler_file is None:
            _reachable(address, timeout_s)
        try:
            if scheduler_file is not None:
                self._client = Client(scheduler_file=scheduler_file, timeout=f"{timeout_s}s", set_as_default=False)
            else:
                self._client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {address}: {exc}".splitlines()[0]) from exc
        self._address = address
        # the client's reconnect log lines would break the one-line error this executor raises instead
        self._client_log = logging.getLogger("distributed.client")
        self._log_level = self._client_log.level
        self._client_log.setLevel(logging.CRITICAL)
        self._executor = self._client.get_executor(pure=False)
        self._slots, self._read_at = 2, -float("inf")
        self._workers_seen_at = time.monotonic()

    @property
    def slots(self) -> int:
        """Two tasks per worker thread now in the cluster (one queued behind each running task
        hides the round trip); at least 2. Raises EngineError when the scheduler is lost or no worker
        joined for NO_WORKERS_S."""
        if time.monotonic() - self._read_at >= self.SLOTS_REFRESH_S:
            threads = self._threads()
            now = time.monotonic()
            if threads:
                self._workers_seen_at = now
            elif now - self._workers_seen_at > self.NO_WORKERS_S:
                raise EngineError(f"no Dask worker at {self._address} for {self.NO_WORKERS_S:g} s; start workers "
                                  f"(dask worker {self._address}) and rerun: everything already stored is kept")
            self._slots = max(2 * threads, 2)
            self._read_at = now
        return self._slots

    def _threads(self) -> int:
        """Worker threads in the cluster now; EngineError when the scheduler is gone."""
        lost = EngineError(f"lost the Dask scheduler at {self._address}; everything already stored is kept: "
                           "rerun the same command when it is back")
        if self._client.status not in ("running", "connecting", "newly-created"):
            raise lost
        try:
            return sum(self._client.nthreads().values())
        except (OSError, TimeoutError) as exc:  # distributed's CommClosedError is an OSError
            raise lost from exc

    def submit(self, spec: str, atoms: Atoms) -> Future:
        return self._executor.submit(compute, spec, atoms)

    def restart(self) -> None:
        pass  # the scheduler reschedules; nothing to rebuild here

    def close(self) -> None:
        try:
            self._client.close(timeout=5)
        except (OSError, TimeoutError):  # the scheduler is already gone
            pass
        finally:
            self._client_log.setLevel(self._log_level)


def _reachable(address: str, timeout_s: float) -> None:
    """Fail fast (EngineError) when nothing listens at a tcp:// scheduler address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return  # tls://, inproc://, ...: left to Dask
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise EngineError(f"--scheduler {address}: give the scheduler as tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise EngineError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from exc


def make_executor(workers: int | None, scheduler: str | None, inline: bool, threads: int = 1) -> Executor:
    """Dask if a scheduler is given, else in-process for instant labelers, else a local pool
    (default: one single-threaded worker per core)."""
    if workers is not None and workers < 1:
        raise EngineError(f"--workers must be at least 1, got {workers}")
    if scheduler:
        return DaskExecutor(scheduler)
    if inline and not workers:
        return InlineExecutor()
    return LocalExecutor(workers or os.cpu_count() or 1, threads)
