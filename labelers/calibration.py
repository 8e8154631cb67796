"""Measured per-label costs: a JSON table of calibrations, one per (spec, molecule formula, threads
per label, host), in CPU-core seconds per label.

Two tables are read: the package's (`labelers/data/calibration.json`, if the project ships one) and
the user's (`~/.cache/asteroid-ff/calibration.json`, or the path in $ASTEROID_CALIBRATION), the
user's winning. `measure` finds the steady-state cost: warm-up labels (imports, library start-up,
first basis or grid set-up) are run and discarded, then distinct perturbed copies are labelled until
the timed part is long enough (`min_seconds`) and at least `min_repeats` long; the median is kept
with its spread. `labelers.costs.estimate` turns the table into a cost with its origin.
"""
from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from labelers.atomic_files import atomic_write_text
from labelers.base import Labeler
from labelers.errors import LabelerError

ENV_VAR = "ASTEROID_CALIBRATION"
PACKAGE_TABLE = Path(__file__).parent / "data" / "calibration.json"
FORMAT = "asteroid-ff calibration v2"
METHOD_VERSION = 2  # 1: mean of all labels, first (warm-up) label included; 2: steady state
SKIP_WARMUP_S = 60.0  # a label declared this long pays its one-off start-up in < 2 %: no warm-up label


class CalibrationError(LabelerError):
    """A calibration table that cannot be read or written, or a measurement asked wrongly."""


@dataclass(frozen=True)
class Calibration:
    """Measured steady-state cost of one labeler spec on one molecule: `seconds` is the median
    CPU-core seconds per label over `repeats` distinct perturbed copies (after `warmup` discarded
    labels), `seconds_min/max/mad` its spread; `size` is the labeler's natural size there;
    `versions` the backend's packages when measured."""

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
    threads: int = 1
    warmup: int = 0
    seconds_mad: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    method_version: int = 1

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.spec, self.formula, self.threads, host_name(self.host))

    def flags(self, packages: tuple[str, ...] = ()) -> list[str]:
        """Why this figure may not hold here: older package versions, another host, the old method."""
        notes = []
        if host_name(self.host) != this_host():
            notes.append(f"measured on another host ({host_name(self.host) or 'unknown'})")
        installed = installed_versions(packages)
        changed = [f"{p} {self.versions.get(p, '?')} -> {v}" for p, v in installed.items() if self.versions.get(p) != v]
        if changed:
            notes.append("measured with other package versions (" + ", ".join(changed) + "); recalibrate")
        if self.method_version < METHOD_VERSION:
            notes.append("old calibration (warm-up counted, no steady state); recalibrate")
        return notes


def this_host() -> str:
    """This machine's name, the host part of a calibration's key."""
    return platform.node()


def host_name(host: str) -> str:
    """'name (2 cores)' (how v1 tables wrote it) -> 'name'."""
    return host.split(" (", 1)[0]


@functools.cache
def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def installed_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed version of each package (distribution) name."""
    return {p: _version(p) for p in packages}


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


def entries_for(spec: str, threads: int = 1) -> list[Calibration]:
    """Calibrations of exactly `spec` at `threads` threads per label: the user's if any, else the package's."""
    for path in (user_table_path(), PACKAGE_TABLE):
        found = [e for e in load(path) if e.spec == spec and e.threads == threads]
        if found:
            return found
    return []


def lookup(spec: str, formula: str, path: Path | None = None, threads: int = 1) -> Calibration | None:
    """The stored calibration of `spec` on `formula` in one table (default: the user's), this host first."""
    found = [e for e in load(path or user_table_path()) if (e.spec, e.formula, e.threads) == (spec, formula, threads)]
    found.sort(key=lambda e: host_name(e.host) != this_host())
    return found[0] if found else None


def _write(entries: list[Calibration], path: Path) -> Path:
    entries = sorted(entries, key=lambda e: (e.spec, e.formula, e.threads, e.host))
    doc = {"format": FORMAT, "units": "CPU-core seconds per label", "entries": [asdict(e) for e in entries]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    except OSError as exc:
        raise CalibrationError(f"cannot write calibration table {path}: {exc}") from None
    _cache.pop(path, None)
    return path


def store(entry: Calibration, path: Path | None = None) -> Path:
    """Add `entry` to a table (default: the user's), replacing the same key; atomic."""
    path = Path(path or user_table_path())
    return _write([e for e in load(path) if e.key != entry.key] + [entry], path)


def forget(spec: str, formula: str | None = None, path: Path | None = None) -> list[Calibration]:
    """Remove the calibrations of `spec` (on `formula` only, if given) from a table; returns them."""
    path = Path(path or user_table_path())
    entries = load(path)
    gone = [e for e in entries if e.spec == spec and formula in (None, e.formula)]
    if gone:
        _write([e for e in entries if e not in gone], path)
    return gone


def perturbed_copies(atoms: Atoms, stdev: float = 0.02, seed: int = 0) -> Iterator[Atoms]:
    """Endless distinct copies of `atoms`, positions displaced by Gaussian noise of `stdev` Å."""
    rng = np.random.default_rng(seed)
    while True:
        copy = atoms.copy()
        copy.positions = atoms.positions + rng.normal(scale=stdev, size=atoms.positions.shape)
        yield copy


def distorted_copies(atoms: Atoms, count: int, stdev: float = 0.02, seed: int = 0) -> list[Atoms]:
    """`count` copies of `atoms` with positions displaced by Gaussian noise of `stdev` Å."""
    copies = perturbed_copies(atoms, stdev, seed)
    return [next(copies) for _ in range(count)]


def natural_size(labeler: Labeler, atoms: Atoms) -> float:
    """The size the labeler's cost law is written in (basis functions, atoms)."""
    size_of = getattr(labeler, "cost_size", None)
    return float(size_of(atoms)) if size_of else float(len(atoms))


def labeler_threads(labeler: Labeler) -> int:
    """Threads one label of this labeler uses (its own setting; else one, the workers' default)."""
    return int(getattr(labeler, "threads", 1))


def measure(labeler: Labeler, atoms: Atoms, min_repeats: int = 3, min_seconds: float = 1.0,
            max_repeats: int = 5000, warmup: int | None = None, stdev: float = 0.02, seed: int = 0,
            on_label: Callable[[float], None] | None = None) -> Calibration:
    """The steady-state CPU-core seconds per label of `labeler` on `atoms`, timed as this
    process's CPU time (all its threads), so that other work on the machine does not inflate it.

    `warmup` labels (default: one, none for labels declared over a minute) are run and discarded;
    then distinct perturbed copies are labelled until at least `min_repeats` are timed and they
    took `min_seconds` in all (at most `max_repeats`: enough for a sub-millisecond labeler such as
    GFN2-xTB water to fill `min_seconds`). `on_label(seconds)` follows every label.
    """
    if min_repeats < 1 or max_repeats < min_repeats:
        raise CalibrationError(f"repeats must be at least 1 (and max >= min), got {min_repeats}, {max_repeats}")
    if warmup is None:
        warmup = 0 if float(labeler.cost(atoms)) > SKIP_WARMUP_S else 1
    copies = perturbed_copies(atoms, stdev, seed)
    warmup_s = [_timed(labeler, next(copies), on_label)[0] for _ in range(warmup)]
    seconds: list[float] = []
    wall: list[float] = []
    while len(seconds) < max_repeats and (len(seconds) < min_repeats or sum(seconds) < min_seconds):
        cpu, label_s = _timed(labeler, next(copies), on_label)
        seconds.append(cpu)
        wall.append(label_s)
    median = statistics.median(seconds)
    packages = tuple(getattr(labeler, "cost_packages", ()))
    return Calibration(
        spec=labeler.spec, formula=atoms.get_chemical_formula(), size=natural_size(labeler, atoms),
        seconds=median, seconds_min=min(seconds), seconds_max=max(seconds), repeats=len(seconds),
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), host=this_host(),
        meta={"cores": os.cpu_count(), "load_average": list(os.getloadavg()), "warmup_seconds": warmup_s,
              "stdev_angstrom": stdev, "seed": seed, "timed_seconds": sum(seconds),
              "label_seconds_median": statistics.median(wall)},
        threads=labeler_threads(labeler), warmup=warmup,
        seconds_mad=statistics.median(abs(s - median) for s in seconds),
        versions=installed_versions(packages), method_version=METHOD_VERSION,
    )


def _timed(labeler: Labeler, atoms: Atoms, on_label: Callable[[float], None] | None) -> tuple[float, float]:
    """(CPU seconds of this process, the label's own CPU seconds) for one label."""
    start = time.process_time()
    label = labeler.label(atoms)
    cpu = time.process_time() - start
    if on_label is not None:
        on_label(cpu)
    return cpu, label.seconds
