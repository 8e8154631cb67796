"""The optimal split: a learning curve error(n_accurate, n_inaccurate) fitted to the finished
standard and ASTEROID runs of one or more comparison folders, the `optimal` planning policy made
from it, and its predictions beside the paper split and standard training (`acquire plan --policy
optimal --from DIR [--from DIR ...]`). Folders may hold other splits of the same data (for example
one folder per budget): each run's test error is an estimate of the same expected error."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from acquire.compare.report import read_document
from acquire.compare.seed_splits import SeedSplit
from acquire.compare.settings import DATASETS, CompareError
from budget import BudgetError, Plan, paper_policy
from budget import plan as make_plan
from budget.learning_curves import fit_learning_curve
from budget.planner import OptimalSplit


def learning_curve_points(folders: Sequence[str | Path], methods: tuple[str, ...] = ("standard", "asteroid"),
                          metric: str = "force_mae") -> list[tuple[int, int, float]]:
    """(n_accurate, n_inaccurate, test error) of every finished run of `methods` in the comparison
    folders, whichever invocation made it. A run counts once, however many folders hold it (the
    same run shared by two ratios, or copied with --reuse)."""
    points: dict[tuple, tuple[int, int, float]] = {}
    for folder in folders:
        read_document(folder)  # a comparison folder, or a one-line error
        for path in sorted(Path(folder).glob("runs/*/*/seed*/metrics.json")):
            method = path.parent.parent.name
            if method not in methods or not (path.parent / "predictions.npz").exists():
                continue
            metrics = json.loads(path.read_text())
            counts = metrics.get("counts", {})
            if "test" in metrics and "accurate" in counts:
                n_acc, n_inacc = int(counts["accurate"]), int(counts.get("inaccurate", 0))
                error = float(metrics["test"][metric])
                seed = metrics.get("config", {}).get("seed")
                points.setdefault((method, seed, n_acc, n_inacc, error), (n_acc, n_inacc, error))
    return list(points.values())


def optimal_policy(folders: Sequence[str | Path], metric: str = "force_mae") -> OptimalSplit:
    """The `optimal` planning policy: a learning curve fitted to the standard and ASTEROID results of
    the comparisons in `folders`."""
    if not folders:
        raise CompareError("the optimal policy needs earlier results: --from DIR (an acquire compare --out folder)")
    return OptimalSplit(fit_learning_curve(learning_curve_points(folders, metric=metric)))


def _measure_command(settings: dict[str, Any], plan: Plan, folder: str | Path) -> str:
    """The `acquire compare` command that measures a plan's split with the sources, selection and
    training settings of the comparison in `folder`: into `folder` where its splits hold the
    plan's training frames, else into a new folder beside it."""
    import shlex

    from train.config import gammas_text

    dataset = settings.get("dataset")
    if dataset:
        default = DATASETS[dataset][1]
        source = ["--dataset", dataset]
        source += ["--inaccurate", settings["inaccurate"]] if settings["inaccurate"] != default else []
        source += ["--pool", settings["pool"]] if settings.get("pool") not in (None, default) else []
    else:
        source = ["--accurate", settings["accurate"], "--inaccurate", settings["inaccurate"]]
        source += ["--pool", settings["pool"]] if settings.get("pool") else []
    words = ["acquire", "compare", *source, "--budget", plan.budget, "--ratio", f"{plan.ratio:g}",
             "--inaccurate-share", f"{plan.budget_accurate_labels - plan.accurate.count:g}ccsd",
             "--seeds", str(settings["seeds"]), "--preset", settings["preset"], "--validation", str(settings["validation"])]
    for option, key in (("--test", "test"), ("--test-source", "test_source")):
        words += [option, str(settings[key])] if settings.get(key) is not None else []
    words += ["--selection", settings["selection"]] if settings.get("selection", "random") != "random" else []
    for extra in settings.get("extra_inaccurate") or []:
        words += ["--extra-inaccurate", extra]
    if settings.get("gammas"):
        words += ["--gammas", gammas_text(settings["gammas"], settings.get("uniform_candidate", False))]
    out = Path(folder)
    if plan.standard.count > _split_frames(out):
        out = out.with_name(f"{out.name}_{plan.budget}")
    return " ".join(shlex.quote(w) for w in [*words, "--out", str(out)])


def _split_frames(folder: Path) -> int:
    """How many training frames the stored splits of a comparison folder hold (0 without splits)."""
    path = folder / "splits" / "seed0.json"
    return int(SeedSplit.load(path).needs.n_train) if path.exists() else 0


def optimal_summary(policy: OptimalSplit, plan: Plan, folders: Sequence[str | Path]) -> dict[str, Any]:
    """Predicted test error of the optimal plan beside the paper split and standard training at the
    same budget, with the measured mean over seeds where `folders` hold runs of that exact split.
    The command that measures the optimal split uses the first folder's settings (`_measure_command`)."""
    measured: dict[tuple[int, int], list[float]] = {}
    for n_acc, n_inacc, error in learning_curve_points(folders):
        measured.setdefault((n_acc, n_inacc), []).append(error)
    splits = [("optimal", plan.accurate.count, plan.inaccurate.count)]
    try:
        paper = make_plan(plan.budget, plan.ratio, paper_policy(), validation=plan.validation.count)
        splits.append(("paper", paper.accurate.count, paper.inaccurate.count))
    except BudgetError:
        pass  # the budget is too small for the paper policy: no paper split to show
    splits.append(("standard", plan.standard.count, 0))
    c = policy.curve
    return {
        "measure_with": _measure_command(read_document(folders[0])["settings"], plan, folders[0]),
        "from": [str(f) for f in folders], "metric": "test force_mae", "units": "kcal/mol/Å", "points": c.n_points,
        "curve": {"a": c.a, "alpha": c.alpha, "delta": c.delta, "rms_log_residual": c.rms_log_residual,
                  "form": "err = a * n_acc**-alpha * (1 + n_inacc/n_acc)**-delta"},
        "rms_log_residual": c.rms_log_residual,
        "splits": [{"split": name, "n_accurate": na, "n_inaccurate": ni, "predicted": policy.predicted_error(na, ni),
                    "measured": float(np.mean(measured[(na, ni)])) if (na, ni) in measured else None}
                   for name, na, ni in splits],
    }
