"""One thread limit for every library the `acquire` process runs: OpenMP (tblite, PySCF, torch),
BLAS (numpy, PySCF) and torch's own pool.

Without a limit, OpenMP and BLAS start one thread per core in each of them; in the main process
(sampling, labeling inline, training) they then fight each other and every other process on the
machine (xTB sampling ran 16x slower wall-clock on a loaded machine). The limit is set once, by
`acquire.cli.main` before a command runs: through the environment for libraries not loaded yet
(they read it when they start), through `threadpoolctl` for those already loaded, and through
`torch.set_num_threads` when torch is loaded. Everything is restored afterwards, so a command run
in-process (tests) leaves the caller's settings as they were.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def requested_threads(threads: int | None) -> int:
    """The command's `--threads` when it has one, else the user's OMP_NUM_THREADS, else 1."""
    if threads is not None:
        return max(int(threads), 1)
    try:
        return max(int(os.environ.get("OMP_NUM_THREADS", "1")), 1)
    except ValueError:
        return 1


@contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Every thread pool of this process limited to `threads` while the block runs."""
    from threadpoolctl import threadpool_limits

    saved_env = {variable: os.environ.get(variable) for variable in THREAD_VARIABLES}
    for variable in THREAD_VARIABLES:  # libraries loaded later (tblite, torch, PySCF's OpenMP) read these
        os.environ[variable] = str(threads)
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    try:
        with threadpool_limits(limits=threads):  # libraries already loaded (numpy's BLAS, OpenMP)
            yield
    finally:
        if torch_before is not None:
            torch.set_num_threads(torch_before)
        for variable, value in saved_env.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
