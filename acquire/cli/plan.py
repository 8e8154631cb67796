"""`acquire plan`: what a budget buys at a cost ratio, beside the same-budget standard baseline.

A thin layer over `budget.plan`. Imports only the budget package and rich on the plain path;
labelers (for `--ratio auto`, absolute budgets or an explicit `--accurate`) are imported on demand,
and torch, pyscf and openmm never.
"""
from __future__ import annotations

import argparse
from typing import Any

from acquire.cli import arguments
from acquire.cli.output import add_output_arguments, print_json, stdout_console
from acquire.energy_only import energy_pricing, origin_fields
from acquire.errors import AcquireError
from acquire.plan_costs import add_full_cost_arguments, add_origins

HELP = "Show what a labeling budget buys: accurate and inaccurate label counts and the standard baseline."
EXAMPLES = """examples:
  acquire plan --budget 250ccsd --ratio 40            # 200 CCSD(T) + 2000 DFT vs 250 CCSD(T)
  acquire plan --budget 850ccsd --ratio 80 --json     # 800 + 4000, machine-readable
  acquire plan --budget 250ccsd --ratio 40 --inaccurate-share 20%
  acquire plan --budget 250ccsd --ratio 40 --energy-share 20% --energy-ratio 38   # + CCSD(T) energies, 1/38 of a force label
  acquire plan --budget 125ccsd --ratio auto --molecule CCO --accurate 'pyscf:ccsd(t)/cc-pvdz' --inaccurate pyscf:pbe/def2-svp --energy-share 20%
  acquire plan --budget 12cpu-h --ratio auto --accurate md17:ethanol/ccsd(t) --inaccurate md17:ethanol/dft
  acquire plan --budget 300ccsd --ratio auto --molecule CCO --accurate pyscf:ccsd(t)/cc-pvdz --inaccurate pyscf:pbe/def2-svp
  acquire plan --budget 250ccsd --ratio 40 --policy optimal --from sweep/   # learning curves fitted to `acquire compare` results
"""
DEFAULT_ACCURATE = "md17:ethanol/ccsd(t)"
DEFAULT_INACCURATE = "md17:ethanol/dft"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", required=True, metavar="BUDGET",
                        help="250ccsd (accurate labels; also '250 ccsd(t)', 250acc) or CPU-core time: 12cpu-h, 3600s, 90min")
    parser.add_argument("--ratio", default="auto", metavar="FLOAT|auto",
                        help="cost of one accurate label ÷ one inaccurate label; 'auto' (default) asks the labelers")
    parser.add_argument("--policy", choices=("paper", "share", "optimal"), default=None,
                        help="paper (default): 50 accurate-label equivalents on inaccurate labels; share: --inaccurate-share; "
                        "optimal: the split with the lowest error predicted by learning curves fitted to --from DIR")
    parser.add_argument("--from", dest="from_dirs", metavar="DIR", action="append", default=[],
                        help="an `acquire compare` output folder whose results the optimal policy fits "
                        "(repeatable: one curve through every folder's runs)")
    parser.add_argument("--inaccurate-share", metavar="SHARE", default=None,
                        help="budget spent on inaccurate labels: a percentage (20%%) or accurate units (50ccsd); implies --policy share")
    parser.add_argument("--accurate", metavar="SPEC", default=None,
                        help=f"accurate labeler spec (default {DEFAULT_ACCURATE}); gives CPU-hours")
    parser.add_argument("--inaccurate", metavar="SPEC", default=None,
                        help=f"inaccurate labeler spec (default {DEFAULT_INACCURATE})")
    parser.add_argument("--molecule", metavar="M", default=None,
                        help="molecule for per-label costs: SMILES, a structure file ASE reads (.xyz, .sdf, .mol, ...) or embedded name (default: the md17 set's molecule)")
    parser.add_argument("--validation", type=arguments.frames, default=None, metavar="N",
                        help="accurate validation labels (default: a fifth of the force labels the budget buys outright, "
                        "at most 50; not charged unless --charge-validation)")
    parser.add_argument("--charge-validation", action="store_true",
                        help="pay for the validation set from the budget")
    add_energy_arguments(parser)
    whole = parser.add_argument_group("sampling and training (priced when --molecule costs are known)")
    whole.add_argument("--preset", choices=("quick", "paper", "tiny"), default="quick", help="training preset (default quick)")
    whole.add_argument("--method", choices=("md", "normal-modes"), default="md", help="sampling method (default md)")
    whole.add_argument("--calculator", default=None, metavar="SPEC", help="sampling potential (default xtb:gfn2)")
    whole.add_argument("--interval", type=arguments.positive_steps, default=None, metavar="STEPS", help="MD steps per kept configuration (default 40)")
    whole.add_argument("--equilibration", type=arguments.steps, default=None, metavar="STEPS", help="MD steps discarded first (default 1000)")
    add_full_cost_arguments(whole)
    add_output_arguments(parser)


def add_energy_arguments(parser: argparse.ArgumentParser) -> None:
    """The energy-only share of a budget and its price, shared by `acquire plan` and `acquire run`."""
    group = parser.add_argument_group("accurate energy-only labels (a third kind of label in the budget)")
    group.add_argument("--energy-share", metavar="SHARE", default=None,
                       help="budget spent first on accurate energies without forces: a percentage (20%%) or accurate "
                       "units (50ccsd); the rest is split as without it")
    group.add_argument("--energy-ratio", metavar="FLOAT|auto", default="auto",
                       help="cost of one accurate force label ÷ one energy-only label; 'auto' (default) asks the "
                       "energy labeler's cost law")
    group.add_argument("--energy-labeler", metavar="SPEC", default=None,
                       help="the energy-only labeler (default: the accurate pyscf spec with ;forces=false), e.g. "
                       "'pyscf:lno-ccsd(t)/cc-pvdz'")


def run(args: argparse.Namespace) -> int:
    from budget import BudgetError, get_policy, parse_budget, parse_share, plan

    budget = parse_budget(args.budget)
    policy = _policy(args, get_policy, parse_share, BudgetError)
    accurate = args.accurate or DEFAULT_ACCURATE
    inaccurate = args.inaccurate or DEFAULT_INACCURATE
    auto = str(args.ratio).strip().lower() == "auto"
    accurate_est = inaccurate_est = atoms = None
    if auto or budget.is_absolute or args.accurate is not None:
        atoms = _atoms(args.molecule, accurate, inaccurate)
        accurate_est = label_cost(accurate, atoms)
        if auto:
            inaccurate_est = label_cost(inaccurate, atoms)
    pricing = energy_pricing(args.energy_share, args.energy_ratio, args.energy_labeler, accurate, atoms, accurate_est)
    energy = pricing.labels
    full = None
    if accurate_est is None:
        from acquire.plan_costs import caps_from
        from budget.full_plan import Capped

        cap, training = caps_from(args)
        if training is not None:
            raise BudgetError("--max-training needs per-label costs: give --accurate SPEC, --ratio auto or a CPU-time budget")
        result = plan(budget, None if auto else args.ratio, policy=policy if cap is None else Capped(policy, cap),
                      validation=args.validation, charge_validation=args.charge_validation, energy=energy)
    else:
        full, extra = _plan_everything(args, budget, policy, atoms, accurate, accurate_est, inaccurate_est, auto, energy)
        result = full.labels
    document = add_origins(plan_document(result, accurate, inaccurate, args.molecule), accurate_est, inaccurate_est)
    document["energy_only"].update(origin_fields(pricing))
    if full is not None:
        from acquire.plan_costs import add_costs

        add_costs(document, full, extra, str(budget))
    if args.policy == "optimal":
        from acquire.compare.optimal import optimal_summary

        document["optimal"] = optimal_summary(policy, result, args.from_dirs)
    if args.json:
        print_json(document)
    else:
        print_table(document)
        if full is not None:
            from acquire.plan_costs import cost_lines

            print("\n".join(cost_lines(document["costs"])))
        if "optimal" in document:
            print_optimal(document["optimal"])
    return 0


def _plan_everything(args: argparse.Namespace, budget: Any, policy: Any, atoms: Any, accurate: str,
                     accurate_est: Any, inaccurate_est: Any, auto: bool, energy: Any) -> tuple[Any, Any]:
    """The full plan (labels + sampling + training) when the molecule's costs are known."""
    from dataclasses import replace

    from acquire.labeling.sampling import SamplingSettings
    from acquire.plan_costs import caps_from, plan_everything
    from labelers import get_labeler

    settings = SamplingSettings()
    settings = replace(settings, calculator=args.calculator or settings.calculator,
                       interval=settings.interval if args.interval is None else args.interval,
                       equilibration=settings.equilibration if args.equilibration is None else args.equilibration)
    sampled = md17_molecule(accurate) is None and not accurate.strip().lower().startswith("cached:")
    max_inaccurate, max_training_s = caps_from(args)
    return plan_everything(budget, None if auto else args.ratio, policy, accurate_est, inaccurate_est, atoms,
                           preset=args.preset, method=args.method, settings=settings,
                           calculator=get_labeler(settings.calculator) if sampled else None,
                           validation=args.validation, charge_validation=args.charge_validation,
                           max_inaccurate=max_inaccurate, max_training_s=max_training_s, energy=energy)


def print_optimal(summary: dict[str, Any]) -> None:
    """Predicted (and, where measured, measured) test force MAE of the optimal, paper and standard splits."""

    console = stdout_console()
    console.print(f"learning curve fitted to {summary['points']} results in {', '.join(summary['from'])} "
                  f"(rms log residual {summary['rms_log_residual']:.3f}); test force MAE, kcal/mol/Å:", highlight=False)
    for row in summary["splits"]:
        measured = "" if row["measured"] is None else f", measured {row['measured']:.3f}"
        console.print(f"  {row['split']:<8} {row['n_accurate']:>6} accurate + {row['n_inaccurate']:>6} inaccurate: "
                      f"predicted {row['predicted']:.3f}{measured}", highlight=False)
    if summary["splits"][0]["measured"] is None:
        console.print(f"measure the optimal split: {summary['measure_with']}", highlight=False)

def _policy(args: argparse.Namespace, get_policy: Any, parse_share: Any, error: type[Exception]) -> Any:
    """The Policy the options ask for; --inaccurate-share implies the share policy."""
    if args.policy == "optimal" or args.from_dirs:
        if args.policy != "optimal" or args.inaccurate_share is not None:
            raise error("--from DIR goes with --policy optimal (and no --inaccurate-share)")
        from acquire.compare.optimal import optimal_policy

        return optimal_policy(args.from_dirs)
    if args.inaccurate_share is not None:
        if args.policy == "paper":
            raise error("--inaccurate-share sets the share policy; drop --policy paper")
        return parse_share(args.inaccurate_share)
    return get_policy(args.policy or "paper")


def _atoms(molecule: str | None, accurate: str, inaccurate: str) -> Any:
    """The geometry whose per-label costs are asked: --molecule, or the md17 specs' molecule."""
    from acquire.molecules import load_molecule

    if molecule is None:
        molecule = md17_molecule(accurate) or md17_molecule(inaccurate)
        if molecule is None:
            raise AcquireError(
                f"per-label costs of {accurate} and {inaccurate} depend on the molecule: give --molecule (SMILES, .xyz or 'ethanol')"
            )
    return load_molecule(molecule)


def md17_molecule(spec: str) -> str | None:
    """'md17:ethanol/ccsd(t)' -> 'ethanol'; None for other specs."""
    backend, _, rest = spec.partition(":")
    if backend.strip().lower() != "md17" or not rest.strip():
        return None
    return rest.split("/", 1)[0].strip().lower() or None


def label_cost(spec: str, atoms: Any) -> Any:
    """Cost of one label of `atoms` by the labeler `spec` with its origin (a CostEstimate)."""
    from acquire.plan_costs import estimate
    from labelers import get_labeler

    return estimate(get_labeler(spec), atoms)


def plan_document(result: Any, accurate: str, inaccurate: str, molecule: str | None) -> dict[str, Any]:
    """The plan as one JSON-ready object, with the labeler specs beside their counts."""
    document = result.model_dump(mode="json")
    document["accurate"]["spec"] = accurate
    document["inaccurate"]["spec"] = inaccurate
    document["standard"]["spec"] = accurate
    document["validation"]["spec"] = accurate
    document["molecule"] = molecule
    return document


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def print_table(document: dict[str, Any]) -> None:
    """The plan and the same-budget standard baseline (counts, accurate-label units, CPU-hours)."""
    from rich import box
    from rich.table import Table

    acc, inacc, std, val = (document[k] for k in ("accurate", "inaccurate", "standard", "validation"))
    table = Table(
        title=f"Budget {document['budget']} at cost ratio {document['ratio']:.4g}, {document['policy']} policy "
        f"({document['policy_description']})",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
    )
    columns = [("plan", "left"), ("labels", "left"), ("count", "right"), ("cost (accurate labels)", "right")]
    with_cpu = acc["cost_cpu_h"] is not None
    if with_cpu:
        columns.append(("cost (CPU-h)", "right"))
    for header, justify in columns:
        table.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]

    def row(plan: str, what: str, part: dict[str, Any], count: str | None = None) -> None:
        cells = [plan, what, str(part["count"]) if count is None else count, _num(part["cost_accurate_labels"])]
        table.add_row(*cells, *([_num(part["cost_cpu_h"])] if with_cpu else []))

    energies = document.get("energy_only") or {"count": 0}
    row("ASTEROID", "accurate", acc)
    if energies["count"]:
        row("", "accurate energy-only", energies)
    row("", "inaccurate", inacc)
    row("", "leftover", document["leftover"], count="")
    table.add_section()
    row("standard", "accurate", std)
    if energies["count"] and document.get("standard_energies"):
        table.add_section()
        row("standard +", "accurate", document["standard_energies"])
        row("energies", "accurate energy-only", energies)
    table.add_section()
    row("both", f"validation ({'charged' if val['charged'] else 'not charged'})", val)
    console = stdout_console()
    console.print(table)
    print(f"accurate: {acc['spec']}{_per_label(acc)}", flush=True)  # plain print: never wrapped
    print(f"inaccurate: {inacc['spec']}{_per_label(inacc)}", flush=True)
    if energies["count"]:
        price = f" (1/{document['energy_ratio']:.3g} of a force label)"
        print(f"accurate energy-only: {energies.get('spec') or 'at --energy-ratio'}{_per_label(energies)}{price}", flush=True)


def _per_label(part: dict[str, Any]) -> str:
    if part["label_cost_s"] is None:
        return ""
    origin = part.get("cost_origin") or {}
    return f" ({part['label_cost_s']:.4g} CPU-s per label; {origin.get('describe', 'origin unknown')})"
