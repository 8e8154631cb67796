"""`acquire export`: one labeler's done labels as extxyz for MACE, NequIP and other ASE readers."""
from __future__ import annotations

import argparse

from acquire.cli.output import add_output_arguments, print_json

HELP = "write one labeler's done labels from the store as extxyz (energy eV, forces eV/Å, config_type)"
EXAMPLES = """examples:
  acquire export --store labels.db --labeler 'pyscf:ccsd(t)/cc-pvdz' --out ccsd.extxyz
  acquire export --store labels.db --labeler xtb:gfn2 --out xtb.extxyz --config-type xtb
  acquire export --store labels.db --labeler pyscf:pbe/def2-svp --weights model/ --out dft.extxyz --json

Each frame carries energy/forces (ASE calculator results) and the same values as REF_energy /
REF_forces (MACE's default keys), config_type and head (the fidelity, e.g. ccsd(t)/cc-pvdz), labeler,
config_hash, and config_weight: 1, or with --weights RUN the weight the ASTEROID run RUN gave the frame
(exp(-B/gamma) at its chosen gamma, mean 1 over its inaccurate pool; 0 for frames it did not train on),
so that mace-torch trains on what this project bought as ASTEROID weighted it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, metavar="DB", help="label store (.db)")
    parser.add_argument("--labeler", required=True, metavar="SPEC", help="labeler spec whose done labels to export")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .extxyz")
    parser.add_argument("--config-type", default=None, help="config_type and head written (default: the labeler's fidelity)")
    parser.add_argument("--weights", default=None, metavar="RUN",
                        help="an ASTEROID run directory whose bias weights become config_weight")
    add_output_arguments(parser)


def fidelity_name(spec: str) -> str:
    """A short fidelity name for `spec`: method/basis of its labeler, or the spec's settings."""
    from labelers import LabelerError, get_labeler

    try:
        fidelity = get_labeler(spec).fidelity
    except LabelerError:  # unknown or unavailable backend here: the spec itself names the fidelity
        return spec.partition(":")[2] or spec
    return "/".join(x for x in (fidelity.method, fidelity.basis) if x)


def run(args: argparse.Namespace) -> int:
    import numpy as np

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
    weights = np.ones(len(frames)) if args.weights is None else run_weights(args.weights, frames)
    for atoms, weight in zip(frames, weights):
        atoms.info.update(config_type=config_type, head=config_type, config_weight=float(weight),
                          REF_energy=atoms.get_potential_energy())
        atoms.arrays["REF_forces"] = atoms.get_forces().copy()
    write_frames(frames, args.out)
    if args.json:
        print_json({"out": args.out, "labeler": args.labeler, "frames": len(frames), "config_type": config_type,
                    "weighted": int((weights > 0).sum()), "units": {"energy": "eV", "forces": "eV/Å"}})
    elif not args.quiet:
        print(f"wrote {len(frames)} labels of {args.labeler} (config_type={config_type}, eV, eV/Å) to {args.out}")
    return 0


def run_weights(run_dir: str, frames: list):
    """Per frame (numpy array), the ASTEROID weight of run `run_dir` (its pool frames matched by geometry; 0 if unused)."""
    import json
    from pathlib import Path

    import numpy as np

    from acquire.errors import AcquireError
    from acquire.sources import load_source
    from train.bias import bias_weights

    run = Path(run_dir)
    paths = [run / name for name in ("split.json", "bias.npy", "metrics.json")]
    if not all(p.is_file() for p in paths):
        raise AcquireError(f"--weights {run_dir}: not an ASTEROID run with bias weights (needs split.json, bias.npy, metrics.json)")
    split, bias, metrics = json.loads(paths[0].read_text()), np.load(paths[1]), json.loads(paths[2].read_text())
    pool = load_source(split["pool"])
    chosen = np.asarray(split["pool_indices"], dtype=int)
    weight = bias_weights(bias, float(metrics.get("gamma") or float("inf")))
    key = lambda positions: np.round(np.asarray(positions, dtype=float), 6).tobytes()  # noqa: E731
    by_geometry = {key(pool.positions[i]): w for i, w in zip(chosen, weight)}
    weights = np.array([by_geometry.get(key(atoms.positions), 0.0) for atoms in frames])
    if not np.any(weights > 0):
        raise AcquireError(f"--weights {run_dir}: its inaccurate pool ({split['pool']}) shares no frame with these labels")
    return weights
