"""What accurate energies buy: ASTEROID and standard training on embedded ethanol with part of the
accurate budget spent on CCSD(T) energies without forces (the frames' forces withheld from
training and validation; the test frames keep theirs).

    OMP_NUM_THREADS=1 python benchmarks/bench_energy_only.py --seeds 0 --preset quick --out DIR [--rows ...] [--energy-only-rho W[,W...]]

Each row is `METHOD:BUDGET:ENERGY_UNITS` (e.g. `asteroid:250:13`): the planner (`budget.plan`)
turns it into accurate force labels, energy-only labels (ENERGY_UNITS accurate-label units at
--energy-ratio, 38 by default: a CCSD(T)/cc-pVDZ energy of ethanol costs 1/38 of one with forces)
and, for ASTEROID, inaccurate (DFT) labels by the paper policy (50 units at --ratio 40). Standard
rows spend the whole budget on accurate labels (no DFT). Frames per seed: 250 test frames, 50
validation frames (force labels, not charged, as in `acquire compare`), and the other 700 in a
seeded order: the first F carry forces, the next E only energies. ASTEROID uses uniform weights
(the paper preset's choice), so every ASTEROID row of a seed shares one pretraining on the same
2000 DFT frames (computed once, copied). `--energy-only-rho` with several weights runs every row
that buys energies once per weight (a sweep, chosen on the validation frames), in folders named
with the weight. Results: DIR/results.json (rewritten after every run), DIR/table.md; each run's
folder holds its metrics.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

DEFAULT_ROWS = ("asteroid:250:0", "asteroid:250:13", "asteroid:125:0", "asteroid:125:16",
                "standard:250:0", "standard:250:12", "standard:125:15")
N_TEST, N_VALIDATION = 250, 50


def frames_for(seed: int, n_inaccurate: int):
    """(accurate Frames in training order, validation, test, DFT pool) of one seed."""
    from acquire.splits import make_split
    from labelers.datasets import load_md17
    from train import Frames

    acc, dft = load_md17("ethanol", "ccsd(t)"), load_md17("ethanol", "dft")
    n_train = len(acc.positions) - N_TEST - N_VALIDATION
    split = make_split(acc.positions, dft.positions, n_train, N_VALIDATION, n_inaccurate, seed)
    order = np.random.default_rng([seed, 2]).permutation(split.train)
    full = Frames(acc.positions, acc.numbers, acc.energies, acc.forces)
    pool = Frames(dft.positions, dft.numbers, dft.energies, dft.forces)
    return full.subset(order), full.subset(split.validation), full.subset(split.test), pool.subset(split.inaccurate)


def planned(method: str, budget: float, energy_units: float, ratio: float, energy_ratio: float):
    """The row's plan: (force labels, energy-only labels, inaccurate labels)."""
    from budget import energy_labels, parse_share, plan

    policy = "paper" if method == "asteroid" else parse_share("0%")
    energy = energy_labels(f"{energy_units:g}ccsd", energy_ratio) if energy_units else None
    p = plan(f"{budget:g}ccsd", ratio, policy=policy, validation=N_VALIDATION, energy=energy)
    return p.accurate.count, p.energy_only.count, p.inaccurate.count


def run_row(row: str, seed: int, preset: str, out: Path, ratio: float, energy_ratio: float, shared: Path,
            energy_only_rho: float | None = None) -> dict:
    from dataclasses import replace

    import train

    method, budget, units = row.split(":")
    n_force, n_energy, n_inaccurate = planned(method, float(budget), float(units), ratio, energy_ratio)
    ordered, validation, test, pool = frames_for(seed, 2000)
    if n_force + n_energy > len(ordered):
        raise SystemExit(f"{row}: {n_force} force + {n_energy} energy labels exceed the {len(ordered)} frames")
    force = ordered.subset(range(n_force)) if n_force else None
    energies = replace(ordered.subset(range(n_force, n_force + n_energy)), forces=None) if n_energy else None
    overrides = {} if energy_only_rho is None else {"energy_only_rho": energy_only_rho}
    config = train.preset(preset, seed=seed, progress=False, bias_weights=False, **overrides)
    folder = out / f"seed{seed}" / (row.replace(":", "_") + (f"_rho{energy_only_rho:g}" if n_energy and energy_only_rho is not None else ""))
    began, cpu = time.time(), time.process_time()
    if method == "asteroid":
        if n_inaccurate != len(pool):
            raise SystemExit(f"{row}: the plan buys {n_inaccurate} DFT labels; this benchmark shares 2000")
        stage = folder / "stages" / "pretrain_uniform.pt"
        if shared.exists() and not stage.exists():
            stage.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(shared, stage)
        result = train.run_asteroid(force, pool, validation, test, config, folder, energy_only=energies)
        if not shared.exists():
            shutil.copy(stage, shared)
    else:
        result = train.run_standard(force, validation, test, config, folder, energy_only=energies)
    m = result.metrics
    return {"row": row, "seed": seed, "method": method, "budget_ccsd": float(budget), "energy_units": float(units),
            "energy_only_rho": config.energy_only_rho,
            "force_labels": n_force, "energy_labels": n_energy, "inaccurate_labels": n_inaccurate if method == "asteroid" else 0,
            "test_force_mae": m["test"]["force_mae"], "test_energy_mae": m["test"]["energy_mae"],
            "validation_force_mae": m["validation"]["force_mae"], "run_cpu_s": m["cpu_seconds"],
            "process_cpu_s": time.process_time() - cpu, "wall_s": time.time() - began,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "folder": str(folder)}


def _key(record: dict) -> tuple:
    """A run's row and energy weight (the weight only where the row buys energies)."""
    return record["row"], record["energy_only_rho"] if record["energy_labels"] else None


def table(rows: list[dict]) -> str:
    """Mean ± sd over seeds per row and energy weight, kcal/mol/Å."""
    lines = ["| row | energy_only_rho | force labels | energy labels | DFT labels | seeds | "
             "validation force MAE (kcal/mol/Å) | test force MAE (kcal/mol/Å) | test energy MAE (kcal/mol) |",
             "|---|---|---|---|---|---|---|---|---|"]
    sd = lambda a: f" ± {a.std(ddof=1):.3f}" if len(a) > 1 else ""  # noqa: E731
    for key in dict.fromkeys(_key(r) for r in rows):
        picked = [r for r in rows if _key(r) == key]
        v, f, e = (np.array([r[name] for r in picked]) for name in ("validation_force_mae", "test_force_mae", "test_energy_mae"))
        first = picked[0]
        rho = "" if key[1] is None else f"{key[1]:g}"
        lines.append(f"| {key[0]} | {rho} | {first['force_labels']} | {first['energy_labels']} | {first['inaccurate_labels']} | "
                     f"{','.join(str(r['seed']) for r in picked)} | {v.mean():.3f}{sd(v)} | {f.mean():.3f}{sd(f)} | "
                     f"{e.mean():.3f}{sd(e)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    parser.add_argument("--ratio", type=float, default=40.0)
    parser.add_argument("--energy-ratio", type=float, default=38.0)
    parser.add_argument("--energy-only-rho", default=None,
                        help="the energy weight(s) of the energy-only labels, comma-separated (default: the preset's)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.json"
    weights = [None] if args.energy_only_rho is None else [float(w) for w in args.energy_only_rho.split(",")]
    for seed in (int(s) for s in args.seeds.split(",")):
        shared = args.out / f"seed{seed}" / "pretrain_uniform.pt"
        for row in args.rows.split(","):
            for weight in weights if float(row.split(":")[2]) else weights[:1]:
                record = run_row(row, seed, args.preset, args.out, args.ratio, args.energy_ratio, shared, weight)
                _save(results, record, args.out / "table.md")


def _save(results: Path, record: dict, table_file: Path) -> None:
    """Adds `record` to `results` (replacing the same run's), atomically, and rewrites the table."""
    done = json.loads(results.read_text()) if results.exists() else []
    done = [r for r in done if (_key(r), r["seed"]) != (_key(record), record["seed"])] + [record]
    tmp = results.with_suffix(".tmp")
    tmp.write_text(json.dumps(done, indent=1))
    tmp.replace(results)
    table_file.write_text(table(sorted(done, key=lambda r: (r["row"], str(_key(r)[1]), r["seed"]))))
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
