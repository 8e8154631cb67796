"""`acquire calibrate`: measure real per-label costs of labelers on this machine and store them.

A thin layer over `labelers.calibration.measure`/`store`; the stored table is what every labeler's
`cost()` (and so `acquire labelers` and `acquire plan --ratio auto`) uses from then on.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from acquire.cli import arguments
from acquire.cli.output import add_output_arguments, print_json, show_progress

HELP = "measure seconds per label of labelers on a molecule here, print their ratio and store it"
EXAMPLES = """examples:
  acquire calibrate --molecule CCO --labeler 'pyscf:ccsd(t)/6-31g' --labeler pyscf:pbe/def2-svp
  acquire calibrate --molecule ethanol --labeler xtb:gfn2 --labeler openmm:gaff-2.11 --repeats 20
  acquire calibrate --molecule mol.xyz --labeler 'pyscf:ccsd(t)/cc-pvdz;forces=false' --json
  acquire calibrate --list
  acquire calibrate --forget xtb:gfn2 [--molecule CO]

Steady state: one warm-up label (imports, library start-up, first basis or grid set-up) is run and
discarded (none for labels declared over a minute); then copies of the molecule with positions
jittered by 0.02 Å are labelled until at least K labels (--repeats K) and --min-seconds of CPU time
are timed. The median CPU-core seconds per label and its spread are stored per (spec, molecule
formula, threads per label, host) in the calibration table ($ASTEROID_CALIBRATION, default
~/.cache/asteroid-ff/calibration.json). Another molecule's cost is then this figure carried over by
the labeler's declared scaling law (shown as 'scaled'). The ratio is the first labeler's cost
divided by each other's: the --ratio that `acquire plan --ratio auto` then uses."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--molecule", default=None, metavar="M",
                        help="SMILES, a structure file ASE reads (.xyz, .extxyz, .sdf, .mol, ...) or embedded name (e.g. ethanol)")
    parser.add_argument("--labeler", action="append", default=[], metavar="SPEC",
                        help="labeler spec to measure (repeatable; the first is the accurate one)")
    parser.add_argument("--repeats", type=arguments.runs, default=3, metavar="K",
                        help="at least K timed labels per labeler, on distinct jittered copies (default 3)")
    parser.add_argument("--min-seconds", type=arguments.number(0.0, 86400.0, what="a time in seconds"), default=1.0, metavar="S",
                        help="... and at least S CPU seconds timed in all (default 1; cheap labelers repeat more)")
    parser.add_argument("--warmup", type=arguments.integer(0, arguments.MAX_RUNS, "a number of repeats"), default=None, metavar="W",
                        help="labels run and discarded first (default 1, 0 for labels declared over a minute)")
    parser.add_argument("--threads", type=arguments.threads, default=1, metavar="T",
                        help="OpenMP/BLAS threads per label, as `acquire label --threads` (default 1)")
    parser.add_argument("--stdev", type=arguments.length, default=0.02, metavar="Å",
                        help="Gaussian jitter of the copies' positions, Å (default 0.02)")
    parser.add_argument("--table", default=None, metavar="PATH",
                        help="calibration table (default $ASTEROID_CALIBRATION or ~/.cache/asteroid-ff/calibration.json)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the stored calibrations (flags stale or foreign ones)")
    what.add_argument("--forget", metavar="SPEC", default=None,
                      help="remove the stored calibrations of SPEC (only on --molecule, if given)")
    add_output_arguments(parser)


def _set_threads(threads: int) -> None:
    """OpenMP/BLAS threads for labels measured in this process (set before a backend is imported)."""
    import os

    from acquire.threads import THREAD_VARIABLES

    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def calibrate(molecule: str, specs: list[str], repeats: int = 3, stdev: float = 0.02,
              table: str | None = None, show_progress: bool = True, min_seconds: float = 1.0,
              warmup: int | None = None, threads: int = 1) -> dict[str, Any]:
    """Measure and store each spec's steady-state cost on `molecule`; returns the report as a dict."""
    from pathlib import Path

    from acquire.errors import AcquireError
    from acquire.molecules import load_molecule
    from acquire.progress_bars import bar

    if repeats < 1 or threads < 1 or min_seconds < 0 or (warmup is not None and warmup < 0):
        raise AcquireError(f"--repeats and --threads must be at least 1, --min-seconds and --warmup at least 0 "
                           f"(got {repeats}, {threads}, {min_seconds}, {warmup})")
    _set_threads(threads)  # before a backend is imported

    from labelers import get_labeler
    from labelers.calibration import measure, store, user_table_path
    from labelers.costs import cost_estimate
    from train.allocator import keep_freed_memory

    keep_freed_memory()  # as in every label worker (acquire.labeling.executors), so the figures match theirs
    atoms = load_molecule(molecule)
    labelers = [_with_threads(get_labeler(spec), threads) for spec in specs]  # all checked before spending
    path = Path(table) if table else user_table_path()
    rows = []
    with bar("calibrating", len(labelers), show_progress and sys.stderr.isatty()) as update:  # a step per labeler
        for labeler in labelers:
            declared = cost_estimate(labeler, atoms).declared_s
            entry = measure(labeler, atoms, min_repeats=repeats, min_seconds=min_seconds, warmup=warmup, stdev=stdev,
                            on_label=lambda s, spec=labeler.spec: update(
                                description=f"calibrating {spec} (last label {_duration(s)})"))
            store(entry, path)
            rows.append({"spec": entry.spec, "seconds": entry.seconds, "seconds_min": entry.seconds_min,
                         "seconds_max": entry.seconds_max, "seconds_mad": entry.seconds_mad,
                         "repeats": entry.repeats, "warmup": entry.warmup, "threads": entry.threads,
                         "size": entry.size, "declared_s": declared})
            update(advance=1)
    first = rows[0]
    ratios = [{"accurate": first["spec"], "inaccurate": r["spec"], "ratio": first["seconds"] / r["seconds"]}
              for r in rows[1:]]
    return {"molecule": molecule, "formula": atoms.get_chemical_formula(), "table": str(path),
            "units": "CPU-core seconds per label", "labelers": rows, "ratios": ratios}


def _with_threads(labeler: Any, threads: int) -> Any:
    """A labeler without its own thread setting runs with the process's `threads` (OpenMP)."""
    if not hasattr(labeler, "parsed"):  # PySCF labelers carry threads= in their spec
        labeler.threads = threads
    return labeler


def listing(table: str | None = None) -> list[dict[str, Any]]:
    """The stored calibrations with their flags (other host, older package versions, old method)."""
    from pathlib import Path

    from labelers import LabelerError, get_labeler
    from labelers.calibration import load, user_table_path

    rows = []
    for entry in load(Path(table) if table else user_table_path()):
        try:
            packages = tuple(getattr(get_labeler(entry.spec), "cost_packages", ()))
        except (LabelerError, ImportError):
            packages = ()
        rows.append({"spec": entry.spec, "formula": entry.formula, "threads": entry.threads, "host": entry.host,
                     "seconds": entry.seconds, "seconds_mad": entry.seconds_mad, "repeats": entry.repeats,
                     "measured_at": entry.measured_at, "versions": entry.versions, "flags": entry.flags(packages)})
    return rows


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 600:
        return f"{seconds:.2f} s"
    return f"{seconds / 3600:.2f} h"


def run(args: argparse.Namespace) -> int:
    from acquire.errors import AcquireError

    if args.list or args.forget:
        if args.labeler:
            raise AcquireError("--list and --forget take no --labeler")
        return _manage(args)
    if not args.molecule or not args.labeler:
        raise AcquireError("give --molecule and at least one --labeler (or --list / --forget SPEC)")
    report = calibrate(args.molecule, args.labeler, repeats=args.repeats, stdev=args.stdev, table=args.table,
                       show_progress=show_progress(args), min_seconds=args.min_seconds, warmup=args.warmup,
                       threads=args.threads)
    if args.json:
        print_json(report)
        return 0
    print(f"calibration on {report['formula']} ({args.molecule}), steady state (warm-up discarded); "
          "CPU-core seconds per label, median of the timed labels")
    print(f"{'spec':<40} {'measured':>10} {'±(MAD)':>9} {'min':>10} {'max':>10} {'labels':>6} {'declared':>10}")
    for row in report["labelers"]:
        print(f"{row['spec']:<40} {_duration(row['seconds']):>10} {_duration(row['seconds_mad']):>9} "
              f"{_duration(row['seconds_min']):>10} {_duration(row['seconds_max']):>10} {row['repeats']:>6} "
              f"{_duration(row['declared_s']):>10}")
    for ratio in report["ratios"]:
        print(f"ratio {ratio['accurate']} ÷ {ratio['inaccurate']} = {ratio['ratio']:.1f}")
    print(f"stored in {report['table']}")
    return 0


def _manage(args: argparse.Namespace) -> int:
    """--list and --forget SPEC."""
    from pathlib import Path

    from labelers import get_labeler
    from labelers.calibration import forget, user_table_path

    path = Path(args.table) if args.table else user_table_path()
    if args.forget:
        formula = None
        if args.molecule:
            from acquire.molecules import load_molecule

            formula = load_molecule(args.molecule).get_chemical_formula()
        spec = get_labeler(args.forget).spec if ":" in args.forget else args.forget
        gone = forget(spec, formula, path)
        report = {"table": str(path), "forgotten": [{"spec": e.spec, "formula": e.formula, "threads": e.threads,
                                                     "host": e.host} for e in gone]}
        if args.json:
            print_json(report)
        else:
            print(f"forgot {len(gone)} calibration(s) of {spec}" + (f" on {formula}" if formula else "")
                  + f" in {path}")
        return 0
    rows = listing(args.table)
    if args.json:
        print_json({"table": str(path), "units": "CPU-core seconds per label", "calibrations": rows})
        return 0
    print(f"calibrations in {path} (CPU-core seconds per label, median ± MAD)")
    print(f"{'spec':<40} {'formula':<10} {'thr':>3} {'per label':>10} {'±':>9} {'labels':>6}  measured   host")
    for r in rows:
        print(f"{r['spec']:<40} {r['formula']:<10} {r['threads']:>3} {_duration(r['seconds']):>10} "
              f"{_duration(r['seconds_mad']):>9} {r['repeats']:>6}  {r['measured_at'][:10]} {r['host']}")
        for flag in r["flags"]:
            print(f"    WARNING: {flag}")
    if not rows:
        print("(none; `acquire calibrate --molecule M --labeler SPEC` measures one)")
    return 0
