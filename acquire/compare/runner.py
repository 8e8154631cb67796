"""Budget-matched comparisons: standard training vs ASTEROID (and ablations) at equal labeling cost.

For every budget and cost ratio the planner buys the labels (`budget.plan`); every seed has one
leak-free split of the accurate set (`acquire.splits.make_split`) shared by all budgets, ratios
and methods of that seed, so that test frames are the same everywhere. Training sets are nested
prefixes of a seeded order of the split's training frames and inaccurate pool. Each run lives in
`DIR/runs/<budget>_r<ratio>/<method>/seed<k>/` (model, metrics, split indices, test predictions)
and is skipped when finished, so an interrupted comparison resumes where it stopped.

Methods: `standard` (the whole budget on accurate labels), `asteroid`, the ablations
`no-bias-weights` (uniform weights: plain pretrain-then-fine-tune) and `no-finetune`, `delta-ml`
(needs paired labels: see `acquire.compare.delta`), and `score-matching` (unlabeled configurations, which
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

from acquire.compare.auto_ratio import resolved_ratios
from acquire.compare.methods import METHODS, Labels, RunInputs, selected, train_config
from acquire.compare.pool import pool_rooms
from acquire.compare.runs import RunIndices, RunSpec, make_plans
from acquire.compare.seed_splits import SeedSplit, SplitNeeds, seed_split
from acquire.compare.settings import CompareError, CompareSettings
from acquire.progress_bars import clock
from acquire.sources import SourceArrays, followed_by, frames_of, load_source, predict_frames, split_source
from labelers.atomic_files import atomic_path, atomic_write_text

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
    from acquire.compare.pool import pool_frames, unlabeled_pool

    accurate = load_source(settings.accurate)
    if settings.pool is not None:
        inaccurate = unlabeled_pool(settings.inaccurate, pool_frames(settings.pool))
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
    from acquire.compare.auto_ratio import label_estimate
    from labelers.errors import LabelerError

    try:
        return label_estimate(split_source(src)[1], data.numbers, data.positions[0])
    except (LabelerError, ValueError, TypeError):
        return None


def plan_runs(settings: CompareSettings, plans: dict[str, Plan]) -> list[RunSpec]:
    """Every run of the comparison, in the methods' table order, with the labels its method trains on."""
    runs = []
    for key, p in plans.items():
        energies = p.energy_only
        mixed = (p.accurate.cost_accurate_labels + p.inaccurate.cost_accurate_labels + energies.cost_accurate_labels,
                 _add(_add(p.accurate.cost_cpu_h, p.inaccurate.cost_cpu_h), energies.cost_cpu_h if energies.count else 0.0))
        with_energies = p.standard_energies or p.standard
        standard_e = (with_energies.cost_accurate_labels + energies.cost_accurate_labels,
                      _add(with_energies.cost_cpu_h, energies.cost_cpu_h if energies.count else 0.0))
        for seed in range(settings.seeds):
            for method in selected(settings):
                standard = (p.standard.cost_accurate_labels, p.standard.cost_cpu_h)
                n_acc, n_inacc, n_unl, n_e, cost = {
                    "accurate": (p.standard.count, 0, 0, 0, standard),
                    "accurate+energies": (with_energies.count, 0, 0, energies.count, standard_e),
                    "accurate+unlabeled": (p.standard.count, 0, p.inaccurate.count, 0, standard),
                    "mixed": (p.accurate.count, p.inaccurate.count, 0, energies.count, mixed),
                }[METHODS[method].trains_on]
                runs.append(RunSpec(key, p.budget, p.ratio, method, seed, n_acc, n_inacc, n_unl, cost[0], cost[1],
                                    f"runs/{key}/{method}/seed{seed}", n_energy_only=n_e))
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


def _identity(run: RunSpec, config: TrainConfig) -> tuple:
    """Runs with the same identity train the same model on the same frames: standard at two ratios,
    or ASTEROID and its no-bias-weights ablation in a preset without bias weights."""
    method = METHODS[run.method]
    return (method.run, method.trainer, json.dumps(config.to_dict(), sort_keys=True), run.seed, run.n_accurate,
            run.n_inaccurate, run.n_unlabeled, run.n_energy_only)


def unused_by(method: str, energies: bool = False) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training-config fields, split.json keys) that a method's model does not depend on: a
    standard run reads neither the cheap labels nor the pretraining settings, and a run without
    energy-only labels (`energies` False) not their weight."""
    from train.config import ENERGY_ONLY_FIELDS, PRETRAINING_FIELDS

    fields = () if energies else ENERGY_ONLY_FIELDS
    if METHODS[method].trains_on == "accurate":
        return PRETRAINING_FIELDS + fields, ("inaccurate", "inaccurate_indices")
    return fields, ()


def _has_energies(indices: Record | None) -> bool:
    """Whether a run's split.json record names energy-only labels it trains on."""
    return bool(indices and (indices.get("energy_only_indices") or indices.get("energy_only")))


def check_settings(run_dir: Path, config: TrainConfig, method: str = "asteroid", energies: bool = True) -> None:
    """Refuse to resume or reuse a run directory trained with other settings (preset, gammas, ...);
    `energies`: whether the run trains on energy-only labels (their weight then counts)."""
    path = run_dir / "config.json"
    if path.exists() and not config.matches(json.loads(path.read_text()), unused_by(method, energies)[0]):
        raise CompareError(f"{run_dir} was trained with other settings (preset, gammas or model); "
                           "give a new --out or the same --preset and --gammas")


Record = dict[str, Any]  # a run's split.json: what a finished run is compared with before it is resumed


def split_record(run: RunSpec, settings: CompareSettings, indices: RunIndices) -> Record:
    """A run's split.json: its rows and the sources they are rows of; a pretraining method also
    names `settings.extra_inaccurate` (other molecules), a fine-tuning one `settings.energy_only`."""
    method = METHODS[run.method]
    record: Record = {"seed": indices.seed, "accurate": settings.accurate, "inaccurate": settings.inaccurate,
                      "train": indices.train, "validation": indices.validation, "test": indices.test,
                      "inaccurate_indices": indices.inaccurate}
    if indices.energy_only:  # bought: accurate rows trained on their energies alone (forces withheld)
        record["energy_only_indices"] = indices.energy_only
    if settings.extra_inaccurate and method.pretrains:
        record["extra_inaccurate"] = list(settings.extra_inaccurate)
    if settings.energy_only and (method.finetunes or indices.energy_only):
        record["energy_only"] = settings.energy_only
    return record


def same_frames(stored: Record, indices: Record, method: str) -> bool:
    """Whether a run's stored split.json names the frames `indices` names, as far as `method` reads them."""
    unused = unused_by(method)[1]
    mine = json.loads(json.dumps(indices))
    return {k: v for k, v in stored.items() if k not in unused} == {k: v for k, v in mine.items() if k not in unused}


def is_finished(run_dir: Path, config: TrainConfig | None = None, indices: Record | None = None,
                method: str = "asteroid") -> bool:
    """Whether a run directory holds a finished run; with `config` and `indices`, refuse a run
    directory made with other settings or frames (as far as `method` reads them)."""
    if config is not None:
        check_settings(run_dir, config, method, indices is None or _has_energies(indices))
    if indices is not None and (run_dir / "split.json").exists():
        if not same_frames(json.loads((run_dir / "split.json").read_text()), indices, method):
            raise CompareError(f"{run_dir} was trained on other frames; give a new --out")
    return all((run_dir / name).exists() for name in ("metrics.json", "predictions.npz", "split.json"))


def reusable(run: RunSpec, config: TrainConfig, indices: Record, folders: tuple[str, ...]) -> Path | None:
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


def copy_run(source: Path, target: Path, indices: Record) -> None:
    """A finished run copied into this comparison (its split.json rewritten with this comparison's
    names of the same frames, and a note of where it came from)."""
    import shutil

    shutil.copytree(source, target, dirs_exist_ok=True)
    atomic_write_text(target / "split.json", json.dumps(indices))
    atomic_write_text(target / "reused_from.txt", f"{source.resolve()}\n")


def store_record(run_dir: Path, record: Record) -> None:
    """Write a run's split.json (the frames it trains, validates and tests on)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "split.json", json.dumps(record))


def execute(run: RunSpec, out: Path, labels: Labels, indices: RunIndices, record: Record,
            config: TrainConfig) -> None:
    """Train (or resume) one run with its method and store its split.json, config and test predictions."""
    run_dir = out / run.dir
    store_record(run_dir, record)
    atomic_write_text(run_dir / "config.json", json.dumps(config.to_dict()))
    method = METHODS[run.method]
    model = method.run(RunInputs(labels, indices, config, run_dir), method)
    if model is not None:
        save_predictions(model, frames_of(labels.accurate, indices.test, "test"), run_dir / "predictions.npz")


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
    """A comparison ready to train: its settings (ratios resolved), labels, plans, runs (capped at
    the pool's room) with their training configs and rows, and one split per seed."""

    settings: CompareSettings
    labels: Labels
    cost: CostEstimate | None
    plans: dict[str, Plan]
    runs: list[RunSpec]
    rooms: dict[int, int]
    limited: dict[str, dict[str, Any]]
    splits: dict[int, SeedSplit]
    configs: dict[tuple[str, int], TrainConfig]  # (method, seed) -> its training config

    def config(self, run: RunSpec) -> TrainConfig:
        return self.configs[run.method, run.seed]

    def indices(self, run: RunSpec) -> RunIndices:
        return RunIndices.of(run, self.splits[run.seed])

    def record(self, run: RunSpec) -> Record:
        return split_record(run, self.settings, self.indices(run))

    def job(self, run: RunSpec, out: Path, quiet: bool = False) -> tuple:
        """`execute`'s arguments for `run` (`quiet`: no progress bars, as when several train at once)."""
        config = self.config(run)
        return (run, out, self.labels, self.indices(run), self.record(run),
                replace(config, progress=False) if quiet else config)


def load_labels(settings: CompareSettings) -> tuple[Labels, int | None]:
    """Every label the comparison reads, each source loaded once (a missing store, spec or another
    molecule fails here, before any training), and with a test source the accurate source's own rows."""
    from acquire.sources import energy_only_frames, load_extra

    accurate, inaccurate, own_rows = load_data(settings)
    return Labels(accurate, inaccurate, load_extra(settings.extra_inaccurate),
                  energy_only_frames(settings.energy_only, accurate), settings.energy_share is not None), own_rows


def prepare(settings: CompareSettings, out: Path, log: Log = lambda line: None) -> Prepared:
    """Load the labels, resolve (and pin) a ratio "auto", plan the budget, write every seed's split
    (labelling a computed pool and ranking the candidates where the settings ask for it):
    everything before training."""
    labels, own_rows = load_labels(settings)
    settings = resolved_ratios(settings, out, labels.accurate)
    out.mkdir(parents=True, exist_ok=True)
    accurate, inaccurate = labels.accurate, labels.inaccurate
    cost = accurate_label_cost(settings.accurate, accurate)
    plans = make_plans(settings, None if cost is None else cost.seconds)
    runs = plan_runs(settings, plans)
    withheld = 0 if labels.energy_only is not None else 1  # bought energies come from the accurate rows
    needs = SplitNeeds.of(settings, max(r.n_accurate + withheld * r.n_energy_only for r in runs), own_rows)
    rooms = pool_rooms(out, settings.seeds, accurate, inaccurate, needs)
    limited = limit_to_pool(runs, plans, rooms, log)
    splits = {seed: seed_split(out, seed, accurate, inaccurate, replace(needs, n_inaccurate=max(
        max(r.n_inaccurate, r.n_unlabeled) for r in runs if r.seed == seed))) for seed in range(settings.seeds)}
    labelled = max(r.n_inaccurate for r in runs)  # each seed's pool-order prefix that carries labels
    if settings.pool is not None:
        from acquire.compare.pool import label_pool, pool_frames

        inaccurate = label_pool(out, settings.inaccurate, pool_frames(settings.pool), inaccurate, splits,
                                labelled, settings.label_workers, settings.progress, log)
        labels = replace(labels, inaccurate=inaccurate)
    configs = {(r.method, r.seed): train_config(settings, r.method, r.seed) for r in runs}
    if settings.selection == "uncertain":  # ranks the training candidates with the pool's labels
        from acquire.compare.committee_order import rank_by_committee

        splits = {seed: rank_by_committee(split, accurate, inaccurate, labelled,
                                          train_config(settings, "standard", seed), out, log)
                  for seed, split in splits.items()}
    return Prepared(settings, labels, cost, plans, runs, rooms, limited, splits, configs)


def run_comparison(settings: CompareSettings, out: Path, log: Log = lambda line: None) -> dict[str, Any]:
    """Run (or resume) every run of the comparison, `settings.jobs` at a time; write metrics.json,
    report.md and plots; return the metrics document."""
    from acquire.compare.report import write_outputs

    out = Path(out)
    prepared = prepare(settings, out, log)
    settings, labels, runs = prepared.settings, prepared.labels, prepared.runs
    first: dict[tuple, RunSpec] = {}
    pending: list[RunSpec] = []
    for number, run in enumerate(runs, 1):
        config, record = prepared.config(run), prepared.record(run)
        twin = first.setdefault(_identity(run, config), run)
        if twin is not run and twin.status != "skipped":
            run.dir, run.status, run.note = twin.dir, "shared", f"same frames and settings as {twin.method} at {twin.key}, shared"
        elif why := _unavailable(run, labels, prepared.indices(run)):
            run.status, run.note = "skipped", why
            log(f"run {number} of {len(runs)}: {run.dir}: not run: {why}")
        elif is_finished(out / run.dir, config, record, run.method):
            run.status, run.note = "resumed-finished", "finished earlier, skipped"
        elif source := reusable(run, config, record, settings.reuse):
            copy_run(source, out / run.dir, record)
            run.status, run.note = "reused", f"same frames and settings as {source}, copied"
            log(f"run {number} of {len(runs)}: {run.dir}: {run.note}")
        else:
            pending.append(run)
    _train(pending, out, prepared, log)
    for number, run in enumerate(runs, 1):
        if run.status != "skipped":
            read_run(run, out)
            force = (run.result.get("test") or {}).get("force_mae")
            log(f"run {number} of {len(runs)}: {run.dir}: {run.note}; test force MAE "
                + (f"{force:.3f} kcal/mol/Å" if force is not None else "not finite (the run diverged)"))
    pool = {"source": settings.pool or settings.inaccurate, "frames": len(labels.inaccurate.positions),
            "usable_frames": min(prepared.rooms.values()), "usable_frames_by_seed": prepared.rooms,
            "limited": prepared.limited}
    cost = None if prepared.cost is None else prepared.cost.as_dict()
    return write_outputs(out, settings, prepared.plans, runs, prepared.splits, pool, cost)


def _train(pending: list[RunSpec], out: Path, prepared: Prepared, log: Log) -> None:
    """Train the pending runs in order, `settings.jobs` at a time in worker processes (one at a time
    in this process when jobs is 1); a run starts once the run its method waits for has finished."""
    began = time.monotonic()
    jobs = prepared.settings.jobs

    def started(run: RunSpec) -> None:
        log(f"{run.dir}: training ({clock(time.monotonic() - began)} elapsed)")

    def finished(run: RunSpec) -> None:
        run.status, run.note = "trained", "trained"
        log(f"{run.dir}: trained ({clock(time.monotonic() - began)} elapsed)")

    if jobs == 1 or len(pending) == 1:
        for run in pending:
            started(run)
            execute(*prepared.job(run, out))
            finished(run)
        return
    import multiprocessing
    import queue

    done: queue.Queue = queue.Queue()
    waiting, running = list(pending), set()
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        while waiting or running:
            for run in [r for r in waiting if _ready(r, waiting, running)][:jobs - len(running)]:
                waiting.remove(run)
                running.add(run.dir)
                started(run)
                pool.apply_async(execute, prepared.job(run, out, quiet=True),  # log lines, no bars
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


def _unavailable(run: RunSpec, labels: Labels, indices: RunIndices) -> str:
    """Why the run's method cannot run on these labels ('' if it can)."""
    check = METHODS[run.method].unavailable
    return check(labels.accurate, labels.inaccurate, indices.train) if check else ""
