"""Measured per-label costs: a JSON table of (spec, molecule formula) -> seconds per label.

Two tables are read: the package's (`labelers/data/calibration.json`, measured by the project on a
2-core machine) and the user's (`~/.cache/asteroid-ff/calibration.json`, or the path in the
ASTEROID_CALIBRATION environment variable), the user's winning for any spec it holds. `measure`
labels K distorted copies of a molecule and `store` writes the result; backends' `cost()` then use it
through `labelers.costs.declared_seconds`.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ase import Atoms

from labelers.base import Labeler
from labelers.errors import LabelerError

ENV_VAR = "ASTEROID_CALIBRATION"
PACKAGE_TABLE = Path(__file__).parent / "data" / "calibration.json"
FORMAT = "asteroid-ff calibration v1"


class CalibrationError(LabelerError):
    """A calibration table that cannot be read or written."""


@dataclass(frozen=True)
class Calibration:
    """Measured cost of one labeler spec on one molecule: `seconds` is the median CPU-core seconds
    per label over `repeats` distorted copies; `size` is the labeler's natural size there."""

    spec: str
    formula: str
    size: float
    seconds: float
    seconds_min: float
    seconds_max: float
    repeats: int
    measured_at: str = ""
    host: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def user_table_path() -> Path:
    """The user's table: $ASTEROID_CALIBRATION, else ~/.cache/asteroid-ff/calibration.json."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "asteroid-ff" / "calibration.json"


_cache: dict[Path, tuple[float, list[Calibration]]] = {}


def load(path: Path) -> list[Calibration]:
    """Entries of one table (empty if the file does not exist); re-read only when it changed."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return []
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        doc = json.loads(path.read_text())
        entries = [Calibration(**e) for e in doc["entries"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(f"calibration table {path} is unreadable ({exc}); delete or fix it") from None
    _cache[path] = (mtime, entries)
    return entries


def anchors_for(spec: str) -> tuple[tuple[float, float], ...]:
    """(size, seconds) points measured for exactly `spec`: the user's if any, else the package's."""
    for path in (user_table_path(), PACKAGE_TABLE):
        points = tuple((e.size, e.seconds) for e in load(path) if e.spec == spec)
        if points:
            return points
    return ()


def lookup(spec: str, formula: str, path: Path | None = None) -> Calibration | None:
    """The stored calibration of `spec` on `formula` in one table (default: the user's)."""
    for entry in load(path or user_table_path()):
        if entry.spec == spec and entry.formula == formula:
            return entry
    return None


def store(entry: Calibration, path: Path | None = None) -> Path:
    """Add `entry` to a table (default: the user's), replacing the same (spec, formula); atomic."""
    path = Path(path or user_table_path())
    kept = [e for e in load(path) if (e.spec, e.formula) != (entry.spec, entry.formula)]
    kept.append(entry)
    kept.sort(key=lambda e: (e.spec, e.formula))
    doc = {"format": FORMAT, "units": "CPU-core seconds per label", "entries": [asdict(e) for e in kept]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise CalibrationError(f"cannot write calibration table {path}: {exc}") from None
    _cache.pop(path, None)
    return path


def distorted_copies(atoms: Atoms, count: int, stdev: float = 0.02, seed: int = 0) -> list[Atoms]:
    """`count` copies of `atoms` with positions displaced by Gaussian noise of `stdev` Å."""
    rng = np.random.default_rng(seed)
    copies = []
    for _ in range(count):
        copy = atoms.copy()
        copy.positions = atoms.positions + rng.normal(scale=stdev, size=atoms.positions.shape)
        copies.append(copy)
    return copies


def natural_size(labeler: Labeler, atoms: Atoms) -> float:
    """The size the labeler's cost law is written in (basis functions, atoms)."""
    size_of = getattr(labeler, "cost_size", None)
    return float(size_of(atoms)) if size_of else float(len(atoms))


def measure(labeler: Labeler, atoms: Atoms, repeats: int = 3, stdev: float = 0.02, seed: int = 0,
            on_label: Callable[[float], None] | None = None) -> Calibration:
    """Label `repeats` distorted copies of `atoms` and summarise the CPU-core seconds per label.

    The median is kept, so a one-off set-up in the first label (e.g. force-field parametrisation)
    does not count as a per-label cost once repeats >= 3. `on_label(seconds)` is called after each.
    """
    if repeats < 1:
        raise CalibrationError(f"repeats must be at least 1, got {repeats}")
    seconds = []
    for copy in distorted_copies(atoms, repeats, stdev, seed):
        seconds.append(labeler.label(copy).seconds)
        if on_label is not None:
            on_label(seconds[-1])
    return Calibration(
        spec=labeler.spec,
        formula=atoms.get_chemical_formula(),
        size=natural_size(labeler, atoms),
        seconds=statistics.median(seconds),
        seconds_min=min(seconds),
        seconds_max=max(seconds),
        repeats=repeats,
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        host=f"{platform.node()} ({os.cpu_count()} cores)",
        meta={"all_seconds": seconds, "stdev_angstrom": stdev, "seed": seed},
    )
