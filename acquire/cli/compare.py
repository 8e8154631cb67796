"""`acquire compare`: standard training vs ASTEROID (and ablations) at the same labeling budget.

A thin layer over `acquire.compare.runner.run_comparison`; torch and the trainer load inside `run` only.
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from acquire.cli import arguments
from acquire.cli.config_file import add_config_argument
from acquire.cli.output import add_output_arguments, print_json, show_progress
from acquire.errors import AcquireError

HELP = "Compare standard training and ASTEROID at equal labeling cost: table, report.md, metrics.json, plots."
EXAMPLES = """examples:
  acquire compare --dataset ethanol --budget 250ccsd --ratio 40 --seeds 3 --preset quick --out report/
  acquire compare --dataset ethanol --budget 250ccsd --ratio 40 --ablations --unlabeled --out report/
  acquire compare --dataset ethanol --budgets 100ccsd,250ccsd,500ccsd --ratios 20,40 --out sweep/
  acquire compare --dataset ethanol --budget 250ccsd --ratio 40 --gammas 0.1,0.5,1,2 --out gamma/
  acquire compare --dataset ethanol --inaccurate xtb:gfn2 --ratio auto --budget 250ccsd --seeds 3 --out xtb/
  acquire compare --dataset ethanol --inaccurate openmm:gaff-2.11 --pool pool.extxyz --ratio 1000 --out gaff/
  acquire compare --dataset ethanol --budget 250ccsd --ratio 40 --selection diverse --test 500 --out diverse/
  acquire compare --dataset ethanol --budget 250ccsd --ratio 40 --selection uncertain --test 500 --out uncertain/
  acquire compare --config sweep.yaml --out sweep2/   # budgets: [100ccsd, 250ccsd], seeds: 3, preset: paper,
                                                      # training: {pretrain: {epochs: 40}}
  acquire compare --config old/metrics.json --out again/   # replay a comparison's recorded settings
  acquire compare --store labels.db --accurate 'pyscf:ccsd(t)/cc-pvdz' --inaccurate pyscf:pbe/def2-svp \\
                  --budget 100ccsd --ratio 54 --ablations --out mine/
With a computing --inaccurate labeler the pool (--pool FILE, or the data set's DFT geometries) is
labelled into OUT/labels.db, only the frames the plan draws; a budget that buys more inaccurate
labels than the pool holds uses the pool and reports the leftover.
Rerun the same command to resume: finished runs and labels are kept. Errors are test MAE in kcal/mol/Å
(forces, mean over atoms and components) and kcal/mol (energies). Then:
  acquire plan --policy optimal --from sweep/ --budget 250ccsd --ratio 40
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from acquire.selection import SELECTIONS

    source = parser.add_argument_group("labels")
    source.add_argument("--dataset", choices=("ethanol",), default=None,
                        help="embedded data set: MD17 ethanol CCSD(T) (accurate) and DFT (inaccurate)")
    source.add_argument("--store", metavar="DB", default=None, help="a label store (acquire label ... --store DB)")
    source.add_argument("--accurate", metavar="SPEC", default=None,
                        help="accurate labeler spec in --store (or a SRC such as md17:ethanol/ccsd(t))")
    source.add_argument("--inaccurate", metavar="SPEC", default=None,
                        help="inaccurate labeler spec in --store (or a SRC), or a computing labeler (xtb:gfn2, "
                        "openmm:gaff-2.11, pyscf:...) that labels the pool into OUT/labels.db")
    source.add_argument("--pool", metavar="FILE", default=None,
                        help="geometries (.xyz/.extxyz) a computing --inaccurate labeler labels "
                        "(default with --dataset: its DFT geometries)")
    source.add_argument("--workers", type=arguments.workers, default=None, metavar="K",
                        help="processes labelling the pool (default: one per core)")
    budget = parser.add_argument_group("budget")
    budget.add_argument("--budget", default=None, help="budget, e.g. 250ccsd (default 250ccsd)")
    budget.add_argument("--budgets", default=None, metavar="LIST", help="sweep: comma-separated budgets, e.g. 100ccsd,250ccsd,500ccsd")
    budget.add_argument("--ratio", default=None,
                        help="cost ratio accurate ÷ inaccurate per label, or auto: the labelers' declared or "
                        "calibrated costs (default 40)")
    budget.add_argument("--ratios", default=None, metavar="LIST", help="sweep: comma-separated ratios, e.g. 10,20,40,80")
    budget.add_argument("--inaccurate-share", default=None, metavar="SHARE",
                        help="spend this on inaccurate labels (20%% or 50ccsd) instead of the paper policy (50ccsd)")
    budget.add_argument("--validation", type=arguments.frames, default=50, metavar="N", help="accurate validation frames (default 50, not charged)")
    budget.add_argument("--test", type=arguments.positive_frames, default=None, metavar="N", help="cap on test frames (default: every remaining accurate frame)")
    budget.add_argument("--test-source", default=None, metavar="SRC",
                        help="held-out accurate labels to test on (e.g. an independent MD trajectory in a store): "
                        "all its frames are test frames (--test caps them) and the accurate labels are split into "
                        "training and validation only (default: test on the accurate labels left over)")
    methods = parser.add_argument_group("methods and training")
    methods.add_argument("--selection", choices=SELECTIONS, default="random",
                         help="which training frames the accurate budget buys first: random; diverse "
                         "(farthest-point sampling on inverse interatomic distances); uncertain (where a "
                         "committee of 3 models trained on the cheap labels disagrees most). diverse and "
                         "uncertain choose among every non-test frame: give --test N to leave them room "
                         "(default random)")
    methods.add_argument("--extra-inaccurate", action="append", default=[], metavar="SRC",
                         help="cheap labels of further molecules that ASTEROID (and its ablations) also pretrain on "
                         "(the paper's Table 5; repeatable; a store may hold several molecules, SRC@FORMULA keeps one; one fidelity with "
                         "--inaccurate); not charged to the budget: the report lists them")
    methods.add_argument("--energy-only", default=None, metavar="SRC",
                         help="accurate energy-only labels that ASTEROID's fine-tuning also fits, e.g. of bond-stretched "
                         "frames (acquire sample --method stretch): 'labels.db:pyscf:ccsd(t)/cc-pvdz;forces=false'; "
                         "not charged to the budget: the report lists them")
    methods.add_argument("--energy-share", default=None, metavar="SHARE",
                         help="buy accurate energy-only labels with this part of each budget (20%%, 50ccsd): ASTEROID and "
                         "'standard + accurate energies' train on them (their forces withheld; test frames keep theirs); "
                         "with --energy-only SRC they are that source's frames")
    methods.add_argument("--energy-ratio", type=arguments.cost_ratio, default=None, metavar="FLOAT",
                         help="with --energy-share: an accurate force label's cost ÷ an energy-only one's (38 for "
                         "CCSD(T)/cc-pVDZ of ethanol)")
    methods.add_argument("--reuse", action="append", default=[], metavar="DIR",
                         help="an earlier comparison's folder: a run there with the same method, seed, frames and "
                         "settings (as far as the method reads them: a standard run does not read the cheap "
                         "labels) is copied instead of trained (repeatable)")
    methods.add_argument("--seeds", type=arguments.runs, default=1, metavar="N", help="seeds 0..N-1, one split each (default 1)")
    methods.add_argument("--preset", choices=("quick", "paper", "tiny"), default="quick", help="training preset (default quick)")
    methods.add_argument("--ablations", action="store_true",
                         help="also ASTEROID without bias weights, without fine-tuning, and Delta-ML (needs paired labels)")
    methods.add_argument("--unlabeled", action="store_true",
                         help="also score matching on the inaccurate pool's geometries with their labels removed")
    methods.add_argument("--gammas", default=None, metavar="LIST", help="ASTEROID gamma candidates, kcal/mol/Å; add uniform to let the validation set also "
                         "choose plain pretraining without bias weights, e.g. 1,uniform (default: the preset's)")
    methods.add_argument("--threads", type=arguments.threads, default=1, metavar="N", help="torch threads per run (default 1)")
    methods.add_argument("--jobs", type=arguments.jobs, default=1, metavar="N",
                         help="runs trained at once, each in its own process; results do not depend on it (default 1)")
    add_config_argument(methods)
    output = parser.add_argument_group("output")
    output.add_argument("--out", required=True, metavar="DIR", help="output folder (rerun to resume)")
    add_output_arguments(output, "print the summary as JSON instead of a table")


def _list(text: str | None, single: str | None, default: str, what: str) -> list[str]:
    if text is not None and single is not None:
        raise AcquireError(f"give --{what} or --{what}s, not both")
    items = [t.strip() for t in (text if text is not None else single or default).split(",")]
    if not all(items):
        raise AcquireError(f"--{what}s must be a comma-separated list such as {default}, got {text!r}")
    if len(set(items)) != len(items):
        raise AcquireError(f"--{what}s lists a value twice: {text!r}")
    return items


def command_line(args: argparse.Namespace) -> str:
    """The command line that reproduces these options (training-config fields from a --config
    file are recorded in the settings' `training`, replayed with `--config metrics.json`)."""
    words = ["acquire", "compare"]
    for name, value in vars(args).items():
        if name.startswith("_") or name in ("command", "config", "training") or value in (None, False, []):
            continue
        option = "--" + name.replace("_", "-")
        if value is True:
            words.append(option)
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:  # a repeatable option once per value
            words += [option, shlex.quote(str(item))]
    return " ".join(words)


def settings_from(args: argparse.Namespace) -> Any:
    """CompareSettings from the options: the label sources they name and their lists read; the
    settings check every value (one-line errors), the run loads the sources and pins --ratio auto."""
    from acquire.compare.settings import DATASETS, CompareSettings
    from budget import parse_budget, parse_ratio
    from train.config import parse_gammas

    accurate, inaccurate, pool = _sources(args)
    budgets = [str(parse_budget(b)) for b in _list(args.budgets, args.budget, "250ccsd", "budget")]
    ratios = [text.lower() if text.lower() == "auto" else parse_ratio(text)
              for text in _list(args.ratios, args.ratio, "40", "ratio")]
    gammas, uniform = (None, False) if args.gammas is None else parse_gammas(args.gammas)
    if not args.store and pool is None and args.dataset and _computes(inaccurate):
        pool = DATASETS[args.dataset][1]  # a computing labeler labels the data set's DFT geometries
    return CompareSettings(accurate=accurate, inaccurate=inaccurate, budgets=tuple(budgets), ratios=tuple(ratios),
                           seeds=args.seeds, preset=args.preset, inaccurate_share=args.inaccurate_share,
                           validation=args.validation, test=args.test, gammas=gammas, uniform_candidate=uniform,
                           ablations=args.ablations,
                           unlabeled=args.unlabeled, threads=args.threads, jobs=args.jobs, progress=show_progress(args),
                           dataset=args.dataset, command=command_line(args), pool=pool, label_workers=args.workers,
                           selection=args.selection, training=args.training or None,
                           extra_inaccurate=tuple(args.extra_inaccurate), energy_only=args.energy_only,
                           energy_share=args.energy_share, energy_ratio=args.energy_ratio,
                           test_source=args.test_source,
                           reuse=tuple(args.reuse))


def _sources(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """(accurate SRC, inaccurate SRC, --pool) the options name."""
    from acquire.compare.settings import DATASETS

    if args.dataset and (args.store or args.accurate):
        raise AcquireError("give --dataset (optionally with --inaccurate), or --store with --accurate and --inaccurate, "
                           "not both")
    if args.dataset:
        accurate, inaccurate = DATASETS[args.dataset]
        inaccurate = args.inaccurate or inaccurate
    elif args.accurate and args.inaccurate:
        accurate, inaccurate = args.accurate, args.inaccurate
        if args.store:
            if not Path(args.store).is_file():
                raise AcquireError(f"label store not found: {args.store}")
            accurate, inaccurate = f"{args.store}:{accurate}", f"{args.store}:{inaccurate}"
    else:
        raise AcquireError("give --dataset ethanol, or --store DB --accurate SPEC --inaccurate SPEC")
    if args.pool is None and not args.dataset and not args.store and _computes(inaccurate):
        raise AcquireError(f"{inaccurate} computes its labels: give --pool FILE with the geometries to label")
    return accurate, inaccurate, args.pool


def _computes(spec: str) -> bool:
    from acquire.compare.pool import computes_labels

    return computes_labels(spec)


def run(args: argparse.Namespace) -> int:
    return compare_and_report(settings_from(args), args, "compare")


def compare_and_report(settings: Any, args: argparse.Namespace, command: str) -> int:
    """Run the comparison (log lines on stderr for a terminal) and print its summary: a table, or
    one JSON document with --json. Shared by `acquire compare` and `acquire demo`."""
    from rich.console import Console

    from acquire.compare.runner import run_comparison
    from acquire.folders import output_folder

    output_folder(args.out, "compare")
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # log lines reach stderr unless --quiet, also with --json or into a file (a batch job's log); bars only a terminal
    log = (lambda line: None) if args.quiet else (lambda line: err.print(f"[bold cyan]{command}[/] {line}"))
    document = run_comparison(settings, Path(args.out), log)
    if args.json:
        print_json({"summary": document["summary"], "skipped": document["skipped"],
                    "units": document["units"], "report": str(Path(args.out) / "report.md")})
    else:
        print_table(document, Path(args.out))
    return 0


def print_table(document: dict[str, Any], out: Any) -> None:
    """The summary table (rich) and where the report is."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from acquire.compare.report import SHORT_HEADERS, table_rows

    table = Table(title="Budget-matched comparison: test MAE, mean ± std over seeds", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for index, header in enumerate(SHORT_HEADERS):
        table.add_column(header, justify="left" if index < 2 else "right", overflow="fold")
    for cells in table_rows(document, short=True):
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)
    console.print(table)
    for skip in document["skipped"]:
        console.print(f"not run: {skip['method']} ({skip['key']}, seed {skip['seed']}): {skip['why']}", highlight=False)
    console.print("force gain: % lower test force MAE than standard training at the same budget", highlight=False)
    console.print(f"report: {out / 'report.md'}  metrics: {out / 'metrics.json'}", highlight=False)
