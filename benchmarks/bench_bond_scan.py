"""Bond-stretch scan: the energy and the force along one bond as it is stretched and compressed, for
trained models and reference labelers side by side, with how far the training data reaches.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bond_scan.py --molecule ethanol --bond 2,8 \
        --distances 0.70:1.80:0.05 --coverage "md17:ethanol/ccsd(t)" --coverage md17:ethanol/dft \
        standard=runs/paper3/runs/250ccsd_r40/standard/seed0 GFN2-xTB=xtb:gfn2 \
        "CCSD(T)=pyscf:ccsd(t)/cc-pvdz;forces=false" --out runs/scan_oh

Atom J of `--bond I,J` moves along the I→J direction; every other atom stays at the start
geometry (`--molecule`: an embedded name, SMILES or .xyz file, as `acquire md` takes it). Each
SOURCE is `NAME=MODEL` with MODEL a trained model (file or run directory) or a labeler spec
(energy-only specs give no force curve). Energies are relative to each source's own energy at
the scanned distance nearest the start bond length (kcal/mol); the force is the component along
the bond on atom J (kcal/mol/Å, positive = pushing J away from I). `--coverage` names labelled
datasets whose distribution of that bond length (percentiles, Å) shows where the data ends.
Writes scan.json and scan.png into `--out`; prints the table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KCAL_MOL_EV = 23.060548  # kcal/mol per eV


def distances(text: str) -> np.ndarray:
    """`START:STOP:STEP` in Å, STOP included."""
    start, stop, step = (float(x) for x in text.split(":"))
    return np.round(np.arange(start, stop + step / 2, step), 6)


def stretched(atoms, i: int, j: int, length: float):
    """A copy of `atoms` with atom j moved along i→j so that |r_j - r_i| = length (Å)."""
    moved = atoms.copy()
    direction = moved.positions[j] - moved.positions[i]
    moved.positions[j] = moved.positions[i] + direction / np.linalg.norm(direction) * length
    return moved


def evaluate(source: str, frames: list, i: int, j: int) -> dict:
    """Energies (eV) and the force on j along the bond (eV/Å, None for energy-only labels)."""
    from acquire.md.calculators import calculator_for, is_labeler_spec

    energies, along = [], []
    labeler = None
    if is_labeler_spec(source) and not Path(source).exists():
        from labelers import get_labeler

        labeler = get_labeler(source)
    calculator = None if labeler else calculator_for(source)
    began = time.process_time()
    for atoms in frames:
        if labeler is not None:
            label = labeler.label(atoms)
            energy, forces = label.energy, label.forces
        else:
            atoms.calc = calculator
            energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        unit = (atoms.positions[j] - atoms.positions[i]) / np.linalg.norm(atoms.positions[j] - atoms.positions[i])
        energies.append(float(energy))
        along.append(None if forces is None else float(np.dot(forces[j], unit)))
    return {"energy_eV": energies, "force_along_eV_A": along, "cpu_s": round(time.process_time() - began, 2)}


def coverage(spec: str, i: int, j: int) -> dict:
    """Percentiles (Å) of the i-j distance over a labelled dataset's frames."""
    from acquire.sources import load_source

    positions = load_source(spec).positions
    lengths = np.linalg.norm(positions[:, j] - positions[:, i], axis=1)
    q = np.percentile(lengths, [0, 0.1, 1, 50, 99, 99.9, 100])
    return {"frames": len(lengths), **{f"p{p:g}": round(float(v), 4) for p, v in zip((0, 0.1, 1, 50, 99, 99.9, 100), q)}}


def plot(document: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = np.array(document["distances_A"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 7), sharex=True)
    for k, (name, curve) in enumerate(document["sources"].items()):
        top.plot(r, curve["energy_kcal_mol"], marker=".", color=f"C{k}", label=name)
        if all(f is not None for f in curve["force_along_kcal_mol_A"]):
            bottom.plot(r, curve["force_along_kcal_mol_A"], marker=".", color=f"C{k}")
    for (spec, c), shade in zip(document["coverage"].items(), ("0.55", "0.8", "0.7", "0.9")):
        for ax in (top, bottom):
            ax.axvspan(c["p0"], c["p100"], alpha=0.25, color=shade, lw=0,
                       label=f"{spec} frames: {c['p0']:.2f}-{c['p100']:.2f} Å" if ax is top else None)
    top.set_ylabel("energy (kcal/mol, from the start length)")
    top.set_ylim(-5, 90)
    bottom.set_ylabel(f"force on atom {document['bond'][1]} along the bond (kcal/mol/Å)")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_xlabel(f"bond {document['bond'][0]}-{document['bond'][1]} length (Å)")
    top.legend(fontsize=8)
    top.set_title(f"{document['molecule']}: {'-'.join(document['symbols'])} bond stretch scan "
                  "(shaded: bond lengths in the labelled data)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--molecule", default="ethanol")
    p.add_argument("--bond", required=True, help="I,J: atom J moves along the I→J bond (0-based)")
    p.add_argument("--distances", type=distances, default=distances("0.70:1.80:0.05"), help="START:STOP:STEP in Å")
    p.add_argument("--coverage", action="append", default=[], metavar="SPEC", help="a labelled dataset (md17:ethanol/dft); repeat for several")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("sources", nargs="+", metavar="NAME=MODEL")
    args = p.parse_args()
    import torch

    from acquire.molecules import load_molecule

    torch.set_num_threads(1)
    i, j = (int(x) for x in args.bond.split(","))
    atoms = load_molecule(args.molecule)
    start = float(atoms.get_distance(i, j))
    frames = [stretched(atoms, i, j, r) for r in args.distances]
    origin = int(np.argmin(np.abs(args.distances - start)))
    document = {"molecule": args.molecule, "bond": [i, j], "symbols": [atoms[i].symbol, atoms[j].symbol],
                "start_length_A": round(start, 4), "distances_A": args.distances.tolist(),
                "units": {"energy": "kcal/mol relative to the scanned point nearest the start length",
                          "force": "kcal/mol/Å on atom J along I→J"},
                "coverage": {spec: coverage(spec, i, j) for spec in args.coverage}, "sources": {}}
    for item in args.sources:
        name, _, source = item.partition("=")
        raw = evaluate(source, frames, i, j)
        energies = np.array(raw["energy_eV"])
        document["sources"][name] = {
            "model": source, "cpu_s": raw["cpu_s"],
            "energy_kcal_mol": np.round((energies - energies[origin]) * KCAL_MOL_EV, 3).tolist(),
            "force_along_kcal_mol_A": [None if f is None else round(f * KCAL_MOL_EV, 3) for f in raw["force_along_eV_A"]]}
        print(f"{name}: done ({raw['cpu_s']} CPU-s)", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scan.json").write_text(json.dumps(document, indent=1))
    plot(document, args.out / "scan.png")
    names = list(document["sources"])
    print("r (Å)  " + "  ".join(f"{n:>14}" for n in names) + "   energy, kcal/mol")
    for k, r in enumerate(args.distances):
        print(f"{r:5.2f}  " + "  ".join(f"{document['sources'][n]['energy_kcal_mol'][k]:14.2f}" for n in names))
    for spec, c in document["coverage"].items():
        print(f"coverage {spec}: {json.dumps(c)}")


if __name__ == "__main__":
    main()
