"""`acquire export`: one labeler's done labels as extxyz for MACE, NequIP and other ASE readers."""
from __future__ import annotations

import argparse

HELP = "write one labeler's done labels from the store as extxyz (energy eV, forces eV/Å, config_type)"
EXAMPLES = """examples:
  acquire export --store labels.db --labeler 'pyscf:ccsd(t)/cc-pvdz' --out ccsd.extxyz
  acquire export --store labels.db --labeler xtb:gfn2 --out xtb.extxyz --config-type xtb

Each frame carries energy/forces (ASE calculator results) and the same values as REF_energy /
REF_forces (MACE's default keys), config_type (the fidelity, e.g. ccsd(t)/cc-pvdz), labeler, config_hash."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, metavar="DB", help="label store (.db)")
    parser.add_argument("--labeler", required=True, metavar="SPEC", help="labeler spec whose done labels to export")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .extxyz")
    parser.add_argument("--config-type", default=None, help="config_type written (default: the labeler's fidelity)")


def fidelity_name(spec: str) -> str:
    """A short fidelity name for `spec`: method/basis of its labeler, or the spec's settings."""
    from labelers import LabelerError, get_labeler

    try:
        fidelity = get_labeler(spec).fidelity
    except LabelerError:  # unknown or unavailable backend here: the spec itself names the fidelity
        return spec.partition(":")[2] or spec
    return "/".join(x for x in (fidelity.method, fidelity.basis) if x)


def run(args: argparse.Namespace) -> int:
    from acquire.cli.sample import check_output
    from acquire.errors import StoreError
    from acquire.labeling.sampling import write_frames
    from acquire.labeling.store import LabelStore

    check_output(args.out)
    store = LabelStore(args.store, create=False)
    frames = store.done_atoms(args.labeler)
    if not frames:
        raise StoreError(f"{args.store} has no done labels for {args.labeler!r}; labelers in it: {', '.join(store.specs()) or 'none'}")
    config_type = args.config_type or fidelity_name(args.labeler)
    for atoms in frames:
        atoms.info.update(config_type=config_type, REF_energy=atoms.get_potential_energy())
        atoms.arrays["REF_forces"] = atoms.get_forces().copy()
    write_frames(frames, args.out)
    print(f"wrote {len(frames)} labels of {args.labeler} (config_type={config_type}, eV, eV/Å) to {args.out}")
    return 0
