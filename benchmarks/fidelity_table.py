"""The fidelity table: several `acquire compare` folders that differ in the inaccurate source (DFT,
xTB, GAFF, several molecules), one row per method and source, with the bias statistics that say
where bias-aware weights can matter (issue 15), and a plot of the error by source.

    python benchmarks/fidelity_table.py DFT=runs/ethylene/dft xTB=runs/ethylene/xtb --plot fidelity.png

Force MAE in kcal/mol/Å (mean over atoms and components), energy MAE in kcal/mol, on each folder's
test frames; mean ± sample standard deviation over the seeds; the gain is against that folder's
standard training (the same budget). B: the bias model's force error on the inaccurate frames
(kcal/mol/Å, mean ± spread over frames, averaged over seeds); ESS: the effective sample size of the
weights exp(-B/gamma) at the chosen gamma, as a share of the inaccurate frames. Prints markdown.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any


def _mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def rows(name: str, folder: Path) -> list[dict[str, Any]]:
    """One row per method of a comparison folder (its first budget and ratio)."""
    document = json.loads((folder / "metrics.json").read_text())
    runs = [r for r in document["runs"] if r.get("test")]
    by_method: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_method.setdefault(run["method"], []).append(run)
    standard = {r["seed"]: r["test"]["force_mae"] for r in by_method.get("standard", [])}
    out = []
    for method, group in by_method.items():
        forces = [r["test"]["force_mae"] for r in group]
        gains = [100 * (1 - r["test"]["force_mae"] / standard[r["seed"]]) for r in group if r["seed"] in standard]
        bias = [r["bias"] for r in group if r.get("bias")]
        ess = [s["ess"] / ((r.get("counts") or {}).get("inaccurate") or r["n_inaccurate"])  # every pretraining frame
               for r in group for s in r.get("gamma_search") or []
               if s["gamma"] == r.get("gamma") and r["n_inaccurate"]]
        out.append({
            "source": name, "method": method, "labels": f"{group[0]['n_accurate']} + {group[0]['n_inaccurate']}",
            "seeds": len(group), "force": forces, "force_text": _mean_std(forces),
            "energy_text": _mean_std([r["test"]["energy_mae"] for r in group]),
            "gain_text": "—" if method == "standard" or not gains else f"{statistics.mean(gains):+.1f} %",
            "bias_text": "—" if not bias else (f"{statistics.mean(b['mean'] for b in bias):.2f} ± "
                                               f"{statistics.mean(b['std'] for b in bias):.2f}"),
            "ess_text": "—" if not ess else f"{100 * statistics.mean(ess):.0f} %",
            "cpu_min": sum(r.get("seconds", 0.0) for r in group) / 60 / len(group),
        })
    return out


def table(all_rows: list[dict[str, Any]]) -> str:
    lines = ["| inaccurate source | method | accurate + inaccurate labels | seeds | test force MAE | test energy MAE "
             "| force gain vs standard (mean over seeds) | B (bias) | ESS | training wall min per seed |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in all_rows:
        lines.append(f"| {r['source']} | {r['method']} | {r['labels']} | {r['seeds']} | {r['force_text']} | "
                     f"{r['energy_text']} | {r['gain_text']} | {r['bias_text']} | {r['ess_text']} | {r['cpu_min']:.1f} |")
    return "\n".join(lines)


def plot(all_rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(all_rows), 3.6))
    names = [f"{r['source']}\n{r['method']}" for r in all_rows]
    means = [statistics.mean(r["force"]) for r in all_rows]
    spreads = [statistics.stdev(r["force"]) if len(r["force"]) > 1 else 0.0 for r in all_rows]
    ax.bar(names, means, yerr=spreads, capsize=4, color=["0.6" if r["method"] == "standard" else "C0" for r in all_rows])
    ax.set_ylabel("test force MAE (kcal/mol/Å)")
    ax.set_title("error by inaccurate source (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", metavar="NAME=DIR", help="a name for the source and its compare folder")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of the force MAE by source and method")
    args = parser.parse_args()
    all_rows = []
    for item in args.folders:
        name, _, folder = item.partition("=")
        all_rows += rows(name, Path(folder))
    print(table(all_rows))
    if args.plot is not None:
        plot(all_rows, args.plot)


if __name__ == "__main__":
    main()
