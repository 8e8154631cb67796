"""`acquire export`: one labeler's done labels as extxyz for MACE, NequIP and other ASE readers."""
from __future__ import annotations

import argparse

from acquire.cli.output import add_output_arguments, print_json
from acquire.cli.store_argument import add_store_argument, store_of

HELP = "write one labeler's done labels from the store as extxyz (energy eV, forces eV/Å, config_type)"
EXAMPLES = """examples:
  acquire export labels.db --labeler 'pyscf:ccsd(t)/cc-pvdz' --out ccsd.extxyz
  acquire export labels.db --labeler xtb:gfn2 --out xtb.extxyz --config-type xtb
  acquire export labels.db --labeler pyscf:pbe/def2-svp --weights model/ --out dft.extxyz --json
  acquire export run/labels.db --labeler xtb:gfn2 --weights run/models/asteroid --isolated-atoms --out xtb.extxyz

Each frame carries energy/forces (ASE calculator results) and the same values as REF_energy /
REF_forces (MACE's default keys), config_type and head (the fidelity, e.g. ccsd(t)/cc-pvdz), labeler,
config_hash, and config_weight: 1, or with --weights RUN the weight the ASTEROID run RUN gave the frame
(exp(-B/gamma) at its chosen gamma, mean 1 over its inaccurate pool; 0 for frames it did not train on),
so that mace-torch trains on what this project bought as ASTEROID weighted it. --isolated-atoms adds
each element's lone atom (energy by the same labeler, config_type=IsolatedAtom), from which
mace_run_train takes its E0s (leave --E0s unset, or give the printed values)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument("--labeler", required=True, metavar="SPEC", help="labeler spec whose done labels to export")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .extxyz")
    parser.add_argument("--config-type", default=None, help="config_type and head written (default: the labeler's fidelity)")
    parser.add_argument("--weights", default=None, metavar="RUN",
                        help="an ASTEROID run folder whose bias weights become config_weight (acquire train's --out, "
                        "acquire run's OUT/models/asteroid, a comparison's runs/.../asteroid/seedK)")
    parser.add_argument("--isolated-atoms", action="store_true",
                        help="append each element's lone atom labelled with --labeler (ground-state spin, energy only), "
                        "config_type=IsolatedAtom: the E0s mace_run_train reads (--E0s average on one molecule fits nonsense)")
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
    store = LabelStore(store_of(args), create=False)
    frames = store.done_atoms(args.labeler)
    if not frames:
        raise StoreError(f"{store_of(args)} has no done labels for {args.labeler!r}; labelers in it: {', '.join(store.specs()) or 'none'}")
    config_type = args.config_type or fidelity_name(args.labeler)
    weights = np.ones(len(frames)) if args.weights is None else run_weights(args.weights, frames)
    for atoms, weight in zip(frames, weights):
        atoms.info.update(config_type=config_type, head=config_type, config_weight=float(weight),
                          REF_energy=atoms.get_potential_energy())
        atoms.arrays["REF_forces"] = atoms.get_forces().copy()
    atoms_frames = []
    if args.isolated_atoms:
        from acquire.isolated_atoms import isolated_atom_frames

        atoms_frames = isolated_atom_frames(args.labeler, [z for atoms in frames for z in atoms.numbers], config_type)
    write_frames(frames + atoms_frames, args.out)
    e0s = {a.get_chemical_symbols()[0]: a.info["REF_energy"] for a in atoms_frames}
    if args.json:
        print_json({"out": args.out, "labeler": args.labeler, "frames": len(frames), "config_type": config_type,
                    "weighted": int((weights > 0).sum()), "isolated_atoms_eV": e0s or None,
                    "units": {"energy": "eV", "forces": "eV/Å"}})
    elif not args.quiet:
        e0_text = f" and {len(e0s)} isolated atoms (config_type=IsolatedAtom)" if e0s else ""
        print(f"wrote {len(frames)} labels of {args.labeler}{e0_text} (config_type={config_type}, eV, eV/Å) to {args.out}")
    return 0


def run_weights(run_dir: str, frames: list):
    """Per frame (numpy array), the weight ASTEROID run `run_dir` trained it with (its inaccurate
    frames matched by geometry; frames of other molecules 1, as in training; 0 if it did not train on it)."""
    import json
    from pathlib import Path

    import numpy as np

    from acquire.errors import AcquireError
    from train.bias import bias_weights

    run = Path(run_dir)
    if not (run / "bias.npy").is_file() or not (run / "metrics.json").is_file():
        raise AcquireError(f"--weights {run_dir}: not an ASTEROID run with bias weights (needs bias.npy and metrics.json)")
    bias, metrics = np.load(run / "bias.npy"), json.loads((run / "metrics.json").read_text())
    positions = _pool_positions(run)
    if len(positions) != len(bias):
        raise AcquireError(f"--weights {run_dir}: {len(bias)} bias values but {len(positions)} pool frames")
    known = np.isfinite(bias)
    weight = np.ones(len(bias))
    weight[known] = bias_weights(bias[known], float(metrics.get("gamma") or float("inf")))
    key = lambda p: np.round(np.asarray(p, dtype=float), 6).tobytes()  # noqa: E731
    by_geometry = {key(p): w for p, w in zip(positions, weight)}
    weights = np.array([by_geometry.get(key(atoms.positions), 0.0) for atoms in frames])
    if not np.any(weights > 0):
        raise AcquireError(f"--weights {run_dir}: its inaccurate pool shares no frame with these labels")
    return weights


def _pool_positions(run) -> list:
    """The positions of run `run`'s inaccurate frames in the order of its bias.npy: recorded beside
    it (every run since they are), or for older folders from `acquire train`'s split.json or from
    `acquire run`'s store (RUN = OUT/models/asteroid)."""
    import json

    from acquire.errors import AcquireError
    from acquire.sources import load_source
    from train.outputs import POOL_GEOMETRIES, load_pool_geometries

    if (run / POOL_GEOMETRIES).is_file():
        return load_pool_geometries(run / POOL_GEOMETRIES)
    if (run / "split.json").is_file():
        split = json.loads((run / "split.json").read_text())
        pool = load_source(split["pool"])
        return [pool.positions[i] for i in split["pool_indices"]]
    folder = run.parent.parent
    if run.parent.name == "models" and (folder / "plan.json").is_file() and (folder / "labels.db").is_file():
        spec = json.loads((folder / "plan.json").read_text())["settings"]["inaccurate"]
        return list(load_source(f"{folder / 'labels.db'}:{spec}").positions)
    raise AcquireError(f"--weights {run}: no record of which frames its bias weights belong to "
                       f"({POOL_GEOMETRIES}, split.json, or an acquire run folder); retrain it with this version")
