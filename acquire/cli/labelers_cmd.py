"""`acquire labelers`: which labelers this machine has, with their cost per label and its origin."""
from __future__ import annotations

import argparse

from acquire.cli.output import add_output_arguments, print_json

HELP = "list the labelers available here with their cost per label and where it came from"
EXAMPLES = """examples:
  acquire labelers                      # costs for ethanol (the embedded molecule)
  acquire labelers --molecule CCO --json
  acquire labelers --molecule mol.xyz --labeler 'pyscf:mp2/cc-pvtz'

Costs are CPU-core seconds per label (energy + forces) for the molecule given, each with its origin:
the backend's declared law, a calibration of this molecule (`acquire calibrate`: when, labels,
spread), or a calibration of another molecule scaled by the declared law. A calibration made with
other package versions or on another host is flagged. Cached labelers serve only their own molecule."""

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
                        help="SMILES, a structure file ASE reads (.xyz, .extxyz, .sdf, .mol, ...) or embedded name the costs are for (default ethanol)")
    parser.add_argument("--labeler", action="append", default=[], metavar="SPEC",
                        help="also list this spec (repeatable)")
    add_output_arguments(parser)


def describe(spec: str, atoms) -> dict:
    """One labeler's entry: canonical spec, fidelity, availability, cost for `atoms` and its origin."""
    from labelers import LabelerError, get_labeler
    from labelers.costs import cost_estimate

    entry: dict = {"spec": spec, "available": False, "fidelity": None, "cost_s": None, "cost_origin": None, "note": ""}
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
        estimate = cost_estimate(labeler, atoms)
        entry["cost_s"], entry["cost_origin"] = estimate.seconds, estimate.as_dict()
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
    print(f"labelers for {args.molecule} ({atoms.get_chemical_formula()}); cost = CPU-core time per label, "
          "with its origin")
    print(f"{'spec':<28} {'fidelity':<34} {'cost/label':>12}  origin / note")
    for e in entries:
        cost = "-" if e["cost_s"] is None else _duration(e["cost_s"])
        mark = "" if e["available"] else "unavailable: " if e["fidelity"] is None else ""
        origin = e["cost_origin"]["describe"] if e["cost_origin"] else ""
        note = "; ".join(x for x in (origin, f"{mark}{e['note']}" if e["note"] else "") if x)
        print(f"{e['spec']:<28} {(e['fidelity'] or '-'):<34} {cost:>12}  {note}")
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
