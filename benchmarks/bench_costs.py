"""Per-label cost of every backend, steady state, one thread, on three molecules of different size:
declared (the backend's law, no calibration) and calibrated (a calibration on another of the
molecules carried over by the law) against a direct measurement on the molecule.

    OMP_NUM_THREADS=1 python benchmarks/bench_costs.py [--repeats K] [--max-label-s S]

"Measured" is `labelers.calibration.measure` on that molecule: warm-up label discarded (not for
labels over a minute), then distinct perturbed copies until K labels and one second are timed;
CPU time of the process, median. The calibration source of each molecule is another of them
(ethanol <- the first other molecule, every other <- ethanol); rows are printed as measured (the
first molecule's again once its source is). `--molecule NAME=SMILES` (repeatable) replaces the
default methanol, ethanol, isopropanol. Labels declared over --max-label-s are skipped. The load
average at the start and end is printed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"
_TABLE_DIR = tempfile.mkdtemp(prefix="bench-costs-")
os.environ["ASTEROID_CALIBRATION"] = os.path.join(_TABLE_DIR, "empty.json")  # declared laws first

from acquire.molecules import load_molecule  # noqa: E402
from labelers import get_labeler  # noqa: E402
from labelers.calibration import measure, store  # noqa: E402

SPECS = ("xtb:gfn2", "openmm:gaff-2.11", "pyscf:pbe/def2-svp", "pyscf:ccsd(t)/cc-pvdz;forces=false",
         "pyscf:ccsd(t)/cc-pvdz")
MOLECULES = {"methanol": "CO", "ethanol": "CCO", "isopropanol": "CC(C)O"}  # measured in this order (default)


def calibration_sources(names: list[str]) -> dict[str, str]:
    """Whose calibration each molecule's `calibrated` column carries over: ethanol's (the reference
    molecule), and for ethanol the first other molecule; without ethanol, the first molecule's."""
    reference = "ethanol" if "ethanol" in names else names[0]
    first_other = next((n for n in names if n != reference), reference)
    return {name: first_other if name == reference else reference for name in names}


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def calibrated_from(spec: str, atoms, source) -> float:
    """Cost of `spec` on `atoms` with only `source` (a Calibration of another molecule) in the table."""
    path = os.path.join(_TABLE_DIR, f"only-{time.monotonic_ns()}.json")
    store(source, path)
    os.environ["ASTEROID_CALIBRATION"] = path
    try:
        return get_labeler(spec).cost(atoms)
    finally:
        os.environ["ASTEROID_CALIBRATION"] = os.path.join(_TABLE_DIR, "empty.json")


def _row(spec: str, name: str, atoms: dict, measured: dict, sources: dict[str, str]) -> None:
    """One table row: declared, measured, and calibrated from sources[name] if that was measured."""
    declared, entry = measured[name]
    source = measured.get(sources[name])
    calibrated = calibrated_from(spec, atoms[name], source[1]) if source else None
    ratio = "—" if calibrated is None else f"{calibrated / entry.seconds:.2f}"
    print(f"| {spec} | {name} ({entry.formula}) | {entry.size:g} | {_duration(declared)} | "
          f"{_duration(entry.seconds)} ({entry.repeats}) | {_duration(entry.seconds_min)}-"
          f"{_duration(entry.seconds_max)} | {sources[name] if source else '—'} | "
          f"{declared / entry.seconds:.2f} | {ratio} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="minimum timed labels per cell (default 3)")
    parser.add_argument("--max-label-s", type=float, default=600.0, help="skip labels declared longer (default 600)")
    parser.add_argument("--spec", action="append", default=None, help="only these specs (repeatable)")
    parser.add_argument("--molecule", action="append", default=None, metavar="NAME=SMILES",
                        help="molecules in the order measured (repeatable; default methanol, ethanol, isopropanol)")
    args = parser.parse_args()
    molecules = dict(item.split("=", 1) for item in args.molecule) if args.molecule else MOLECULES
    sources = calibration_sources(list(molecules))
    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} cores", flush=True)
    atoms = {name: load_molecule(smiles) for name, smiles in molecules.items()}
    print("| spec | molecule | size | declared | measured (median, labels) | spread (min-max) | calibrated from | "
          "declared ÷ measured | calibrated ÷ measured |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for spec in args.spec or SPECS:
        labeler = get_labeler(spec)
        measured = {}
        for name, mol in atoms.items():  # rows as they are measured; a killed run keeps its rows
            declared = labeler.cost(mol)
            if declared > args.max_label_s:
                print(f"| {spec} | {name} | {labeler.cost_size(mol):g} | {_duration(declared)} | skipped "
                      f"(declared > {args.max_label_s:g} s) | | | | |", flush=True)
                continue
            measured[name] = (declared, measure(labeler, mol, min_repeats=args.repeats if declared < 30 else 1))
            _row(spec, name, atoms, measured, sources)
        first = next(iter(molecules))
        if first in measured and sources[first] in measured and sources[first] != first:
            _row(spec, first, atoms, measured, sources)  # the first molecule, now with its source
    print(f"load average at end: {os.getloadavg()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
