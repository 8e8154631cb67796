"""Small contracts a review found broken: error types and messages, the version recorded with each
label, the CLI's command list, and the one Kabsch alignment."""
from __future__ import annotations

import dataclasses
import importlib
import json

import numpy as np
import pytest
from ase.db import connect

import acquire
from acquire.cli import main as cli_main
from acquire.labeling.store import LabelStore, new_owner
from acquire.md.runs import MDError, MDSettings
from labelers import Label, NonFiniteLabelError, get_labeler
from labelers.errors import LabelShapeError
from labelers.geometry import kabsch


def _rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))  # proper: det +1


def test_kabsch_maps_moving_onto_fixed_and_rotates_vectors_with_it() -> None:
    rng = np.random.default_rng(0)
    moving, forces = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    true = _rotation(1)
    fixed = moving @ true.T + np.array([1.0, -2.0, 0.5])
    rotation, rmsd = kabsch(moving, fixed)
    assert np.allclose(rotation, true) and rmsd < 1e-10
    assert np.allclose(forces @ rotation.T, forces @ true.T)
    mirrored, mirror_rmsd = kabsch(moving, moving * np.array([1.0, 1.0, -1.0]))
    assert np.linalg.det(mirrored) == pytest.approx(1.0) and mirror_rmsd > 0.1  # never a reflection


def test_cached_labels_and_delta_pairs_use_the_same_alignment() -> None:
    """A rotated MD17 frame gets the stored forces rotated by the same R that Delta-ML uses."""
    from acquire.compare.delta import aligned_forces
    from acquire.sources import load_source

    labeler = get_labeler("md17:ethanol/dft")
    frame = labeler.frames()[3]
    true = _rotation(2)
    frame.positions = frame.positions @ true.T
    label = labeler.label(frame)
    data = load_source("md17:ethanol/dft")
    rotated = dataclasses.replace(data, positions=data.positions @ true.T, forces=data.forces @ true.T)
    index = labeler.find(frame)
    assert np.allclose(label.forces, data.forces[index] @ true.T, atol=1e-6)
    paired = aligned_forces(rotated, data, np.array([index]), np.array([index]))
    assert np.allclose(paired[0], label.forces, atol=1e-6)


def test_a_wrong_force_shape_is_not_reported_as_non_finite() -> None:
    with pytest.raises(LabelShapeError, match=r"\(n_atoms, 3\)") as caught:
        Label(0.0, np.zeros(9), 1.0, "x:y")
    assert not isinstance(caught.value, NonFiniteLabelError)
    with pytest.raises(NonFiniteLabelError):
        Label(0.0, np.full((3, 3), np.nan), 1.0, "x:y")


def test_trace_points_error_names_trace_points() -> None:
    with pytest.raises(MDError, match="trace points"):
        MDSettings(trace_points=1)
    with pytest.raises(MDError, match="steps"):
        MDSettings(steps=0)


def test_label_rows_record_the_acquire_version(tmp_path) -> None:
    from importlib.metadata import version

    assert acquire.__version__ == version("asteroid-ff") != "0"
    labeler = get_labeler("md17:ethanol/dft")
    store = LabelStore(tmp_path / "l.db")
    store.add(labeler.frames()[:1], labeler.spec)
    owner = new_owner()
    (task,) = store.claim(labeler.spec, 1, owner)
    store.finish([(task, labeler.label(task.atoms), 1.0)], owner)
    (row,) = connect(str(tmp_path / "l.db")).select(status="done")
    assert json.loads(row.versions)["acquire"] == acquire.__version__


def test_every_subcommand_is_listed_and_a_missing_module_fails_loudly(monkeypatch) -> None:
    parser = cli_main.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert list(commands) == list(cli_main.SUBCOMMANDS)
    monkeypatch.setitem(cli_main.SUBCOMMANDS, "ghost", "no_such_module")
    with pytest.raises(ModuleNotFoundError):
        cli_main.build_parser()
    importlib.reload(cli_main)
