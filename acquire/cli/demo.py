"""`acquire demo` (interim): plan 250ccsd at ratio 40 and buy that plan from the embedded MD17
ethanol data into a label store; prints what it bought. The comparison issue replaces it."""
from __future__ import annotations

import argparse

HELP = "plan 250ccsd/40 and buy it from the embedded ethanol data into demo-out/labels.db"
EXAMPLES = """examples:
  acquire demo
  acquire demo --out /tmp/demo --budget 850ccsd --ratio 80

Rerunning is instant: labels already in the store are not bought twice."""

ACCURATE = "md17:ethanol/ccsd(t)"
INACCURATE = "md17:ethanol/dft"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo-out", metavar="DIR", help="output folder (default demo-out)")
    parser.add_argument("--budget", default="250ccsd", help="budget (default 250ccsd)")
    parser.add_argument("--ratio", default="40", help="accurate ÷ inaccurate cost per label (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the frames bought (default 0)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ase import units

    from acquire.engine import label_frames
    from acquire.pools import select_frames
    from acquire.store import LabelStore
    from budget import plan
    from labelers import get_labeler

    accurate, inaccurate = get_labeler(ACCURATE), get_labeler(INACCURATE)
    the_plan = plan(args.budget, args.ratio, accurate_cost_s=accurate.cost(accurate.frames()[0]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = LabelStore(out / "labels.db")
    print(f"plan {the_plan.budget} at ratio {the_plan.ratio:g}: {the_plan.accurate.count} accurate + "
          f"{the_plan.inaccurate.count} inaccurate labels (standard baseline: {the_plan.standard.count} accurate)")
    kcal = units.kcal / units.mol
    print(f"{'labeler':<22} {'bought':>7} {'new':>6} {'CPU-h':>8} {'mean |F| kcal/mol/Å':>20}")
    for labeler, count in ((accurate, the_plan.accurate.count), (inaccurate, the_plan.inaccurate.count)):
        frames = select_frames(labeler.frames(), count, args.seed)
        report = label_frames(store, labeler, frames)
        arrays = store.arrays(labeler.spec)
        cost_h = store.counts(labeler.spec)[labeler.spec].cost_s / 3600
        mean_force = abs(arrays.forces).mean() / kcal
        print(f"{labeler.spec:<22} {len(arrays):>7} {report.done:>6} {cost_h:>8.1f} {mean_force:>20.2f}")
    print(f"store: {store.path}  (browse: ase db {store.path} -c id,formula,labeler,status,cost_s,energy)")
    return 0
