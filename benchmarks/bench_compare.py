"""Benchmark of `acquire compare` (the `make demo` comparison): wall time and test force/energy MAE
of standard training vs ASTEROID on embedded MD17 ethanol, 250ccsd at ratio 40 (200 CCSD(T) + 2000
DFT labels vs 250 CCSD(T)), one seed, the quick preset as committed in train/. Target: the whole
comparison within 15 minutes on the 2-core development machine.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_compare.py [--preset quick] [--seeds 1] \
        [--out DIR] [--record benchmarks/results/compare.txt]

Runs in a fresh folder (a temporary one unless --out names an empty one), so every run trains.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def epochs_run(run_dir: Path) -> dict[str, int]:
    """Epochs each stage ran (rows of the run's log.csv)."""
    counts: dict[str, int] = {}
    with open(run_dir / "log.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            counts[row["stage"]] = counts.get(row["stage"], 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--budget", default="250ccsd")
    parser.add_argument("--ratio", type=float, default=40.0)
    parser.add_argument("--out", default=None, help="an empty or new folder (default: a temporary one)")
    parser.add_argument("--record", default=None, help="also write the output to this file")
    args = parser.parse_args()

    import train
    from acquire.compare.report import SHORT_HEADERS, table_rows
    from acquire.compare.runner import run_comparison
    from acquire.compare.settings import CompareSettings

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-compare-"))
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} is not empty: the benchmark measures training from scratch")
    command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_compare.py " + " ".join(sys.argv[1:])
    settings = CompareSettings(accurate="md17:ethanol/ccsd(t)", inaccurate="md17:ethanol/dft",
                               budgets=(args.budget,), ratios=(args.ratio,), seeds=args.seeds, preset=args.preset,
                               progress=False, dataset="ethanol", command=command)
    run_seconds: dict[str, float] = {}
    last = [time.monotonic()]

    def log(line: str) -> None:
        now = time.monotonic()
        if ": training" in line:
            last[0] = now
        elif "; test force MAE" in line:
            run_seconds[line.split(": ")[1]] = now - last[0]
        print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)

    began_utc = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    began = time.monotonic()
    document = run_comparison(settings, out, log)
    total = time.monotonic() - began

    config = train.preset(args.preset)
    lines = [
        f"# acquire compare benchmark ({began_utc})",
        f"command: {command}",
        f"equivalent CLI: acquire compare --dataset ethanol --budget {args.budget} --ratio {args.ratio:g} "
        f"--seeds {args.seeds} --preset {args.preset} --out DIR",
        f"git HEAD: {git('rev-parse', 'HEAD')}{' (+ uncommitted changes)' if git('status', '--porcelain', '--untracked-files=no') else ''}",
        f"train/ last commit: {git('log', '-1', '--format=%H %s', '--', 'train')}",
        f"train/ uncommitted changes: {git('status', '--porcelain', '--', 'train') or 'none'}",
        f"machine: {platform.platform()}, {os.cpu_count()} cores, 1 torch thread, OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, load average at the end {os.getloadavg()[0]:.2f}",
        f"preset {args.preset}: model {config.model.name} hidden {config.model.hidden} layers {config.model.layers}; "
        + "; ".join(f"{s} {getattr(config, s).epochs} epochs"
                    for s in ("standard", "bias", "pretrain", "finetune_stage"))
        + f"; gammas {list(config.gammas)}",
        "",
        "per run (test MAE on held-out CCSD(T) frames; force kcal/mol/Å, energy kcal/mol):",
    ]
    for run in document["runs"]:
        epochs = epochs_run(out / run["dir"])
        wall = run_seconds.get(run["dir"])
        lines.append(
            f"  {run['method']:<9} seed {run['seed']} {run['n_accurate']} + {run['n_inaccurate']} labels, "
            f"{run['counts']['test']} test frames: force MAE {run['test']['force_mae']:.3f}, energy MAE "
            f"{run['test']['energy_mae']:.3f}; wall {wall:.0f} s (training stages {run['seconds']:.0f} s); "
            f"epochs run {epochs}" + (f"; gamma {run['gamma']:g}" if run.get("gamma") is not None else ""))
    lines += ["", "summary:", " | ".join(SHORT_HEADERS)]
    lines += [" | ".join(cells) for cells in table_rows(document, short=True)]
    lines += ["", f"total wall time: {total:.0f} s ({total / 60:.1f} min); target <= 15 min: "
              f"{'met' if total <= 900 else 'NOT met'}", f"outputs: {out}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        Path(args.record).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
