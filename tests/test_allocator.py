"""`train.allocator`: after `keep_freed_memory()`, freeing and re-allocating blocks of a few MB
reuses the process's memory instead of page-faulting fresh pages in (what slowed the training step)."""
from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from train.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_without_page_faults() -> None:
    assert keep_freed_memory() is True
    def churn() -> None:  # blocks of several sizes (1-8 MB) held at once and freed, like a training step's tensors
        blocks = [np.ones((mb << 20) // 8) for mb in (2, 6, 3, 8, 1, 5)]
        del blocks

    churn()  # the heap grows once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        churn()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 500, f"{faults} page faults for reused blocks (about 36000 with glibc's default settings)"
