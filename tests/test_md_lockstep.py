"""MD replicas in lockstep: one batched model call per step gives the runs one-at-a-time MD gives."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from acquire.md.calculators import calculator_for
from acquire.md.lockstep import can_batch
from acquire.md.runs import MDSettings, plan_jobs, run_one, run_stability, settings_at, units_of_work
from acquire.molecules import load_molecule


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labelers.datasets import load_md17
    from train import Frames, preset, run_standard

    data = load_md17("ethanol", "ccsd(t)")
    frames = [Frames(data.positions[s], data.numbers, data.energies[s], data.forces[s]) for s in (slice(0, 16), slice(16, 24))]
    out = tmp_path_factory.mktemp("lockstep") / "tiny"
    run_standard(frames[0], frames[1], None, preset("tiny"), out)
    return out


def test_a_batched_call_gives_each_molecules_own_numbers(model: Path) -> None:
    calculator = calculator_for(str(model))
    assert can_batch(calculator) and not can_batch(calculator_for("xtb:gfn2"))
    rng = np.random.default_rng(0)
    molecules = [load_molecule("ethanol"), load_molecule("CO"), load_molecule("ethanol")]
    for atoms in molecules:
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    together = calculator.evaluate_many([(a.numbers, a.positions) for a in molecules])
    for atoms, (energy, forces) in zip(molecules, together):
        atoms.calc = calculator
        assert energy == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        np.testing.assert_allclose(forces, atoms.get_forces(), atol=1e-4)
    assert together[0][0] != pytest.approx(together[2][0], abs=1e-6)  # its own geometry, not its neighbour's


def test_lockstep_runs_match_one_at_a_time_runs_also_when_some_fail(model: Path) -> None:
    # a tight bond tolerance makes some runs fail early: the others go on without them
    settings = MDSettings(steps=60, save_every=0, bond_tolerance_A=0.12)
    ethanol = load_molecule("ethanol")
    factory = {"tiny": functools.partial(calculator_for, str(model))}
    together = run_stability(factory, [ethanol], settings, [0.5, 2.0], runs=4, seed=3, sources={"tiny": str(model)})
    jobs = plan_jobs(["tiny"], [ethanol], [0.5, 2.0], 4, 3, None)
    assert [len(unit) for unit in units_of_work(jobs, {"tiny"})] == [4, 4]
    assert [len(unit) for unit in units_of_work(jobs, set())] == [1] * 8
    alone = [run_one(calculator_for(str(model)), job.start, settings_at(settings, job.timestep_fs), job.seed, "tiny", job.run)
             for job in jobs]
    assert [(r.timestep_fs, r.run, r.stable, r.steps) for r in together.runs] == \
           [(r.timestep_fs, r.run, r.stable, r.steps) for r in alone]
    assert any(not r.stable for r in alone) and any(r.stable or r.steps > 1 for r in alone)
    assert [r.mean_temperature_K for r in together.runs] == pytest.approx([r.mean_temperature_K for r in alone], rel=1e-4)
    assert len({r.steps for r in alone}) > 1  # replicas stopped at different steps
