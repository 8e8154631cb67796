"""Every step of one Langevin run as `acquire md` starts it (same seeding): the length of one bond,
the total energy's change and the kinetic energy along that bond, printed until the bond leaves a
range. Shows whether a failing run heats up slowly or is driven step by step by the integrator.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/md_step_trace.py runs/exp11/L2_s0 --seed 4 --timestep 2 --bond 2,8
    .venv/bin/python benchmarks/md_step_trace.py xtb:gfn2 --seed 4 --timestep 2 --bond 2,8

Units: Å, fs; energies in kcal/mol (total energy relative to step 0).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import numpy as np

    from acquire.md.calculators import calculator_for
    from acquire.md.runs import MDSettings, start_dynamics
    from acquire.molecules import load_molecule
    from labelers.datasets import KCAL_MOL  # eV per kcal/mol

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a trained model (run directory or model.pt) or a labeler spec")
    p.add_argument("--molecule", default="ethanol")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timestep", type=float, default=2.0, help="fs")
    p.add_argument("--temperature", type=float, default=500.0, help="K")
    p.add_argument("--friction", type=float, default=0.002, help="1/fs")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--bond", default="2,8", help="atom indices I,J of the bond to follow")
    p.add_argument("--range", default="0.6,1.6", help="stop once the bond leaves MIN,MAX (Å)")
    args = p.parse_args()
    i, j = (int(k) for k in args.bond.split(","))
    low, high = (float(x) for x in args.range.split(","))
    settings = MDSettings(temperature_K=args.temperature, timestep_fs=args.timestep, friction_per_fs=args.friction)
    calculator = calculator_for(args.model)
    atoms, dyn = start_dynamics(calculator, load_molecule(args.molecule), settings, args.seed)
    masses = atoms.get_masses()
    reduced = masses[i] * masses[j] / (masses[i] + masses[j])
    forces = atoms.get_forces(md=True)
    first = None
    print("step  time_fs  bond_A  dE_total_kcal  E_kin_along_bond_kcal")
    for step in range(args.steps + 1):
        if step:
            forces = dyn.step(forces)
        total = float(calculator.results["energy"]) + atoms.get_kinetic_energy()
        first = total if first is None else first
        axis = atoms.positions[j] - atoms.positions[i]
        length = float(np.linalg.norm(axis))
        velocities = atoms.get_velocities()
        along = float(np.dot(velocities[j] - velocities[i], axis / length))
        print(f"{step:4d} {step * args.timestep:8.1f} {length:7.3f} {(total - first) / KCAL_MOL:13.2f} "
              f"{0.5 * reduced * along ** 2 / KCAL_MOL:21.2f}")
        if not low <= length <= high:
            break


if __name__ == "__main__":
    main()
