"""`acquire calibrate`: measure real per-label costs of labelers on this machine and store them.

A thin layer over `labelers.calibration.measure`/`store`; the stored table is what every labeler's
`cost()` (and so `acquire labelers` and `acquire plan --ratio auto`) uses from then on.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from acquire.cli.output import add_output_arguments, print_json, show_progress

HELP = "measure seconds per label of labelers on a molecule here, print their ratio and store it"
EXAMPLES = """examples:
  acquire calibrate --molecule CCO --labeler 'pyscf:ccsd(t)/6-31g' --labeler pyscf:pbe/def2-svp
  acquire calibrate --molecule ethanol --labeler xtb:gfn2 --labeler openmm:gaff-2.11 --repeats 20
  acquire calibrate --molecule mol.xyz --labeler 'pyscf:ccsd(t)/cc-pvdz;forces=false' --json

Each labeler labels K copies of the molecule with positions jittered by 0.02 Å (--repeats K); the
median CPU-core seconds per label is stored per (spec, molecule formula) in the calibration table
($ASTEROID_CALIBRATION, default ~/.cache/asteroid-ff/calibration.json). The ratio is the first
labeler's cost divided by each other's: the --ratio that `acquire plan --ratio auto` then uses."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--molecule", required=True, metavar="M",
                        help="SMILES, .xyz/.extxyz file or embedded name (e.g. ethanol)")
    parser.add_argument("--labeler", action="append", required=True, metavar="SPEC",
                        help="labeler spec to measure (repeatable; the first is the accurate one)")
    parser.add_argument("--repeats", type=int, default=3, metavar="K",
                        help="labels per labeler, on distorted copies (default 3)")
    parser.add_argument("--stdev", type=float, default=0.02, metavar="Å",
                        help="Gaussian jitter of the copies' positions, Å (default 0.02)")
    parser.add_argument("--table", default=None, metavar="PATH",
                        help="calibration table to write (default $ASTEROID_CALIBRATION or ~/.cache/asteroid-ff/calibration.json)")
    add_output_arguments(parser)


def calibrate(molecule: str, specs: list[str], repeats: int = 3, stdev: float = 0.02,
              table: str | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Measure and store each spec's per-label cost on `molecule`; returns the report as a dict."""
    from pathlib import Path

    from acquire.errors import AcquireError
    from acquire.molecules import load_molecule
    from acquire.progress import bar
    from labelers import get_labeler
    from labelers.calibration import measure, store, user_table_path

    if repeats < 1:
        raise AcquireError(f"--repeats must be at least 1, got {repeats}")
    atoms = load_molecule(molecule)
    labelers = [get_labeler(spec) for spec in specs]  # every spec checked before anything is spent
    path = Path(table) if table else user_table_path()
    rows = []
    with bar("calibrating", sum(repeats for _ in labelers), show_progress and sys.stderr.isatty()) as update:
        for labeler in labelers:
            declared = float(labeler.cost(atoms))
            entry = measure(labeler, atoms, repeats=repeats, stdev=stdev,
                            on_label=lambda s, spec=labeler.spec: update(advance=1, description=f"calibrating {spec}"))
            store(entry, path)
            rows.append({"spec": entry.spec, "seconds": entry.seconds, "seconds_min": entry.seconds_min,
                         "seconds_max": entry.seconds_max, "repeats": entry.repeats, "size": entry.size,
                         "declared_s": declared})
    first = rows[0]
    ratios = [{"accurate": first["spec"], "inaccurate": r["spec"], "ratio": first["seconds"] / r["seconds"]}
              for r in rows[1:]]
    return {"molecule": molecule, "formula": atoms.get_chemical_formula(), "table": str(path),
            "units": "CPU-core seconds per label", "labelers": rows, "ratios": ratios}


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 600:
        return f"{seconds:.2f} s"
    return f"{seconds / 3600:.2f} h"


def run(args: argparse.Namespace) -> int:
    report = calibrate(args.molecule, args.labeler, repeats=args.repeats, stdev=args.stdev,
                       table=args.table, show_progress=show_progress(args))
    if args.json:
        print_json(report)
        return 0
    print(f"calibration on {report['formula']} ({args.molecule}), {args.repeats} label(s) each; "
          "CPU-core seconds per label (median)")
    print(f"{'spec':<40} {'measured':>10} {'min':>10} {'max':>10} {'declared':>10}")
    for row in report["labelers"]:
        print(f"{row['spec']:<40} {_duration(row['seconds']):>10} {_duration(row['seconds_min']):>10} "
              f"{_duration(row['seconds_max']):>10} {_duration(row['declared_s']):>10}")
    for ratio in report["ratios"]:
        print(f"ratio {ratio['accurate']} ÷ {ratio['inaccurate']} = {ratio['ratio']:.1f}")
    print(f"stored in {report['table']}")
    return 0
