"""Cheap labels that sampling already computed, bought without computing them again.

MD sampling evaluates its calculator at every frame it keeps; when that calculator is the run's
inaccurate labeler (xtb:gfn2 both, the default), those evaluations are the labels. `keep_label`
records one on its frame (energy eV, forces eV/Å, CPU-core seconds), the pool file carries it, and
`ReusedLabels` is an executor for `acquire.labeling.engine.label_frames` that serves them, so the
store records each label once, through the usual path, with the CPU time sampling spent on it.
Frames without a kept label (normal modes, another calculator) go to the real executor.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
from ase import Atoms

from labelers.base import Label

ENERGY, SECONDS, SPEC = "sampling_energy", "sampling_label_s", "sampling_spec"  # frame.info keys
FORCES = "sampling_forces"  # frame.arrays key


def keep_label(frame: Atoms, label: Label) -> None:
    """Record `label` (computed at exactly this frame's positions) on the frame."""
    frame.info.update({ENERGY: float(label.energy), SECONDS: float(label.seconds), SPEC: label.spec})
    if label.forces is not None:
        frame.arrays[FORCES] = np.asarray(label.forces, dtype=float).copy()


def kept_label(frame: Atoms, spec: str) -> Label | None:
    """The label of `spec` that sampling kept on `frame`, if any."""
    if frame.info.get(SPEC) != spec or ENERGY not in frame.info or FORCES not in frame.arrays:
        return None
    return Label(energy=float(frame.info[ENERGY]), forces=np.asarray(frame.arrays[FORCES], dtype=float),
                 seconds=float(frame.info.get(SECONDS, 0.0)), spec=spec, meta={"reused": "computed while sampling"})


class ReusedLabels:
    """An executor that answers with the labels sampling kept on `frames` (by configuration hash)
    and hands any other frame to the executor `fallback()` makes (started only if needed)."""

    name = "reused"

    def __init__(self, frames: list[Atoms], spec: str, fallback: Callable[[], object]) -> None:
        from acquire.labeling.store import config_hash

        self._hash = config_hash
        self._labels = {config_hash(f): label for f in frames if (label := kept_label(f, spec)) is not None}
        self._spec, self._make, self._fallback = spec, fallback, None
        self.slots = 256
        self.reused = 0

    def __len__(self) -> int:
        return len(self._labels)

    def submit(self, spec: str, atoms: Atoms) -> Future:
        label = self._labels.get(self._hash(atoms)) if spec == self._spec else None
        if label is None:
            if self._fallback is None:
                self._fallback = self._make()
                self.slots = self._fallback.slots
            return self._fallback.submit(spec, atoms)
        self.reused += 1
        future: Future = Future()
        future.set_result(label)
        return future

    def restart(self) -> None:
        if self._fallback is not None:
            self._fallback.restart()

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
