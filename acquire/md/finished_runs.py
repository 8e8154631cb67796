"""Finished MD runs on disk, so that an interrupted `acquire md` resumes where it stopped.

One JSON file per run, `OUT/runs/MODEL/dtSTEPfs/runNNN.json`, holding the run's result and the key
it is valid for: the run's settings (time step included), seed, model source (and the model file's
hash) and start geometry.
A file whose key differs (other settings, another model file) or that cannot be read is ignored and
the run is done again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from acquire.md.runs import Job, MDFailure, MDRun, MDSettings, settings_at
from labelers.atomic_files import atomic_write_text


def result_key(settings: MDSettings, seed: int, source: str, start: Atoms) -> dict[str, Any]:
    """What a stored run must match to be reused."""
    geometry = np.round(start.get_positions(), 6).tobytes() + np.asarray(start.numbers, dtype=np.int64).tobytes()
    # settings left at None (optional ones, e.g. natural masses) are not part of the key, so that runs
    # stored before such a setting existed stay valid
    fields = {name: value for name, value in asdict(settings).items() if value is not None}
    return {"settings": fields, "seed": int(seed), "source": str(source),
            "model": source_fingerprint(str(source)), "start": hashlib.sha256(geometry).hexdigest()}


def source_fingerprint(source: str) -> str | None:
    """SHA-256 of a model file (`DIR/model.pt` for a run directory), so that a retrained model at
    the same path is not mistaken for the old one; None for labeler specs."""
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def result_path(out_dir: str | Path, model: str, timestep_fs: float, run: int) -> Path:
    return Path(out_dir) / "runs" / model / f"dt{timestep_fs:g}fs" / f"run{run:03d}.json"


def save_result(path: Path, result: MDRun, key: dict[str, Any]) -> None:
    """Write atomically (a kill never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"key": key, "result": asdict(result)}))


def load_result(path: Path, key: dict[str, Any]) -> MDRun | None:
    """The stored run if it exists, is readable and was made with `key`; else None."""
    try:
        data = json.loads(path.read_text())
        if data.get("key") != key:
            return None
        fields = dict(data["result"])
        fields["failure"] = None if fields["failure"] is None else MDFailure(**fields["failure"])
        return MDRun(**fields)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class RunStore:
    """The finished runs of a study under `out_dir/runs/` (what `run_stability(store=...)` takes)."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)

    def _where(self, job: Job, settings: MDSettings, source: str) -> tuple[Path, dict[str, Any]]:
        key = result_key(settings_at(settings, job.timestep_fs), job.seed, source, job.start)
        return result_path(self.out_dir, job.model, job.timestep_fs, job.run), key

    def load(self, job: Job, settings: MDSettings, source: str) -> MDRun | None:
        return load_result(*self._where(job, settings, source))

    def save(self, job: Job, settings: MDSettings, source: str, result: MDRun) -> None:
        path, key = self._where(job, settings, source)
        save_result(path, result, key)
