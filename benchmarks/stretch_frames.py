"""Bond-stretched frames for pretraining, labelled on the inaccurate fidelity's scale by a cheaper one:
the labelled data of a molecular-dynamics pool never reaches far up a bond's wall, so a model's
energy there is an extrapolation (see `bench_bond_scan.py`). Each new frame is a pool frame with one
bond stretched (or compressed) by a random amount; its labels are the pool frame's own labels plus
what the cheap labeler says the move changed:

    E(stretched) = E_pool(frame) + [E_cheap(stretched) - E_cheap(frame)]
    F(stretched) = F_pool(frame) + [F_cheap(stretched) - F_cheap(frame)]

so they sit on the pool fidelity's energy scale and agree with it at zero stretch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/stretch_frames.py --run runs/paper3/runs/250ccsd_r40/asteroid/seed0 \
        --labeler xtb:gfn2 --frames 200 --stretch=-0.2:0.6 --out runs/exp8/stretched_seed0.extxyz

`--run` is an ASTEROID run of `acquire compare` (its split.json names the inaccurate source and the
pool); the new frames come from the pool's first `--frames` frames, so no test geometry is touched.
Bonds are those `acquire md` perceives (1.25 × the sum of covalent radii) in the first pool frame; each
frame stretches one bond drawn at random, by a length drawn uniformly from `--stretch` (Å, negative
compresses; the lighter atom moves, the first atom on a tie). Writes extxyz with `REF_energy` (eV)
and `REF_forces` (eV/Å), the input of `--extra-inaccurate`, and prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def stretch(positions: np.ndarray, numbers: np.ndarray, bond: tuple[int, int], by: float) -> np.ndarray:
    """`positions` with the lighter atom of `bond` moved `by` Å along the bond (away from its partner)."""
    from ase.data import atomic_masses

    i, j = bond
    fixed, moving = (j, i) if atomic_masses[numbers[i]] < atomic_masses[numbers[j]] else (i, j)
    direction = positions[moving] - positions[fixed]
    moved = positions.copy()
    moved[moving] += direction / np.linalg.norm(direction) * by
    return moved


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="an ASTEROID run directory of `acquire compare`")
    p.add_argument("--labeler", default="xtb:gfn2", help="the cheap labeler that shapes the stretch")
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--stretch", default="-0.2:0.6", help="LOW:HIGH, Å (negative compresses)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    from ase import Atoms
    from ase.io import write

    from acquire.molecules import bonded_pairs
    from acquire.sources import load_source
    from labelers import get_labeler

    low, high = (float(x) for x in args.stretch.split(":"))
    split = json.loads((args.run / "split.json").read_text())
    source = load_source(split["inaccurate"])
    picks = split["inaccurate_indices"][:args.frames]
    numbers = np.asarray(source.numbers)
    pairs = bonded_pairs(numbers, source.positions[picks[0]])
    labeler = get_labeler(args.labeler)
    rng = np.random.default_rng(args.seed)
    began, images, moved_by = time.process_time(), [], []
    for index in picks:
        bond = pairs[rng.integers(len(pairs))]
        by = float(rng.uniform(low, high))
        original = Atoms(numbers=numbers, positions=source.positions[index])
        shifted = Atoms(numbers=numbers, positions=stretch(source.positions[index], numbers, bond, by))
        cheap_before, cheap_after = labeler.label(original), labeler.label(shifted)
        shifted.info["REF_energy"] = float(source.energies[index] + cheap_after.energy - cheap_before.energy)
        shifted.arrays["REF_forces"] = source.forces[index] + cheap_after.forces - cheap_before.forces
        shifted.info.update(pool_index=int(index), bond=f"{bond[0]}-{bond[1]}", stretch_A=round(by, 4))
        images.append(shifted)
        moved_by.append(by)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, images, format="extxyz")
    print(json.dumps({"out": str(args.out), "frames": len(images), "source": split["inaccurate"], "labeler": args.labeler,
                      "bonds": [f"{i}-{j}" for i, j in pairs], "stretch_A": [low, high], "seed": args.seed,
                      "cheap_labels": 2 * len(images), "cpu_s": round(time.process_time() - began, 1)}))


if __name__ == "__main__":
    main()
