"""`acquire run`: the whole pipeline for a new molecule in one folder, resumable: plan the budget,
sample configurations, label the accurate and the inaccurate sets (and accurate
energy-only labels with --energy-share), then train ASTEROID on them (and
standard training on the same accurate labels beside it)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from acquire.cli import arguments

HELP = "plan, sample, label both fidelities (and train) for a molecule in one resumable folder"
EXAMPLES = """examples:
  acquire run --molecule CO --budget 40ccsd --ratio auto --accurate 'pyscf:ccsd(t)/sto-3g' \\
      --inaccurate xtb:gfn2 --inaccurate-share 25% --out run-co
  acquire run --molecule CCO --budget 250ccsd --ratio auto --accurate 'pyscf:ccsd(t)/cc-pvdz' \\
      --inaccurate pyscf:pbe/def2-svp --out run-ethanol --workers 2
  acquire run --molecule CCO --budget 250ccsd --ratio auto --accurate 'pyscf:ccsd(t)/cc-pvdz' \\
      --inaccurate pyscf:pbe/def2-svp --energy-share 20% --out run-ethanol-energies   # + CCSD(T) energies

The folder holds plan.json, pool.extxyz (sampled configurations), labels.db (the label store),
models/asteroid and models/standard (trained on the labels bought; the standard model uses the same
accurate labels, so it spends less than the budget: `acquire compare --store` is the budget-matched
comparison) and run.json. With --energy-share, more sampled configurations get accurate energies
without forces (the accurate pyscf spec with ;forces=false, or --energy-labeler), which both models fit
beside the force labels. Rerunning the same command continues where it stopped; nothing bought is bought again.
A folder belongs to one set of settings (budget included): a different run needs another --out.
Sampling cost: MD makes one frame per --interval steps of the --calculator; for many cheap labels
(xtb at a high ratio) --method normal-modes or a smaller --interval keeps sampling short.
The budget ledger charges the plan's cost per label, so the run buys exactly its plan; --dry-run prints
the plan with its sampling, labeling and training estimates and stops. A budget in CPU time covers all
three; inaccurate labels are capped (--max-inaccurate, --max-training) and what the cap frees buys
accurate labels."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from acquire.cli.label import add_engine_arguments
    from acquire.cli.output import add_output_arguments
    from acquire.cli.plan import add_energy_arguments
    from acquire.cli.sample import add_sampling_arguments
    from acquire.labeling.sampling import SamplingSettings
    from acquire.plan_costs import add_full_cost_arguments
    from acquire.selection import SELECTIONS

    parser.add_argument("--molecule", required=True, metavar="M", help="SMILES, a structure file ASE reads (.xyz, .extxyz, .sdf, .mol, ...) or 'ethanol'")
    parser.add_argument("--budget", required=True, metavar="BUDGET", help="e.g. 250ccsd (accurate labels) or 12cpu-h")
    parser.add_argument("--ratio", default="auto", metavar="FLOAT|auto", help="accurate ÷ inaccurate cost per label (default auto: declared costs)")
    parser.add_argument("--accurate", required=True, metavar="SPEC", help="accurate labeler, e.g. 'pyscf:ccsd(t)/cc-pvdz'")
    parser.add_argument("--inaccurate", required=True, metavar="SPEC", help="inaccurate labeler, e.g. pyscf:pbe/def2-svp or xtb:gfn2")
    parser.add_argument("--inaccurate-share", default=None, metavar="SHARE", help="budget share for inaccurate labels (20%% or 50ccsd; default: paper policy)")
    parser.add_argument("--validation", type=arguments.frames, default=50, metavar="N", help="accurate validation labels (default 50)")
    parser.add_argument("--charge-validation", action="store_true", help="pay the validation labels from the budget")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder (created; reused on rerun)")
    parser.add_argument("--selection", choices=SELECTIONS, default="random",
                        help="which sampled configurations get the accurate labels (validation is always random): "
                        "random; diverse (farthest-point sampling on inverse interatomic distances); uncertain "
                        "(the cheap labels are bought first and a committee of 3 models trained on them picks "
                        "where it disagrees most) (default random)")
    add_energy_arguments(parser)
    add_sampling_arguments(parser, SamplingSettings())
    engine = parser.add_argument_group("labeling engine")
    add_engine_arguments(engine, budget=False)
    training = parser.add_argument_group("training (after labeling)")
    training.add_argument("--preset", choices=("quick", "paper", "tiny"), default="quick", help="training preset (default quick)")
    training.add_argument("--no-train", action="store_true", help="stop after labeling")
    add_full_cost_arguments(training)
    parser.add_argument("--dry-run", action="store_true", help="print the plan with every estimate and stop")
    add_output_arguments(parser, "print run.json instead of a summary")


def run(args: argparse.Namespace) -> int:
    from acquire.cli.label import scheduler_of
    from acquire.cli.output import show_progress
    from acquire.cli.sample import settings_from
    from acquire.folders import output_folder
    from acquire.pipeline import STORE_NAME, EngineOptions, RunSettings, run_pipeline
    from acquire.plan_costs import caps_from

    max_inaccurate, max_training_s = caps_from(args)
    settings = RunSettings(molecule=args.molecule, budget=args.budget, accurate=args.accurate,
                           inaccurate=args.inaccurate, out=Path(args.out), ratio=str(args.ratio),
                           inaccurate_share=args.inaccurate_share, validation=args.validation,
                           charge_validation=args.charge_validation, method=args.method,
                           sampling=settings_from(args), preset=None if args.no_train else args.preset,
                           training_preset=args.preset, max_inaccurate=max_inaccurate,
                           max_training_s=max_training_s, selection=args.selection,
                           energy_share=args.energy_share, energy_ratio=str(args.energy_ratio),
                           energy_labeler=args.energy_labeler)
    engine = EngineOptions(workers=args.workers, threads=args.threads, scheduler=scheduler_of(args),
                           max_attempts=args.max_attempts, retry_failed=args.retry_failed)
    output_folder(args.out, "run", create=not args.dry_run)
    outcome = run_pipeline(settings, engine, progress=show_progress(args),
                           log=(lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr)),
                           dry_run=args.dry_run)
    summary, out, the_plan = outcome.summary, settings.out, outcome.plan
    if args.json:
        print(json.dumps(summary))
        return 0
    if args.dry_run:
        return 0
    for r in outcome.reports:
        print(f"{r.spec:<30} done {r.already_done + r.done:>6}/{r.requested:<6} failed {r.failed:>4}  "
              f"{r.cost_s / 3600:.4f} CPU-h this run" + ("  (budget used)" if r.budget_stopped else ""))
    print_cost_checks(summary["cost_check"])
    metrics = summary["training"]
    if metrics is not None:
        for name in ("asteroid", "standard_same_accurate_labels"):
            print(f"{name:<30} validation force MAE {metrics[name]['validation']['force_mae']:.3f} kcal/mol/Å  "
                  f"model {metrics[name]['model']}")
    else:
        energies = "" if outcome.energy_spec is None else f" --energy-only '{out / STORE_NAME}:{outcome.energy_spec}'"
        print(f"next: acquire train --accurate {out / STORE_NAME}:{outcome.accurate_spec} "
              f"--inaccurate {out / STORE_NAME}:{outcome.inaccurate_spec} --train {the_plan.accurate.count} "
              f"--validation {the_plan.validation.count}{energies}")
    return 0


def print_cost_checks(checks: dict) -> None:
    """One line per labeler whose labels cost more than 1.5x off the plan, each overshot estimate, and
    the ratio's check."""
    for c in checks["labelers"]:
        print(f"cost check: {c['message']}" if c["off"] else
              f"cost check: {c['spec']} {c['measured_s_per_label']:.4g} CPU-s per label, plan "
              f"{c['planned_s_per_label']:.4g} s ({c['factor']:.2f}x): as planned")
    for part in checks["estimates"]:
        if part["overshoot"]:
            print(f"estimate overshot: {part['part']} took {part['actual_s'] / 3600:.3g} CPU-h, the plan estimated "
                  f"{part['estimated_s'] / 3600:.3g} CPU-h ({part['factor']:.2f}x)")
    for key, what in (("ratio", "the labels' cost ratio"), ("energy_ratio", "a force label's cost ÷ an energy-only one's")):
        ratio = checks.get(key)
        if ratio is not None and ratio["off"]:
            print(f"cost check: {what} was {ratio['measured']:.4g}, the plan assumed {ratio['planned']:.4g} "
                  f"({ratio['factor']:.2f}x); with the measured ratio the budget would have been split differently")
