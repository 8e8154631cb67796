"""`acquire sample`: configurations of a molecule (Langevin MD, normal modes, or bond-stretched copies
of given frames) as an extxyz pool."""
from __future__ import annotations

import argparse

from acquire.cli import arguments
from acquire.cli.output import add_output_arguments, print_json, show_progress

HELP = "sample configurations of a molecule (Langevin MD or normal modes with a cheap labeler) into an extxyz pool"
EXAMPLES = """examples:
  acquire sample --molecule CCO --n 3000 --out pool.extxyz                 # xtb:gfn2 MD at 500 K
  acquire sample --molecule mol.xyz --n 500 --method normal-modes --temperature 300 --out pool.extxyz
  acquire sample --molecule CCO --n 200 --calculator openmm:gaff-2.11 --interval 100 --out pool.extxyz
  acquire sample --method stretch --molecule pool.extxyz --n 4 --bond O-H --lengths 1.1:1.8:0.1 --out stretched.extxyz

MD: Maxwell-Boltzmann start, --equilibration steps dropped, one frame every --interval steps
(decorrelation). Stretch: N frames of the molecule file (seeded) with the bond set to every length
(Å), for energy-only accurate labels of the bond's wall (`acquire label --labeler
'pyscf:ccsd(t)/cc-pvdz;forces=false'`). Each frame records how it was made."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from acquire.labeling.sampling import SamplingSettings

    d = SamplingSettings()
    parser.add_argument("--molecule", required=True, metavar="M", help="SMILES, a structure file ASE reads (.xyz, .extxyz, .sdf, .mol, ...) or 'ethanol'")
    parser.add_argument("--n", type=arguments.positive_frames, required=True, metavar="N", help="frames to write")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .extxyz")
    add_sampling_arguments(parser, d, methods=("md", "normal-modes", "stretch"))
    parser.add_argument("--bond", default="O-H", metavar="BOND",
                        help="stretch: element symbols (O-H; the second atom moves) or I,J indices (default O-H)")
    parser.add_argument("--lengths", default="1.1:1.8:0.1", metavar="START:STOP:STEP",
                        help="stretch: bond lengths, Å (default 1.1:1.8:0.1)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="OpenMP/BLAS threads of the sampling calculator (default: $OMP_NUM_THREADS, else 1)")
    add_output_arguments(parser)


def add_sampling_arguments(parser: argparse.ArgumentParser, d, methods: tuple[str, ...] = ("md", "normal-modes")) -> None:
    """Sampling options shared by `acquire sample` and `acquire run`."""
    parser.add_argument("--method", choices=methods, default="md", help="sampling method (default md)")
    parser.add_argument("--calculator", default=d.calculator, metavar="SPEC", help=f"potential (default {d.calculator})")
    parser.add_argument("--temperature", type=arguments.temperature, default=d.temperature_K, metavar="K", help=f"temperature, K (default {d.temperature_K:g})")
    parser.add_argument("--seed", type=arguments.seed, default=d.seed, help="random seed (default 0)")
    parser.add_argument("--timestep", type=arguments.timestep, default=d.timestep_fs, metavar="FS", help=f"MD time step, fs (default {d.timestep_fs:g})")
    parser.add_argument("--equilibration", type=arguments.steps, default=d.equilibration, metavar="STEPS", help=f"MD steps discarded first (default {d.equilibration})")
    parser.add_argument("--interval", type=arguments.positive_steps, default=d.interval, metavar="STEPS", help=f"MD steps between frames (default {d.interval})")


def settings_from(args: argparse.Namespace):
    from acquire.labeling.sampling import SamplingSettings

    settings = SamplingSettings(calculator=args.calculator, temperature_K=args.temperature, seed=args.seed,
                                timestep_fs=args.timestep, equilibration=args.equilibration, interval=args.interval)
    return settings


def check_output(path: str) -> None:
    """An output path that can be written, checked before any work is done."""
    import os
    from pathlib import Path

    from acquire.errors import AcquireError

    out = Path(path)
    if out.suffix.lower() not in (".extxyz", ".xyz"):
        raise AcquireError(f"--out {path}: write the pool as .extxyz")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise AcquireError(f"--out {path}: folder {out.parent} does not exist or is not writable")


def run(args: argparse.Namespace) -> int:
    import sys

    from acquire.labeling.sampling import sample, write_frames
    from acquire.molecules import load_molecule
    from acquire.progress_bars import bar, log_lines
    from labelers import get_labeler

    settings = settings_from(args)
    check_output(args.out)
    if args.method == "stretch":
        return _stretch(args)
    get_labeler(settings.calculator)  # a bad spec fails before any work
    atoms = load_molecule(args.molecule)
    lines = None if args.quiet or sys.stderr.isatty() else log_lines(  # a log file gets lines where a terminal gets a bar
        lambda line: print(line, file=sys.stderr), f"{args.method} {settings.calculator} steps")
    with bar(f"{args.method} {settings.calculator}", None, enabled=show_progress(args), transient=True) as update:

        def progress(done: int, total: int) -> None:
            update(completed=done, total=total)
            if lines is not None:
                lines(done, total)

        frames = sample(atoms, args.n, args.method, settings, progress)
    write_frames(frames, args.out)
    if args.json:
        print_json({"out": args.out, "frames": len(frames), "formula": atoms.get_chemical_formula(),
                    "method": args.method, "calculator": settings.calculator,
                    "temperature_K": settings.temperature_K, "seed": settings.seed})
    elif not args.quiet:
        print(f"wrote {len(frames)} frames of {atoms.get_chemical_formula()} ({args.method}, {settings.calculator}, "
              f"{settings.temperature_K:g} K, seed {settings.seed}) to {args.out}", file=sys.stdout)
    return 0


def _stretch(args: argparse.Namespace) -> int:
    import sys

    from acquire.labeling.sampling import write_frames
    from acquire.labeling.stretch_sampling import draw_bases, stretch_frames
    from acquire.molecules import load_frames
    from acquire.scan import parse_distances

    lengths = parse_distances(args.lengths, "--lengths")
    bases = draw_bases(load_frames(args.molecule), args.n, args.seed)
    frames = stretch_frames(bases, args.bond, lengths)
    write_frames(frames, args.out)
    if args.json:
        print_json({"out": args.out, "frames": len(frames), "formula": bases[0].get_chemical_formula(),
                    "method": "stretch", "bond": args.bond, "lengths_A": lengths, "bases": len(bases), "seed": args.seed})
    elif not args.quiet:
        print(f"wrote {len(frames)} frames of {bases[0].get_chemical_formula()} ({len(bases)} bases x {len(lengths)} "
              f"{args.bond} lengths {lengths[0]:g}-{lengths[-1]:g} Å, seed {args.seed}) to {args.out}", file=sys.stdout)
    return 0
