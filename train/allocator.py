"""Keep freed memory in the process (glibc's malloc) instead of handing it back to the kernel.

A training step allocates and frees hundreds of tensors of a few MB. By default glibc serves blocks
above its (adaptive) mmap threshold with fresh pages and returns them when freed, so every step
page-faults its working set in again and spends a large share of its time in the kernel; PySCF
labels lose that kernel time too. Keeping the memory makes PaiNN steps about 1.3x and PBE labels
about 1.2x faster on the project's machine (docs/architecture.md, "Memory"; docs/results.md). Numerics
do not change. No-op where the C library has no `mallopt` (macOS, musl).
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
