"""`acquire label`: buy labels for configurations of a pool into the label store."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from acquire.cli import arguments
from acquire.cli.output import add_output_arguments, print_json, show_progress

if TYPE_CHECKING:
    from acquire.labeling.engine import RunReport
    from acquire.labeling.store import LabelStore

HELP = "label N configurations of a pool with one labeler into the label store (resumable)"
EXAMPLES = """examples:
  acquire label md17:ethanol/dft --labeler md17:ethanol/dft --n 2000 --store labels.db
  acquire label pool.extxyz --labeler pyscf:pbe/def2-svp --n 200 --store labels.db --workers 2
  acquire label pool.extxyz --labeler 'pyscf:ccsd(t)/cc-pvdz' --n 20 --store labels.db --budget 2cpu-h
  acquire label pool.extxyz --labeler xtb:gfn2 --store labels.db --scheduler tcp://head:8786

Rerunning the same command continues where a killed run stopped; labels already in the store are
never computed again. POOL is an .xyz/.extxyz file or a cached labeler spec (md17:ethanol/dft).
--budget caps the CPU-core time spent in the whole store (e.g. 3600s, 12cpu-h).
Dask on a cluster: start `dask scheduler` on one node and `dask worker tcp://HEAD:8786 --nthreads 1
--nworkers N` on others (or dask-jobqueue's SLURMCluster(cores=N, processes=N); pass its
scheduler address), all in this environment, then pass --scheduler tcp://HEAD:8786."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pool", metavar="POOL", help="an .xyz/.extxyz file or a cached labeler spec (md17:ethanol/dft)")
    parser.add_argument("--labeler", required=True, metavar="SPEC", help="labeler spec, e.g. pyscf:pbe/def2-svp")
    parser.add_argument("--store", required=True, metavar="DB", help="label store (ASE SQLite .db; created if absent)")
    add_engine_arguments(parser)
    parser.add_argument("--n", type=arguments.positive_frames, default=None, metavar="N", help="configurations to label (default: all)")
    parser.add_argument("--seed", type=arguments.seed, default=0, help="seed of the random selection of N (default 0)")
    add_output_arguments(parser)


def add_engine_arguments(parser, budget: bool = True) -> None:
    """Options of the labeling engine, shared by `acquire label` and `acquire run`."""
    parser.add_argument("--workers", type=arguments.workers, default=None, metavar="K",
                        help="local worker processes (default: one per core; cached labels run in-process)")
    parser.add_argument("--threads", type=arguments.threads, default=1, metavar="T", help="OpenMP/BLAS threads per worker (default 1)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--scheduler-file", default=None, metavar="JSON",
                        help="Dask scheduler file (dask scheduler --scheduler-file, dask-jobqueue)")
    parser.add_argument("--max-attempts", type=arguments.attempts, default=3, metavar="A", help="tries per label before it is failed (default 3)")
    parser.add_argument("--retry-failed", action="store_true", help="try labels recorded as failed again")
    if budget:
        parser.add_argument("--budget", default=None, metavar="TIME", help="cap on CPU-core time spent in the store (e.g. 2cpu-h)")


def budget_seconds(text: str | None) -> float | None:
    """`--budget` as CPU-core seconds (absolute budgets only in `acquire label`)."""
    if text is None:
        return None
    from budget import BudgetError, parse_budget

    parsed = parse_budget(text)
    if not parsed.is_absolute:
        raise BudgetError(f"--budget {text}: give CPU-core time here (e.g. 3600s, 2cpu-h); label-count budgets belong to acquire run/plan")
    return parsed.amount


def run(args: argparse.Namespace) -> int:
    from acquire.labeling.engine import label_frames
    from acquire.labeling.executors import EngineError
    from acquire.labeling.pools import read_pool, select_frames
    from acquire.labeling.store import LabelStore
    from acquire.progress_bars import progress_bar
    from labelers import get_labeler

    budget_s = budget_seconds(args.budget)  # validate every input before touching the store
    if args.max_attempts < 1:
        raise EngineError(f"--max-attempts must be at least 1, got {args.max_attempts}")
    scheduler = scheduler_of(args)
    labeler = get_labeler(args.labeler)
    pool = read_pool(args.pool)
    frames = select_frames(pool, args.n, args.seed)
    check_geometries(args.pool, pool, frames)
    store = LabelStore(args.store)
    with progress_bar(f"labelling with {labeler.spec}", len(frames), disabled=not show_progress(args)) as hook:
        report = label_frames(store, labeler, frames, workers=args.workers, scheduler=scheduler,
                              threads=args.threads, max_attempts=args.max_attempts,
                              retry_failed=args.retry_failed, budget_s=budget_s, progress=hook)
    checked = None
    if budget_s is not None and frames:  # the budget bought as many labels as the declared cost promised
        from acquire.plan_costs import check

        checked = check(report.spec, report.done, report.cost_s, float(labeler.cost(frames[0])))
    print_report(report, store, args.json, checked)
    return 0


def check_geometries(name: str, pool: list, frames: list) -> None:
    """Every frame to label can be labelled (`acquire.labeling.physical`); else a PoolError naming
    the frame's index in the pool and the pair of atoms."""
    from acquire.errors import PoolError
    from acquire.labeling.physical import first_bad_frame

    bad = first_bad_frame(frames)
    if bad is not None:
        index = next(i for i, atoms in enumerate(pool) if atoms is frames[bad[0]])
        raise PoolError(f"{name} frame {index} (0-based): {bad[1]}; fix or remove it (no label was computed)")


def scheduler_of(args: argparse.Namespace) -> str | None:
    """The Dask scheduler: an address (--scheduler) or a scheduler file (--scheduler-file), not both."""
    from acquire.labeling.executors import EngineError

    if args.scheduler and args.scheduler_file:
        raise EngineError("give --scheduler or --scheduler-file, not both")
    if args.scheduler_file:
        from pathlib import Path

        if not Path(args.scheduler_file).is_file():
            raise EngineError(f"--scheduler-file {args.scheduler_file}: no such file")
        return f"file:{args.scheduler_file}"
    return args.scheduler


def print_report(report: RunReport, store: LabelStore, as_json: bool, cost_check: dict | None = None) -> None:
    """A labeling run's outcome (and, under a budget, its measured cost per label against the
    declared one), as a table or one JSON object."""
    from dataclasses import asdict

    if as_json:
        print_json({**asdict(report), "store": str(store.path), "cost_check": cost_check})
        return
    lines = [
        f"labeler      {report.spec}  ({report.executor})",
        f"requested    {report.requested}  (already in store: {report.already_done})",
        f"labelled     {report.done}  failed {report.failed}  retried {report.retried}",
        f"cost         {report.cost_s:.1f} CPU-core s  ({report.cost_s / 3600:.3f} CPU-h)",
        f"wall         {report.wall_s:.1f} s",
        f"store        {store.path}",
    ]
    if report.failed_in_store:
        lines.append(f"failed       {report.failed_in_store} of these configurations are recorded as failed (their errors: "
                     f"`ase db {store.path} status=failed -c id,error`); rerun with --retry-failed to try them again")
    if report.remaining:
        why = "the budget is used" if report.budget_stopped else "held by another run or interrupted"
        lines.append(f"not labelled {report.remaining} ({why}); rerun to continue")
    if cost_check is not None:
        lines.append(f"cost check   {cost_check['message']}" if cost_check["off"] else
                     f"cost check   {cost_check['measured_s_per_label']:.4g} CPU-s per label, declared "
                     f"{cost_check['planned_s_per_label']:.4g} s ({cost_check['factor']:.2f}x): as planned")
    print("\n".join(lines), file=sys.stdout)
