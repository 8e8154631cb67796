"""`acquire demo` (`make demo`): the quick budget-matched comparison on the embedded MD17 ethanol
data, 250ccsd at ratio 40 (200 CCSD(T) + 2000 DFT labels for ASTEROID vs 250 CCSD(T) for standard
training), one seed; prints the table and where the report is. `--buy-only` keeps the earlier
demo: buy the plan from the embedded data into `OUT/labels.db` and print what it bought."""
from __future__ import annotations

import argparse

from acquire.cli import arguments
from acquire.cli.output import add_output_arguments, print_json, show_progress

HELP = "the quick comparison on embedded ethanol (standard vs ASTEROID at 250ccsd/40), report in demo-out/"
EXAMPLES = """examples:
  acquire demo                          # standard and ASTEROID side by side on 2 cores; rerun to resume
  acquire demo --preset tiny --out /tmp/demo    # seconds: a smoke test of the whole pipeline
  acquire demo --buy-only --budget 850ccsd --ratio 80   # only buy the plan into demo-out/labels.db

Rerunning is instant once finished: finished runs and labels already in the store are kept."""

ACCURATE = "md17:ethanol/ccsd(t)"
INACCURATE = "md17:ethanol/dft"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo-out", metavar="DIR", help="output folder (default demo-out)")
    parser.add_argument("--budget", default="250ccsd", help="budget (default 250ccsd)")
    parser.add_argument("--ratio", default="40", help="accurate ÷ inaccurate cost per label (default 40)")
    parser.add_argument("--preset", choices=("quick", "paper", "tiny"), default="quick", help="training preset (default quick)")
    parser.add_argument("--threads", type=arguments.threads, default=1, metavar="N", help="torch threads per run (default 1)")
    parser.add_argument("--jobs", type=arguments.jobs, default=2, metavar="N",
                        help="runs trained at once: standard and ASTEROID side by side (default 2)")
    parser.add_argument("--buy-only", action="store_true", help="only buy the plan into OUT/labels.db (the earlier demo)")
    parser.add_argument("--seed", type=arguments.seed, default=0, help="seed of the frames bought with --buy-only (default 0)")
    add_output_arguments(parser, "print the summary (or, with --buy-only, what was bought) as one JSON document")


def run(args: argparse.Namespace) -> int:
    if args.buy_only:
        return buy(args)
    from acquire.cli.compare import compare_and_report
    from acquire.compare.settings import CompareSettings
    from budget import parse_budget, parse_ratio

    settings = CompareSettings(
        accurate=ACCURATE, inaccurate=INACCURATE, budgets=(str(parse_budget(args.budget)),),
        ratios=(parse_ratio(args.ratio),), seeds=1, preset=args.preset, threads=args.threads, jobs=args.jobs, dataset="ethanol",
        progress=show_progress(args),
        command=f"acquire demo --out {args.out} --budget {args.budget} --ratio {args.ratio} --preset {args.preset}")
    return compare_and_report(settings, args, "demo")


def buy(args: argparse.Namespace) -> int:
    """The earlier demo: plan the budget and buy it from the embedded ethanol data into a store."""
    from acquire.folders import output_folder
    from acquire.labeling.engine import label_frames
    from acquire.labeling.pools import select_frames
    from acquire.labeling.store import LabelStore
    from budget import plan
    from labelers import get_labeler
    from labelers.datasets import KCAL_MOL

    accurate, inaccurate = get_labeler(ACCURATE), get_labeler(INACCURATE)
    the_plan = plan(args.budget, args.ratio, accurate_cost_s=accurate.cost(accurate.frames()[0]))
    out = output_folder(args.out, "demo")
    store = LabelStore(out / "labels.db")
    rows = []
    for labeler, count in ((accurate, the_plan.accurate.count), (inaccurate, the_plan.inaccurate.count)):
        frames = select_frames(labeler.frames(), count, args.seed)
        report = label_frames(store, labeler, frames)
        arrays = store.arrays(labeler.spec)
        rows.append({"labeler": labeler.spec, "bought": len(arrays), "new": report.done,
                     "cpu_h": store.counts(labeler.spec)[labeler.spec].cost_s / 3600,
                     "mean_abs_force_kcal_mol_A": float(abs(arrays.forces).mean() / KCAL_MOL)})
    if args.json:
        print_json({"plan": the_plan.model_dump(mode="json"), "labels": rows, "store": str(store.path)})
        return 0
    print(f"plan {the_plan.budget} at ratio {the_plan.ratio:g}: {the_plan.accurate.count} accurate + "
          f"{the_plan.inaccurate.count} inaccurate labels (standard baseline: {the_plan.standard.count} accurate)")
    print(f"{'labeler':<22} {'bought':>7} {'new':>6} {'CPU-h':>8} {'mean |F| kcal/mol/Å':>20}")
    for r in rows:
        print(f"{r['labeler']:<22} {r['bought']:>7} {r['new']:>6} {r['cpu_h']:>8.1f} {r['mean_abs_force_kcal_mol_A']:>20.2f}")
    print(f"store: {store.path}  (browse: ase db {store.path} -c id,formula,labeler,status,cost_s,energy)")
    return 0
