"""LNO-CCSD(T) against canonical CCSD(T): relative energies on sampled frames, and cost per label.

    OMP_NUM_THREADS=1 python benchmarks/bench_lno.py validate --out DIR [--frames 20]
    OMP_NUM_THREADS=1 python benchmarks/bench_lno.py cost --out DIR [--molecule NAME=SMILES ...] [--canonical-max-s S]

`validate`: ethanol (every 50th embedded MD17 frame) and methanol (GFN2-xTB Langevin frames at 500 K,
seed 0), each labelled with `pyscf:ccsd(t)/cc-pvdz;forces=false` and `pyscf:lno-ccsd(t)/cc-pvdz`
(threshold 1e-6, the default). Relative energies are each frame's energy minus the mean over the
frames of that method; reported: mean and largest absolute deviation (kcal/mol) and CPU s per label.
`cost`: one label of each molecule with LNO-CCSD(T) and, where its declared cost is below
--canonical-max-s, with canonical CCSD(T) (energies, cc-pVDZ). CPU time of the process, one thread.
Results go to DIR/validate.json, DIR/cost.json (rewritten after every label) and DIR/*.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.units import kcal, mol  # noqa: E402

from acquire.molecules import load_molecule  # noqa: E402
from labelers import get_labeler  # noqa: E402
from labelers.pyscf.resources import basis_size  # noqa: E402

CANONICAL = "pyscf:ccsd(t)/cc-pvdz;forces=false"
LNO = "pyscf:lno-ccsd(t)/cc-pvdz"
KCAL_MOL = kcal / mol  # eV
MOLECULES = {"methanol": "CO", "ethanol": "CCO", "isopropanol": "CC(C)O", "butanol": "CCCCO",
             "aspirin": "CC(=O)OC1=CC=CC=C1C(=O)O"}


def _write(path: Path, data: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ethanol_frames(n: int) -> list[Atoms]:
    from labelers.datasets import load_md17

    data = load_md17("ethanol", "ccsd(t)")
    step = len(data.positions) // n
    return [Atoms(numbers=data.numbers, positions=data.positions[i * step]) for i in range(n)]


def methanol_frames(n: int) -> list[Atoms]:
    from acquire.labeling.sampling import SamplingSettings, sample

    return sample(load_molecule("CO"), n, "md", SamplingSettings(temperature_K=500.0, seed=0))


def validate(out: Path, n: int) -> dict:
    result: dict = {"specs": [CANONICAL, LNO], "units": "kcal/mol", "load_start": _load()}
    for name, frames in (("methanol", methanol_frames(n)), ("ethanol", ethanol_frames(n))):
        energies: dict[str, list[float]] = {}
        seconds: dict[str, list[float]] = {}
        for spec in (CANONICAL, LNO):
            labeler = get_labeler(spec)
            for k, atoms in enumerate(frames):
                label = labeler.label(atoms)
                energies.setdefault(spec, []).append(label.energy)
                seconds.setdefault(spec, []).append(label.seconds)
                print(f"{name} {spec} frame {k}: {label.seconds:.1f} CPU-s", file=sys.stderr, flush=True)
        relative = {s: (np.array(e) - np.mean(e)) / KCAL_MOL for s, e in energies.items()}
        deviation = np.abs(relative[LNO] - relative[CANONICAL])
        result[name] = {
            "frames": n, "basis_functions": basis_size(frames[0], "cc-pvdz"),
            "relative_energy_spread_kcal_mol": float(np.ptp(relative[CANONICAL])),
            "mean_abs_deviation_kcal_mol": float(deviation.mean()),
            "max_abs_deviation_kcal_mol": float(deviation.max()),
            "cpu_s_per_label": {s: float(np.median(v)) for s, v in seconds.items()},
            "energies_eV": energies,
        }
        result["load_end"] = _load()
        _write(out / "validate.json", result)
    return result


def cost(out: Path, molecules: dict[str, str], canonical_max_s: float) -> list[dict]:
    rows: list[dict] = []
    for name, smiles in molecules.items():
        atoms = load_molecule(smiles)
        row = {"molecule": name, "formula": atoms.get_chemical_formula(), "atoms": len(atoms),
               "basis_functions": basis_size(atoms, "cc-pvdz"), "load_start": _load()}
        for spec in (LNO, CANONICAL):
            labeler = get_labeler(spec)
            declared = labeler.cost(atoms)
            row[f"declared_s {spec}"] = declared
            if spec == CANONICAL and declared > canonical_max_s:
                continue
            began = time.process_time()
            label = labeler.label(atoms)
            row[f"cpu_s {spec}"] = label.seconds
            print(f"{name} {spec}: {label.seconds:.1f} CPU-s (process {time.process_time() - began:.1f})",
                  file=sys.stderr, flush=True)
        row["load_end"] = _load()
        rows.append(row)
        _write(out / "cost.json", rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("validate", "cost"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--molecule", action="append", default=[], metavar="NAME=SMILES")
    parser.add_argument("--canonical-max-s", type=float, default=1200.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "validate":
        validate(args.out, args.frames)
    else:
        chosen = dict(m.split("=", 1) for m in args.molecule) or MOLECULES
        cost(args.out, chosen, args.canonical_max_s)


if __name__ == "__main__":
    main()
