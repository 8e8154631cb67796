"""`acquire run`: the whole pipeline for a new molecule in one folder, resumable: plan the budget,
sample configurations, label the accurate and the inaccurate sets, then train ASTEROID on them (and
standard training on the same accurate labels beside it)."""
from __future__ import annotations

import argparse
import json
import sys
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
The budget ledger charges the labelers' declared costs, so the run buys exactly its plan."""

STORE_NAME, POOL_NAME, PLAN_NAME, SUMMARY_NAME = "labels.db", "pool.extxyz", "plan.json", "run.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from acquire.cli.label import add_engine_arguments
    from acquire.cli.output import add_output_arguments
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
    add_output_arguments(parser, "print run.json instead of a summary")


def make_plan(args: argparse.Namespace, atoms, accurate, inaccurate):
    """The budget plan at the molecule's declared per-label costs."""
    from budget import parse_budget, parse_share, plan

    auto = str(args.ratio).strip().lower() == "auto"
    policy = parse_share(args.inaccurate_share) if args.inaccurate_share else "paper"
    return plan(parse_budget(args.budget), None if auto else args.ratio, policy=policy,
                accurate_cost_s=accurate.cost(atoms), inaccurate_cost_s=inaccurate.cost(atoms) if auto else None,
                validation=args.validation, charge_validation=args.charge_validation)


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
    from acquire.cli.output import show_progress
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
    config = train.preset(args.preset, seed=args.seed, threads=args.threads, progress=show_progress(args))
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

    from acquire.cli.label import scheduler_of
    from acquire.cli.output import show_progress
    from acquire.cli.sample import settings_from
    from acquire.engine import label_frames
    from acquire.errors import AcquireError
    from acquire.molecules import load_molecule
    from acquire.progress import progress_bar
    from acquire.store import LabelStore
    from labelers import get_labeler

    settings_from(args)  # validate every input before creating anything
    scheduler = scheduler_of(args)
    atoms = load_molecule(args.molecule)
    accurate, inaccurate = get_labeler(args.accurate), get_labeler(args.inaccurate)
    get_labeler(args.calculator)
    the_plan = make_plan(args, atoms, accurate, inaccurate)
    n_accurate = the_plan.accurate.count + the_plan.validation.count
    n_inaccurate = the_plan.inaccurate.count
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise AcquireError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    settings = {"molecule": args.molecule, "accurate": accurate.spec, "inaccurate": inaccurate.spec,
                "method": args.method, "calculator": args.calculator, "temperature": args.temperature,
                "seed": args.seed, "timestep": args.timestep, "equilibration": args.equilibration,
                "interval": args.interval, "budget": args.budget, "ratio": str(args.ratio),
                "inaccurate_share": args.inaccurate_share, "validation": args.validation,
                "charge_validation": args.charge_validation}
    _check_same_run(out / PLAN_NAME, settings)
    ledger_s = the_plan.budget_cpu_s + (0.0 if args.charge_validation else the_plan.validation.cost_cpu_s)
    document = {"settings": settings, "plan": the_plan.model_dump(mode="json"), "ledger_cpu_s": ledger_s,
                "targets": [{"role": "accurate (train + validation)", "spec": accurate.spec, "target": n_accurate},
                            {"role": "inaccurate", "spec": inaccurate.spec, "target": n_inaccurate}]}
    (out / PLAN_NAME).write_text(json.dumps(document, indent=1))
    if not args.quiet:
        print(f"plan {the_plan.budget} at ratio {the_plan.ratio:.4g}: {the_plan.accurate.count} accurate "
              f"(+{the_plan.validation.count} validation) with {accurate.spec}, {n_inaccurate} inaccurate with {inaccurate.spec}",
              file=sys.stderr)

    frames = _pool(out, atoms, n_accurate + n_inaccurate, args)
    order = np.random.default_rng(args.seed).permutation(len(frames))
    parts = ((accurate, [frames[i] for i in order[:n_accurate]]), (inaccurate, [frames[i] for i in order[n_accurate:]]))
    store = LabelStore(out / STORE_NAME)
    reports = []
    for labeler, part in parts:
        if not part:
            continue
        with progress_bar(f"{labeler.spec}", len(part), disabled=not show_progress(args)) as hook:
            reports.append(label_frames(store, labeler, part, workers=args.workers, scheduler=scheduler,
                                        threads=args.threads, max_attempts=args.max_attempts,
                                        retry_failed=args.retry_failed, budget_s=ledger_s,
                                        progress=hook, charge_declared=True))
    metrics = train_models(out, args, accurate.spec, inaccurate.spec, the_plan.validation.count)
    summary = {"folder": str(out), "plan": document["targets"], "labeling": [r.__dict__ for r in reports],
               "cpu_h_spent": store.spent_s() / 3600, "training": metrics}
    (out / SUMMARY_NAME).write_text(json.dumps(summary, indent=1))
    if args.json:
        print(json.dumps(summary))
        return 0
    for r in reports:
        print(f"{r.spec:<30} done {r.already_done + r.done:>6}/{r.requested:<6} failed {r.failed:>4}  "
              f"{r.cost_s / 3600:.4f} CPU-h this run" + ("  (budget used)" if r.budget_stopped else ""))
    if metrics is not None:
        for name in ("asteroid", "standard_same_accurate_labels"):
            print(f"{name:<30} validation force MAE {metrics[name]['validation']['force_mae']:.3f} kcal/mol/Å  "
                  f"model {metrics[name]['model']}")
    else:
        print(f"next: acquire train --accurate {out / STORE_NAME}:{accurate.spec} "
              f"--inaccurate {out / STORE_NAME}:{inaccurate.spec} --train {the_plan.accurate.count} "
              f"--validation {the_plan.validation.count}")
    return 0
