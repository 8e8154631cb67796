"""Bias weights cannot vanish silently: the effective sample size is recorded, shown and warned
about, and gammas can follow the measured bias (train.bias, train.api.run_asteroid)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def water_sets():
    """Water frames labelled with HF/STO-3G (accurate here) and GFN2-xTB (cheap): two real methods
    whose force difference is several kcal/mol/Å, far above gamma 0.1."""
    from acquire.molecules import load_molecule
    from labelers import get_labeler
    from train import Frames

    water = load_molecule("O")
    rng = np.random.default_rng(1)
    positions = water.positions + rng.normal(0, 0.06, (40, len(water), 3))

    def frames(spec: str, index: slice) -> Frames:
        labeler = get_labeler(spec)
        labels = [labeler.label(water.__class__(water.numbers, p)) for p in positions[index]]
        return Frames(positions[index], water.numbers, [x.energy for x in labels], [x.forces for x in labels])

    accurate = frames("pyscf:hf/sto-3g", slice(0, 12))
    return accurate.subset(range(8)), accurate.subset(range(8, 12)), frames("xtb:gfn2", slice(12, 40))


def test_collapse_rule_and_relative_gammas() -> None:
    from train.bias import absolute_gammas, bias_weights, collapsed, effective_sample_size

    bias = np.random.default_rng(0).normal(45, 6, 4000)  # formaldehyde, xTB against CCSD(T)/STO-3G
    assert effective_sample_size(bias_weights(bias, 0.5)) < 2 and collapsed(1.05, 17)
    assert not collapsed(1650, 200)  # ethanol at the paper's gamma 1
    scaled = absolute_gammas((0.1, 1.0), bias, relative=True)
    assert scaled[1] == pytest.approx(np.median(bias))
    assert effective_sample_size(bias_weights(bias, scaled[1])) > 3000
    assert absolute_gammas((0.1, 1.0), bias, relative=False) == (0.1, 1.0)


def test_collapsed_weights_are_recorded_warned_and_shown(water_sets, tmp_path: Path, capsys) -> None:
    from acquire.cli.train_cmd import print_table
    from train import preset, run_asteroid

    accurate, validation, cheap = water_sets
    result = run_asteroid(accurate, cheap, validation, None, replace(preset("tiny"), gammas=(0.01,)), tmp_path / "abs")
    err = capsys.readouterr().err
    point = result.metrics["gamma_search"][0]
    assert point["frames"] == 28 and point["ess"] < len(accurate) and point["collapsed"]
    assert result.metrics["ess_collapsed"] and "warning: ASTEROID gamma 0.01" in err and "collapsed" in err
    print_table(result.metrics, tmp_path / "abs")
    assert "effective sample size" in capsys.readouterr().out
    saved = json.loads((tmp_path / "abs" / "metrics.json").read_text())
    assert saved["gamma_search"][0]["collapsed"] is True


def test_relative_gammas_follow_the_measured_bias(water_sets, tmp_path: Path, capsys) -> None:
    from train import preset, run_asteroid

    accurate, validation, cheap = water_sets
    config = replace(preset("tiny"), gammas=(1.0,), relative_gammas=True)
    result = run_asteroid(accurate, cheap, validation, None, config, tmp_path / "rel")
    median = float(np.median(np.load(tmp_path / "rel" / "bias.npy")))
    point = result.metrics["gamma_search"][0]
    assert result.metrics["gamma"] == pytest.approx(median) and point["gamma_relative"] == 1.0
    assert not point["collapsed"] and "warning" not in capsys.readouterr().err


def test_weight_histogram_is_on_a_log_axis() -> None:
    from train.outputs import weight_bins

    edges = weight_bins({0.5: np.array([1e-30, 1e-3, 0.5, 3900.0])})  # one frame with weight 3900, as at gamma 0.5
    assert edges[0] == pytest.approx(1e-6) and edges[-1] == pytest.approx(3900.0)  # underflowed weights at the floor
    assert weight_bins({1.0: np.array([0.2, 0.9, 2.0])})[0] == pytest.approx(0.2)
    assert np.allclose(np.diff(np.log10(edges)), np.diff(np.log10(edges))[0])  # log-spaced
