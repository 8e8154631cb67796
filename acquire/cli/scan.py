"""`acquire scan`: energy and force along one bond, for trained models and labelers side by side.

A thin layer over `acquire.scan`; ASE, torch and the labelers' engines are imported inside `run` only.
"""
from __future__ import annotations

import argparse
import sys

from acquire.cli.output import add_output_arguments, print_json, show_progress

HELP = "Scan one bond's length: energy and force of trained models and labelers, beside the data's range."
EXAMPLES = """examples:
  acquire scan runs/standard runs/asteroid xtb:gfn2 --bond O-H --out scan/        # ethanol's O-H bond
  acquire scan model.pt "CCSD(T)=pyscf:ccsd(t)/cc-pvdz;forces=false" --bond 2,8 --distances 0.7:1.8:0.05 \\
      --coverage "md17:ethanol/ccsd(t)" --out scan/                                # with a CCSD(T) reference
  acquire scan model.pt xtb:gfn2 --molecule CCO --bond C-O --json --out scan/      # one JSON document
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="MODEL",
                        help="a trained model (model.pt or its run directory) or a labeler spec such as xtb:gfn2; "
                        "NAME=MODEL names it (default: the end of its path that tells it apart)")
    parser.add_argument("--molecule", metavar="M", default=None,
                        help="start geometry: SMILES, a structure file ASE reads (.xyz, .sdf, .mol, ...) or embedded name (default: the first "
                        "trained model's own molecule, its training data's first geometry; ethanol for labelers only)")
    parser.add_argument("--bond", required=True, metavar="BOND",
                        help="I,J (0-based atom indices; J moves) or element symbols A-B (the first bonded pair; B moves)")
    parser.add_argument("--distances", default="0.7:1.8:0.05", metavar="START:STOP:STEP",
                        help="bond lengths in Å, STOP included (default 0.7:1.8:0.05)")
    parser.add_argument("--coverage", action="append", default=[], metavar="SRC",
                        help="a data set whose range of this bond length is shown: a SRC (md17:ethanol/dft, "
                        "STORE.db:SPEC) or an .xyz/.extxyz file, labelled or not; repeat for several")
    parser.add_argument("--out", default="scan", metavar="DIR",
                        help="scan.json and scan.png (default scan); a rerun into DIR reuses the labelers' points")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu", help="where trained models run")
    add_output_arguments(parser, "print the scan as one JSON object")


def run(args: argparse.Namespace) -> int:

    from acquire.folders import output_folder
    from acquire.md.calculators import model_labels
    from acquire.model_molecule import FALLBACK_MOLECULE, check_molecule, default_molecule, trained_records
    from acquire.molecules import load_molecule
    from acquire.scan import parse_distances, plot, resolve_bond, scan

    distances = parse_distances(args.distances)
    labelled = model_labels(args.sources)
    records = trained_records(labelled)
    own = default_molecule(records) if args.molecule is None else None
    atoms, molecule = own if own is not None else (load_molecule(args.molecule or FALLBACK_MOLECULE),
                                                   args.molecule or FALLBACK_MOLECULE)
    check_molecule(records, [atoms])
    bond = resolve_bond(atoms, args.bond)
    out = output_folder(args.out, "scan", create=False)  # a file there is refused before the scan is computed
    log = (lambda line: print(line, file=sys.stderr)) if show_progress(args) else (lambda line: None)
    document = scan(labelled, atoms, bond, distances, args.coverage, out, molecule, device=args.device, log=log)
    plot(document, out / "scan.png")
    if args.json:
        print_json(document)
        return 0
    _print_table(document)
    print(f"scan: {out / 'scan.json'}, {out / 'scan.png'}")
    return 0


def _print_table(document: dict) -> None:
    from acquire.scan import FIT_WINDOW_A

    names = list(document["sources"])
    pair = "-".join(document["symbols"])
    print(f"{document['formula']} {pair} bond (atoms {document['bond'][0]}-{document['bond'][1]}, start "
          f"{document['start_length_A']:.3f} Å): energy in kcal/mol from the start length")
    print(f"{'r (Å)':>6}  " + "  ".join(f"{n[:16]:>16}" for n in names))
    for k, r in enumerate(document["distances_A"]):
        cells = [document["sources"][n]["energy_kcal_mol"][k] for n in names]
        print(f"{r:6.3f}  " + "  ".join(f"{'failed' if e is None else f'{e:.2f}':>16}" for e in cells))
    print(f"near each minimum (fit over ±{FIT_WINDOW_A} Å): r0 (Å), force constant k2 (kcal/mol/Å²), "
          "Morse exponent a = -k3/(3 k2) (Å⁻¹)")
    for name in names:
        fit = document["sources"][name].get("constants")
        print(f"  {name}: " + ("no minimum inside the scan" if fit is None else
                               f"r0 {fit['r0_A']:.3f}, k2 {fit['k2_kcal_mol_A2']:.0f}, a {fit['morse_a_per_A']:.2f}"))
    for src, c in document["coverage"].items():
        print(f"{src}: {c['frames']} frames, bond length {c['p0']:.3f}-{c['p100']:.3f} Å (1st-99th percentile "
              f"{c['p1']:.3f}-{c['p99']:.3f})")
