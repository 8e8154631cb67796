"""`acquire run` as a library function: plan the budget, sample configurations, label the accurate and
the inaccurate sets (and, with an energy share, accurate energy-only labels of more sampled
configurations), then train ASTEROID on them (and standard training on the same accurate labels
beside it), all in one resumable folder.

The folder holds plan.json, pool.extxyz, labels.db, models/ and run.json, and belongs to one set of
settings: a rerun with the same settings continues where it stopped; nothing bought is bought again.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from acquire.errors import AcquireError
from acquire.labeling.sampling import SamplingSettings
from acquire.selection import Selection
from budget.full_plan import DEFAULT_MAX_INACCURATE
from labelers.atomic_files import atomic_write_text

if TYPE_CHECKING:
    from ase import Atoms

    from acquire.labeling.engine import RunReport
    from acquire.labeling.store import LabelStore
    from acquire.sources import SourceArrays
    from budget import Plan
    from labelers.base import Labeler

STORE_NAME, POOL_NAME, PLAN_NAME, SUMMARY_NAME = "labels.db", "pool.extxyz", "plan.json", "run.json"
# settings recorded only when chosen (a folder from before them still resumes; `_recorded`)
OPTIONAL_SETTINGS = frozenset({"selection", "energy_share", "energy_ratio", "energy_labeler"})
SamplingMethod = Literal["md", "normal-modes"]
Preset = Literal["quick", "paper", "tiny"]


@dataclass(frozen=True)
class EngineOptions:
    """How labels are computed: local workers or a Dask scheduler, threads per worker, retries."""

    workers: int | None = None
    threads: int = 1
    scheduler: str | None = None
    max_attempts: int = 3
    retry_failed: bool = False


@dataclass(frozen=True)
class RunSettings:
    """One `acquire run`: what to buy for which molecule, how to sample, and how to train (None: no training).
    `ratio` is a float as text or "auto" (the labelers' declared costs)."""

    molecule: str
    budget: str
    accurate: str
    inaccurate: str
    out: Path
    ratio: str = "auto"
    inaccurate_share: str | None = None
    validation: int = 50
    charge_validation: bool = False
    method: SamplingMethod = "md"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    preset: Preset | None = "quick"
    training_preset: Preset = "quick"  # the preset training is priced with (`preset`, or its choice under --no-train)
    max_inaccurate: int | None = DEFAULT_MAX_INACCURATE  # None: no cap
    max_training_s: float | None = None  # CPU-core seconds
    selection: Selection = "random"  # which sampled configurations get the accurate labels (acquire.selection)
    energy_share: str | None = None  # budget share of accurate energy-only labels (20%, 50ccsd); None: none
    energy_ratio: str = "auto"  # accurate force label cost ÷ energy-only label cost, or "auto" (cost laws)
    energy_labeler: str | None = None  # default: the accurate pyscf spec with ;forces=false (acquire.energy_only)


@dataclass
class RunOutcome:
    """What a run bought and trained; `summary` is run.json."""

    plan: Plan
    accurate_spec: str
    inaccurate_spec: str
    reports: list[RunReport]
    summary: dict  # run.json; for a dry run: the plan document and the targets
    energy_spec: str | None = None  # the energy-only labeler; None without --energy-share


def make_plan(settings: RunSettings, atoms: Atoms, accurate: Labeler, inaccurate: Labeler,
              calculator: Labeler) -> tuple[Plan, dict, Labeler | None]:
    """(the label plan at the molecule's per-label costs, the plan as a document with each cost's
    origin and what sampling, labeling and training cost, the energy-only labeler or None without
    an energy share). Raises BudgetError or AcquireError for what the run cannot buy or train on."""
    from acquire.energy_only import energy_pricing, origin_fields
    from acquire.plan_costs import add_costs, add_origins, estimate, plan_everything
    from budget import parse_budget, parse_share

    auto = settings.ratio.strip().lower() == "auto"
    policy = parse_share(settings.inaccurate_share) if settings.inaccurate_share else "paper"
    accurate_est = estimate(accurate, atoms)
    inaccurate_est = estimate(inaccurate, atoms) if auto else None
    pricing = energy_pricing(settings.energy_share, settings.energy_ratio, settings.energy_labeler, accurate.spec,
                             atoms, accurate_est, buying_for=accurate)
    energy = pricing.labeler
    budget = parse_budget(settings.budget)
    full, extra = plan_everything(budget, None if auto else settings.ratio, policy, accurate_est, inaccurate_est,
                                  atoms, preset=settings.preset or settings.training_preset, method=settings.method,
                                  settings=settings.sampling, calculator=calculator, validation=settings.validation,
                                  charge_validation=settings.charge_validation,
                                  max_inaccurate=settings.max_inaccurate, max_training_s=settings.max_training_s,
                                  energy=pricing.labels)
    if pricing.labels is not None:
        _check_energies(full.labels, settings, pricing.labels.share)
    document = add_costs(add_origins(full.labels.model_dump(mode="json"), accurate_est, inaccurate_est),
                         full, extra, str(budget))
    document["energy_only"].update(origin_fields(pricing))
    if settings.preset is None:
        document["costs"]["notes"].append("--no-train: the training estimate is not spent")
    return full.labels, document, energy


def _check_energies(the_plan: Plan, settings: RunSettings, share: object) -> None:
    """Refuse an energy `share` larger than what the budget has for labels (the planner would cap
    it), and one that leaves no accurate force labels to train on (ASTEROID's bias model fits them)."""
    from budget import FixedShare

    available = the_plan.budget_accurate_labels - (the_plan.validation.count if the_plan.validation.charged else 0)
    if isinstance(share, FixedShare) and share.units > available + 1e-9:
        raise AcquireError(f"--energy-share {settings.energy_share} is more than the {available:.4g} accurate-label "
                           f"units budget {settings.budget} has for labels; give a smaller share")
    if settings.preset is not None and the_plan.accurate.count < 1:
        raise AcquireError(f"--energy-share {settings.energy_share} leaves no accurate force labels to train on beside "
                           f"the {the_plan.energy_only.count} energy-only ones; give a smaller share (or --no-train)")


def cost_checks(reports: list[RunReport], the_plan: Plan, specs: tuple[str, str], energy_spec: str | None = None) -> dict:
    """Measured CPU-core seconds per label of this run's labels against the plan's, per labeler
    (accurate, inaccurate, energy-only), the cost ratio the labels actually had against the plan's
    and, with energy-only labels, their price ratio (`energy_ratio`) against the plan's."""
    from acquire.plan_costs import check, ratio_check

    planned = dict(zip(specs, (the_plan.accurate.label_cost_s, the_plan.inaccurate.label_cost_s)))
    if energy_spec is not None:
        planned[energy_spec] = the_plan.energy_only.label_cost_s
    by_spec = {r.spec: r for r in reports}
    checks = {s: check(s, by_spec[s].done, by_spec[s].cost_s, cost) if s in by_spec else None
              for s, cost in planned.items()}
    result = {"labelers": [c for c in checks.values() if c is not None],
              "ratio": ratio_check([checks[s] for s in specs], the_plan.ratio)}
    if energy_spec is not None and the_plan.energy_ratio is not None:
        result["energy_ratio"] = ratio_check([checks[specs[0]], checks[energy_spec]], the_plan.energy_ratio)
    return result


def estimate_checks(costs: dict, actual: dict, uncounted: dict[str, float] | None = None) -> list[dict]:
    """Each part's actual CPU-core seconds (this invocation; a resumed run did less) against the
    plan's estimate; `overshoot` beyond OFF_FACTOR. Parts not run (None) are left out. `uncounted`:
    CPU-core seconds a part's actual figure holds and its estimate does not (the validation labels
    when they are not charged), added to the estimate so that both sides count the same labels."""
    from acquire.plan_costs import OFF_FACTOR

    rows = []
    for part, seconds in actual.items():
        estimated = costs[part]["cpu_s"] + (uncounted or {}).get(part, 0.0)
        if seconds is None or estimated <= 0:
            continue
        rows.append({"part": part, "actual_s": seconds, "estimated_s": estimated, "factor": seconds / estimated,
                     "overshoot": seconds > OFF_FACTOR * estimated})
    return rows


def announcement(step: str, what: str, cpu_s: float) -> str:
    """The line before a step: what it does and its estimated CPU time (a rerun does less)."""
    when = f"{cpu_s / 60:.1f} CPU-min" if cpu_s < 7200 else f"{cpu_s / 3600:.1f} CPU-h"
    return f"{step}: {what}, estimated {when} (less if resumed)"


def _check_same_run(out: Path, recorded: dict) -> None:
    """The run folder `out`, made if new; a rerun must ask for the same run as the one in it."""
    if out.exists() and not out.is_dir():
        raise AcquireError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    path = out / PLAN_NAME
    if not path.is_file():
        return
    previous = json.loads(path.read_text()).get("settings", {})
    if "temperature" in previous:  # written before the one spelling, temperature_K
        previous["temperature_K"] = previous.pop("temperature")
    asked = set(recorded) | (set(previous) & OPTIONAL_SETTINGS)  # an option dropped on a rerun is a change too
    changed = sorted(k for k in asked if previous.get(k) != recorded.get(k))
    if changed:
        raise AcquireError(f"{path.parent} holds a run with other settings ({', '.join(changed)}); use another --out")


def _finished(path: Path, trains: bool) -> dict | None:
    """The run.json of a run that bought every label of its plan (and trained, when it `trains`), or None."""
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    labeled = all(r["already_done"] + r["done"] >= r["requested"] and not r.get("remaining") for r in summary["labeling"])
    return summary if labeled and summary["labeling"] and (summary.get("training") is not None or not trains) else None


def _pool(out: Path, atoms: Atoms, count: int, method: SamplingMethod, sampling: SamplingSettings,
          log: Callable[[str], None] = lambda line: None) -> list[Atoms]:
    """The sampled configurations: read back if sampled before, else sampled (a log line every 10 %) and written."""
    from acquire.labeling.pools import read_pool
    from acquire.labeling.sampling import sample, write_frames
    from acquire.progress_bars import log_lines

    path = out / POOL_NAME
    if path.is_file():
        frames = read_pool(str(path))
        if len(frames) == count:
            return frames
    frames = sample(atoms, count, method, sampling, log_lines(log, f"sampling ({method}, {sampling.calculator}) steps"))
    write_frames(frames, str(path))
    return read_pool(str(path))  # exactly what the file holds, so a rerun hashes the same positions


def train_models(out: Path, accurate_spec: str, inaccurate_spec: str, n_validation: int, preset: Preset,
                 seed: int, threads: int, progress: bool, validation_hashes: set[str] | None = None,
                 energy_spec: str | None = None) -> dict:
    """Train ASTEROID on what the run bought (accurate + inaccurate labels in the store, and the
    energy-only labels of `energy_spec` in its fine-tuning) and, beside it, standard training on the
    same accurate labels (and the same energy-only ones), both selected on the validation labels
    (those of `validation_hashes`, else a seeded draw of `n_validation`); models and metrics under
    `out/models/`. Resumable: finished stages are reused."""
    from acquire.labeling.store import LabelStore
    from acquire.sources import frames_of, load_source
    from acquire.splits import seeded_parts
    from acquire.training import RunFrames, train_method, training_config

    store = out / STORE_NAME
    accurate, inaccurate = load_source(f"{store}:{accurate_spec}"), load_source(f"{store}:{inaccurate_spec}")
    if len(accurate) < n_validation + 1:
        raise AcquireError(f"{len(accurate)} accurate labels are done, too few for {n_validation} validation "
                           "labels and training; rerun to finish labeling or lower --validation")
    if validation_hashes is None:
        val_rows, train_rows = (sorted(part) for part in seeded_parts(len(accurate), (n_validation,), seed))
    else:
        hashes = LabelStore(store).arrays(accurate_spec).config_hashes
        val_rows = [i for i, h in enumerate(hashes) if h in validation_hashes]
        train_rows = [i for i, h in enumerate(hashes) if h not in validation_hashes]
    energies = None if energy_spec is None else load_source(f"{store}:{energy_spec}")
    frames = RunFrames(frames_of(accurate, train_rows, "accurate"), frames_of(accurate, val_rows, "validation"),
                       inaccurate=frames_of(inaccurate, list(range(len(inaccurate))), "inaccurate"),
                       energy_only=None if energies is None else frames_of(energies, list(range(len(energies))),
                                                                           "energy_only"))
    config = training_config(preset, seed=seed, threads=threads, progress=progress)
    asteroid = train_method("asteroid", frames, config, out / "models" / "asteroid")
    standard = train_method("standard", frames, config, out / "models" / "standard")
    return {"units": {"force_mae": "kcal/mol/Å", "energy_mae": "kcal/mol"}, "preset": preset,
            **({} if energies is None else {"energy_only": len(energies)}),
            "asteroid": {"validation": asteroid.metrics["validation"], "gamma": asteroid.metrics.get("gamma"),
                         "model": str(out / "models" / "asteroid")},
            "standard_same_accurate_labels": {"validation": standard.metrics["validation"],
                                              "model": str(out / "models" / "standard")}}


@contextmanager
def reused_labels(frames: list[Atoms], spec: str, engine: EngineOptions, log: Callable[[str], None]) -> Iterator:
    """An executor serving the labels of `spec` that sampling kept on `frames` (its calculator is this
    labeler; the others computed as `engine` says), or None when sampling kept none; closed after."""
    from acquire.labeling.executors import make_executor
    from acquire.labeling.reuse import ReusedLabels

    reused = ReusedLabels(frames, spec, lambda: make_executor(engine.workers, engine.scheduler, inline=False,
                                                              threads=engine.threads))
    if not len(reused):
        yield None
        return
    log(f"labeling: {len(reused)} of these {spec} labels were computed while sampling: stored, not recomputed")
    try:
        yield reused
    finally:
        reused.close()


def cheap_labels(store: LabelStore, spec: str, frames: list[Atoms]) -> SourceArrays:
    """The done labels of `spec` in `store` for those of `frames` that have one, in their order."""
    from acquire.sources import SourceArrays

    done = store.arrays(spec)
    rows = [k for k in done.rows_of(frames) if k is not None]
    return SourceArrays(spec, done.positions[rows], done.numbers, done.energies[rows], done.forces[rows])


def _recorded(settings: RunSettings, accurate: Labeler, inaccurate: Labeler, energy: Labeler | None) -> dict:
    """The settings a run folder belongs to (plan.json `settings`; a rerun must ask for the same).
    Those added later are recorded only when chosen, so that folders from before still resume."""
    sampling = settings.sampling
    recorded = {"molecule": settings.molecule, "accurate": accurate.spec, "inaccurate": inaccurate.spec,
                "method": settings.method, "calculator": sampling.calculator, "temperature_K": sampling.temperature_K,
                "seed": sampling.seed, "timestep": sampling.timestep_fs, "equilibration": sampling.equilibration,
                "interval": sampling.interval, "budget": settings.budget, "ratio": settings.ratio,
                "inaccurate_share": settings.inaccurate_share, "validation": settings.validation,
                "charge_validation": settings.charge_validation}
    if settings.selection != "random":
        recorded["selection"] = settings.selection
    if energy is not None:
        recorded.update(energy_share=settings.energy_share, energy_ratio=settings.energy_ratio,
                        energy_labeler=energy.spec)
    return recorded


def _log_plan(log: Callable[[str], None], the_plan: Plan, plan_doc: dict, specs: dict[str, str]) -> None:
    """The plan's counts, each kind's cost per label with its origin, and what the whole run costs."""
    from acquire.plan_costs import cost_lines

    n_energy = the_plan.energy_only.count
    energies = f"{n_energy} accurate energy-only with {specs['energy_only']}, " if "energy_only" in specs else ""
    log(f"plan {plan_doc['budget']} at ratio {the_plan.ratio:.4g}: {the_plan.accurate.count} accurate "
        f"(+{the_plan.validation.count} validation) with {specs['accurate']}, {energies}"
        f"{the_plan.inaccurate.count} inaccurate with {specs['inaccurate']}")
    for role in specs:
        part = plan_doc[role]
        origin = (part.get("cost_origin") or {}).get("describe")
        if role == "energy_only":
            origin = f"{origin or 'at --energy-ratio'}; 1/{the_plan.energy_ratio:.4g} of a force label; "
            origin += f"{part['count']} labels cost {part['cost_cpu_s'] / 3600:.4g} CPU-h"
        name = "accurate energy-only" if role == "energy_only" else role
        log(f"  {name} cost per label: {part['label_cost_s']:.4g} CPU-s, {origin}")
    for line in cost_lines(plan_doc["costs"]):
        log(line)


def run_pipeline(settings: RunSettings, engine: EngineOptions = EngineOptions(), progress: bool = True,
                 log: Callable[[str], None] = lambda line: None, dry_run: bool = False) -> RunOutcome:
    """Plan, sample, label both fidelities (and the energy-only labels) and train, in `settings.out`;
    writes plan.json and run.json. `dry_run`: plan (and log every estimate) only; nothing is written."""

    from acquire.labeling.engine import label_frames
    from acquire.labeling.store import LabelStore, config_hash
    from acquire.molecules import load_molecule
    from acquire.progress_bars import progress_bar
    from acquire.selection.sampled_pool import choose
    from labelers import get_labeler

    sampling = settings.sampling
    atoms = load_molecule(settings.molecule)
    accurate, inaccurate = get_labeler(settings.accurate), get_labeler(settings.inaccurate)
    the_plan, plan_doc, energy = make_plan(settings, atoms, accurate, inaccurate, get_labeler(sampling.calculator))
    n_accurate = the_plan.accurate.count + the_plan.validation.count
    n_inaccurate, n_energy = the_plan.inaccurate.count, the_plan.energy_only.count
    n_pool = n_accurate + n_inaccurate  # the energy-only labels' frames are sampled after these
    recorded = _recorded(settings, accurate, inaccurate, energy)
    energy_spec = None if energy is None else energy.spec
    ledger_s = the_plan.budget_cpu_s + (0.0 if settings.charge_validation else the_plan.validation.cost_cpu_s)
    targets = [{"role": "accurate (train + validation)", "spec": accurate.spec, "target": n_accurate},
               {"role": "inaccurate", "spec": inaccurate.spec, "target": n_inaccurate}]
    if energy is not None:
        targets.append({"role": "accurate energy-only", "spec": energy.spec, "target": n_energy})
    document = {"settings": recorded, "plan": plan_doc, "ledger_cpu_s": ledger_s, "targets": targets}
    specs = {"accurate": accurate.spec, "inaccurate": inaccurate.spec,
             **({} if energy is None else {"energy_only": energy.spec})}
    _log_plan(log, the_plan, plan_doc, specs)
    if dry_run:  # nothing written
        return RunOutcome(the_plan, accurate.spec, inaccurate.spec, [],
                          {"dry_run": True, "plan": plan_doc, "targets": targets}, energy_spec)
    out = Path(settings.out)
    _check_same_run(out, recorded)
    finished = _finished(out / SUMMARY_NAME, trains=settings.preset is not None)
    if finished is not None:  # nothing left to do: its records stay as they are
        log(f"{out} holds this run, finished: nothing to do (its run.json kept; another --out starts a new run)")
        from acquire.labeling.engine import RunReport

        return RunOutcome(the_plan, accurate.spec, inaccurate.spec, [RunReport(**r) for r in finished["labeling"]],
                          finished, energy_spec)
    atomic_write_text(out / PLAN_NAME, json.dumps(document, indent=1))

    log(announcement("sampling", f"{n_pool + n_energy} configurations", plan_doc["costs"]["sampling"]["cpu_s"]))
    began = time.process_time()  # CPU-core seconds of every thread, as labels and the plan count them
    frames = _pool(out, atoms, n_pool + n_energy, settings.method, sampling, log)
    sampling_s = time.process_time() - began
    store = LabelStore(out / STORE_NAME)
    reports: list[RunReport] = []
    part_of = {accurate.spec: "accurate", inaccurate.spec: "inaccurate", energy_spec: "energy_only"}

    def buy(labeler: Labeler, rows: list[int]) -> None:
        part = [frames[i] for i in rows]
        if not part:
            return
        unit_cost = plan_doc[part_of[labeler.spec]]["label_cost_s"]
        log(announcement("labeling", f"{len(part)} configurations with {labeler.spec}", len(part) * unit_cost))
        with reused_labels(part, labeler.spec, engine, log) as reused, \
                progress_bar(f"{labeler.spec}", len(part), disabled=not progress) as hook:
            reports.append(label_frames(store, labeler, part, workers=engine.workers, scheduler=engine.scheduler,
                                        threads=engine.threads, max_attempts=engine.max_attempts,
                                        retry_failed=engine.retry_failed, budget_s=ledger_s,
                                        progress=hook, charge_declared=True, declared_s=unit_cost, executor=reused))

    def buy_cheap(rows: list[int]) -> SourceArrays:
        buy(inaccurate, rows)
        return cheap_labels(store, inaccurate.spec, [frames[i] for i in rows])

    committee = None
    if settings.selection == "uncertain":  # the committee trains with the run's preset
        from acquire.training import training_config

        committee = training_config(settings.training_preset, seed=sampling.seed, threads=engine.threads,
                                    progress=progress)
    choice = choose(out, frames[:n_pool], the_plan.validation.count, the_plan.accurate.count, settings.selection,
                    sampling.seed, buy_cheap, committee, log)
    for labeler, rows in ((accurate, choice.accurate), (inaccurate, choice.inaccurate)):
        if not (labeler is inaccurate and settings.selection == "uncertain"):  # bought before the choice
            buy(labeler, rows)
    if energy is not None:
        buy(energy, list(range(n_pool, n_pool + n_energy)))
    metrics = training_s = None
    if settings.preset is not None:
        log(announcement("training", f"preset {settings.preset}", plan_doc["costs"]["training"]["cpu_s"]))
        began = time.process_time()
        validation = None if settings.selection == "random" else {config_hash(frames[i]) for i in choice.validation}
        metrics = train_models(out, accurate.spec, inaccurate.spec, the_plan.validation.count, settings.preset,
                               sampling.seed, engine.threads, progress, validation, energy_spec)
        training_s = time.process_time() - began
    checks = cost_checks(reports, the_plan, (accurate.spec, inaccurate.spec), energy_spec)
    checks["estimates"] = estimate_checks(plan_doc["costs"], {
        "sampling": sampling_s, "labeling": sum(r.cost_s for r in reports), "training": training_s},
        {"labeling": 0.0 if the_plan.validation.charged else the_plan.validation.cost_cpu_s or 0.0})
    summary = {"folder": str(out), "plan": targets, "labeling": [r.__dict__ for r in reports],
               "cpu_h_spent": store.spent_s() / 3600, "cost_check": checks, "training": metrics}
    if energy is not None:  # only then: the run.json of a run without energies is as before
        summary["energy_only"] = {"spec": energy.spec, "share": settings.energy_share, "ratio": the_plan.energy_ratio,
                                  "count": n_energy, "cost_cpu_s": the_plan.energy_only.cost_cpu_s}
    atomic_write_text(out / SUMMARY_NAME, json.dumps(summary, indent=1))
    return RunOutcome(the_plan, accurate.spec, inaccurate.spec, reports, summary, energy_spec)
