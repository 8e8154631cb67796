"""Keep freed memory in the process (glibc's malloc) instead of handing it back to the kernel.

A training step allocates and frees hundreds of tensors of a few MB. By default glibc serves blocks
above its (adaptive) mmap threshold with fresh pages and returns them when freed, so every step
page-faults its working set in again: on the project's 2-core VM a PaiNN step at batch 32 spent
~9000 page faults and a fifth of its time in the kernel, and ran 1.4x slower than with the memory
kept (`benchmarks/results/train_experiments.md`, 2026-12-04). PySCF labels lose their kernel time
too (PBE/def2-SVP 1.19x less CPU per label; CCSD(T) 2.5 s less system time per label, the total
within the noise of a loaded machine: `benchmarks/results/costs.md`, run 7). Numerics do not
change. No-op where the C library has no `mallopt` (macOS, musl).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
TRIM_THRESHOLD = 1 << 30  # free memory kept at the top of the heap before any is returned
TOP_PAD = 64 << 20  # extra heap asked for at once, so growing it page-faults less often


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Set glibc's malloc to serve every block from its heap (no mmap) and keep what is freed for
    reuse, once per process; True if it took effect."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(option, value) == 1 for option, value in (
        (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD)))
