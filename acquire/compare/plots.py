"""PNG plots of a comparison (matplotlib Agg): error vs budget (the paper's Fig. 3-4), error vs
cost ratio (Fig. 7b), gamma sensitivity (Fig. 7a, validation error), force parity (standard vs
ASTEROID, seed 0) and the bias/weight histogram of an ASTEROID run (its own bias.png, copied)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from labelers.datasets import KCAL_MOL  # eV per kcal/mol


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> str:
    """Lay out, write (PNG) and close a figure; its file name."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return Path(path).name


def make_plots(out: Path, document: dict[str, Any]) -> list[str]:
    """Draw every plot the results support; return the file names written into `out`."""
    written = []
    summary = document["summary"]
    budgets = sorted({r["budget"] for r in summary}, key=lambda b: _budget_units(document, b))
    ratios = sorted({r["ratio"] for r in summary})
    if len(budgets) > 1:
        written.append(_error_vs(out, document, "budget", "error_vs_budget.png"))
    if len(ratios) > 1:
        written.append(_error_vs(out, document, "ratio", "error_vs_ratio.png"))
    if _gamma_plot(out, document):
        written.append("gamma_sensitivity.png")
    if _parity_plot(out, document):
        written.append("force_parity.png")
    bias = next((Path(out) / r["dir"] / "bias.png" for r in document["runs"]
                 if r["method"] == "asteroid" and (Path(out) / r["dir"] / "bias.png").exists()), None)
    if bias is not None:
        shutil.copyfile(bias, Path(out) / "bias_weights.png")
        written.append("bias_weights.png")
    return written


def _budget_units(document: dict[str, Any], budget: str) -> float:
    return next(p["budget_accurate_labels"] for p in document["plans"].values() if p["budget"] == budget)


def _error_vs(out: Path, document: dict[str, Any], axis: str, name: str) -> str:
    """Test force MAE (mean ± std over seeds) against budget (one line per method and ratio) or ratio."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    summary = document["summary"]
    groups: dict[str, dict[float, dict]] = {}
    for row in summary:
        if axis == "ratio" and row["method"] == "standard":
            continue  # standard does not depend on the ratio: drawn as a horizontal line below
        if axis == "budget":
            label = row["method"] if row["method"] == "standard" else f"{row['method']} (ratio {row['ratio']:g})"
        else:
            label = f"{row['method']} ({row['budget']})"
        x = _budget_units(document, row["budget"]) if axis == "budget" else row["ratio"]
        groups.setdefault(label, {})[x] = row  # standard rows of several ratios are one shared run
    for label, rows in groups.items():
        x = sorted(rows)
        ax.errorbar(x, [rows[v]["force_mae_mean"] for v in x], yerr=[rows[v]["force_mae_std"] or 0.0 for v in x],
                    marker="o", capsize=3, label=label)
    if axis == "ratio":
        standard = {r["budget"]: r["force_mae_mean"] for r in summary if r["method"] == "standard"}
        for index, (budget, value) in enumerate(standard.items()):
            ax.axhline(value, linestyle="--", color=f"C{(len(groups) + index) % 10}", label=f"standard ({budget})")
        ratios = sorted({r["ratio"] for r in summary})
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
        ax.minorticks_off()
    ax.set_xlabel("budget (accurate-label equivalents)" if axis == "budget" else "cost ratio (accurate ÷ inaccurate)")
    ax.set_ylabel("test force MAE (kcal/mol/Å)")
    ax.set_title("force error vs " + axis)
    ax.legend(fontsize=8)
    return save(fig, Path(out) / name)


def _gamma_plot(out: Path, document: dict[str, Any]) -> bool:
    """Validation force MAE against gamma from the ASTEROID runs' gamma search (when >= 2 gammas)."""
    curves: dict[str, dict[float, list[float]]] = {}
    for run in document["runs"]:
        if run["method"] != "asteroid":
            continue
        for point in run.get("gamma_search") or []:
            if point.get("gamma") is not None and point.get("val_force_mae") is not None:
                curves.setdefault(run["key"], {}).setdefault(point["gamma"], []).append(point["val_force_mae"])
    curves = {k: v for k, v in curves.items() if len(v) > 1}
    if not curves:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for key, points in curves.items():
        gammas = sorted(points)
        ax.errorbar(gammas, [np.mean(points[g]) for g in gammas],
                    yerr=[np.std(points[g], ddof=1) if len(points[g]) > 1 else 0.0 for g in gammas],
                    marker="o", capsize=3, label=key)
    ax.set_xscale("log")
    ax.set_xlabel("gamma (kcal/mol/Å)")
    ax.set_ylabel("validation force MAE (kcal/mol/Å)")
    ax.set_title("ASTEROID gamma sensitivity")
    ax.legend(fontsize=8)
    save(fig, Path(out) / "gamma_sensitivity.png")
    return True


def _parity_plot(out: Path, document: dict[str, Any]) -> bool:
    """Predicted vs reference test forces (kcal/mol/Å), standard vs ASTEROID, first key, seed 0."""
    runs = {r["method"]: r for r in document["runs"]
            if r["key"] == document["summary"][0]["key"] and r["seed"] == 0}
    panels = [(m, Path(out) / runs[m]["dir"] / "predictions.npz") for m in ("standard", "asteroid") if m in runs]
    panels = [(m, p) for m, p in panels if p.exists()]
    if not panels:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.8), squeeze=False)
    for ax, (method, path) in zip(axes[0], panels):
        data = np.load(path)
        ref, pred = data["ref_forces"].ravel() / KCAL_MOL, data["forces"].ravel() / KCAL_MOL
        ax.scatter(ref, pred, s=2, alpha=0.3)
        low, high = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
        ax.plot([low, high], [low, high], color="black", linewidth=0.8)
        ax.set_title(f"{method}: MAE {np.abs(ref - pred).mean():.3f} kcal/mol/Å")
        ax.set_xlabel("reference force component (kcal/mol/Å)")
        ax.set_ylabel("predicted force component (kcal/mol/Å)")
    fig.suptitle(f"test force parity, {runs[panels[0][0]]['key']}, seed 0")
    save(fig, Path(out) / "force_parity.png")
    return True
