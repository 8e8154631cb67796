"""Per-label costs in the application: each with its origin (declared law, calibrated here, scaled
from another molecule, or from --ratio) for plans, and the check after labeling of the CPU time
actually spent per label against what the plan assumed."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ase import Atoms

OFF_FACTOR = 1.5  # a measured cost per label this far from the plan's (either way) is reported


def estimate(labeler: Any, atoms: Atoms) -> Any:
    """The labeler's `labelers.costs.CostEstimate` for one label of `atoms`."""
    from labelers.costs import cost_estimate

    return cost_estimate(labeler, atoms)


def origin_record(estimate_: Any | None, label_cost_s: float | None, ratio: float | None = None) -> dict[str, Any] | None:
    """JSON-ready origin of a plan part's cost per label: the estimate's, or 'from --ratio' when the
    cost followed from the accurate one and a given ratio; None when the plan has no CPU costs."""
    if estimate_ is not None:
        return estimate_.as_dict()
    if label_cost_s is None:
        return None
    return {"seconds": label_cost_s, "origin": "ratio", "flags": [],
            "describe": f"accurate cost ÷ the given ratio {ratio:g}" if ratio else "from the given ratio"}


def add_origins(document: dict[str, Any], accurate: Any | None, inaccurate: Any | None) -> dict[str, Any]:
    """Put `cost_origin` into a plan document's parts (accurate, validation, standard: the accurate
    labeler's; inaccurate: its own or the ratio's)."""
    for part in ("accurate", "validation", "standard"):
        document[part]["cost_origin"] = origin_record(accurate, document[part].get("label_cost_s"))
    document["inaccurate"]["cost_origin"] = origin_record(inaccurate, document["inaccurate"].get("label_cost_s"),
                                                          document.get("ratio"))
    return document


def check(spec: str, labels: int, cpu_s: float, planned_s: float | None) -> dict[str, Any] | None:
    """Measured CPU-core seconds per label of one labeling run against the plan's; `off` when they
    differ by more than OFF_FACTOR. None when nothing was labelled or the plan has no cost."""
    if labels < 1 or not planned_s or planned_s <= 0:
        return None
    measured = cpu_s / labels
    factor = measured / planned_s
    off = factor > OFF_FACTOR or factor < 1.0 / OFF_FACTOR
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    message = ""
    if off:
        busy = (f"; the load average is {load:.1f} on {os.cpu_count()} cores, so part of it may be waiting"
                if load is not None and factor > 1 and load > (os.cpu_count() or 1) else "")
        message = (f"{spec}: labels cost {measured:.4g} CPU-s each, the plan assumed {planned_s:.4g} s "
                   f"({factor:.2f}x): the cost ratio the plan used was off{busy}; "
                   f"`acquire calibrate --labeler '{spec}'` measures it")
    return {"spec": spec, "labels": labels, "measured_s_per_label": measured, "planned_s_per_label": planned_s,
            "factor": factor, "off": off, "load_average": load, "message": message}


def ratio_check(checks: list[dict[str, Any] | None], planned_ratio: float) -> dict[str, Any] | None:
    """The accurate ÷ inaccurate ratio the labels actually had, against the plan's (two checks, accurate first)."""
    if len(checks) != 2 or None in checks:
        return None
    accurate, inaccurate = checks
    measured = accurate["measured_s_per_label"] / inaccurate["measured_s_per_label"]
    factor = measured / planned_ratio
    return {"planned": planned_ratio, "measured": measured, "factor": factor,
            "off": factor > OFF_FACTOR or factor < 1.0 / OFF_FACTOR}


# Training throughput, configurations per second per epoch on one thread for ethanol (9 atoms), as
# recorded by `benchmarks/bench_batch.py` and `bench_mace_step.py` on the project's 2-core machine
# (figures: docs/results.md, "Labeling, costs and throughput"), times the speed-up of keeping freed
# memory (`train.allocator`). MACE: the paper preset's measured rate, 160,000 pretraining
# configurations in 3026 CPU-s (52.9 per s at l <= 3; `benchmarks/results/time_to_accuracy/`), as
# l <= 2; MACE with l <= 3 is MACE_L3_SLOWDOWN slower than l <= 2. Seconds scale with the atoms.
# Every stage is bounded by epochs, so a stage costs epochs × frames × seconds per configuration.
TRAINING_CONFIGS_PER_S = {"painn": 150.0 * 1.33, "egnn": 258.0, "tensornet": 81.0, "mace": 52.9 * 1.15}
MACE_L3_SLOWDOWN = 1.15  # MACE l<=3 against l<=2, per configuration
TRAINING_REFERENCE_ATOMS = 9
RELAX_STEPS = 100  # BFGS steps assumed for the normal-mode sampler's relaxation
ENERGY_STAGES = ("standard", "finetune")  # the stages that fit accurate energy-only labels, when a run has them


def training_s_per_config(model: Any, atoms: int) -> float:
    """CPU-core seconds per configuration per epoch of a `train.config.ModelConfig` on `atoms` atoms."""
    rate = TRAINING_CONFIGS_PER_S.get(model.name, 100.0)
    if model.name == "mace" and model.max_ell >= 3:
        rate /= MACE_L3_SLOWDOWN
    return atoms / TRAINING_REFERENCE_ATOMS / rate


def _epochs(stage: Any) -> str:
    """A stage's epoch bound as the plan prices it: its epochs, the steps it runs at least, and
    whether early stopping may end it sooner (then the priced epochs are its maximum)."""
    text = f"{stage.epochs}" + (f" (at least {stage.min_steps} steps)" if stage.min_steps else "")
    return text + (f" (at most; stops after {stage.patience} epochs without a better validation loss)"
                   if stage.patience else "")


def overheads(atoms: Atoms, preset: str, method: str, settings: Any, calculator: Any | None,
              sampled: bool = True) -> Any:
    """`budget.full_plan.Overheads` of a run on `atoms`: sampling with `calculator` (None or
    `sampled=False`: the configurations exist already) and training with the `preset`."""
    from budget.full_plan import Overheads, TrainingStage
    from train.config import preset as train_preset

    config = train_preset(preset)
    per_config = training_s_per_config(config.model, len(atoms))
    gammas = len(config.weightings())  # one pretraining and fine-tuning per candidate weighting
    bias = (("bias", "accurate", config.bias, 1),) if config.bias_weights else ()
    # the standard and fine-tuning stages draw a batch of energy-only labels beside each batch (train.energy_only)
    stages = tuple(TrainingStage(name=name, frames=frames, epochs=stage.epochs, repeats=repeats,
                                 min_configs=stage.min_steps * stage.batch_size, energy_batches=name in ENERGY_STAGES)
                   for name, frames, stage, repeats in (("standard", "accurate", config.standard, 1), *bias,
                                                        ("pretrain", "inaccurate", config.pretrain, gammas),
                                                        ("finetune", "accurate", config.finetune_stage, gammas)))
    bias_note = f" + bias {_epochs(config.bias)}" if config.bias_weights else " (uniform weights: no bias model)"
    training_note = (f"preset {preset}: {config.model.name}, {per_config * 1e3:.3g} ms per configuration per epoch "
                     f"(recorded throughput), epochs standard {_epochs(config.standard)}{bias_note} + {gammas} x "
                     f"(pretrain {_epochs(config.pretrain)} + finetune {_epochs(config.finetune_stage)})")
    if calculator is None or not sampled:
        return Overheads(training_s_per_config_epoch=per_config, training_stages=stages,
                         training_note=training_note, sampling_note="no sampling: the configurations exist")
    step = estimate(calculator, atoms).seconds
    if method == "normal-modes":
        fixed, each = (RELAX_STEPS + 6 * len(atoms)) * step, 0.0
        note = f"normal modes: relaxation + Hessian ({RELAX_STEPS + 6 * len(atoms)} force calls of {calculator.spec})"
    else:
        fixed, each = settings.equilibration * step, settings.interval * step
        note = (f"Langevin MD with {calculator.spec}: {settings.equilibration} equilibration steps, "
                f"{settings.interval} steps per kept configuration, {step:.3g} s per step")
    return Overheads(sampling_fixed_s=fixed, sampling_s_per_config=each, sampling_note=note,
                     training_s_per_config_epoch=per_config, training_stages=stages, training_note=training_note)


def costs_document(full: Any, budget_text: str) -> dict[str, Any]:
    """The three parts of a full plan and their sum, JSON-ready (`label_budget`: the labels' share)."""
    parts = {name: getattr(full, name).model_dump() for name in ("sampling", "labeling", "training", "total")}
    return {"budget": budget_text, "label_budget": full.labels.budget,
            "units": {"cpu_s": "CPU-core seconds", "accurate_labels": "accurate-label units"},
            **parts, "budget_covers": full.budget_covers, "within_budget": full.within_budget, "cap": full.cap,
            "notes": full.notes}


def add_costs(document: dict[str, Any], full: Any, extra: Any, budget_text: str) -> dict[str, Any]:
    """Put a full plan's parts into a plan document: `costs` (with how sampling and training were
    priced) and `budget`, the whole budget (`costs.label_budget` is the labels' part)."""
    document["costs"] = costs_document(full, budget_text)
    document["budget"] = budget_text
    document["costs"]["how"] = {"sampling": extra.sampling_note, "training": extra.training_note}
    return document


def cost_lines(document: dict[str, Any]) -> list[str]:
    """Sampling, labeling, training and the sum, one line each, then the plan's notes."""
    notes = document.get("how", {})
    lines = [f"what the plan costs ({document['budget']} covers {document['budget_covers']}):"]
    for part in ("sampling", "labeling", "training", "total"):
        p = document[part]
        note = f"  {notes[part]}" if notes.get(part) else ""
        lines.append(f"  {part:<9} {p['cpu_h']:>10.4g} CPU-h {p['accurate_labels']:>12.4g} accurate-label units{note}")
    return lines + [f"  note: {note}" for note in document["notes"]]


def plan_everything(budget: Any, ratio: Any, policy: Any, accurate_est: Any, inaccurate_est: Any | None,
                    atoms: Atoms, *, preset: str, method: str, settings: Any, calculator: Any | None,
                    validation: int | None, charge_validation: bool, max_inaccurate: int | None,
                    max_training_s: float | None, energy: Any | None = None) -> tuple[Any, Any]:
    """(`budget.full_plan.FullPlan`, its Overheads): labels, sampling and training of a run on `atoms`."""
    from budget.full_plan import full_plan

    extra = overheads(atoms, preset, method, settings, calculator)
    full = full_plan(budget, ratio, policy, accurate_est.seconds, None if inaccurate_est is None else inaccurate_est.seconds,
                     extra, validation=validation, charge_validation=charge_validation,
                     max_inaccurate=max_inaccurate, max_training_s=max_training_s, energy=energy)
    return full, extra


def add_full_cost_arguments(parser: Any) -> None:
    """The caps of a full plan, shared by `acquire plan` and `acquire run`."""
    from acquire.cli import arguments
    from budget.full_plan import DEFAULT_MAX_INACCURATE

    parser.add_argument("--max-inaccurate", type=arguments.frames, default=DEFAULT_MAX_INACCURATE, metavar="N",
                        help=f"cap on inaccurate labels; what it frees buys accurate labels (default {DEFAULT_MAX_INACCURATE}; "
                        "0 = no cap)")
    parser.add_argument("--max-training", default=None, metavar="TIME",
                        help="cap on training CPU time (e.g. 2cpu-h); caps the inaccurate labels trained on")


def caps_from(args: Any) -> tuple[int | None, float | None]:
    """(--max-inaccurate or None for no cap, --max-training in CPU-core seconds or None)."""
    from budget import BudgetError, parse_budget

    if args.max_inaccurate < 0:
        raise BudgetError(f"--max-inaccurate must be >= 0, got {args.max_inaccurate}")
    training = None
    if args.max_training is not None:
        parsed = parse_budget(args.max_training)
        if not parsed.is_absolute:
            raise BudgetError(f"--max-training {args.max_training}: give CPU time (e.g. 2cpu-h)")
        training = parsed.amount
    return (args.max_inaccurate or None), training
