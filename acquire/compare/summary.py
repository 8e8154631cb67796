"""One table across several `acquire compare` folders: the same budget with other cheap fidelities
(DFT, xTB, GAFF), other selections of the accurate frames, or other budgets, each folder named by
the reader. Built from the folders' metrics.json only; nothing is retrained.

Per folder, budget/ratio and method: test force and energy MAE (mean ± sample std over seeds), the
gain against the same folder's standard runs compared seed by seed (the methods of one seed share
its split), the bias model's force error B on the inaccurate frames and the effective sample size
of the chosen weights (as a share of the pretraining frames), and the gammas the validation set
chose. Units: kcal/mol/Å (forces, B, gamma), kcal/mol (energies).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from acquire.compare.methods import label
from acquire.compare.report import fmt, gain, read_document, training_cpu_seconds
from acquire.compare.settings import CompareError


@dataclass
class SummaryRow:
    """One method at one budget/ratio of one named comparison folder."""

    name: str
    folder: str
    budget: str
    budget_units: float  # accurate-label equivalents
    ratio: float
    method: str
    inaccurate: str
    selection: str
    n_accurate: int
    n_inaccurate: int
    test_frames: int
    seeds: list[int]
    force_mae: list[float]  # per seed, kcal/mol/Å
    energy_mae: list[float]  # per seed, kcal/mol
    diverged: int = 0  # runs without a finite test error, left out of the means
    candidate: str | None = None  # one gamma candidate of runs that chose among several (else the choice)
    paired_gain_pct: list[float] = field(default_factory=list)  # per seed, against that seed's standard run
    bias_mean: float | None = None  # kcal/mol/Å, mean over seeds of the per-frame mean
    bias_std: float | None = None  # mean over seeds of the per-frame spread
    ess_share: float | None = None  # effective sample size of the chosen weights / pretraining frames
    gammas_chosen: list[str] = field(default_factory=list)
    train_cpu_min: float | None = 0.0  # per seed, measured CPU time (None for a candidate: its run's is shared)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "force_mae_mean": _mean(self.force_mae), "force_mae_std": _std(self.force_mae),
                "energy_mae_mean": _mean(self.energy_mae), "energy_mae_std": _std(self.energy_mae)}


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _std(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def parse_named(items: list[str]) -> list[tuple[str, Path]]:
    """NAME=DIR items (a bare DIR is named by its folder name)."""
    named = []
    for item in items:
        name, sep, folder = item.partition("=")
        if not sep:
            name, folder = Path(item).name or item, item
        if not name or not folder:
            raise CompareError(f"{item!r}: give NAME=DIR (a name for the comparison and its folder)")
        named.append((name, Path(folder)))
    return named


def folder_rows(name: str, folder: Path) -> list[SummaryRow]:
    """One row per budget/ratio and method of a comparison folder, in the folder's order (runs
    that diverged are counted, not averaged)."""
    document = read_document(folder)
    settings = document["settings"]
    runs = [r for r in document["runs"] if r.get("status") != "skipped" and r.get("test") is not None]
    standard = {(r["key"], r["seed"]): r["test"]["force_mae"] for r in runs
                if r["method"] == "standard" and _finite(r["test"].get("force_mae"))}
    groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["key"], run["method"], None), []).append(run)
    for run in runs:
        for candidate in _candidates(run):
            groups.setdefault((run["key"], run["method"], _gamma_text(candidate["gamma"])), []).append(candidate)
    rows = []
    for (key, method, candidate), group in groups.items():
        first, plan = group[0], document["plans"].get(key, {})
        finite = [r for r in group if _finite(r["test"].get("force_mae"))]
        row = SummaryRow(
            name=name, folder=str(folder), budget=first["budget"], budget_units=float(plan.get("budget_accurate_labels", math.nan)),
            ratio=float(first["ratio"]), method=method, inaccurate=str(settings.get("inaccurate")),
            selection=str(settings.get("selection") or "random"), n_accurate=first["n_accurate"],
            n_inaccurate=max(first["n_inaccurate"], first.get("n_unlabeled", 0)),
            test_frames=int((first.get("counts") or {}).get("test", 0)), seeds=[r["seed"] for r in finite],
            force_mae=[r["test"]["force_mae"] for r in finite], energy_mae=[r["test"]["energy_mae"] for r in finite],
            diverged=len(group) - len(finite), candidate=candidate,
            train_cpu_min=None if candidate else sum(map(training_cpu_seconds, group)) / 60 / len(group))
        if method != "standard":
            row.paired_gain_pct = [100 * (1 - r["test"]["force_mae"] / standard[(key, r["seed"])])
                                   for r in finite if (key, r["seed"]) in standard]
        _bias_columns(row, finite)
        rows.append(row)
    return rows


def _candidates(run: dict[str, Any]) -> list[dict[str, Any]]:
    """A run that chose among several gammas on validation, as one run per candidate (each scored
    on the test set too; runs written before candidates were scored give none)."""
    search = run.get("gamma_search") or []
    if len(search) < 2 or not all(_finite(p.get("test_force_mae")) for p in search):
        return []
    return [{**run, "gamma": p["gamma"], "gamma_search": [p],
             "test": {"force_mae": p["test_force_mae"], "energy_mae": p["test_energy_mae"]}} for p in search]


def _gamma_text(gamma: float | None) -> str:
    return "uniform" if gamma is None else f"{gamma:g}"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _bias_columns(row: SummaryRow, group: list[dict[str, Any]]) -> None:
    """B, ESS and the chosen gammas of the runs that weighted their pretraining."""
    bias = [r["bias"] for r in group if r.get("bias")]
    if bias:
        row.bias_mean = statistics.mean(b["mean"] for b in bias)
        row.bias_std = statistics.mean(b["std"] for b in bias)
    shares = []
    for run in group:
        frames = (run.get("counts") or {}).get("inaccurate") or run["n_inaccurate"]
        chosen = [p for p in run.get("gamma_search") or [] if p["gamma"] == run.get("gamma")]
        if chosen and frames:
            shares.append(chosen[0]["ess"] / frames)
        if "gamma" in run:
            row.gammas_chosen.append(_gamma_text(run["gamma"]))
    row.ess_share = _mean(shares)


def summarize(named: list[tuple[str, Path]]) -> list[SummaryRow]:
    """Every row of every named folder, folders in the given order."""
    if not named:
        raise CompareError("name at least one comparison folder (NAME=DIR)")
    return [row for name, folder in named for row in folder_rows(name, folder)]


HEADERS = ("comparison", "budget / ratio", "inaccurate", "selection", "method", "accurate + inaccurate labels",
           "test frames", "seeds", "test force MAE (kcal/mol/Å)", "test energy MAE (kcal/mol)",
           "force gain vs standard, paired by seed", "B (kcal/mol/Å)", "ESS", "gamma chosen", "training CPU-min per seed")


def markdown(rows: list[SummaryRow]) -> str:
    """The rows as a markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows:
        paired = "—" if not r.paired_gain_pct else (gain(statistics.mean(r.paired_gain_pct))
                                                    + ("" if len(r.paired_gain_pct) < 2 else f" ± {statistics.stdev(r.paired_gain_pct):.1f}"))
        cells = (r.name, f"{r.budget} / {r.ratio:g}", r.inaccurate, r.selection, _series(r),
                 f"{r.n_accurate} + {r.n_inaccurate}", str(r.test_frames),
                 str(len(r.seeds)) + (f" ({r.diverged} diverged)" if r.diverged else ""),
                 fmt(_mean(r.force_mae), _std(r.force_mae)), fmt(_mean(r.energy_mae), _std(r.energy_mae)), paired,
                 fmt(r.bias_mean, r.bias_std, 2), "—" if r.ess_share is None else f"{100 * r.ess_share:.0f} %",
                 _chosen(r.gammas_chosen), "—" if r.train_cpu_min is None else f"{r.train_cpu_min:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _series(row: SummaryRow) -> str:
    """The method's report name, with the gamma candidate where the row is one."""
    return label(row.method) + ("" if row.candidate is None else f", candidate gamma {row.candidate}")


def _chosen(gammas: list[str]) -> str:
    counts: dict[str, int] = {}
    for g in gammas:
        counts[g] = counts.get(g, 0) + 1
    return ", ".join(f"{g} ×{n}" if len(counts) > 1 or n > 1 else g for g, n in counts.items()) or "—"


def mixed_test_sets(rows: list[SummaryRow]) -> bool:
    """Whether rows of one budget were scored on test sets of different sizes (not comparable)."""
    sizes: dict[str, set[int]] = {}
    for r in rows:
        sizes.setdefault(r.budget, set()).add(r.test_frames)
    return any(len(s) > 1 for s in sizes.values())


def log_axis_plain(ax: Any) -> None:
    """A log y axis labelled in plain numbers (0.2, 0.5, 4), not 4×10⁰: MAEs span a decade or two."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter(""))


def plot_summary(rows: list[SummaryRow], out: Path) -> list[str]:
    """error_by_comparison.png (bars per comparison and budget, one colour per method, mean ± std
    over seeds) and, where a comparison and method span several budgets, error_vs_budget.png; the
    file names written into `out`."""
    from acquire.compare.plots import _pyplot, save

    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    rows = [r for r in rows if r.force_mae]  # a method whose every run diverged has nothing to draw
    if not rows:
        return []
    groups = list(dict.fromkeys((r.name, r.budget) for r in rows))
    methods = list(dict.fromkeys(_series(r) for r in rows))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(2.0 + 1.3 * len(groups) * max(1, len(methods) / 2), 4.2))
    for m, method in enumerate(methods):
        drawn = [(g, r) for g, group in enumerate(groups) for r in rows if (r.name, r.budget) == group and _series(r) == method]
        ax.bar([g + (m - (len(methods) - 1) / 2) * width for g, _ in drawn], [_mean(r.force_mae) for _, r in drawn], width,
               yerr=[_std(r.force_mae) or 0.0 for _, r in drawn], capsize=3, color=f"C{m % 10}", label=method)
    one_budget = len({budget for _, budget in groups}) == 1
    ax.set_xticks(range(len(groups)), [name if one_budget else f"{name}\n{budget}" for name, budget in groups])
    means = [_mean(r.force_mae) for r in rows]
    if max(means) > 5 * min(means):
        log_axis_plain(ax)  # an ablation an order of magnitude off would flatten the rest
    ax.set_ylabel("test force MAE (kcal/mol/Å)")
    ax.set_title("error by comparison (mean ± std over seeds)")
    ax.legend(fontsize=8)
    written = [save(fig, out / "error_by_comparison.png")]
    lines: dict[tuple[str, str], list[SummaryRow]] = {}
    for r in rows:
        lines.setdefault((r.name, _series(r)), []).append(r)
    if any(len({r.budget for r in line}) > 1 for line in lines.values()):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for (name, method), line in lines.items():
            line = sorted(line, key=lambda r: r.budget_units)
            ax.errorbar([r.budget_units for r in line], [_mean(r.force_mae) for r in line],
                        yerr=[_std(r.force_mae) or 0.0 for r in line], marker="o", capsize=3,
                        label=f"{name}: {method}", linestyle="--" if method == label("standard") else "-")
        ax.set_xlabel("budget (accurate-label equivalents)")
        ax.set_ylabel("test force MAE (kcal/mol/Å)")
        ax.set_xscale("log")
        log_axis_plain(ax)
        ax.legend(fontsize=7)
        written.append(save(fig, out / "error_vs_budget.png"))
    return written
