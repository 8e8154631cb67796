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
cost no labels, plus the whole budget on accurate labels).
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from acquire.errors import AcquireError
from acquire.sources import SourceArrays, frames_of, load_source, predict_frames, split_source

FORMAT = "asteroid-ff/compare/1"
METHODS = ("standard", "asteroid", "no-bias-weights", "no-finetune", "delta-ml", "score-matching")
LABELS = {
    "standard": "standard (accurate only)",
    "asteroid": "ASTEROID",
    "no-bias-weights": "ASTEROID w/o bias weights (pretrain + fine-tune)",
    "no-finetune": "ASTEROID w/o fine-tuning",
    "delta-ml": "Delta-ML (inaccurate base + learned difference)",
    "score-matching": "score matching (unlabelled) + fine-tune",
}
DATASETS = {"ethanol": ("md17:ethanol/ccsd(t)", "md17:ethanol/dft")}


class CompareError(AcquireError):
    """A comparison cannot be set up or resumed as asked."""


@dataclass(frozen=True)
class CompareSettings:
    """What to compare: label sources, budgets, ratios, seeds, methods and training preset."""

    accurate: str
    inaccurate: str
    budgets: tuple[str, ...] = ("250ccsd",)
    ratios: tuple[float, ...] = (40.0,)
    seeds: int = 1
    preset: str = "quick"
    inaccurate_share: str | None = None  # None: the paper policy
    validation: int = 50
    test: int | None = None  # cap on test frames (None: every remaining accurate frame)
    gammas: tuple[float, ...] | None = None  # None: the preset's
    ablations: bool = False
    unlabeled: bool = False
    threads: int = 1
    progress: bool = True
    dataset: str | None = None
    command: str = ""

    def methods(self) -> list[str]:
        methods = ["standard", "asteroid"]
        if self.ablations:
            methods += ["no-bias-weights", "no-finetune", "delta-ml"]
        if self.unlabeled:
            methods.append("score-matching")
        return methods


@dataclass
class RunSpec:
    """One training run: which budget/ratio/method/seed, what it trains on, what it cost."""

    key: str
    budget: str
    ratio: float
    method: str
    seed: int
    n_accurate: int
    n_inaccurate: int
    n_unlabeled: int
    cost_accurate_labels: float
    cost_cpu_h: float | None
    dir: str
    status: str = "pending"  # pending | trained | resumed-finished | shared | skipped
    note: str = ""
    result: dict[str, Any] = field(default_factory=dict)


def run_key(budget: str, ratio: float, share: str | None = None) -> str:
    """'250ccsd_r40' (paper policy) or '250ccsd_r40_share20pct' (an --inaccurate-share)."""
    suffix = "" if share is None else "_share" + share.strip().replace("%", "pct").replace(" ", "")
    return f"{budget}_r{ratio:g}{suffix}"


def load_data(settings: CompareSettings) -> tuple[SourceArrays, SourceArrays]:
    """The accurate and inaccurate labelled arrays of the comparison (same molecule)."""
    accurate, inaccurate = load_source(settings.accurate), load_source(settings.inaccurate)
    if accurate.positions.shape[1:] != inaccurate.positions.shape[1:] or not np.array_equal(
            np.asarray(accurate.numbers).reshape(-1), np.asarray(inaccurate.numbers).reshape(-1)):
        raise CompareError(f"{settings.accurate} and {settings.inaccurate} are not the same molecule (atoms differ)")
    return accurate, inaccurate


def accurate_label_cost(src: str, data: SourceArrays) -> float | None:
    """Declared CPU-core seconds of one label by the labeler a SRC names, or None if unknown."""
    from ase import Atoms

    from labelers.errors import LabelerError
    from labelers.registry import get_labeler

    try:
        atoms = Atoms(numbers=np.asarray(data.numbers).reshape(-1), positions=data.positions[0])
        return float(get_labeler(split_source(src)[1]).cost(atoms))
    except (LabelerError, ValueError, TypeError):
        return None


def make_plans(settings: CompareSettings, accurate_cost_s: float | None) -> dict[str, Any]:
    """key -> `budget.Plan` for every (budget, ratio) of the comparison."""
    from budget import parse_budget, parse_share, plan

    policy = "paper" if settings.inaccurate_share is None else parse_share(settings.inaccurate_share)
    plans = {}
    for budget in settings.budgets:
        for ratio in settings.ratios:
            plans[run_key(str(parse_budget(budget)), ratio, settings.inaccurate_share)] = plan(
                budget, ratio, policy=policy, accurate_cost_s=accurate_cost_s, validation=settings.validation)
    return plans


@dataclass(frozen=True)
class SeedSplit:
    """One seed's frames: training order (prefixes are training sets), validation, test, pool order."""

    seed: int
    train_order: list[int]
    validation: list[int]
    test: list[int]
    pool_order: list[int]
    params: dict[str, Any]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "SeedSplit":
        return cls(**json.loads(path.read_text()))

    def fits(self, params: dict[str, Any]) -> bool:
        """Whether this stored split serves a comparison needing `params`."""
        same = ("accurate", "inaccurate", "validation", "test_cap")
        return (all(self.params.get(k) == params[k] for k in same)
                and self.params["n_train"] >= params["n_train"]
                and self.params["n_inaccurate"] >= params["n_inaccurate"])


def seed_split(out: Path, seed: int, accurate: SourceArrays, inaccurate: SourceArrays,
               params: dict[str, Any]) -> SeedSplit:
    """The stored split of `seed` in `out/splits/`, or a new one (made with `make_split`)."""
    from acquire.compare.splits import make_split

    path = out / "splits" / f"seed{seed}.json"
    if path.exists():
        stored = SeedSplit.load(path)
        if stored.fits(params):
            return stored
        raise CompareError(
            f"{out} holds a comparison with other splits ({path.name}: {stored.params}); "
            "give a new --out, or the same sources, --validation and --test with budgets no larger")
    split = make_split(accurate.positions, inaccurate.positions, params["n_train"], params["validation"],
                       params["n_inaccurate"], seed)
    train_order = np.random.default_rng([seed, 2]).permutation(split.train).tolist()
    pool_order = np.random.default_rng([seed, 3]).permutation(split.inaccurate).tolist()
    test = split.test
    if params["test_cap"] is not None and params["test_cap"] < len(test):
        test = sorted(np.random.default_rng([seed, 4]).choice(test, params["test_cap"], replace=False).tolist())
    result = SeedSplit(seed, [int(i) for i in train_order], split.validation, [int(i) for i in test],
                       [int(i) for i in pool_order], params)
    result.save(path)
    return result


def plan_runs(settings: CompareSettings, plans: dict[str, Any]) -> list[RunSpec]:
    """Every run of the comparison, in order (ASTEROID before the ablations that reuse its stages)."""
    runs = []
    for key, p in plans.items():
        mixed = (p.accurate.cost_accurate_labels + p.inaccurate.cost_accurate_labels,
                 _add(p.accurate.cost_cpu_h, p.inaccurate.cost_cpu_h))
        for seed in range(settings.seeds):
            for method in settings.methods():
                n_acc, n_inacc, n_unl, cost = {
                    "standard": (p.standard.count, 0, 0, (p.standard.cost_accurate_labels, p.standard.cost_cpu_h)),
                    "score-matching": (p.standard.count, 0, p.inaccurate.count,
                                       (p.standard.cost_accurate_labels, p.standard.cost_cpu_h)),
                }.get(method, (p.accurate.count, p.inaccurate.count, 0, mixed))
                runs.append(RunSpec(key, p.budget, p.ratio, method, seed, n_acc, n_inacc, n_unl, cost[0], cost[1],
                                    f"runs/{key}/{method}/seed{seed}"))
    return runs


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _identity(run: RunSpec) -> tuple:
    """Runs with the same identity train the same model on the same frames (e.g. standard at two ratios)."""
    return (run.method, run.seed, run.n_accurate, run.n_inaccurate, run.n_unlabeled)


def train_config(settings: CompareSettings, method: str, seed: int) -> Any:
    """The preset with the comparison's seed, threads, gammas and the method's ablation switches."""
    import train

    config = train.preset(settings.preset, seed=seed, threads=settings.threads, progress=settings.progress)
    if settings.gammas is not None:
        config = replace(config, gammas=tuple(settings.gammas))
    if method == "no-bias-weights":
        config = replace(config, bias_weights=False)
    if method == "no-finetune":
        config = replace(config, finetune=False)
    return config


def check_settings(run_dir: Path, config: Any) -> None:
    """Refuse to resume or reuse a run directory trained with other settings (preset, gammas, ...)."""
    path = run_dir / "config.json"
    if path.exists() and not config.matches(json.loads(path.read_text())):
        raise CompareError(f"{run_dir} was trained with other settings (preset, gammas or model); "
                           "give a new --out or the same --preset and --gammas")


def run_indices(run: RunSpec, settings: CompareSettings, split: SeedSplit) -> dict[str, Any]:
    """The frames a run trains, validates and tests on (stored as its split.json)."""
    return {"seed": run.seed, "accurate": settings.accurate, "inaccurate": settings.inaccurate,
            "train": split.train_order[:run.n_accurate], "validation": split.validation, "test": split.test,
            "inaccurate_indices": split.pool_order[:max(run.n_inaccurate, run.n_unlabeled)]}


def is_finished(run_dir: Path, config: Any | None = None, indices: dict[str, Any] | None = None) -> bool:
    """Whether a run directory holds a finished run; with `config` and `indices`, refuse a run
    directory made with other settings or frames."""
    if config is not None:
        check_settings(run_dir, config)
    if indices is not None and (run_dir / "split.json").exists():
        if json.loads((run_dir / "split.json").read_text()) != json.loads(json.dumps(indices)):
            raise CompareError(f"{run_dir} was trained on other frames; give a new --out")
    return all((run_dir / name).exists() for name in ("metrics.json", "predictions.npz", "split.json"))


def execute(run: RunSpec, out: Path, settings: CompareSettings, accurate: SourceArrays,
            inaccurate: SourceArrays, split: SeedSplit) -> None:
    """Train (or resume) one run and store its split indices and test predictions."""
    import train

    from acquire.compare.delta import run_delta_ml

    run_dir = out / run.dir
    run_dir.mkdir(parents=True, exist_ok=True)
    indices = run_indices(run, settings, split)
    (run_dir / "split.json").write_text(json.dumps(indices))
    config = train_config(settings, run.method, run.seed)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    acc = frames_of(accurate, indices["train"], "accurate")
    val = frames_of(accurate, split.validation, "validation")
    test = frames_of(accurate, split.test, "test")
    if run.method == "standard":
        result = train.run_standard(acc, val, test, config, run_dir)
    elif run.method == "score-matching":
        pool = frames_of(inaccurate, indices["inaccurate_indices"], "unlabeled", labelled=False)
        result = train.run_score_matching(acc, pool, val, test, config, run_dir)
    elif run.method == "delta-ml":
        run_delta_ml(accurate, inaccurate, indices, config, run_dir)
        return
    else:
        if run.method == "no-finetune":
            _reuse_stages(out / run.dir.replace("/no-finetune/", "/asteroid/"), run_dir)
        pool = frames_of(inaccurate, indices["inaccurate_indices"], "inaccurate")
        result = train.run_asteroid(acc, pool, val, test, config, run_dir)
    save_predictions(result.model, test, run_dir / "predictions.npz")


def _reuse_stages(source: Path, target: Path) -> None:
    """Copy ASTEROID's finished bias and pretraining stages: the no-finetune ablation trains them
    with the identical config, so only the fine-tuning differs (it is skipped)."""
    if not is_finished(source):
        return
    (target / "stages").mkdir(parents=True, exist_ok=True)
    for stage in (source / "stages").glob("*.pt"):
        if (stage.name == "bias.pt" or stage.name.startswith("pretrain_")) and not stage.name.endswith(".state.pt"):
            if not (target / "stages" / stage.name).exists():
                shutil.copy2(stage, target / "stages" / stage.name)


def save_predictions(model: Any, frames: Any, path: Path) -> None:
    """Test-set predictions (energies eV, forces eV/Å) beside the reference labels, for parity plots."""
    energies, forces = predict_frames(model, frames)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, energies=energies, forces=forces, ref_energies=frames.energies,
                        ref_forces=frames.forces)
    tmp.replace(path)


def read_run(run: RunSpec, out: Path) -> None:
    """Fill `run.result` from the run directory's metrics.json."""
    metrics = json.loads((out / run.dir / "metrics.json").read_text())
    keep = ("validation", "test", "gamma", "gamma_search", "bias", "seconds", "stage_seconds", "counts",
            "skipped_because", "delta")
    run.result = {k: metrics[k] for k in keep if k in metrics}
    run.result["threads"] = metrics.get("config", {}).get("threads", 1)
    run.result["versions"] = metrics.get("versions", {})


Log = Callable[[str], None]


def run_comparison(settings: CompareSettings, out: Path, log: Log = lambda line: None) -> dict[str, Any]:
    """Run (or resume) every run of the comparison; write metrics.json, report.md and plots; return
    the metrics document."""
    from acquire.compare.report import write_outputs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    accurate, inaccurate = load_data(settings)
    plans = make_plans(settings, accurate_label_cost(settings.accurate, accurate))
    runs = plan_runs(settings, plans)
    params = {"accurate": settings.accurate, "inaccurate": settings.inaccurate, "validation": settings.validation,
              "test_cap": settings.test, "n_train": max(r.n_accurate for r in runs),
              "n_inaccurate": max(max(r.n_inaccurate, r.n_unlabeled) for r in runs)}
    splits = {seed: seed_split(out, seed, accurate, inaccurate, params) for seed in range(settings.seeds)}
    began = time.monotonic()
    first: dict[tuple, RunSpec] = {}
    for number, run in enumerate(runs, 1):
        where = f"run {number} of {len(runs)}: {run.dir}"
        twin = first.setdefault(_identity(run), run)
        if twin is not run and twin.status != "skipped":
            run.dir, run.status, done = twin.dir, "shared", f"same frames and settings as {twin.key}, shared"
        elif run.method == "delta-ml" and (why := _delta_unavailable(accurate, inaccurate, splits[run.seed], run)):
            run.status, run.note = "skipped", why
            log(f"{where}: not run: {why}")
            continue
        elif is_finished(out / run.dir, train_config(settings, run.method, run.seed),
                         run_indices(run, settings, splits[run.seed])):
            run.status, done = "resumed-finished", "finished earlier, skipped"
        else:
            log(f"{where}: training ({_clock(time.monotonic() - began)} elapsed)")
            execute(run, out, settings, accurate, inaccurate, splits[run.seed])
            run.status, done = "trained", "trained"
        read_run(run, out)
        log(f"{where}: {done}; test force MAE {run.result['test']['force_mae']:.3f} kcal/mol/Å "
            f"({_clock(time.monotonic() - began)} elapsed)")
    return write_outputs(out, settings, plans, runs, splits)


def _delta_unavailable(accurate: SourceArrays, inaccurate: SourceArrays, split: SeedSplit, run: RunSpec) -> str:
    from acquire.compare.delta import delta_unavailable

    return delta_unavailable(accurate, inaccurate, split.train_order[:run.n_accurate])


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def learning_curve_points(folder: str | Path, methods: tuple[str, ...] = ("standard", "asteroid"),
                          metric: str = "force_mae") -> list[tuple[int, int, float]]:
    """(n_accurate, n_inaccurate, test error) of every finished run of `methods` in a comparison
    folder, whichever invocation made it (each run directory counts once)."""
    read_document(folder)  # a comparison folder, or a one-line error
    points: dict[tuple, tuple[int, int, float]] = {}
    for path in sorted(Path(folder).glob("runs/*/*/seed*/metrics.json")):
        method = path.parent.parent.name
        if method not in methods or not (path.parent / "predictions.npz").exists():
            continue
        metrics = json.loads(path.read_text())
        counts = metrics.get("counts", {})
        if "test" in metrics and "accurate" in counts:
            n_acc, n_inacc = int(counts["accurate"]), int(counts.get("inaccurate", 0))
            seed = metrics.get("config", {}).get("seed")  # the same run made twice counts once
            points.setdefault((method, seed, n_acc, n_inacc), (n_acc, n_inacc, float(metrics["test"][metric])))
    return list(points.values())


def read_document(folder: str | Path) -> dict[str, Any]:
    """The metrics.json of a comparison folder."""
    path = Path(folder) / "metrics.json"
    if not path.exists():
        raise CompareError(f"no comparison results at {path}; run `acquire compare --out {folder}` first")
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CompareError(f"{path} is not valid JSON: {error}") from None
    if document.get("format") != FORMAT:
        raise CompareError(f"{path} is not an acquire compare metrics file")
    return document


def optimal_policy(folder: str | Path | None, metric: str = "force_mae") -> Any:
    """The `optimal` planning policy: a learning curve fitted to the standard and ASTEROID results of
    the comparison in `folder` (its metrics.json)."""
    from budget.learning_curves import fit_learning_curve
    from budget.planner import OptimalSplit

    if folder is None:
        raise CompareError("the optimal policy needs earlier results: --from DIR (an acquire compare --out folder)")
    return OptimalSplit(fit_learning_curve(learning_curve_points(folder, metric=metric)))


def _measure_command(settings: dict[str, Any], plan: Any, folder: str | Path) -> str:
    """The `acquire compare` command that measures a plan's split beside the results in `folder`."""
    import shlex

    source = (["--dataset", settings["dataset"]] if settings.get("dataset") else
              ["--accurate", settings["accurate"], "--inaccurate", settings["inaccurate"]])
    words = ["acquire", "compare", *source, "--budget", plan.budget, "--ratio", f"{plan.ratio:g}",
             "--inaccurate-share", f"{plan.budget_accurate_labels - plan.accurate.count:g}ccsd",
             "--seeds", str(settings["seeds"]), "--preset", settings["preset"], "--validation", str(settings["validation"])]
    if settings.get("test") is not None:
        words += ["--test", str(settings["test"])]
    if settings.get("gammas"):
        words += ["--gammas", ",".join(f"{g:g}" for g in settings["gammas"])]
    return " ".join(shlex.quote(w) for w in [*words, "--out", str(folder)])


def optimal_summary(policy: Any, plan: Any, folder: str | Path) -> dict[str, Any]:
    """Predicted test error of the optimal plan beside the paper split and standard training at the
    same budget, with the measured mean over seeds where `folder` holds a run of that exact split."""
    from budget import paper_policy, plan as make_plan

    measured: dict[tuple[int, int], list[float]] = {}
    for n_acc, n_inacc, error in learning_curve_points(folder):
        measured.setdefault((n_acc, n_inacc), []).append(error)
    splits = [("optimal", plan.accurate.count, plan.inaccurate.count)]
    try:
        paper = make_plan(plan.budget, plan.ratio, paper_policy(), validation=plan.validation.count)
        splits.append(("paper", paper.accurate.count, paper.inaccurate.count))
    except Exception:  # noqa: BLE001 - the budget may be too small for the paper policy
        pass
    splits.append(("standard", plan.standard.count, 0))
    c = policy.curve
    return {
        "measure_with": _measure_command(read_document(folder)["settings"], plan, folder),
        "from": str(folder), "metric": "test force_mae", "units": "kcal/mol/Å", "points": c.n_points,
        "curve": {"a": c.a, "alpha": c.alpha, "delta": c.delta, "rms_log_residual": c.rms_log_residual,
                  "form": "err = a * n_acc**-alpha * (1 + n_inacc/n_acc)**-delta"},
        "rms_log_residual": c.rms_log_residual,
        "splits": [{"split": name, "n_accurate": na, "n_inaccurate": ni, "predicted": c.predict(na, ni),
                    "measured": float(np.mean(measured[(na, ni)])) if (na, ni) in measured else None}
                   for name, na, ni in splits],
    }
