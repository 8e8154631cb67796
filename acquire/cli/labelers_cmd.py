"""`acquire labelers`: which labelers this machine has, with their declared cost per label."""
from __future__ import annotations

import argparse

from acquire.cli.output import add_output_arguments, print_json

HELP = "list the labelers available here with their declared cost per label"
EXAMPLES = """examples:
  acquire labelers                      # costs for ethanol (the embedded molecule)
  acquire labelers --molecule CCO --json
  acquire labelers --molecule mol.xyz --labeler 'pyscf:mp2/cc-pvtz'

Costs are declared CPU-core seconds per label (energy + forces) for the molecule given;
`acquire calibrate` measures them on this machine. Cached labelers serve only their own molecule."""

# one example spec per fidelity, cheapest last; any other spec of a backend works too
EXAMPLE_SPECS = (
    "md17:ethanol/ccsd(t)",
    "md17:ethanol/dft",
    "pyscf:ccsd(t)/cc-pvdz",
    "pyscf:ccsd(t)/sto-3g",
    "pyscf:mp2/cc-pvdz",
    "pyscf:pbe/def2-svp",
    "pyscf:hf/sto-3g",
    "xtb:gfn2",
    "openmm:gaff-2.11",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--molecule", default="ethanol", metavar="M",
                        help="SMILES, .xyz/.extxyz file or embedded name the costs are for (default ethanol)")
    parser.add_argument("--labeler", action="append", default=[], metavar="SPEC",
                        help="also list this spec (repeatable)")
    add_output_arguments(parser)


def describe(spec: str, atoms) -> dict:
    """One labeler's entry: canonical spec, fidelity, availability and declared cost for `atoms`."""
    from labelers import LabelerError, get_labeler

    entry: dict = {"spec": spec, "available": False, "fidelity": None, "cost_s": None, "note": ""}
    try:
        labeler = get_labeler(spec)
    except (LabelerError, ImportError) as exc:
        entry["note"] = (str(exc).splitlines() or [type(exc).__name__])[0]
        return entry
    fidelity = labeler.fidelity
    entry.update(spec=labeler.spec, available=True, family=fidelity.family,
                 fidelity=" / ".join(x for x in (fidelity.method, fidelity.basis) if x))
    groups = getattr(labeler, "groups", None)
    if groups is not None and not any(list(atoms.numbers) == list(g.numbers) for g in groups):
        entry["note"] = f"serves only its own molecule(s) ({len(labeler)} frames)"
        entry["available"] = False
    try:
        entry["cost_s"] = float(labeler.cost(atoms))
    except (LabelerError, ValueError) as exc:
        entry["note"] = entry["note"] or (str(exc).splitlines() or [""])[0]
    return entry


def run(args: argparse.Namespace) -> int:
    from acquire.molecules import load_molecule

    atoms = load_molecule(args.molecule)
    entries = [describe(spec, atoms) for spec in (*EXAMPLE_SPECS, *args.labeler)]
    if args.json:
        print_json({"molecule": args.molecule, "formula": atoms.get_chemical_formula(), "labelers": entries})
        return 0
    print(f"labelers for {args.molecule} ({atoms.get_chemical_formula()}); cost = declared CPU-core time per label")
    print(f"{'spec':<28} {'fidelity':<34} {'cost/label':>12}  note")
    for e in entries:
        cost = "-" if e["cost_s"] is None else _duration(e["cost_s"])
        mark = "" if e["available"] else "unavailable: " if e["fidelity"] is None else ""
        print(f"{e['spec']:<28} {(e['fidelity'] or '-'):<34} {cost:>12}  {mark}{e['note']}")
    return 0


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    if seconds >= 10:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"
