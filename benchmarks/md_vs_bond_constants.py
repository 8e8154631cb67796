"""MD survival against each model's bond constants: joins an `acquire scan` (scan.json: force
constant and Morse exponent near each curve's minimum) and an `acquire md` study (metrics.json:
each run's time to failure) by model name, and ranks them.

    python benchmarks/md_vs_bond_constants.py --scan runs/scan13/scan.json --md STUDY/metrics.json \\
        --timestep 2 --windows 0.1,0.15,0.2 --out benchmarks/results/md_ethanol_oh_stiffness

Writes `table.md` and `table.json` (per model: k2 in kcal/mol/Å², Morse a in Å⁻¹, the fastest
mode's wavenumber in cm⁻¹ and ωΔt, the runs, the stable runs, the runs past 1 ps and the median
time to failure in ps, a stable run counting as its full length; the constants fitted over the first
window) and Spearman's rank correlation of each constant with the median time to failure for every
window (the fit's window changes the constants of curves that are not Morse-like).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def survival(md: dict, timestep: float) -> dict[str, np.ndarray]:
    """Each model's times to failure (ps) at `timestep` fs, a stable run counting as its full length."""
    times: dict[str, list[float]] = {}
    for run in md["runs"]:
        if run["timestep_fs"] == timestep:
            length = run["steps"] * timestep / 1000.0
            failed = run["time_to_failure_ps"]
            times.setdefault(run["model"], []).append(length if failed is None else failed)
    return {model: np.asarray(t) for model, t in times.items()}


def rows(scan: dict, md: dict, timestep: float, window: float) -> list[dict]:
    from acquire.scan import bond_constants

    times = survival(md, timestep)
    out = []
    for name, curve in scan["sources"].items():
        if name not in times:
            continue
        fit = bond_constants(scan["distances_A"], curve["energy_kcal_mol"], window)
        mode = md.get("fastest_modes", {}).get(name, {})
        t, length = times[name], max(times[name])
        out.append({"model": name, "k2_kcal_mol_A2": fit and fit["k2_kcal_mol_A2"],
                    "morse_a_per_A": fit and fit["morse_a_per_A"], "wavenumber_cm1": mode.get("wavenumber_cm1"),
                    "omega_dt": mode.get("omega_dt", {}).get(f"{timestep:g}"), "runs": len(t),
                    "stable": int(np.sum(t >= length)), "past_1ps": int(np.sum(t > 1.0)),
                    "median_ps": round(float(np.median(t)), 3)})
    return sorted(out, key=lambda r: r["median_ps"])


def main() -> int:
    from scipy.stats import spearmanr

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", required=True, help="an acquire scan's scan.json")
    parser.add_argument("--md", required=True, action="append", help="an acquire md study's metrics.json (repeatable)")
    parser.add_argument("--timestep", type=float, default=2.0, help="fs")
    parser.add_argument("--windows", default="0.1,0.15,0.2", help="Å around each curve's lowest point for the fit")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    scan = json.loads(Path(args.scan).read_text())
    md = {"runs": [], "fastest_modes": {}}
    for path in args.md:
        study = json.loads(Path(path).read_text())
        md["runs"] += study["runs"]
        md["fastest_modes"].update(study.get("fastest_modes", {}))
    windows = [float(w) for w in args.windows.split(",")]
    correlation = {}
    for window in windows:
        fitted = rows(scan, md, args.timestep, window)
        medians = [r["median_ps"] for r in fitted]
        correlation[f"{window:g}"] = {key: round(float(spearmanr([r[key] for r in fitted], medians)[0]), 3)
                                      for key in ("k2_kcal_mol_A2", "morse_a_per_A", "wavenumber_cm1")
                                      if all(r[key] is not None for r in fitted)}
    table = rows(scan, md, args.timestep, windows[0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    document = {"scan": args.scan, "md": args.md, "timestep_fs": args.timestep, "windows_A": windows,
                "units": {"k2": "kcal/mol/Å² (one-atom stretch)", "morse_a": "Å⁻¹", "time": "ps"},
                "rows": table, "spearman_with_median": correlation}
    (out / "table.json").write_text(json.dumps(document, indent=1))
    lines = [f"| model | k2 (kcal/mol/Å²) | Morse a (Å⁻¹) | fastest mode (cm⁻¹) | ωΔt at {args.timestep:g} fs | "
             "stable | past 1 ps | median time to failure (ps) |", "|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['model']} | {r['k2_kcal_mol_A2']} | {r['morse_a_per_A']} | "
                     f"{r['wavenumber_cm1'] and round(r['wavenumber_cm1'], 1)} | {r['omega_dt'] and round(r['omega_dt'], 4)} | "
                     f"{r['stable']} / {r['runs']} | {r['past_1ps']} | {r['median_ps']} |")
    lines.append("")
    lines.append(f"Constants fitted within {windows[0]:g} Å of each curve's lowest point. Spearman rank "
                 "correlation with the median time to failure:")
    lines += [f"- window {w} Å: " + ", ".join(f"{k} {v}" for k, v in c.items()) for w, c in correlation.items()]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
