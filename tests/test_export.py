"""train.export: a MACE run as a mace-torch model file, any run as TorchScript; both reproduce
`train.load_calculator` (eV, eV/Å), and MD on the exported MACE file stays bonded."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms

from labelers.datasets import load_md17
from train import Frames, load_calculator, preset, run_standard, with_model, with_stage
from train.export import export_model

torch.set_num_threads(1)
FORCE_TOL = 1e-5  # eV/Å


def _frames(n: int) -> Frames:
    data = load_md17("ethanol", "ccsd(t)")
    return Frames(data.positions[:n], data.numbers, data.energies[:n], data.forces[:n])


def _train(model: dict, out, n: int = 8, epochs: int = 3) -> tuple[Frames, object]:
    frames = _frames(n + 4)
    part = lambda lo, hi: frames.subset(np.arange(lo, hi))  # noqa: E731
    config = with_stage(with_model(preset("tiny"), **model), "standard", epochs=epochs, lr=1e-2)
    run_standard(part(0, n), part(n, n + 2), part(n + 2, n + 4), config, out)
    return frames, out


@pytest.fixture(scope="module")
def mace_run(tmp_path_factory):
    """A small MACE trained enough (60 frames, 40 epochs, about 90 s) that ethanol stays bonded in MD."""
    out = tmp_path_factory.mktemp("mace-run")
    return _train(dict(name="mace", hidden=8, layers=2, rbf=4, max_ell=1, correlation=2), out, n=60, epochs=40)


def _reference(run, atoms: Atoms) -> tuple[float, np.ndarray]:
    atoms = atoms.copy()
    atoms.calc = load_calculator(run)
    return atoms.get_potential_energy(), atoms.get_forces()


def _mace_calculator(path):
    from mace.calculators import MACECalculator

    return MACECalculator(model_paths=str(path.resolve()), device="cpu", default_dtype="float64")


def test_mace_export_reproduces_the_run_through_mace_calculator(mace_run, tmp_path) -> None:
    frames, run = mace_run
    out = tmp_path / "ethanol.model"
    summary = export_model(run, out, "mace")
    assert summary["format"] == "mace" and out.is_file()
    calculator = _mace_calculator(out)
    worst = 0.0
    for index in (0, 30, 63):
        atoms = Atoms(numbers=frames.numbers, positions=frames.positions[index])
        energy, forces = _reference(run, atoms)
        atoms.calc = calculator
        assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-4)  # eV of about -4200 eV
        worst = max(worst, float(np.abs(atoms.get_forces() - forces).max()))
        assert np.abs(forces).max() > 1e-3  # a trained model, not zeros
    assert worst < FORCE_TOL


@pytest.mark.slow
def test_md_on_the_exported_mace_model_stays_finite_and_bonded(mace_run, tmp_path) -> None:
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    frames, run = mace_run
    out = tmp_path / "md.model"
    export_model(run, out, "mace")
    atoms = Atoms(numbers=frames.numbers, positions=frames.positions[0])
    atoms.calc = _mace_calculator(out)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dynamics = Langevin(atoms, 0.2 * units.fs, temperature_K=300, friction=0.02, rng=np.random.default_rng(1))
    dynamics.run(1000)
    assert np.all(np.isfinite(atoms.positions)) and np.all(np.isfinite(atoms.get_forces()))
    start = frames.positions[0]
    bonds = [(i, j) for i in range(9) for j in range(i) if np.linalg.norm(start[i] - start[j]) < 1.6]
    lengths = [atoms.get_distance(i, j) for i, j in bonds]
    assert len(bonds) == 8 and max(lengths) < 2.0  # ethanol's 8 bonds all still there


def test_mace_format_refuses_other_architectures(tmp_path) -> None:
    from train.errors import ConfigError

    _, run = _train(dict(name="painn", hidden=8, layers=2, rbf=6), tmp_path / "painn")
    with pytest.raises(ConfigError, match="torchscript"):
        export_model(run, tmp_path / "x.model", "mace")


def test_torchscript_format_sends_mace_runs_to_the_mace_format(mace_run, tmp_path) -> None:
    from train.errors import ConfigError

    with pytest.raises(ConfigError, match="--format mace"):
        export_model(mace_run[1], tmp_path / "x.pt", "torchscript")
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("name", ["painn", "egnn", "tensornet"])
def test_torchscript_export_reproduces_the_run(name: str, tmp_path) -> None:
    frames, run = _train(dict(name=name, hidden=8, layers=2, rbf=6), tmp_path / "run")
    out = tmp_path / "model.pt"
    export_model(run, out, "torchscript")
    module = torch.jit.load(str(out))
    for index in (1, 11):
        atoms = Atoms(numbers=frames.numbers, positions=frames.positions[index])
        energy, forces = _reference(run, atoms)
        e, f = module(torch.tensor(atoms.positions, dtype=torch.float64), torch.tensor(atoms.numbers))
        assert e.dtype == torch.float64 and f.shape == (9, 3)
        assert float(e) == pytest.approx(energy, abs=1e-6)
        assert np.abs(f.numpy() - forces).max() < FORCE_TOL


def test_a_format_the_run_cannot_take_is_refused_before_the_network_is_built(tmp_path) -> None:
    """A MACE file asked for as TorchScript is refused from its header (it took 18 s to build first)."""
    from train.checkpoint import FORMAT
    from train.errors import ConfigError

    torch.save({"format": FORMAT, "model_config": {"name": "mace"}, "state_dict": {}}, tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="exports as --format mace"):
        export_model(tmp_path, tmp_path / "x.pt", "torchscript")


def test_export_model_help_says_which_runs_each_format_takes() -> None:
    from acquire.cli import export_model as command

    assert "any run" not in command.HELP and "PaiNN, EGNN, TensorNet" in command.HELP


def test_exported_mace_runs_100_steps_of_openmm_md(mace_run, tmp_path) -> None:
    """The mace export in OpenMM through openmm-ml (the [openmm] extra; PythonForce, no openmm-torch):
    its forces equal the run's, and 100 Langevin steps on the Reference platform keep ethanol bonded."""
    openmmml = pytest.importorskip("openmmml")
    import openmm
    import openmm.app as app
    import openmm.unit as unit
    from ase.units import kJ, mol, nm

    frames, run = mace_run
    out = tmp_path / "ethanol.model"
    export_model(run, out, "mace")
    topology = app.Topology()
    residue = topology.addResidue("MOL", topology.addChain())
    for z in frames.numbers:
        element = app.Element.getByAtomicNumber(int(z))
        topology.addAtom(element.symbol, element, residue)
    system = openmmml.MLPotential("mace", modelPath=str(out)).createSystem(topology, returnEnergyType="energy")
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.5 * unit.femtoseconds)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("Reference"))
    start = frames.positions[0]
    context.setPositions(start * unit.angstrom)
    state = context.getState(getForces=True, getEnergy=True)
    forces = state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer) * (kJ / mol / nm)
    energy, reference = _reference(run, Atoms(numbers=frames.numbers, positions=start))
    assert np.abs(forces - reference).max() < FORCE_TOL  # eV/Å
    total = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) * kJ / mol
    assert total == pytest.approx(energy, rel=1e-6)  # OpenMM's and ASE's kJ/mol differ by 3e-7 (CODATA years)
    integrator.step(100)
    end = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.angstrom)
    bonds = [(0, 1), (0, 2), (2, 8)]  # C-C, C-O, O-H in MD17 ethanol's atom order
    assert np.all(np.isfinite(end))
    assert all(abs(np.linalg.norm(end[i] - end[j]) - np.linalg.norm(start[i] - start[j])) < 0.5 for i, j in bonds)
