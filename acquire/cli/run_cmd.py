"""`acquire run`: the whole pipeline for a new molecule in one folder, resumable: plan the budget,
sample configurations, label the accurate and the inaccurate sets, then train ASTEROID on them (and
standard training on the same accurate labels beside it)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = "plan, sample, label both fidelities (and train) for a molecule in one resumable folder"
EXAMPLES = """examples:
  acquire run --molecule CO --budget 40ccsd --ratio auto --accurate 'pyscf:ccsd(t)/sto-3g' \\
      --inaccurate xtb:gfn2 --inaccurate-share 25% --out run-co
  acquire run --molecule CCO --budget 250ccsd --ratio auto --accurate 'pyscf:ccsd(t)/cc-pvdz' \\
      --inaccurate pyscf:pbe/def2-svp --out run-ethanol --workers 2

The folder holds plan.json, pool.extxyz (sampled configurations), labels.db (the label store),
models/asteroid and models/standard (trained on the labels bought; the standard model uses the same
accurate labels, so it spends less than the budget: `acquire compare --store` is the budget-matched
comparison) and run.json. Rerunning the same command continues where it stopped; nothing bought is bought again.
A folder belongs to one set of settings (budget included): a different run needs another --out.
Sampling cost: MD makes one frame per --interval steps of the --calculator; for many cheap labels
(xtb at a high ratio) --method normal-modes or a smaller --interval keeps sampling short.
The budget ledger charges the plan's cost per label, so the run buys exactly its plan; --dry-run prints
the plan with its sampling, labeling and training estimates and stops. A budget in CPU time covers all
three; inaccurate labels are capped (--max-inaccurate, --max-training) and what the cap frees buys
accurate labels."""

STORE_NAME, POOL_NAME, PLAN_NAME, SUMMARY_NAME = "labels.db", "pool.extxyz", "plan.json", "run.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from acquire.cli.label import add_engine_arguments
    from acquire.costs import add_full_cost_arguments
    from acquire.cli.sample import add_sampling_arguments
    from acquire.sampling import SamplingSettings

    parser.add_argument("--molecule", required=True, metavar="M", help="SMILES, .xyz/.extxyz file, or 'ethanol'")
    parser.add_argument("--budget", required=True, metavar="BUDGET", help="e.g. 250ccsd (accurate labels) or 12cpu-h")
    parser.add_argument("--ratio", default="auto", metavar="FLOAT|auto", help="accurate ÷ inaccurate cost per label (default auto: declared costs)")
    parser.add_argument("--accurate", required=True, metavar="SPEC", help="accurate labeler, e.g. 'pyscf:ccsd(t)/cc-pvdz'")
    parser.add_argument("--inaccurate", required=True, metavar="SPEC", help="inaccurate labeler, e.g. pyscf:pbe/def2-svp or xtb:gfn2")
    parser.add_argument("--inaccurate-share", default=None, metavar="SHARE", help="budget share for inaccurate labels (20%% or 50ccsd; default: paper policy)")
    parser.add_argument("--validation", type=int, default=50, metavar="N", help="accurate validation labels (default 50)")
    parser.add_argument("--charge-validation", action="store_true", help="pay the validation labels from the budget")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder (created; reused on rerun)")
    add_sampling_arguments(parser, SamplingSettings())
    engine = parser.add_argument_group("labeling engine")
    add_engine_arguments(engine, budget=False)
    training = parser.add_argument_group("training (after labeling)")
    training.add_argument("--preset", choices=("quick", "paper", "tiny"), default="quick", help="training preset (default quick)")
    training.add_argument("--no-train", action="store_true", help="stop after labeling")
    add_full_cost_arguments(training)
    parser.add_argument("--dry-run", action="store_true", help="print the plan with every estimate and stop")
    parser.add_argument("--json", action="store_true", help="print run.json instead of a summary")


def make_plan(args: argparse.Namespace, atoms, accurate, inaccurate, calculator):
    """(the label plan at the molecule's per-label costs, the plan as a document with each cost's
    origin and what sampling, labeling and training cost)."""
    from acquire.cli.sample import settings_from
    from acquire.costs import add_origins, caps_from, costs_document, estimate, plan_everything
    from budget import parse_budget, parse_share

    auto = str(args.ratio).strip().lower() == "auto"
    policy = parse_share(args.inaccurate_share) if args.inaccurate_share else "paper"
    accurate_est = estimate(accurate, atoms)
    inaccurate_est = estimate(inaccurate, atoms) if auto else None
    max_inaccurate, max_training_s = caps_from(args)
    budget = parse_budget(args.budget)
    full, extra = plan_everything(budget, None if auto else args.ratio, policy, accurate_est, inaccurate_est, atoms,
                                  preset=args.preset, method=args.method, settings=settings_from(args),
                                  calculator=calculator, validation=args.validation,
                                  charge_validation=args.charge_validation, max_inaccurate=max_inaccurate,
                                  max_training_s=max_training_s)
    document = add_origins(full.labels.model_dump(mode="json"), accurate_est, inaccurate_est)
    document["costs"] = costs_document(full, str(budget))
    document["budget"] = str(budget)  # the whole budget; document["costs"]["label_budget"] is the labels' part
    document["costs"]["how"] = {"sampling": extra.sampling_note, "training": extra.training_note}
    if args.no_train:
        document["costs"]["notes"].append("--no-train: the training estimate is not spent")
    return full.labels, document


def cost_checks(reports: list, the_plan, specs: tuple[str, str]) -> dict:
    """Measured CPU-core seconds per label of this run's labels against the plan's, per labeler,
    and the cost ratio the labels actually had against the plan's."""
    from acquire.costs import check, ratio_check

    planned = dict(zip(specs, (the_plan.accurate.label_cost_s, the_plan.inaccurate.label_cost_s)))
    by_spec = {r.spec: r for r in reports}
    checks = [check(s, by_spec[s].done, by_spec[s].cost_s, planned[s]) if s in by_spec else None for s in specs]
    return {"labelers": [c for c in checks if c is not None], "ratio": ratio_check(checks, the_plan.ratio)}


def _check_same_run(path: Path, settings: dict) -> None:
    """A rerun must ask for the same run as the one in the folder."""
    from acquire.errors import AcquireError

    if not path.is_file():
        return
    previous = json.loads(path.read_text()).get("settings", {})
    changed = sorted(k for k in settings if previous.get(k) != settings[k])
    if changed:
        raise AcquireError(f"{path.parent} holds a run with other settings ({', '.join(changed)}); use another --out")


def _pool(out: Path, atoms, count: int, args: argparse.Namespace):
    """The sampled configurations: read back if sampled before, else sampled and written."""
    from acquire.cli.sample import settings_from
    from acquire.pools import read_pool
    from acquire.sampling import sample, write_frames

    path = out / POOL_NAME
    if path.is_file():
        frames = read_pool(str(path))
        if len(frames) == count:
            return frames
    frames = sample(atoms, count, args.method, settings_from(args))
    write_frames(frames, str(path))
    return read_pool(str(path))  # exactly what the file holds, so a rerun hashes the same positions


def train_models(out: Path, args: argparse.Namespace, accurate_spec: str, inaccurate_spec: str,
                 n_validation: int) -> dict | None:
    """Train ASTEROID on what the run bought (accurate + inaccurate labels in the store) and, beside it,
    standard training on the same accurate labels, both selected on the validation labels; models
    and metrics under `out/models/`. Resumable: finished stages are reused. None with --no-train."""
    if args.no_train:
        return None
    import numpy as np

    import train
    from acquire.compare import frames_of
    from acquire.errors import AcquireError
    from acquire.sources import load_source

    store = out / STORE_NAME
    accurate, inaccurate = load_source(f"{store}:{accurate_spec}"), load_source(f"{store}:{inaccurate_spec}")
    if len(accurate) < n_validation + 1:
        raise AcquireError(f"{len(accurate)} accurate labels are done, too few for {n_validation} validation "
                           "labels and training; rerun to finish labeling or lower --validation")
    order = np.random.default_rng(args.seed).permutation(len(accurate))
    validation = frames_of(accurate, sorted(order[:n_validation]), "validation")
    accurate_train = frames_of(accurate, sorted(order[n_validation:]), "accurate")
    config = train.preset(args.preset, seed=args.seed, threads=args.threads, progress=not (args.no_progress or args.json))
    asteroid = train.run_asteroid(accurate_train, frames_of(inaccurate, list(range(len(inaccurate))), "inaccurate"),
                                  validation, None, config, out / "models" / "asteroid")
    standard = train.run_standard(accurate_train, validation, None, config, out / "models" / "standard")
    return {"units": {"force_mae": "kcal/mol/Å", "energy_mae": "kcal/mol"}, "preset": args.preset,
            "asteroid": {"validation": asteroid.metrics["validation"], "gamma": asteroid.metrics.get("gamma"),
                         "model": str(out / "models" / "asteroid")},
            "standard_same_accurate_labels": {"validation": standard.metrics["validation"],
                                              "model": str(out / "models" / "standard")}}


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from acquire.cli.sample import settings_from
    from acquire.costs import print_costs
    from acquire.engine import label_frames
    from acquire.errors import AcquireError
    from acquire.molecules import load_molecule
    from acquire.progress import progress_bar
    from acquire.store import LabelStore
    from labelers import get_labeler

    settings_from(args)  # validate every input before creating anything
    atoms = load_molecule(args.molecule)
    accurate, inaccurate = get_labeler(args.accurate), get_labeler(args.inaccurate)
    calculator = get_labeler(args.calculator)
    the_plan, plan_doc = make_plan(args, atoms, accurate, inaccurate, calculator)
    n_accurate = the_plan.accurate.count + the_plan.validation.count
    n_inaccurate = the_plan.inaccurate.count
    settings = {"molecule": args.molecule, "accurate": accurate.spec, "inaccurate": inaccurate.spec,
                "method": args.method, "calculator": args.calculator, "temperature": args.temperature,
                "seed": args.seed, "timestep": args.timestep, "equilibration": args.equilibration,
                "interval": args.interval, "budget": args.budget, "ratio": str(args.ratio),
                "inaccurate_share": args.inaccurate_share, "validation": args.validation,
                "charge_validation": args.charge_validation}
    ledger_s = the_plan.budget_cpu_s + (0.0 if args.charge_validation else the_plan.validation.cost_cpu_s)
    document = {"settings": settings, "plan": plan_doc, "ledger_cpu_s": ledger_s,
                "targets": [{"role": "accurate (train + validation)", "spec": accurate.spec, "target": n_accurate},
                            {"role": "inaccurate", "spec": inaccurate.spec, "target": n_inaccurate}]}
    print(f"plan {plan_doc['budget']} at ratio {the_plan.ratio:.4g}: {the_plan.accurate.count} accurate "
          f"(+{the_plan.validation.count} validation) with {accurate.spec}, {n_inaccurate} inaccurate with {inaccurate.spec}",
          file=sys.stderr)
    for role in ("accurate", "inaccurate"):
        print(f"  {role} cost per label: {plan_doc[role]['label_cost_s']:.4g} CPU-s, "
              f"{plan_doc[role]['cost_origin']['describe']}", file=sys.stderr)
    print_costs(plan_doc["costs"], plan_doc["costs"]["how"], file=sys.stderr)
    if args.dry_run:  # nothing written
        if args.json:
            print(json.dumps({"dry_run": True, "plan": plan_doc, "targets": document["targets"]}))
        return 0
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise AcquireError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    _check_same_run(out / PLAN_NAME, settings)
    (out / PLAN_NAME).write_text(json.dumps(document, indent=1))

    announce("sampling", f"{n_accurate + n_inaccurate} configurations", plan_doc["costs"]["sampling"]["cpu_s"])
    began = time.monotonic()
    frames = _pool(out, atoms, n_accurate + n_inaccurate, args)
    sampling_s = time.monotonic() - began
    order = np.random.default_rng(args.seed).permutation(len(frames))
    parts = ((accurate, [frames[i] for i in order[:n_accurate]]), (inaccurate, [frames[i] for i in order[n_accurate:]]))
    store = LabelStore(out / STORE_NAME)
    reports = []
    for labeler, part in parts:
        if not part:
            continue
        unit_cost = plan_doc["accurate" if labeler is accurate else "inaccurate"]["label_cost_s"]
        announce("labeling", f"{len(part)} configurations with {labeler.spec}", len(part) * unit_cost)
        with progress_bar(f"{labeler.spec}", len(part), disabled=args.no_progress or args.json) as hook:
            reports.append(label_frames(store, labeler, part, workers=args.workers, scheduler=args.scheduler,
                                        threads=args.threads, max_attempts=args.max_attempts,
                                        retry_failed=args.retry_failed, budget_s=ledger_s,
                                        progress=hook, charge_declared=True, declared_s=unit_cost))
    if not args.no_train:
        announce("training", f"preset {args.preset}", plan_doc["costs"]["training"]["cpu_s"])
    began = time.monotonic()
    metrics = train_models(out, args, accurate.spec, inaccurate.spec, the_plan.validation.count)
    training_s = (time.monotonic() - began) * args.threads
    checks = cost_checks(reports, the_plan, (accurate.spec, inaccurate.spec))
    checks["estimates"] = estimate_checks(plan_doc["costs"], {
        "sampling": sampling_s, "labeling": sum(r.cost_s for r in reports),
        "training": None if metrics is None else training_s})
    summary = {"folder": str(out), "plan": document["targets"], "labeling": [r.__dict__ for r in reports],
               "cpu_h_spent": store.spent_s() / 3600, "cost_check": checks, "training": metrics}
    (out / SUMMARY_NAME).write_text(json.dumps(summary, indent=1))
    if args.json:
        print(json.dumps(summary))
        return 0
    for r in reports:
        print(f"{r.spec:<30} done {r.already_done + r.done:>6}/{r.requested:<6} failed {r.failed:>4}  "
              f"{r.cost_s / 3600:.4f} CPU-h this run" + ("  (budget used)" if r.budget_stopped else ""))
    print_cost_checks(checks)
    if metrics is not None:
        for name in ("asteroid", "standard_same_accurate_labels"):
            print(f"{name:<30} validation force MAE {metrics[name]['validation']['force_mae']:.3f} kcal/mol/Å  "
                  f"model {metrics[name]['model']}")
    else:
        print(f"next: acquire train --accurate {out / STORE_NAME}:{accurate.spec} "
              f"--inaccurate {out / STORE_NAME}:{inaccurate.spec} --train {the_plan.accurate.count} "
              f"--validation {the_plan.validation.count}")
    return 0


def announce(step: str, what: str, cpu_s: float) -> None:
    """One line on stderr before a step: what it does and its estimated CPU time (a rerun does less)."""
    when = f"{cpu_s / 60:.1f} CPU-min" if cpu_s < 7200 else f"{cpu_s / 3600:.1f} CPU-h"
    print(f"{step}: {what}, estimated {when} (less if resumed)", file=sys.stderr)


def estimate_checks(costs: dict, actual: dict) -> list[dict]:
    """Each part's actual CPU-core seconds (this invocation; a resumed run did less) against the
    plan's estimate; `overshoot` beyond 1.5x. Parts not run (None) are left out."""
    from acquire.costs import OFF_FACTOR

    rows = []
    for part, seconds in actual.items():
        estimated = costs[part]["cpu_s"]
        if seconds is None or estimated <= 0:
            continue
        rows.append({"part": part, "actual_s": seconds, "estimated_s": estimated, "factor": seconds / estimated,
                     "overshoot": seconds > OFF_FACTOR * estimated})
    return rows


def print_cost_checks(checks: dict) -> None:
    """One line per labeler whose labels cost more than 1.5x off the plan, and the ratio's check."""
    for c in checks["labelers"]:
        print(f"cost check: {c['message']}" if c["off"] else
              f"cost check: {c['spec']} {c['measured_s_per_label']:.4g} CPU-s per label, plan "
              f"{c['planned_s_per_label']:.4g} s ({c['factor']:.2f}x): as planned")
    for part in checks["estimates"]:
        if part["overshoot"]:
            print(f"estimate overshot: {part['part']} took {part['actual_s'] / 3600:.3g} CPU-h, the plan estimated "
                  f"{part['estimated_s'] / 3600:.3g} CPU-h ({part['factor']:.2f}x)")
    ratio = checks["ratio"]
    if ratio is not None and ratio["off"]:
        print(f"cost check: the labels' cost ratio was {ratio['measured']:.4g}, the plan assumed {ratio['planned']:.4g} "
              f"({ratio['factor']:.2f}x); with the measured ratio the budget would have been split differently")
