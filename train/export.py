"""Trained models as files other programs load (`export_model(run, out, format)`).

- mace: a MACE run as mace-torch's own `ScaleShiftMACE` (the run's scale as
  `atomic_inter_scale`, its per-element reference energies as `atomic_energies`, its weights),
  pickled whole with `torch.save` as mace-torch does, in float64. It loads with
  `mace.calculators.MACECalculator(model_paths=FILE, device='cpu', default_dtype='float64')` and
  with mace-torch's tools built on that file format (`mace_create_lammps_model`, openmm-ml's
  `MLPotential('mace', modelPath=FILE)`).
- torchscript: PaiNN, EGNN and TensorNet runs as a TorchScript `StandalonePotential`:
  `energy, forces = module(positions, numbers)` with positions (N, 3) float64 in Å and atomic
  numbers (N,) int64, energy () float64 in eV and forces (N, 3) float64 in eV/Å. One isolated
  molecule per call (all atoms within the cutoff are neighbours; no periodic boundaries).

Energies and forces equal `train.load_calculator(run)`'s up to the float32 -> float64 change of
the network's arithmetic (measured below 1e-5 eV/Å; tests/test_export.py).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from train.atomic_files import atomic_path
from train.checkpoint import load_model, read_model_file
from train.errors import ConfigError
from train.models import Potential

FORMATS = ("mace", "torchscript")


def export_model(run: str | Path, out: str | Path, format: str) -> dict:
    """Write run `run` (a run directory or model file) to `out` as `format`; returns a summary."""
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; formats: {', '.join(FORMATS)}")
    name = read_model_file(run)["model_config"]["name"]
    if format == "mace" and name != "mace":  # refused before the network is built (a MACE build takes seconds)
        raise ConfigError(f"--format mace needs a MACE run; {run} holds a {name} model (use --format torchscript)")
    if format == "torchscript" and name == "mace":
        raise ConfigError("a MACE run exports as --format mace (mace-torch's own file, which its LAMMPS and "
                          "TorchScript tools take); --format torchscript is for painn, egnn and tensornet runs")
    model = load_model(run)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "mace":
        with atomic_path(out) as tmp:
            torch.save(to_mace(model), tmp)
        loader = "mace.calculators.MACECalculator(model_paths=FILE, device='cpu', default_dtype='float64')"
    else:
        with atomic_path(out) as tmp:
            torch.jit.save(to_torchscript(model), str(tmp))
        loader = "torch.jit.load(FILE)(positions [N,3] Å float64, numbers [N] int64) -> (energy eV, forces [N,3] eV/Å)"
    return {"run": str(run), "model": name, "format": format, "out": str(out), "load": loader}


def to_mace(model: Potential) -> nn.Module:
    """mace-torch's `ScaleShiftMACE` (float64, eval mode) computing what `model` computes."""
    from train.models.mace_net import MACENet, _quiet

    net = model.net
    if not isinstance(net, MACENet):
        raise ConfigError(f"not a MACE model: {type(net).__name__}")
    from mace.modules import ScaleShiftMACE

    elements = list(net.elements)
    reference = model.ref[elements].double().numpy()
    with _quiet():
        mace = ScaleShiftMACE(atomic_inter_scale=float(model.scale), atomic_inter_shift=0.0,
                              **{**net.settings, "atomic_energies": reference})
    weights = {k: v for k, v in net.mace.state_dict().items() if not k.startswith("atomic_energies_fn.")}
    missing, unexpected = mace.load_state_dict(weights, strict=False)
    unknown = [k for k in missing if not k.startswith(("atomic_energies_fn.", "scale_shift."))]
    if unknown or unexpected:
        raise ConfigError(f"mace-torch's ScaleShiftMACE does not match the trained MACE: "
                          f"missing {unknown}, unexpected {unexpected}")
    mace = mace.double().eval()
    mace.atomic_energies_fn.atomic_energies.copy_(torch.as_tensor(reference, dtype=torch.float64).reshape(
        mace.atomic_energies_fn.atomic_energies.shape))
    return mace


class StandalonePotential(nn.Module):
    """One molecule's energy (eV) and forces (eV/Å) from positions (Å) and atomic numbers.

    forward(positions (N, 3) float, numbers (N,) int64) -> (energy () float64, forces (N, 3) float64).
    The network runs in the dtype it was trained in; the reference energies are added in float64.
    """

    def __init__(self, model: Potential) -> None:
        super().__init__()
        self.net = model.net
        self.cutoff = float(model.net.cutoff)
        dtype = next(model.net.parameters()).dtype
        self.register_buffer("ref", model.ref.detach().clone().double())
        self.register_buffer("scale", model.scale.detach().clone().to(dtype))

    def forward(self, positions: torch.Tensor, numbers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos = positions.detach().to(self.scale.dtype).requires_grad_(True)
        n = pos.shape[0]
        close = torch.cdist(pos.detach(), pos.detach()) < self.cutoff
        close = close & ~torch.eye(n, dtype=torch.bool, device=pos.device)
        pairs = torch.nonzero(close)
        edge_index = torch.stack([pairs[:, 0], pairs[:, 1]])
        residual = (self.net(numbers, pos, edge_index) * self.scale).sum()
        grads = torch.autograd.grad([residual], [pos])
        grad = grads[0]
        assert grad is not None
        energy = residual.double() + self.ref[numbers].sum()
        return energy.detach(), -grad.double()


def to_torchscript(model: Potential) -> torch.jit.ScriptModule:
    """`StandalonePotential(model)` compiled by `torch.jit.script` (eval mode)."""
    try:
        return torch.jit.script(StandalonePotential(model.eval()))
    except Exception as error:  # noqa: BLE001 - TorchScript cannot compile this architecture's Python
        raise ConfigError(f"TorchScript cannot compile {type(model.net).__name__}: "
                          f"{str(error).splitlines()[0]}") from None
