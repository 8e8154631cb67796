"""Spec strings -> labelers, through one registry of lazily imported backends.

A spec is `BACKEND:REST` (`pyscf:ccsd(t)/cc-pvdz`, `xtb:gfn2`, `openmm:gaff-2.11`,
`md17:ethanol/ccsd(t)`, `cached:path/to/file.extxyz`). Backends are imported only when a spec
names them, so listing or planning never imports pyscf, openmm or torch.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from labelers.base import Labeler
from labelers.errors import SpecError

# backend name -> "module:factory"; factory(rest_of_spec: str) -> Labeler
BACKENDS: dict[str, str] = {
    "md17": "labelers.cached:md17_labeler",
    "cached": "labelers.cached:file_labeler",
    "pyscf": "labelers.pyscf.backend:make_labeler",
    "xtb": "labelers.xtb_backend:make_labeler",
    "openmm": "labelers.openmm.backend:make_labeler",
}


def split_spec(spec: str) -> tuple[str, str]:
    """`'pyscf:CCSD(T)/cc-pVDZ'` -> `('pyscf', 'CCSD(T)/cc-pVDZ')`; raises SpecError."""
    if not isinstance(spec, str) or ":" not in spec:
        raise SpecError(
            f"labeler spec {spec!r} must look like BACKEND:SETTINGS, e.g. 'pyscf:ccsd(t)/cc-pvdz'; "
            f"backends: {', '.join(sorted(BACKENDS))}"
        )
    backend, rest = spec.split(":", 1)
    backend = backend.strip().lower()
    if backend not in BACKENDS:
        raise SpecError(f"unknown labeler backend {backend!r} in {spec!r}; known: {', '.join(sorted(BACKENDS))}")
    if not rest.strip():
        raise SpecError(f"labeler spec {spec!r} names no method after '{backend}:'")
    return backend, rest.strip()


def _factory(backend: str) -> Callable[[str], Labeler]:
    module_name, attr = BACKENDS[backend].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise SpecError(f"labeler backend {backend!r} is not available in this build") from exc
        raise
    return getattr(module, attr)


def get_labeler(spec: str) -> Labeler:
    """The labeler for a spec string (raises SpecError or MissingDependencyError)."""
    backend, rest = split_spec(spec)
    return _factory(backend)(rest)
