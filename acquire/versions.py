"""Package versions recorded with results (labels, comparisons, MD studies)."""
from __future__ import annotations

import platform
import sys
from collections.abc import Iterable
from importlib import metadata


def versions(packages: Iterable[str] = (), loaded: Iterable[str] = ()) -> dict[str, str]:
    """Python's version and the installed version of each distribution in `packages` (left out if
    not installed); of `loaded`, only the ones this process has imported (what it actually used)."""
    found = {"python": platform.python_version()}
    wanted = [*packages, *(name for name in loaded if name in sys.modules)]
    for package in wanted:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found
