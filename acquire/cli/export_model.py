"""`acquire export-model`: a trained run as a file MD engines load (mace-torch, TorchScript)."""
from __future__ import annotations

import argparse

from acquire.cli.output import add_output_arguments, print_json

HELP = "write a trained model as a mace-torch model file (MACE runs) or a TorchScript module (PaiNN, EGNN, TensorNet runs)"
EXAMPLES = """examples:
  acquire export-model runs/asteroid --format mace --out ethanol.model
  acquire export-model runs/painn --format torchscript --out ethanol.pt --json

mace: mace-torch's ScaleShiftMACE (float64) with the run's scale, per-element reference energies
and weights; load it with mace.calculators.MACECalculator(model_paths=FILE, default_dtype='float64'),
openmm-ml's MLPotential('mace', modelPath=FILE) or mace-torch's mace_create_lammps_model.
torchscript: energy, forces = torch.jit.load(FILE)(positions (N,3) float64 Å, numbers (N,) int64),
energy eV (float64 scalar), forces eV/Å (N,3); one isolated molecule per call."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run directory (or its model.pt)")
    parser.add_argument("--format", required=True, choices=("mace", "torchscript"),
                        help="mace: MACE runs only; torchscript: PaiNN, EGNN and TensorNet runs (a MACE run exports as mace)")
    parser.add_argument("--out", required=True, metavar="FILE", help="file to write")
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from train.export import export_model

    summary = export_model(args.run, args.out, args.format)
    if args.json:
        print_json(summary)
    elif not args.quiet:
        print(f"wrote the {summary['model']} model of {args.run} as {args.format} to {args.out}; load: {summary['load']}")
    return 0
