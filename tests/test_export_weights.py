"""`acquire export --weights RUN`: an ASTEROID run's bias weights become config_weight (mace-torch's
key), the fidelity becomes config_type and head; frames the run did not train on get weight 0."""
from __future__ import annotations

import json

import numpy as np
import pytest
from ase.io import read

from acquire.cli.main import main

DFT = "md17:ethanol/dft"


def test_asteroid_weights_travel_as_config_weight(tmp_path, capsys) -> None:
    store = tmp_path / "l.db"
    assert main(["label", DFT, "--labeler", DFT, "--n", "24", "--store", str(store), "--quiet"]) == 0
    run = tmp_path / "run"
    assert main(["train", "--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", f"{store}:{DFT}",
                 "--inaccurate-count", "16", "--train", "8", "--validation", "4", "--test", "4",
                 "--method", "asteroid", "--preset", "tiny", "--gammas", "0.5", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "dft.extxyz"
    assert main(["export", "--store", str(store), "--labeler", DFT, "--weights", str(run), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    frames = read(out, index=":")
    assert summary["frames"] == len(frames) == 24 and summary["weighted"] == 16
    weights = np.array([a.info["config_weight"] for a in frames])
    assert {a.info["head"] for a in frames} == {a.info["config_type"] for a in frames} == {"PBE+vdW-TS/FHI-aims tight"}
    used = weights[weights > 0]
    assert len(used) == 16 and used.mean() == pytest.approx(1.0)
    from train.bias import bias_weights

    expected = bias_weights(np.load(run / "bias.npy"), 0.5)
    assert sorted(used) == pytest.approx(sorted(expected))
    assert used.std() > 0  # really the bias weights, not uniform


def test_weights_from_a_directory_without_a_run_is_one_line(tmp_path, capsys) -> None:
    store = tmp_path / "l.db"
    assert main(["label", DFT, "--labeler", DFT, "--n", "2", "--store", str(store), "--quiet"]) == 0
    code = main(["export", "--store", str(store), "--labeler", DFT, "--weights", str(tmp_path),
                 "--out", str(tmp_path / "x.extxyz")])
    assert code == 2 and "not an ASTEROID run" in capsys.readouterr().err
