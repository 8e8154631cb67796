"""The ASE calculator: refuses periodic systems with a clear error; runs on the device asked for."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms

from labelers.datasets import load_md17
from train import Frames, ModelConfig, load_calculator
from train.checkpoint import save_model
from train.device import resolve_device
from train.errors import ConfigError, DataError
from train.models import build_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    config = ModelConfig(name="painn", hidden=8, layers=2, rbf=6)
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_model(build_model(config), config, path)
    return path


def _ethanol() -> Atoms:
    data = load_md17("ethanol", "ccsd(t)")
    frames = Frames(data.positions[:1], data.numbers)
    return Atoms(numbers=frames.numbers, positions=frames.positions[0])


@pytest.mark.parametrize("pbc", [True, (True, False, False)])
def test_periodic_atoms_are_refused(model_file, pbc) -> None:
    atoms = _ethanol()
    atoms.cell = np.eye(3) * 20.0
    atoms.pbc = pbc
    atoms.calc = load_calculator(model_file)
    with pytest.raises(DataError, match="periodic"):
        atoms.get_forces()
    atoms.pbc = False  # the same molecule in vacuum computes
    assert np.all(np.isfinite(atoms.get_forces()))


def test_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no GPU"):
            resolve_device("cuda")


def test_calculator_on_auto_device_matches_cpu(model_file) -> None:
    atoms = _ethanol()
    atoms.calc = load_calculator(model_file, device="cpu")
    forces = atoms.get_forces()
    other = _ethanol()
    other.calc = load_calculator(model_file, device="auto")
    np.testing.assert_allclose(other.get_forces(), forces, atol=1e-4)
    assert other.get_potential_energy() == pytest.approx(atoms.get_potential_energy(), abs=1e-3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_train_on_cuda_without_a_gpu_is_one_line(tmp_path, capsys) -> None:
    from acquire.cli.main import main

    code = main(["train", "--accurate", "md17:ethanol/ccsd(t)", "--method", "standard", "--preset", "tiny",
                 "--train", "8", "--validation", "4", "--device", "cuda", "--out", str(tmp_path / "run")])
    assert code == 2
    assert "no GPU" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_on_auto_device_trains_here(tmp_path, capsys) -> None:
    import json

    from acquire.cli.main import main

    code = main(["train", "--accurate", "md17:ethanol/ccsd(t)", "--method", "standard", "--preset", "tiny",
                 "--train", "8", "--validation", "4", "--test", "4", "--device", "auto", "--json",
                 "--out", str(tmp_path / "run")])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test"]["force_mae"] > 0
    atoms = _ethanol()
    atoms.calc = load_calculator(tmp_path / "run", device="auto")
    assert np.all(np.isfinite(atoms.get_forces()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (runs wherever torch sees one)")
@pytest.mark.parametrize("model", ["painn", "mace"])
def test_training_on_cuda_matches_cpu(tmp_path, capsys, model) -> None:
    """The same tiny run on the GPU and on the CPU: both train, and their test errors agree to float32
    round-off grown over a few epochs (not bit for bit: the GPU sums in another order)."""
    import json

    from acquire.cli.main import main

    found = {}
    for device in ("cpu", "cuda"):
        code = main(["train", "--accurate", "md17:ethanol/ccsd(t)", "--method", "standard", "--preset", "tiny",
                     "--model", model, "--train", "16", "--validation", "4", "--test", "8", "--device", device,
                     "--json", "--out", str(tmp_path / device)])
        assert code == 0
        found[device] = json.loads(capsys.readouterr().out)["test"]["force_mae"]
    assert found["cuda"] == pytest.approx(found["cpu"], rel=0.05)
    atoms = _ethanol()
    atoms.calc = load_calculator(tmp_path / "cuda", device="cuda")
    assert np.all(np.isfinite(atoms.get_forces()))
