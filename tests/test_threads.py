"""One thread limit for every library of the `acquire` process (acquire.threads)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _most_threads(tmp_path, *extra: str) -> int:
    """The most threads an `acquire sample` process (xTB MD on water) had at once, run without the
    thread variables in its environment, as after a plain `pip install`."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    command = [sys.executable, "-m", "acquire.cli.main", "sample", "--molecule", "O", "--n", "20",
               "--interval", "10", "--out", str(tmp_path / "w.extxyz"), "--quiet", *extra]
    process = subprocess.Popen(command, env=env)
    watched, most = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            most = max(most, watched.num_threads())
        except psutil.Error:  # it just finished
            pass
        time.sleep(0.005)
    assert process.returncode == 0
    return most


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenMP starts one thread anyway")
def test_sample_runs_single_threaded_without_omp_num_threads(tmp_path):
    # before the limit, numpy's BLAS and tblite's OpenMP each started a thread per core (4 on 2 cores)
    assert _most_threads(tmp_path) == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to ask for")
def test_sample_threads_option_is_honoured(tmp_path):
    assert _most_threads(tmp_path, "--threads", "2") > 1


def test_thread_limit_restores_the_environment(monkeypatch):
    from acquire.threads import requested_threads, thread_limit

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert requested_threads(None) == 1
    with thread_limit(3):
        assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert requested_threads(None) == 2 and requested_threads(4) == 4
