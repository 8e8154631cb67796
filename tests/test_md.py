"""MD stability: xtb stays stable, scaled forces blow up and are flagged, sweeps, outputs, CLI."""
from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from ase.io import read
from conftest import ENV

from acquire.md.calculators import LabelerCalculator, ModelSourceError, calculator_for, model_labels
from acquire.md.finished_runs import RunStore
from acquire.md.report import write_outputs
from acquire.md.runs import (
    Geometry,
    MDError,
    MDSettings,
    energy_drift,
    parse_timesteps,
    plan_jobs,
    run_one,
    run_stability,
)
from acquire.md.vibrations import fastest_mode, verdict
from acquire.molecules import load_molecule

pytest.importorskip("tblite")


class ScaledForces(Calculator):
    """A real calculator whose forces are multiplied by `factor` (a deliberately broken force field)."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, inner: Calculator, factor: float) -> None:
        super().__init__()
        self.inner, self.factor = inner, factor

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        self.inner.calculate(self.atoms, properties, system_changes)
        energy = self.inner.results["energy"]
        self.results = {"energy": energy, "free_energy": energy, "forces": self.factor * self.inner.results["forces"]}


def scaled_xtb(factor: float) -> Calculator:
    return ScaledForces(calculator_for("xtb:gfn2"), factor)


@pytest.fixture(scope="module")
def ethanol():
    return load_molecule("ethanol")


def test_labeler_calculator_gives_the_labelers_numbers(ethanol) -> None:
    calc = calculator_for("xtb:gfn2")
    assert isinstance(calc, LabelerCalculator)
    atoms = ethanol.copy()
    atoms.calc = calc
    label = calc.labeler.label(ethanol)
    assert atoms.get_potential_energy() == pytest.approx(label.energy)
    np.testing.assert_allclose(atoms.get_forces(), label.forces)


def test_xtb_stays_stable_on_a_short_run(ethanol, tmp_path: Path) -> None:
    settings = MDSettings(steps=300, timestep_fs=0.5, save_every=50)
    result = run_one(calculator_for("xtb:gfn2"), ethanol, settings, seed=3, trajectory=tmp_path / "run.extxyz")
    assert result.stable and result.failure is None and result.steps == 300
    assert max(result.trace["max_bond_deviation_A"]) < settings.bond_tolerance_A
    assert 50 < result.mean_temperature_K < 1500
    frames = read(tmp_path / "run.extxyz", index=":")
    assert [f.info["step"] for f in frames] == list(range(0, 301, 50))
    assert np.isfinite(frames[-1].get_potential_energy())


def test_scaled_forces_are_flagged_as_broken_bonds(ethanol) -> None:
    result = run_one(scaled_xtb(50.0), ethanol, MDSettings(steps=400, timestep_fs=0.5), seed=0)
    assert not result.stable and result.failure is not None
    assert result.failure.kind == "bond" and "bond" in result.failure.detail
    assert 0 < result.steps < 400 and result.failure.time_fs == pytest.approx(result.steps * 0.5)
    assert result.trace["max_bond_deviation_A"][-1] > 0.5


def test_non_finite_forces_are_flagged(ethanol) -> None:
    result = run_one(scaled_xtb(float("inf")), ethanol, MDSettings(steps=10), seed=0)
    assert not result.stable and result.failure.kind == "nonfinite" and result.steps == 0


def test_collapsed_atoms_fail_the_pair_check(ethanol) -> None:
    settings = MDSettings()
    geometry = Geometry(ethanol, settings)
    positions = ethanol.get_positions()
    positions[1] = positions[0] + [0.3, 0.0, 0.0]
    kind, detail, _, min_pair = geometry.check(positions)
    assert kind == "pair" and min_pair == pytest.approx(0.3) and "0.300 Å" in detail
    collapsed = ethanol.copy()
    collapsed.positions[1] = collapsed.positions[0] + [0.2, 0.0, 0.0]
    with pytest.raises(MDError, match="start geometry"):
        Geometry(collapsed, settings)


def test_energy_drift_is_the_total_energys_slope_per_atom_and_ps() -> None:
    assert energy_drift([0.0, 1000.0, 2000.0], [-5.0, -4.991, -4.982], 9) == pytest.approx(1.0)  # 9 meV/ps, 9 atoms
    assert energy_drift([0.0, 10.0, 20.0, 30.0], [1.0, float("nan"), 1.0, 1.0], 3) == pytest.approx(0.0, abs=1e-9)
    assert energy_drift([0.0, 1.0], [1.0, 2.0], 1) is None  # too few points for a slope


def test_microcanonical_runs_conserve_energy_better_with_a_shorter_step(ethanol, tmp_path: Path) -> None:
    models = {"xtb": functools.partial(calculator_for, "xtb:gfn2")}
    result = run_stability(models, [ethanol], MDSettings(steps=200, friction_per_fs=0.0, save_every=0),
                           timesteps_fs=[0.25, 1.0], runs=1, seed=2)
    fine, coarse = result.runs
    assert fine.stable and coarse.stable
    # velocity Verlet's energy error grows as the time step squared: 16 times from 0.25 to 1 fs
    assert 4 * fine.energy_fluctuation_meV_per_atom < coarse.energy_fluctuation_meV_per_atom
    assert fine.energy_fluctuation_meV_per_atom < 0.2 and fine.energy_drift_meV_per_atom_ps is not None
    total = np.array(fine.trace["total_energy_eV"])
    assert np.std(total) * 1e3 / len(ethanol) == pytest.approx(fine.energy_fluctuation_meV_per_atom)
    report = write_outputs(result, tmp_path)["report"].read_text()
    assert "drift (meV/atom/ps) | fluctuation (meV/atom) |" in report and "Friction 0: microcanonical" in report


def test_sweep_writes_report_metrics_plots_and_trajectories(ethanol, tmp_path: Path) -> None:
    models = {"xtb": functools.partial(calculator_for, "xtb:gfn2"), "xtb-x50": functools.partial(scaled_xtb, 50.0)}
    result = run_stability(models, [ethanol], MDSettings(steps=60, save_every=20), timesteps_fs=[0.5, 4.0],
                           runs=2, seed=1, workers=1, out_dir=tmp_path, store=RunStore(tmp_path))
    fractions = {(s.model, s.timestep_fs): s.stable_fraction for s in result.summaries()}
    assert fractions[("xtb", 0.5)] == 1.0
    assert fractions[("xtb-x50", 0.5)] == 0.0 and fractions[("xtb-x50", 4.0)] == 0.0
    assert fractions[("xtb", 4.0)] < 1.0  # 4 fs is too long for O-H vibrations at 500 K
    paths = write_outputs(result, tmp_path)
    data = json.loads(paths["metrics"].read_text())
    assert len(data["runs"]) == 8 and {s["model"] for s in data["summary"]} == {"xtb", "xtb-x50"}
    assert all(r["time_to_failure_ps"] is None for r in data["runs"] if r["stable"])
    report = paths["report"].read_text()
    assert "| xtb | `xtb` | 0.5 | 0.03 | 2 / 2 | 1.00 (0.34–1.00) |" in report and "## Failed runs" in report
    paired = {(c["timestep_fs"], c["model_a"], c["model_b"]): c for c in data["comparisons"]}
    assert paired[(0.5, "xtb", "xtb-x50")]["only_b_failed"] == 2 and paired[(0.5, "xtb", "xtb-x50")]["p_value"] == 0.5
    assert "## Model against model" in report and "| 0.5 | xtb | xtb-x50 | 2 / 0 of 2 | 0 | 2 | 0.5 |" in report
    for key in ("stability_plot", "traces_plot"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trajectory = tmp_path / "trajectories" / "xtb" / "dt0.5fs" / "run001.extxyz"
    assert [f.info["step"] for f in read(trajectory, index=":")] == [0, 20, 40, 60]


def test_a_rerun_resumes_from_stored_runs(ethanol, tmp_path: Path) -> None:
    models = {"xtb": functools.partial(calculator_for, "xtb:gfn2")}
    settings = MDSettings(steps=30, save_every=0)
    first = run_stability(models, [ethanol], settings, [0.5], runs=2, seed=0, out_dir=tmp_path, store=RunStore(tmp_path))
    (tmp_path / "runs" / "xtb" / "dt0.5fs" / "run001.json").unlink()  # as if killed during run 1
    second = run_stability(models, [ethanol], settings, [0.5], runs=2, seed=0, out_dir=tmp_path, store=RunStore(tmp_path))
    assert second.resumed == 1 and second.runs[0] == first.runs[0]  # read back, wall time included
    assert second.runs[1].wall_s != first.runs[1].wall_s and second.runs[1].steps == 30  # done again
    report = write_outputs(second, tmp_path)["report"].read_text()
    assert f"1 runs read back; the runs' own wall times sum to {first.runs[0].wall_s + second.runs[1].wall_s:.0f} s" in report
    changed = run_stability(models, [ethanol], MDSettings(steps=40, save_every=0), [0.5], runs=2, seed=0, out_dir=tmp_path, store=RunStore(tmp_path))
    assert changed.resumed == 0 and all(r.steps == 40 for r in changed.runs)


def test_a_changed_model_file_is_not_resumed(ethanol, tmp_path: Path) -> None:
    models = {"xtb": functools.partial(calculator_for, "xtb:gfn2")}
    model_file = tmp_path / "model.pt"  # stands for the file the results were made with
    settings = MDSettings(steps=20, save_every=0)
    for content, resumed in ((b"first", 0), (b"first", 1), (b"retrained", 0)):
        model_file.write_bytes(content)
        result = run_stability(models, [ethanol], settings, [0.5], runs=1, seed=0, out_dir=tmp_path / "md", store=RunStore(tmp_path / "md"),
                               sources={"xtb": str(model_file)})
        assert result.resumed == resumed


def test_parallel_runs_match_serial_runs(ethanol) -> None:
    models = {"xtb": functools.partial(calculator_for, "xtb:gfn2")}
    settings = MDSettings(steps=40, save_every=0)
    serial = run_stability(models, [ethanol], settings, [0.5, 3.0], runs=2, seed=5, workers=1)
    parallel = run_stability(models, [ethanol], settings, [0.5, 3.0], runs=2, seed=5, workers=2)
    key = [(r.model, r.timestep_fs, r.run, r.stable, r.steps, r.mean_temperature_K) for r in serial.runs]
    assert key == [(r.model, r.timestep_fs, r.run, r.stable, r.steps, r.mean_temperature_K) for r in parallel.runs]


def test_trained_checkpoint_drives_md(ethanol, tmp_path: Path) -> None:
    from labelers.datasets import load_md17
    from train import Frames, preset, run_standard

    data = load_md17("ethanol", "ccsd(t)")
    frames = [Frames(data.positions[s], data.numbers, data.energies[s], data.forces[s]) for s in (slice(0, 16), slice(16, 24))]
    run_standard(frames[0], frames[1], None, preset("tiny"), tmp_path / "tiny")
    assert [name for name, _ in model_labels([str(tmp_path / "tiny")])] == ["tiny"]
    assert [name for name, _ in model_labels([str(tmp_path / "tiny" / "model.pt")])] == ["tiny"]
    result = run_one(calculator_for(str(tmp_path / "tiny")), ethanol, MDSettings(steps=20, save_every=0), seed=0)
    assert result.steps > 0 and len(result.trace["time_fs"]) == result.steps + 1


def test_jobs_pair_seeds_and_cycle_start_geometries(ethanol) -> None:
    second = ethanol.copy()
    second.positions += 0.01
    jobs = plan_jobs(["a", "b"], [ethanol, second], [0.5, 2.0], runs=3, seed=7, out_dir="out")
    assert len(jobs) == 12
    assert [j.seed for j in jobs if j.model == "b" and j.timestep_fs == 2.0] == [7, 8, 9]
    assert [j.start is second for j in jobs[:3]] == [False, True, False]
    assert jobs[-1].trajectory == str(Path("out") / "trajectories" / "b" / "dt2fs" / "run002.extxyz")


def test_timestep_lists() -> None:
    assert parse_timesteps("2, 0.5,1,1") == [0.5, 1.0, 2.0]
    for bad in ("", "0,1", "a", "-1", "nan"):
        with pytest.raises(MDError):
            parse_timesteps(bad)


def test_cli_json(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "acquire", "md", "xtb:gfn2", "--steps", "30", "--runs", "1",
                         "--timesteps", "0.5,2.2", "--workers", "1", "--out", str(tmp_path / "md"), "--json"],
                        capture_output=True, text=True, env=ENV, timeout=120)
    assert ok.returncode == 0, ok.stderr
    # xTB's O-H stretch (3490 cm⁻¹, 9.6 fs): ωΔt 1.44 at 2.2 fs, past √2, warned before the runs
    assert "warning: xtb_gfn2 at 2.2 fs" in ok.stderr and "at 0.5 fs" not in ok.stderr
    document = json.loads(ok.stdout)
    assert document["summary"][0]["stable_fraction"] == 1.0 and document["models"] == {"xtb_gfn2": "xtb:gfn2"}
    assert document["fastest_modes"]["xtb_gfn2"]["label"] == "O2-H8"
    assert (tmp_path / "md" / "report.md").exists()


def test_cli_spreads_start_frames_over_a_pool(ethanol, tmp_path: Path) -> None:
    from ase.io import write

    from acquire.cli.md import _starts

    frames = []
    for k in range(10):
        frame = ethanol.copy()
        frame.positions[0, 0] += 0.01 * k
        frames.append(frame)
    write(tmp_path / "pool.extxyz", frames)
    starts = _starts(None, str(tmp_path / "pool.extxyz"), runs=5)
    assert [round((s.positions[0, 0] - ethanol.positions[0, 0]) / 0.01) for s in starts] == [0, 2, 4, 6, 8]
    assert len(_starts(None, str(tmp_path / "pool.extxyz"), runs=20)) == 10


def test_cli_bad_inputs_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from acquire.cli.main import main

    (tmp_path / "broken.pt").write_bytes(b"not a model")
    for args in (["no-such-model"], [str(tmp_path / "broken.pt")], ["xtb:gfn9"], ["xtb:gfn2", "--timesteps", "0,1"],
                 ["xtb:gfn2", "--steps", "0"], ["xtb:gfn2", "--start", str(tmp_path / "missing.xyz")],
                 ["xtb:gfn2", "--temperature", "-5"], ["xtb:gfn2", "--workers", "0"],
                 ["xtb:gfn2", "--hydrogen-mass", "-1"]):
        assert main(["md", *args, "--out", str(tmp_path / "bad")]) == 2, args
        captured = capsys.readouterr()
        assert len(captured.err.strip().splitlines()) == 1 and captured.out == "", (args, captured.err)
    assert not (tmp_path / "bad").exists()  # nothing written for a refused command


def test_models_are_named_by_what_tells_their_paths_apart(tmp_path: Path) -> None:
    runs = [tmp_path / "xtb/runs/r1/standard/seed0", tmp_path / "xtb/runs/r1/asteroid/seed0",
            tmp_path / "dft/runs/r2/asteroid/seed0"]
    for run in runs:
        run.mkdir(parents=True)
        (run / "model.pt").write_bytes(b"")
    args = [str(runs[0]), str(runs[1] / "model.pt"), str(runs[2]), "xtb:gfn2", "xtb:gfn2"]
    assert [name for name, _ in model_labels(args)] == ["standard_seed0", "r1_asteroid_seed0", "r2_asteroid_seed0",
                                                       "xtb_gfn2", "xtb_gfn2-2"]
    named = model_labels([f"ASTEROID-xTB={runs[1]}", "pyscf:b3lyp/6-31g*;grid=3"])  # a spec's '=' is not a name
    assert named == [("ASTEROID-xTB", str(runs[1])), ("pyscf_b3lyp_6-31g_grid_3", "pyscf:b3lyp/6-31g*;grid=3")]
    with pytest.raises(ModelSourceError, match="letters, digits"):  # a name that cannot name files
        model_labels(["CCSD(T)/DZ=pyscf:hf/sto-3g"])


def test_fastest_mode_of_a_morse_diatomic_is_the_analytic_frequency() -> None:
    from ase import Atoms, units
    from ase.calculators.morse import MorsePotential

    depth, a, r0 = 4.7, 1.9, 0.74  # eV, 1/Å, Å: an H2-like Morse well
    h2 = Atoms("H2", positions=[[0, 0, 0], [0, 0, r0]])
    calc = MorsePotential(epsilon=depth, rho0=a * r0, r0=r0, rcut1=5.0, rcut2=6.0)
    for mass in (1.008, 2.014):
        mu = mass / 2.0
        omega_per_fs = a * np.sqrt(2.0 * depth / mu) * units.fs  # harmonic limit of the Morse well
        mode = fastest_mode(calc, h2, masses=np.array([mass, mass]))
        assert mode.period_fs == pytest.approx(2.0 * np.pi / omega_per_fs, rel=2e-3)
        assert mode.omega_dt(2.0) == pytest.approx(2.0 * omega_per_fs, rel=2e-3) and mode.label == "H0-H1"
    assert verdict(1.0) == "below the low-order resonances" and verdict(1.5) == "at or past the 4:1 resonance"
    assert verdict(1.3) == "within 10 % of the 4:1 resonance"
    assert verdict(1.8) == "at or past the 3:1 resonance" and verdict(2.0) == "linearly unstable"


def test_heavier_hydrogens_slow_the_oh_stretch_and_are_used_by_the_dynamics(ethanol, tmp_path: Path) -> None:
    models = {"xtb": functools.partial(calculator_for, "xtb:gfn2")}
    natural = run_stability(models, [ethanol], MDSettings(steps=10, save_every=0), [2.0], runs=1, seed=0)
    heavy_settings = MDSettings(steps=10, save_every=10, hydrogen_mass_amu=2.014)
    heavy = run_stability(models, [ethanol], heavy_settings, [2.0], runs=1, seed=0, out_dir=tmp_path)
    light_mode, heavy_mode = natural.fastest_modes["xtb"], heavy.fastest_modes["xtb"]
    assert light_mode.label == "O2-H8" and 3000 < light_mode.wavenumber_cm1 < 4000  # the hydroxyl stretch
    mu = lambda m: 15.999 * m / (15.999 + m)  # noqa: E731 - the O-H reduced mass
    assert heavy_mode.wavenumber_cm1 / light_mode.wavenumber_cm1 == pytest.approx(np.sqrt(mu(1.008) / mu(2.014)), rel=0.02)
    start = read(tmp_path / "trajectories" / "xtb" / "dt2fs" / "run000.extxyz", index="0")
    natural_start = run_one(calculator_for("xtb:gfn2"), ethanol, MDSettings(steps=1, save_every=1), seed=0,
                            trajectory=tmp_path / "natural.extxyz")
    assert natural_start.stable
    light = read(tmp_path / "natural.extxyz", index="0")
    hydrogens = ethanol.numbers == 1
    # the same seed draws the same normal deviates: momenta scale as sqrt(mass) at one temperature
    # (up to the removal of the centre-of-mass motion and rotation, which depends on the masses)
    ratio = np.linalg.norm(start.get_momenta()[hydrogens], axis=1) / np.linalg.norm(light.get_momenta()[hydrogens], axis=1)
    assert ratio.mean() == pytest.approx(np.sqrt(2.014 / 1.008), rel=0.05) and (ratio > 1.25).all()
    paths = write_outputs(heavy, tmp_path)
    assert paths["omega_plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = paths["report"].read_text()
    assert "every H atom of mass 2.014 amu" in report and "| xtb |" in report and "ωΔt at 2 fs" in report
    with pytest.raises(MDError):
        MDSettings(hydrogen_mass_amu=0.0)
