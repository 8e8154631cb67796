"""The learning curve in the inaccurate count behind the planner's default cap (issue 17): test force
MAE of ASTEROID against the number of inaccurate labels at a fixed number of accurate ones, from an
`acquire compare` folder, as a markdown table (stdout) and a plot.

    acquire compare --dataset ethanol --budget 250ccsd --ratios 5,10,20,40,80 --seeds 2 --jobs 2 --out runs/lcurve
    python benchmarks/learning_curve.py runs/lcurve --plot benchmarks/results/learning_curve_ethanol.png

At 250ccsd the paper policy spends 50 accurate-label units on inaccurate labels, so ratio r buys
200 accurate + 50 r inaccurate labels (250 to 4000 for r = 5 to 80); standard training (250
accurate labels) is the reference line.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def curve(folder: Path) -> tuple[dict[int, list[float]], list[float], dict[int, list[float]]]:
    """(inaccurate count -> ASTEROID test force MAEs over seeds, standard MAEs, count -> CPU-s)."""
    runs = json.loads((folder / "metrics.json").read_text())["runs"]
    asteroid: dict[int, list[float]] = {}
    cpu: dict[int, list[float]] = {}
    standard: dict[int, float] = {}
    for run in runs:
        if run["method"] == "asteroid":
            asteroid.setdefault(run["n_inaccurate"], []).append(run["test"]["force_mae"])
            cpu.setdefault(run["n_inaccurate"], []).append(run.get("seconds", float("nan")))
        elif run["method"] == "standard":
            standard[run["seed"]] = run["test"]["force_mae"]
    return dict(sorted(asteroid.items())), list(standard.values()), cpu


def table(asteroid: dict[int, list[float]], standard: list[float], cpu: dict[int, list[float]]) -> str:
    mean = lambda v: f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" if len(v) > 1 else f"{v[0]:.3f}"  # noqa: E731
    lines = ["| inaccurate labels | ASTEROID test force MAE (kcal/mol/Å) | per seed | below standard | wall s per run |",
             "|---|---|---|---|---|"]
    for n, values in asteroid.items():
        gain = 100 * (1 - np.mean(values) / np.mean(standard))
        lines.append(f"| {n} | {mean(values)} | {', '.join(f'{v:.3f}' for v in values)} | {gain:.1f} % | "
                     f"{np.mean(cpu[n]):.0f} |")
    lines.append(f"| standard, 250 accurate | {mean(standard)} | {', '.join(f'{v:.3f}' for v in standard)} | — | |")
    return "\n".join(lines)


def plot(asteroid: dict[int, list[float]], standard: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = list(asteroid)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(counts, [np.mean(v) for v in asteroid.values()], yerr=[np.std(v, ddof=1) if len(v) > 1 else 0 for v in asteroid.values()],
                marker="o", capsize=3, label="ASTEROID (200 accurate + n inaccurate)")
    ax.axhline(np.mean(standard), color="gray", linestyle="--", label="standard (250 accurate)")
    ax.set_xscale("log")
    ax.set_xticks(counts, [str(n) for n in counts])
    ax.minorticks_off()
    ax.set_xlabel("inaccurate (DFT) labels")
    ax.set_ylabel("test force MAE (kcal/mol/Å)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="an acquire compare output folder")
    parser.add_argument("--plot", type=Path, default=None, help="write the curve as a PNG here")
    args = parser.parse_args()
    asteroid, standard, cpu = curve(args.folder)
    print(table(asteroid, standard, cpu))
    if args.plot:
        plot(asteroid, standard, args.plot)


if __name__ == "__main__":
    main()
