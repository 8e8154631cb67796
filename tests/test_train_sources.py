"""acquire.sources: SRC strings to training arrays, from cached specs and from a label store."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from acquire.cli.main import main
from acquire.labeling.store import new_owner, open_store
from acquire.sources import SourceError, load_source, split_source
from labelers.base import Label
from labelers.datasets import load_md17


def test_split_source() -> None:
    assert split_source("labels.db:pyscf:ccsd(t)/cc-pvdz") == (Path("labels.db"), "pyscf:ccsd(t)/cc-pvdz")
    assert split_source("md17:ethanol/dft") == (None, "md17:ethanol/dft")


def test_cached_spec_gives_the_embedded_arrays() -> None:
    source = load_source("md17:ethanol/ccsd(t)")
    data = load_md17("ethanol", "ccsd(t)")
    np.testing.assert_array_equal(source.energies, data.energies)
    assert source.forces.shape == (1000, 9, 3)


def test_computing_labeler_and_missing_store_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="store"):
        load_source("pyscf:pbe/def2-svp")
    with pytest.raises(SourceError, match="not found"):
        load_source(f"{tmp_path / 'none.db'}:md17:ethanol/dft")


def _fill(store_path: Path, spec: str, level: str, index: np.ndarray) -> None:
    data = load_md17("ethanol", level)
    store = open_store(store_path)
    store.add([Atoms(numbers=data.numbers, positions=data.positions[i]) for i in index], spec)
    owner = new_owner()
    tasks = store.claim(spec, len(index), owner)
    labels = [(t, Label(float(data.energies[i]), data.forces[i], 1.0, spec), 1.0) for t, i in zip(tasks, index)]
    store.finish(labels, owner)


def test_acquire_train_from_a_label_store(tmp_path: Path) -> None:
    db = tmp_path / "labels.db"
    _fill(db, "test:accurate", "ccsd(t)", np.arange(30))
    _fill(db, "test:inaccurate", "dft", np.arange(40))
    source = load_source(f"{db}:test:accurate")
    np.testing.assert_allclose(source.energies, load_md17("ethanol", "ccsd(t)").energies[:30])
    out = tmp_path / "run"
    assert main(["train", "--accurate", f"{db}:test:accurate", "--inaccurate", f"{db}:test:inaccurate",
                 "--train", "12", "--validation", "6", "--preset", "tiny", "--gammas", "1",
                 "--out", str(out), "--quiet", "--json"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["counts"]["accurate"] == 12 and metrics["counts"]["test"] == 12
