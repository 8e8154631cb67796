"""`acquire status`: what a label store holds, per labeler, against the plan of its run."""
from __future__ import annotations

import argparse
import json

from acquire.cli.output import add_output_arguments, print_json
from acquire.cli.store_argument import add_store_argument, store_of

HELP = "per labeler: labels done, failed, pending, CPU-hours spent (and the plan, for an acquire run folder)"
EXAMPLES = """examples:
  acquire status labels.db
  acquire status run/labels.db --json      # run/plan.json, if present, gives the planned counts"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument("--plan", default=None, metavar="JSON", help="plan.json to compare with (default: beside the store)")
    add_output_arguments(parser)


def planned_counts(plan_path) -> dict[str, int]:
    """spec -> labels planned, from an `acquire run` plan.json (accurate includes validation);
    raises AcquireError for a file that is not one."""
    from acquire.errors import AcquireError

    try:
        document = json.loads(plan_path.read_text())
        return {str(part["spec"]): int(part["target"]) for part in document.get("targets", [])}
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise AcquireError(f"--plan {plan_path}: not a plan.json of acquire run ({type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:120]})") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from acquire.errors import AcquireError
    from acquire.labeling.store import LabelStore

    if args.plan and not Path(args.plan).is_file():
        raise AcquireError(f"--plan {args.plan}: no such file")
    store = LabelStore(store_of(args), create=False)
    plan_path = Path(args.plan) if args.plan else Path(store_of(args)).with_name("plan.json")
    planned = planned_counts(plan_path) if plan_path.is_file() else {}
    counts = store.counts()
    rows = []
    for spec in sorted(set(counts) | set(planned)):
        c = counts.get(spec)
        rows.append({"labeler": spec, "done": c.done if c else 0, "failed": c.failed if c else 0,
                     "pending": (c.pending + c.running) if c else 0, "running": c.running if c else 0,
                     "cpu_h": (c.cost_s if c else 0.0) / 3600, "planned": planned.get(spec)})
    if args.json:
        print_json({"store": str(store.path), "labelers": rows, "cpu_h": sum(r["cpu_h"] for r in rows)})
        return 0
    print(f"{'labeler':<34} {'done':>7} {'failed':>7} {'pending':>8} {'planned':>8} {'CPU-h':>9}")
    for r in rows:
        planned_text = "-" if r["planned"] is None else str(r["planned"])
        print(f"{r['labeler']:<34} {r['done']:>7} {r['failed']:>7} {r['pending']:>8} {planned_text:>8} {r['cpu_h']:>9.3f}")
    if not rows:
        print(f"{store.path} holds no labels yet")
    return 0
