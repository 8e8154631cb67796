"""Result files get the mode the user's umask gives (not mkstemp's 0600), so a group or a LAMMPS
job run by another user can read model.pt, exports and pools."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("module", ["labelers.atomic_files", "train.atomic_files"])
def test_atomic_writes_follow_the_umask(module: str, umask: int, tmp_path: Path) -> None:
    import importlib

    files = importlib.import_module(module)
    files.atomic_write_text(tmp_path / "a.json", "{}")
    assert _mode(tmp_path / "a.json") == 0o666 & ~umask


def test_model_file_and_pool_are_readable_by_the_group(tmp_path: Path) -> None:
    from ase.build import molecule

    from acquire.labeling.sampling import write_frames
    from train.checkpoint import save_model
    from train.config import preset
    from train.models import build_model

    before = os.umask(0o002)
    try:
        config = preset("tiny").model
        save_model(build_model(config), config, tmp_path / "model.pt")
        write_frames([molecule("H2O")], tmp_path / "pool.extxyz")
    finally:
        os.umask(before)
    assert _mode(tmp_path / "model.pt") == 0o664 and _mode(tmp_path / "pool.extxyz") == 0o664
