"""Accurate energies of O-H-stretched ethanol for a comparison seed's fine-tuning (issue 11, MD at 2 fs).

For each seed, `--bases` frames of that seed's accurate training set (already paid for) are stretched
along the bond (`acquire.labeling.stretch_sampling`) to every `--lengths` value; the pool (bases included) is
labelled with energy-only CCSD(T)/cc-pVDZ through `acquire label` into one store (a label paid for
is kept and never computed twice). The embedded accurate labels are CCSD(T)/cc-pVTZ, which this
machine cannot afford, so each stretched energy is anchored on its base:

    E(stretched) = E_cc-pVTZ(base, embedded) + E_cc-pVDZ(stretched) - E_cc-pVDZ(base)

(the stretch energy at cc-pVDZ on the base's cc-pVTZ energy; the basis-set error of a bond-stretch
energy difference is small against the 30-80 kcal/mol the model gets wrong). Writes
`OUT/seedK/energy_only.extxyz` (energies in eV, no forces) for `bench_recipe.py --energy-only-file`,
and `OUT/summary.json` (labels, CPU seconds, the stretch energies per base in kcal/mol).

    .venv/bin/python benchmarks/bench_stretch_labels.py --compare runs/paper6 --seeds 0,1,2 --out runs/stretch1
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LABELER = "pyscf:ccsd(t)/cc-pvdz;forces=false"
RUN = "runs/250ccsd_r40/asteroid/seed{seed}"


def pool_of(compare: Path, seed: int, n_bases: int, bond: str, lengths: list[float]):
    """(bases, stretched frames, the bases' embedded energies in eV) of one seed."""
    from ase import Atoms

    from acquire.labeling.stretch_sampling import stretch_frames
    from acquire.sources import load_source

    split = json.loads((compare / RUN.format(seed=seed) / "split.json").read_text())
    accurate = load_source(split["accurate"])
    rows = np.random.default_rng(seed).choice(split["train"], size=n_bases, replace=False)
    bases = [Atoms(numbers=accurate.numbers, positions=accurate.positions[i]) for i in rows]
    for row, base in zip(rows, bases):
        base.info = {"method": "stretch-base", "row": int(row)}
    return bases, stretch_frames(bases, bond, lengths), accurate.energies[rows]


def stored_energies(done, frames) -> np.ndarray:
    """The energy (eV) of each frame among the store's `done` labels, matched by positions (within
    1e-5 Å: the pool file `acquire label` read rounds them)."""
    positions = np.array([a.positions for a in done])
    energies = []
    for frame in frames:
        match = np.flatnonzero(np.abs(positions - frame.positions).max(axis=(1, 2)) < 1e-5)
        if len(match) != 1:
            raise SystemExit(f"a frame has {len(match)} {LABELER} labels among the store's")
        energies.append(done[match[0]].get_potential_energy())
    return np.array(energies)


def main() -> None:
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from acquire.labeling.store import open_store
    from labelers.datasets import KCAL_MOL

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compare", type=Path, required=True, help="a finished acquire compare folder (ethanol)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--bases", type=int, default=4, help="training frames stretched per seed (default 4)")
    p.add_argument("--bond", default="O-H")
    p.add_argument("--lengths", default="1.1,1.2,1.3,1.4,1.5,1.65,1.8", help="bond lengths, Å")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    lengths = [float(x) for x in args.lengths.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "labels.db"
    seeds = [int(s) for s in args.seeds.split(",")]
    pools = {seed: pool_of(args.compare, seed, args.bases, args.bond, lengths) for seed in seeds}
    everything = [frame for bases, stretched, _ in pools.values() for frame in (*bases, *stretched)]
    write(str(args.out / "pool.extxyz"), everything, format="extxyz")
    subprocess.run([sys.executable, "-m", "acquire", "label", str(args.out / "pool.extxyz"), "--labeler", LABELER,
                    "--store", str(store), "--workers", str(args.workers)], check=True)
    done = open_store(store, create=False).done_atoms(LABELER)  # read once for every seed
    summary = {"labeler": LABELER, "bond": args.bond, "lengths_A": lengths, "bases": args.bases, "seeds": {}}
    for seed, (bases, stretched, embedded) in pools.items():
        base_dz = stored_energies(done, bases)
        dz = stored_energies(done, stretched).reshape(len(bases), len(lengths))
        anchored = embedded[:, None] + dz - base_dz[:, None]
        frames = []
        for frame, energy in zip(stretched, anchored.ravel()):
            frame = frame.copy()
            frame.calc = SinglePointCalculator(frame, energy=float(energy))
            frames.append(frame)
        (args.out / f"seed{seed}").mkdir(exist_ok=True)
        write(str(args.out / f"seed{seed}" / "energy_only.extxyz"), frames, format="extxyz")
        summary["seeds"][seed] = {"base_rows": [b.info["row"] for b in bases],
                                  "stretch_kcal_mol": np.round((dz - base_dz[:, None]) / KCAL_MOL, 2).tolist()}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary["seeds"]))


if __name__ == "__main__":
    main()
