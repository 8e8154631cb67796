"""Budget-matched comparisons: standard training vs ASTEROID (and ablations) at equal labeling cost.

For every budget and cost ratio the planner buys the labels (`budget.plan`); every seed has one
leak-free split of the accurate set (`acquire.compare.splits.make_split`) shared by all budgets, ratios
and methods of that seed, so that test frames are the same everywhere. Training sets are nested
prefixes of a seeded order of the split's training frames and inaccurate pool. Each run lives in
`DIR/runs/<budget>_r<ratio>/<method>/seed<k>/` (model, metrics, split indices, test predictions)
and is skipped when finished, so an interrupted comparison resumes where it stopped.

Methods: `standard` (the whole budget on accurate labels), `asteroid`, the ablations
`no-bias-weights` (uniform weights: plain pretrain-then-fine-tune) and `no-finetune`, `delta-ml`
(needs paired labels: see `acquire.compare.delta`), and `score-matching` (unlabelled configurations, which
cost no labels, plus the whole budget on accurate labels); one table in `acquire.compare.methods`.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acquire.compare.methods import FINETUNING, METHODS, PRETRAINING, RunInputs, selected, train_config
from acquire.compare.plans import CompareError, CompareSettings, RunSpec, SeedSplit, make_plans, seed_split
from acquire.compare.pool import pool_rooms
from acquire.progress import clock
from acquire.sources import SourceArrays, followed_by, frames_of, load_source, predict_frames, split_source
from labelers.files import atomic_path

if TYPE_CHECKING:
    from budget import Plan
    from labelers.costs import CostEstimate
    from train import Frames
    from train.config import TrainConfig
    from train.models import Potential


def load_data(settings: CompareSettings) -> tuple[SourceArrays, SourceArrays, int | None]:
    """The accurate and inaccurate labelled arrays of the comparison (same molecule), and with a
    `test_source` the number of the accurate source's own rows (the test source's frames follow
    them); with a `pool`, the inaccurate arrays are its geometries, labels NaN until `label_pool`
    computes them."""
    from acquire.compare.pool import pool_frames, unlabelled_pool

    accurate = load_source(settings.accurate)
    if settings.pool is not None:
        inaccurate = unlabelled_pool(settings.inaccurate, pool_frames(settings.pool))
    else:
        inaccurate = load_source(settings.inaccurate)
    _same_molecule(accurate, inaccurate, settings)
    if settings.test_source is None:
        return accurate, inaccurate, None
    test = load_source(settings.test_source)
    _same_molecule(accurate, test, settings)
    return followed_by(accurate, test), inaccurate, len(accurate.positions)


def _same_molecule(accurate: SourceArrays, other: SourceArrays, settings: CompareSettings) -> None:
    if accurate.positions.shape[1:] != other.positions.shape[1:] or not np.array_equal(
            np.asarray(accurate.numbers).reshape(-1), np.asarray(other.numbers).reshape(-1)):
        raise CompareError(f"{settings.accurate} and {other.name} are not the same molecule (atoms differ)")


def accurate_label_cost(src: str, data: SourceArrays) -> CostEstimate | None:
    """CPU-core seconds of one label by the labeler a SRC names, with its origin, or None if unknown."""
    from acquire.compare.pool import label_estimate
    from labelers.errors import LabelerError

    try:
        return label_estimate(split_source(src)[1], data.numbers, data.positions[0])
    except (LabelerError, ValueError, TypeError):
        return None


def plan_runs(settings: CompareSettings, plans: dict[str, Plan]) -> list[RunSpec]:
    """Every run of the comparison, in the methods' table order, with the labels its method trains on."""
    runs = []
    for key, p in plans.items():
        mixed = (p.accurate.cost_accurate_labels + p.inaccurate.cost_accurate_labels,
                 _add(p.accurate.cost_cpu_h, p.inaccurate.cost_cpu_h))
        for seed in range(settings.seeds):
            for method in selected(settings):
                standard = (p.standard.cost_accurate_labels, p.standard.cost_cpu_h)
                n_acc, n_inacc, n_unl, cost = {
                    "accurate": (p.standard.count, 0, 0, standard),
                    "accurate+unlabelled": (p.standard.count, 0, p.inaccurate.count, standard),
                    "mixed": (p.accurate.count, p.inaccurate.count, 0, mixed),
                }[METHODS[method].trains_on]
                runs.append(RunSpec(key, p.budget, p.ratio, method, seed, n_acc, n_inacc, n_unl, cost[0], cost[1],
                                    f"runs/{key}/{method}/seed{seed}"))
    return runs


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def limit_to_pool(runs: list[RunSpec], plans: dict[str, Plan], rooms: dict[int, int], log: Log) -> dict[str, dict[str, Any]]:
    """Cap every run's pool frames at its seed's room (seed -> the pool frames it may draw); key ->
    what the plan could not spend. The leftover is reported, never spent on other labels."""
    limited = {}
    room = min(rooms.values())
    for key, p in plans.items():
        if p.inaccurate.count <= room:
            continue
        unspent = p.inaccurate.count - room
        limited[key] = {"planned_inaccurate": p.inaccurate.count, "pool_frames": room, "unspent_inaccurate": unspent,
                        "leftover_accurate_labels": unspent / p.ratio}
        fitting = math.ceil(room / p.ratio)  # the smallest whole share the pool absorbs
        if fitting < p.inaccurate.cost_accurate_labels:  # a smaller share buys more accurate labels
            limited[key]["fitting_share"] = f"{fitting}ccsd"
        log(f"{key}: the plan buys {p.inaccurate.count} inaccurate labels but the pool holds {room} usable frames "
            f"(test twins removed): {room} used, {unspent} labels ({unspent / p.ratio:.2f} accurate-label units) "
            "left over, not spent" + (f" (--inaccurate-share {fitting}ccsd spends it on accurate labels instead)"
                                      if "fitting_share" in limited[key] else ""))
        for run in runs:
            if run.key != key:
                continue
            seed_room = rooms[run.seed]
            if run.n_inaccurate > seed_room:
                share = (p.accurate.cost_accurate_labels + seed_room / p.ratio) / run.cost_accurate_labels
                run.n_inaccurate, run.cost_accurate_labels = seed_room, run.cost_accurate_labels * share
                run.cost_cpu_h = None if run.cost_cpu_h is None else run.cost_cpu_h * share
            run.n_unlabeled = min(run.n_unlabeled, seed_room)
    return limited


def _identity(run: RunSpec, settings: CompareSettings) -> tuple:
    """Runs with the same identity train the same model on the same frames: standard at two ratios,
    or ASTEROID and its no-bias-weights ablation in a preset without bias weights."""
    config = train_config(settings, run.method, run.seed).to_dict()
    return (METHODS[run.method].run, json.dumps(config, sort_keys=True), run.seed, run.n_accurate, run.n_inaccurate,
            run.n_unlabeled)


def unused_by(method: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training-config fields, split.json keys) that a method's model does not depend on: a
    standard run reads neither the cheap labels nor the pretraining settings."""
    from train.config import PRETRAINING_FIELDS

    if METHODS[method].trains_on == "accurate":
        return PRETRAINING_FIELDS, ("inaccurate", "inaccurate_indices")
    return (), ()


def check_settings(run_dir: Path, config: TrainConfig, method: str = "asteroid") -> None:
    """Refuse to resume or reuse a run directory trained with other settings (preset, gammas, ...)."""
    path = run_dir / "config.json"
    if path.exists() and not config.matches(json.loads(path.read_text()), unused_by(method)[0]):
        raise CompareError(f"{run_dir} was trained with other settings (preset, gammas or model); "
                           "give a new --out or the same --preset and --gammas")


def run_indices(run: RunSpec, settings: CompareSettings, split: SeedSplit) -> dict[str, Any]:
    """The frames a run trains, validates and tests on (stored as its split.json); ASTEROID's
    pretraining also takes every frame of `settings.extra_inaccurate` (other molecules), its
    fine-tuning every label of `settings.energy_only`."""
    indices = {"seed": run.seed, "accurate": settings.accurate, "inaccurate": settings.inaccurate,
               "train": split.train_order[:run.n_accurate], "validation": split.validation, "test": split.test,
               "inaccurate_indices": split.pool_order[:max(run.n_inaccurate, run.n_unlabeled)]}
    if settings.extra_inaccurate and run.method in PRETRAINING:
        indices["extra_inaccurate"] = list(settings.extra_inaccurate)
    if settings.energy_only and run.method in FINETUNING:
        indices["energy_only"] = settings.energy_only
    return indices


def same_frames(stored: dict[str, Any], indices: dict[str, Any], method: str) -> bool:
    """Whether a run's stored split.json names the frames `indices` names, as far as `method` reads them."""
    unused = unused_by(method)[1]
    mine = json.loads(json.dumps(indices))
    return {k: v for k, v in stored.items() if k not in unused} == {k: v for k, v in mine.items() if k not in unused}


def is_finished(run_dir: Path, config: TrainConfig | None = None, indices: dict[str, Any] | None = None,
                method: str = "asteroid") -> bool:
    """Whether a run directory holds a finished run; with `config` and `indices`, refuse a run
    directory made with other settings or frames (as far as `method` reads them)."""
    if config is not None:
        check_settings(run_dir, config, method)
    if indices is not None and (run_dir / "split.json").exists():
        if not same_frames(json.loads((run_dir / "split.json").read_text()), indices, method):
            raise CompareError(f"{run_dir} was trained on other frames; give a new --out")
    return all((run_dir / name).exists() for name in ("metrics.json", "predictions.npz", "split.json"))


def reusable(run: RunSpec, config: TrainConfig, indices: dict[str, Any], folders: tuple[str, ...]) -> Path | None:
    """A finished run of the same method and seed in another comparison's folder (`--reuse`) that
    trained on the same frames with the same settings, as far as the method reads them."""
    for folder in folders:
        for candidate in sorted(Path(folder).glob(f"runs/*/{run.method}/seed{run.seed}")):
            try:
                if is_finished(candidate, config, indices, run.method):
                    return candidate
            except CompareError:
                continue
    return None


def copy_run(source: Path, target: Path, indices: dict[str, Any]) -> None:
    """A finished run copied into this comparison (its split.json rewritten with this comparison's
    names of the same frames, and a note of where it came from)."""
    import shutil

    shutil.copytree(source, target, dirs_exist_ok=True)
    (target / "split.json").write_text(json.dumps(indices))
    (target / "reused_from.txt").write_text(f"{source.resolve()}\n")


def store_indices(run: RunSpec, out: Path, settings: CompareSettings, split: SeedSplit) -> dict[str, Any]:
    """Write the frames `run` trains, validates and tests on to its run directory's split.json."""
    indices = run_indices(run, settings, split)
    (out / run.dir).mkdir(parents=True, exist_ok=True)
    (out / run.dir / "split.json").write_text(json.dumps(indices))
    return indices


def execute(run: RunSpec, out: Path, settings: CompareSettings, accurate: SourceArrays,
            inaccurate: SourceArrays, split: SeedSplit) -> None:
    """Train (or resume) one run with its method and store its split indices and test predictions."""
    run_dir = out / run.dir
    indices = store_indices(run, out, settings, split)
    config = train_config(settings, run.method, run.seed)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    model = METHODS[run.method].run(RunInputs(accurate, inaccurate, indices, config, run_dir))
    if model is not None:
        save_predictions(model, frames_of(accurate, split.test, "test"), run_dir / "predictions.npz")


def save_predictions(model: Potential, frames: Frames, path: Path) -> None:
    """Test-set predictions (energies eV, forces eV/Å) beside the reference labels, for parity plots."""
    energies, forces = predict_frames(model, frames)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, energies=energies, forces=forces, ref_energies=frames.energies,
                            ref_forces=frames.forces)


def read_run(run: RunSpec, out: Path) -> None:
    """Fill `run.result` from the run directory's metrics.json."""
    metrics = json.loads((out / run.dir / "metrics.json").read_text())
    keep = ("validation", "test", "gamma", "gamma_search", "bias", "seconds", "stage_seconds", "cpu_seconds",
            "stage_cpu_seconds", "counts", "skipped_because", "delta", "inaccurate_molecules", "weights")
    run.result = {k: metrics[k] for k in keep if k in metrics}
    run.result["threads"] = metrics.get("config", {}).get("threads", 1)
    run.result["versions"] = metrics.get("versions", {})


Log = Callable[[str], None]


@dataclass
class Prepared:
    """A comparison ready to train: its labelled arrays, plans, runs (capped at the pool's room)
    and one split per seed."""

    accurate: SourceArrays
    inaccurate: SourceArrays
    cost: CostEstimate | None
    plans: dict[str, Plan]
    runs: list[RunSpec]
    rooms: dict[int, int]
    limited: dict[str, dict[str, Any]]
    splits: dict[int, SeedSplit]


def prepare(settings: CompareSettings, out: Path, log: Log = lambda line: None) -> Prepared:
    """Load the labels, plan the budget, write every seed's split (labelling a computed pool and
    ranking the candidates where the settings ask for it): everything before training."""
    out.mkdir(parents=True, exist_ok=True)
    accurate, inaccurate, own_rows = load_data(settings)
    cost = accurate_label_cost(settings.accurate, accurate)
    plans = make_plans(settings, None if cost is None else cost.seconds)
    runs = plan_runs(settings, plans)
    params = {"accurate": settings.accurate, "inaccurate": settings.inaccurate, "validation": settings.validation,
              "test_cap": settings.test, "n_train": max(r.n_accurate for r in runs), "pool": settings.pool,
              "selection": settings.selection}
    if settings.test_source is not None:  # recorded only when given: splits stored before still fit
        params.update(test_source=settings.test_source, own_rows=own_rows)
    rooms = pool_rooms(out, settings.seeds, accurate, inaccurate, params)
    limited = limit_to_pool(runs, plans, rooms, log)
    splits = {seed: seed_split(out, seed, accurate, inaccurate, {**params, "n_inaccurate": max(
        max(r.n_inaccurate, r.n_unlabeled) for r in runs if r.seed == seed)}) for seed in range(settings.seeds)}
    labelled = max(r.n_inaccurate for r in runs)  # each seed's pool-order prefix that carries labels
    if settings.pool is not None:
        from acquire.compare.pool import label_pool, pool_frames

        inaccurate = label_pool(out, settings.inaccurate, pool_frames(settings.pool), inaccurate, splits,
                                labelled, settings.label_workers, settings.progress, log)
    if settings.selection == "uncertain":  # ranks the training candidates with the pool's labels
        from acquire.compare.plans import rank_by_committee

        splits = {seed: rank_by_committee(split, accurate, inaccurate, labelled,
                                          train_config(settings, "standard", seed), out, log)
                  for seed, split in splits.items()}
    return Prepared(accurate, inaccurate, cost, plans, runs, rooms, limited, splits)


def run_comparison(settings: CompareSettings, out: Path, log: Log = lambda line: None) -> dict[str, Any]:
    """Run (or resume) every run of the comparison, `settings.jobs` at a time; write metrics.json,
    report.md and plots; return the metrics document."""
    from acquire.compare.report import write_outputs

    out = Path(out)
    prepared = prepare(settings, out, log)
    accurate, inaccurate, runs, splits = prepared.accurate, prepared.inaccurate, prepared.runs, prepared.splits
    first: dict[tuple, RunSpec] = {}
    pending: list[RunSpec] = []
    for number, run in enumerate(runs, 1):
        twin = first.setdefault(_identity(run, settings), run)
        if twin is not run and twin.status != "skipped":
            run.dir, run.status, run.note = twin.dir, "shared", f"same frames and settings as {twin.method} at {twin.key}, shared"
        elif why := _unavailable(run, accurate, inaccurate, splits[run.seed]):
            run.status, run.note = "skipped", why
            log(f"run {number} of {len(runs)}: {run.dir}: not run: {why}")
        elif is_finished(out / run.dir, config := train_config(settings, run.method, run.seed),
                         indices := run_indices(run, settings, splits[run.seed]), run.method):
            run.status, run.note = "resumed-finished", "finished earlier, skipped"
        elif source := reusable(run, config, indices, settings.reuse):
            copy_run(source, out / run.dir, indices)
            run.status, run.note = "reused", f"same frames and settings as {source}, copied"
            log(f"run {number} of {len(runs)}: {run.dir}: {run.note}")
        else:
            pending.append(run)
    _train(pending, out, settings, accurate, inaccurate, splits, log)
    for number, run in enumerate(runs, 1):
        if run.status != "skipped":
            read_run(run, out)
            force = (run.result.get("test") or {}).get("force_mae")
            log(f"run {number} of {len(runs)}: {run.dir}: {run.note}; test force MAE "
                + (f"{force:.3f} kcal/mol/Å" if force is not None else "not finite (the run diverged)"))
    pool = {"source": settings.pool or settings.inaccurate, "frames": len(inaccurate.positions),
            "usable_frames": min(prepared.rooms.values()), "usable_frames_by_seed": prepared.rooms,
            "limited": prepared.limited}
    cost = None if prepared.cost is None else prepared.cost.as_dict()
    return write_outputs(out, settings, prepared.plans, runs, splits, pool, cost)


def _train(pending: list[RunSpec], out: Path, settings: CompareSettings, accurate: SourceArrays,
           inaccurate: SourceArrays, splits: dict[int, SeedSplit], log: Log) -> None:
    """Train the pending runs in order, `settings.jobs` at a time in worker processes (one at a time
    in this process when jobs is 1); a run starts once the run its method waits for has finished."""
    began = time.monotonic()

    def started(run: RunSpec) -> None:
        log(f"{run.dir}: training ({clock(time.monotonic() - began)} elapsed)")

    def finished(run: RunSpec) -> None:
        run.status, run.note = "trained", "trained"
        log(f"{run.dir}: trained ({clock(time.monotonic() - began)} elapsed)")

    if settings.jobs == 1 or len(pending) == 1:
        for run in pending:
            started(run)
            execute(run, out, settings, accurate, inaccurate, splits[run.seed])
            finished(run)
        return
    import multiprocessing
    import queue

    quiet = replace(settings, progress=False)  # several runs at once: log lines instead of progress bars
    done: queue.Queue = queue.Queue()
    waiting, running = list(pending), set()
    with multiprocessing.get_context("spawn").Pool(settings.jobs) as pool:
        while waiting or running:
            for run in [r for r in waiting if _ready(r, waiting, running)][:settings.jobs - len(running)]:
                waiting.remove(run)
                running.add(run.dir)
                started(run)
                pool.apply_async(execute, (run, out, quiet, accurate, inaccurate, splits[run.seed]),
                                 callback=lambda _, run=run: done.put((run, None)),
                                 error_callback=lambda error, run=run: done.put((run, error)))
            run, error = done.get()
            running.discard(run.dir)
            if error is not None:
                pool.terminate()  # the other runs resume from their stage files on the next call
                raise error
            finished(run)
        pool.close()  # let the workers exit on their own: terminating them leaks their semaphores
        pool.join()


def _ready(run: RunSpec, waiting: list[RunSpec], running: set[str]) -> bool:
    """Whether the run its method waits for (same plan and seed) is neither waiting nor running."""
    after = METHODS[run.method].after
    if after is None:
        return True
    blocker = run.dir.replace(f"/{run.method}/", f"/{after}/")
    return blocker not in running and all(r.dir != blocker for r in waiting)


def _unavailable(run: RunSpec, accurate: SourceArrays, inaccurate: SourceArrays, split: SeedSplit) -> str:
    """Why the run's method cannot run on these labels ('' if it can)."""
    check = METHODS[run.method].unavailable
    return check(accurate, inaccurate, split.train_order[:run.n_accurate]) if check else ""


