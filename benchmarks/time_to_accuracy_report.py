"""The time-to-accuracy table and plot from curve files (`bench_time_to_accuracy.py` for the
project's runs, `bench_peers.py --curve` for mace-torch's command line).

    .venv/bin/python benchmarks/time_to_accuracy_report.py --out benchmarks/results/time_to_accuracy \\
        "paper ASTEROID=benchmarks/results/time_to_accuracy/paper_asteroid_seed*.json" \\
        "paper standard=benchmarks/results/time_to_accuracy/paper_standard_seed*.json"

Each argument is LABEL=GLOB: one recipe, one curve file per seed. Writes `report.md` (CPU-minutes
until the test force MAE first reaches each target, per seed and as mean ± sd over the seeds that
reach it; the final MAE and CPU-minutes; the same on the validation frames, which is what a recipe
may be chosen on) and `error_vs_cpu.png` (log-log, every seed's curve, the paper's 0.176 marked).
"""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np

TARGETS = (0.290, 0.231, 0.176)  # kcal/mol/Å: mace-torch standard, mace-torch pretrain + fine-tune, the paper
PAPER = 0.176  # the paper's ASTEROID force MAE on ethanol (kcal/mol/Å)


def points(document: dict) -> list[dict]:
    """The curve's points, in CPU order (cpu_s, val_force_mae, test_force_mae), ending with the run's
    own model (added from `final` to a curve file written before its last point was recorded)."""
    rows = list(document.get("points") or document.get("rows") or [])
    final = document.get("final", {})
    if rows and rows[-1].get("stage") != "final" and isinstance(final.get("test"), dict):
        rows.append({"cpu_s": document["cpu_seconds"], "stage": "final", "epoch": None,
                     "val_force_mae": final["validation"]["force_mae"], "test_force_mae": final["test"]["force_mae"]})
    return sorted(rows, key=lambda r: r["cpu_s"])


def minutes_to(rows: list[dict], target: float, split: str = "test") -> float | None:
    """CPU-minutes at the first point whose force MAE on `split` is at or below `target`, or None."""
    for row in rows:
        if row[f"{split}_force_mae"] <= target:
            return row["cpu_s"] / 60
    return None


def load(spec: str) -> tuple[str, list[tuple[str, dict]]]:
    label, _, pattern = spec.partition("=")
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"time_to_accuracy_report: error: no curve files match {pattern!r}")
    return label, [(Path(f).name, with_start(Path(f), json.loads(Path(f).read_text()))) for f in files]


def with_start(path: Path, document: dict) -> dict:
    """A pretraining branch's curve with its start: the run's pretraining points up to its epochs."""
    if not document.get("branch_of") or not (main := path.with_name(document["branch_of"])).is_file():
        return document
    start = [r for r in points(json.loads(main.read_text()))
             if r["stage"].startswith("pretrain") and r["epoch"] <= document["pretrain_epochs"]]
    return {**document, "points": start + points(document)}


def _mean(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "not reached"
    text = f"{np.mean(got):.1f}" + (f" ± {np.std(got, ddof=1):.1f}" if len(got) > 1 else "")
    return text + ("" if len(got) == len(values) else f" ({len(got)} of {len(values)} seeds)")


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table(recipes: list[tuple[str, list[tuple[str, dict]]]], split: str) -> list[str]:
    head = "| recipe | seeds | " + " | ".join(f"CPU-min to {t:.3f}" for t in TARGETS) + " | final MAE | final CPU-min |"
    lines = [head, "|---|---|" + "---|" * (len(TARGETS) + 2)]
    for label, curves in recipes:
        per_target = [[minutes_to(points(d), t, split) for _, d in curves] for t in TARGETS]
        finals = [points(d)[-1][f"{split}_force_mae"] for _, d in curves]  # the last point is the run's model
        cpu = [points(d)[-1]["cpu_s"] / 60 for _, d in curves]
        cells = [" / ".join(_cell(v) for v in values) + (f" (mean {_mean(values)})" if len(values) > 1 else "")
                 for values in per_target]
        final = " / ".join(f"{f:.3f}" for f in finals) + (f" ({np.mean(finals):.3f} ± {np.std(finals, ddof=1):.3f})"
                                                            if len(finals) > 1 else "")
        lines.append(f"| {label} | {len(curves)} | " + " | ".join(cells) + f" | {final} | "
                     + " / ".join(f"{c:.1f}" for c in cpu) + " |")
    return lines


def plot(recipes: list[tuple[str, list[tuple[str, dict]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    for k, (label, curves) in enumerate(recipes):
        colour = f"C{k}"
        for n, (_, document) in enumerate(curves):
            rows = points(document)
            ax.plot([r["cpu_s"] / 60 for r in rows], [r["test_force_mae"] for r in rows], color=colour,
                    lw=1.4, alpha=0.9, label=label if n == 0 else None)
    ax.axhline(PAPER, color="k", ls="--", lw=1, label=f"paper's ASTEROID ({PAPER})")
    for target in TARGETS:
        if target != PAPER:
            ax.axhline(target, color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("CPU-minutes (one core; scoring excluded)")
    ax.set_ylabel("test force MAE (kcal/mol/Å)")
    ax.set_title("Ethanol, 250ccsd at ratio 40: error against CPU time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("recipes", nargs="+", help="LABEL=GLOB of one recipe's curve files (one per seed)")
    args = p.parse_args()
    recipes = [load(spec) for spec in args.recipes]
    args.out.mkdir(parents=True, exist_ok=True)
    plot(recipes, args.out / "error_vs_cpu.png")
    lines = ["# Time to accuracy", "", "Test force MAE (kcal/mol/Å) first at or below each target, in CPU-minutes "
             "of one core (per seed, then the mean ± sd of the seeds that reach it); curve files:", ""]
    lines += [f"- {label}: " + ", ".join(name for name, _ in curves) for label, curves in recipes]
    lines += ["", "## Test frames (scored, never chosen on)", "", *table(recipes, "test"),
              "", "## Validation frames (what a recipe may be chosen on)", "", *table(recipes, "val"), ""]
    (args.out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
