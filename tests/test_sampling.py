"""acquire.labeling.sampling and `acquire sample`: seeded, recorded, physically sensible configurations."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ase.io import read
from conftest import ENV

from acquire.labeling.sampling import SamplingError, SamplingSettings, langevin_frames, normal_mode_frames
from acquire.molecules import load_molecule

QUICK = SamplingSettings(equilibration=50, interval=5, seed=3)


def _bonds(atoms) -> np.ndarray:
    distances = atoms.get_all_distances()
    return distances[np.triu_indices(len(atoms), 1)]


def test_langevin_frames_are_seeded_recorded_and_intact() -> None:
    water = load_molecule("O")
    frames = langevin_frames(water, 6, QUICK)
    again = langevin_frames(water, 6, QUICK)
    other = langevin_frames(water, 6, SamplingSettings(equilibration=50, interval=5, seed=4))
    assert len(frames) == 6
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(frames, again))
    assert not np.allclose(frames[-1].positions, other[-1].positions)
    assert frames[0].info["method"] == "langevin" and frames[0].info["calculator"] == "xtb:gfn2"
    assert [f.info["step"] for f in frames] == [55, 60, 65, 70, 75, 80]
    assert not np.allclose(frames[0].positions, frames[1].positions)
    assert all(0.8 < _bonds(f).min() < 1.2 for f in frames)  # O-H bonds vibrate, nothing breaks


def test_normal_mode_frames_spread_with_temperature() -> None:
    methanol = load_molecule("CO")
    cold = normal_mode_frames(methanol, 40, SamplingSettings(temperature_K=100))
    hot = normal_mode_frames(methanol, 40, SamplingSettings(temperature_K=900))

    def spread(frames) -> float:
        return float(np.std([f.positions - frames[0].positions for f in frames]))

    assert 2.0 < spread(hot) / spread(cold) < 4.5  # amplitude ~ sqrt(T): sqrt(9) = 3
    assert hot[0].info["method"] == "normal-modes"


def test_bad_settings() -> None:
    with pytest.raises(SamplingError):
        langevin_frames(load_molecule("O"), 2, SamplingSettings(temperature_K=-5))
    with pytest.raises(SamplingError):
        normal_mode_frames(load_molecule("O"), 0, SamplingSettings())


def test_sample_cli_writes_a_pool(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "acquire", "sample", "--molecule", "CO", "--n", "5",
                             "--equilibration", "20", "--interval", "4", "--out", "p.extxyz"],
                            cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    frames = read(tmp_path / "p.extxyz", ":")
    assert len(frames) == 5 and frames[0].info["temperature_K"] == 500.0
    bad = subprocess.run([sys.executable, "-m", "acquire", "sample", "--molecule", "CO", "--n", "5",
                          "--calculator", "xtb:nonsense", "--out", "q.extxyz"],
                         cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and not (tmp_path / "q.extxyz").exists()


def test_sampling_logs_its_progress_when_stderr_is_a_file(tmp_path) -> None:
    """A batch job's log gets a line every 10 % of the sampling steps (it was silent for minutes)."""
    from conftest import acquire

    result = acquire("sample", "--molecule", "O", "--n", "20", "--interval", "5", "--equilibration", "0",
                     "--out", str(tmp_path / "w.extxyz"))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "steps:" in line]
    assert 5 <= len(lines) <= 11 and lines[-1].startswith("md xtb:gfn2 steps: 100 of 100 (100 %)")
    quiet = acquire("sample", "--molecule", "O", "--n", "2", "--interval", "5", "--equilibration", "0", "--quiet",
                    "--out", str(tmp_path / "q.extxyz"))
    assert quiet.returncode == 0 and quiet.stderr == ""
