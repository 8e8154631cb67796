"""Outputs of an MD stability study: `metrics.json`, `report.md` and PNG plots.

Plots (matplotlib, Agg): `stability_vs_timestep.png` (stable fraction against time step, one line
per model with 95 % intervals, as the paper's Figure 6b) and `failing_traces.png` (largest bond-length deviation
against time for the runs that failed). Times are reported in ps, distances in Å.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from acquire.md.runs import StabilityResult
from acquire.md.vibrations import LIMITS, verdict
from acquire.versions import versions
from labelers.atomic_files import atomic_write_text

FAILURE_KINDS = {
    "bond": "a bonded distance left its range",
    "pair": "two atoms came too close",
    "nonfinite": "non-finite energy, forces or positions",
    "calculator": "the calculator failed",
}


def metrics(result: StabilityResult) -> dict[str, Any]:
    """Everything a study produced, JSON-ready (NaN -> null): settings, summaries, runs, versions."""
    return _finite({
        "settings": asdict(result.settings),
        "units": {"time": "ps (time_to_failure_ps), fs (timestep_fs, time_fs)", "distance": "Å", "temperature": "K"},
        "models": result.models,
        "timesteps_fs": result.timesteps_fs,
        "seed": result.seed,
        "seeds": sorted({r.seed for r in result.runs}),
        "summary": [asdict(s) for s in result.summaries()],
        "comparisons": [asdict(c) for c in result.comparisons()],
        "runs": [{**{k: v for k, v in asdict(r).items() if k != "trace"}, "time_to_failure_ps":
                  None if r.stable else r.time_fs / 1000.0} for r in result.runs],
        "fastest_modes": {name: {**asdict(mode), "omega_dt": {f"{dt:g}": mode.omega_dt(dt) for dt in result.timesteps_fs}}
                          for name, mode in result.fastest_modes.items()},
        "wall_s": result.wall_s,
        "resumed_runs": result.resumed,
        "versions": versions(("ase", "numpy"), loaded=("torch", "tblite")),
    })


def write_outputs(result: StabilityResult, out_dir: str | Path) -> dict[str, Path]:
    """Write metrics.json, report.md and the plots into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / "metrics.json", "report": out / "report.md",
             "stability_plot": out / "stability_vs_timestep.png", "traces_plot": out / "failing_traces.png"}
    data = metrics(result)
    atomic_write_text(paths["metrics"], json.dumps(data, indent=2) + "\n")
    if result.fastest_modes:
        paths["omega_plot"] = out / "stability_vs_omega_dt.png"
    plots = {"stability_plot": lambda p: plot_stability(result, p), "traces_plot": lambda p: plot_failing_traces(result, p),
             "omega_plot": lambda p: plot_stability(result, p, against_omega_dt=True)}
    for key, draw in plots.items():  # a figure that cannot be drawn never costs the results
        if key in paths and not _drawn(draw, paths[key]):
            del paths[key]
    atomic_write_text(paths["report"], report_markdown(result, {k: p.name for k, p in paths.items()}))
    return paths


def report_markdown(result: StabilityResult, files: dict[str, str]) -> str:
    """The human report: settings, stable fraction per model and time step, every failure."""
    s = result.settings
    lines = [
        "# MD stability",
        "",
        f"Langevin dynamics (ASE) at {s.temperature_K:g} K, friction {s.friction_per_fs:g} 1/fs, {s.steps} steps "
        f"per run, time steps {', '.join(f'{t:g}' for t in result.timesteps_fs)} fs, seeds {result.seed}.."
        f"{result.seed + max(len({r.run for r in result.runs}), 1) - 1}"
        + (f", every H atom of mass {s.hydrogen_mass_amu:g} amu." if s.hydrogen_mass_amu is not None else "."),
        f"A run fails when a bonded distance (bonds from the start geometry, {s.bond_scale:g} × covalent radii) "
        f"moves more than {s.bond_tolerance_A:g} Å from its start value, two atoms come closer than "
        f"{s.min_pair_distance_A:g} Å, or energy/forces are not finite.",
        "",
    ]
    nve = s.friction_per_fs == 0  # microcanonical: the drift measures energy conservation
    if nve:
        lines += ["Friction 0: microcanonical dynamics (velocity Verlet). Total energy before any failure, medians "
                  "over the runs: drift = |slope| (meV per atom per ps), fluctuation = standard deviation (meV per atom).", ""]
    lines += [
        "| model | source | time step (fs) | run length (ps) | stable / runs | stable fraction (95 % interval) "
        "| median time to failure (ps) | failures | mean T of stable runs (K) |" + (" drift (meV/atom/ps) | fluctuation (meV/atom) |" if nve else ""),
        "|---|---|---:|---:|---:|---:|---:|---|---:|" + ("---:|---:|" if nve else ""),
    ]
    for summary in result.summaries():
        failures = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.failures.items())) or "—"
        ttf = "—" if summary.median_time_to_failure_ps is None else f"{summary.median_time_to_failure_ps:.3f}"
        low, high = summary.stable_fraction_ci95
        lines.append(
            f"| {summary.model} | `{result.models.get(summary.model, summary.model)}` | {summary.timestep_fs:g} | "
            f"{s.steps * summary.timestep_fs / 1000.0:g} | {summary.stable} / {summary.runs} | {summary.stable_fraction:.2f} ({low:.2f}–{high:.2f}) | {ttf} | {failures} | "
            f"{'—' if summary.mean_temperature_K is None else format(summary.mean_temperature_K, '.0f')} |"
            + (f" {_number(summary.median_abs_drift_meV_per_atom_ps)} | {_number(summary.median_fluctuation_meV_per_atom)} |"
               if nve else "")
        )
    lines += _comparison_lines(result)
    lines += _mode_lines(result, files.get("omega_plot"))
    failed = [r for r in result.runs if not r.stable]
    lines += ["", f"![stable fraction against time step]({files['stability_plot']})" if "stability_plot" in files
              else "(the stability plot could not be drawn; metrics.json holds its numbers)", ""]
    if failed:
        lines += [
            "## Failed runs", "",
            f"![largest bond deviation of failing runs]({files['traces_plot']})" if "traces_plot" in files else "", "",
            "| model | time step (fs) | run | seed | time to failure (ps) | failure | detail |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for r in failed:
            assert r.failure is not None
            lines.append(f"| {r.model} | {r.timestep_fs:g} | {r.run} | {r.seed} | {r.time_fs / 1000.0:.4f} | "
                         f"{r.failure.kind} | {r.failure.detail} |")
    else:
        lines += ["All runs stayed stable.", ""]
    lines += ["", "Failure kinds: " + "; ".join(f"`{k}`: {v}" for k, v in FAILURE_KINDS.items()) + ".",
              f"Trajectories (extxyz, eV and eV/Å): `trajectories/MODEL/dtSTEPfs/runNNN.extxyz`. "
              f"Numbers: `{files['metrics']}`. Wall time of this call {result.wall_s:.1f} s"
              + (f" ({result.resumed} runs read back; the runs' own wall times sum to {sum(r.wall_s for r in result.runs):.0f} s)."
                 if result.resumed else "."), ""]
    return "\n".join(lines)


def _comparison_lines(result: StabilityResult) -> list[str]:
    """Model against model at each time step, over the runs both made from the same seeds."""
    differing = [c for c in result.comparisons() if c.only_a_failed or c.only_b_failed]
    if not differing:
        return []
    lines = [
        "", "## Model against model", "",
        "Runs of the same index start from the same geometry and seed in every model, so the models are compared "
        "pair by pair: the runs where only one of the two failed, and the exact McNemar p-value, the chance of "
        "a split at least this uneven if both models were equally stable (`acquire.md.proportions`). "
        "Pairs where every run agreed are left out.", "",
        "| time step (fs) | model A | model B | stable A / B | only A failed | only B failed | p |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for c in differing:
        lines.append(f"| {c.timestep_fs:g} | {c.model_a} | {c.model_b} | {c.stable_a} / {c.stable_b} of {c.paired_runs} | "
                     f"{c.only_a_failed} | {c.only_b_failed} | {c.p_value:.2g} |")
    return lines


def _mode_lines(result: StabilityResult, plot: str | None) -> list[str]:
    """Each model's fastest vibration at the start geometry, and ωΔt at each time step."""
    if not result.fastest_modes:
        return []
    mass = result.settings.hydrogen_mass_amu
    lines = [
        "", "## Time steps against each model's fastest vibration", "",
        "Harmonic frequencies at the start geometry" + (f", hydrogen mass {mass:g} amu" if mass else "") + ". Velocity "
        "Verlet is linearly unstable for ωΔt ≥ 2 and has its 3:1 and 4:1 nonlinear resonances at ωΔt = √3 = 1.732 "
        "and √2 = 1.414, where a bond stretch can take up energy from the integrator until it breaks "
        "(`acquire.md.vibrations`).", "",
        "| model | fastest mode (cm⁻¹) | period (fs) | atoms | " + " | ".join(f"ωΔt at {dt:g} fs" for dt in result.timesteps_fs) + " |",
        "|---|---:|---:|---|" + "---|" * len(result.timesteps_fs),
    ]
    for name, mode in result.fastest_modes.items():
        cells = [f"{mode.omega_dt(dt):.3f} ({verdict(mode.omega_dt(dt))})" for dt in result.timesteps_fs]
        lines.append(f"| {name} | {mode.wavenumber_cm1:.0f} | {mode.period_fs:.2f} | {mode.label} | " + " | ".join(cells) + " |")
    return lines + (["", f"![stable fraction against ωΔt]({plot})"] if plot else [])


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")  # one per model: coincident points stay visible
FAILURE_MARKERS = {"bond": ("x", "bond past the tolerance"), "pair": ("o", "two atoms too close"),
                   "nonfinite": ("*", "non-finite forces"), "calculator": ("s", "calculator failed")}


def plot_stability(result: StabilityResult, path: Path, against_omega_dt: bool = False) -> None:
    """Stable fraction against time step (fs), one line per model, bars the 95 % Wilson interval; or
    against ωΔt of each model's fastest vibration, where an integrator limit shows as curves that
    fall at the same place."""
    fig = stability_figure(result, against_omega_dt)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)


def stability_figure(result: StabilityResult, against_omega_dt: bool = False) -> Any:
    """The figure of `plot_stability`: each model its own marker (open, so that a point under
    another shows), the legend beside the axes (inside it covered a line), the limits of ωΔt
    labelled inside the axes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    summaries = result.summaries()
    dodge = 0.006 * max(result.timesteps_fs) * (1.5 if against_omega_dt else 1.0)  # side by side, bars visible
    highest = 0.0
    for k, model in enumerate(result.models):
        mode = result.fastest_modes.get(model)
        if against_omega_dt and mode is None:
            continue
        points = sorted((mode.omega_dt(s.timestep_fs) if against_omega_dt and mode else s.timestep_fs, s.stable_fraction,
                         *s.stable_fraction_ci95) for s in summaries if s.model == model)
        x, y, low, high = (np.array(column) for column in zip(*points))
        highest = max(highest, float(x.max()))
        bars = np.clip([y - low, high - y], 0.0, None)  # the interval's ends can round past the fraction (3 runs)
        ax.errorbar(x + (k - (len(result.models) - 1) / 2) * dodge, y, yerr=bars,
                    marker=MARKERS[k % len(MARKERS)], ms=6, mfc="none", mew=1.3, capsize=2, label=model)
    if against_omega_dt:
        for value, name in LIMITS:
            ax.axvline(value, color="k", ls=":", lw=1)
            ax.text(value, 0.5, f"{name} ", fontsize="x-small", rotation=90, ha="right", va="center")
        ax.set_xlim(right=max(highest, max(v for v, _ in LIMITS)) * 1.06)  # every limit and its label inside
    ax.set_xlabel("ωΔt of the fastest vibration" if against_omega_dt else "time step (fs)")
    ax.set_ylabel("stable fraction")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"MD stability, {result.settings.temperature_K:g} K, {result.settings.steps} steps")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_failing_traces(result: StabilityResult, path: Path, limit: int = 40) -> None:
    """Largest bond-length deviation (Å) against time (ps) of failing runs (up to `limit`)."""
    fig = traces_figure(result, limit)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)


def traces_figure(result: StabilityResult, limit: int = 40) -> Any:
    """The figure of `plot_failing_traces`: one colour per model and time step, each trace's end
    marked by why the run failed (a run that failed on two atoms too close ends below the bond
    tolerance line, and the marker says so)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    failed = [r for r in result.runs if not r.stable][:limit]
    series = list(dict.fromkeys((r.model, r.timestep_fs) for r in failed))
    colours = {key: f"C{i % 10}" for i, key in enumerate(series)}
    for r in failed:
        times = [t / 1000.0 for t in r.trace.get("time_fs", [])]
        deviation = r.trace.get("max_bond_deviation_A", [])
        ax.plot(times, deviation, color=colours[(r.model, r.timestep_fs)], alpha=0.6, lw=1)
        if times and deviation and r.failure is not None:
            marker = FAILURE_MARKERS.get(r.failure.kind, ("d", r.failure.kind))[0]
            ax.plot(times[-1], deviation[-1], marker=marker, color=colours[(r.model, r.timestep_fs)], mfc="none", ms=7)
    for (model, dt), colour in colours.items():
        ax.plot([], [], color=colour, label=f"{model}, {dt:g} fs")
    for kind in dict.fromkeys(r.failure.kind for r in failed if r.failure is not None):
        marker, text = FAILURE_MARKERS.get(kind, ("d", kind))
        ax.plot([], [], ls="none", marker=marker, color="k", mfc="none", label=f"end: {text}")
    ax.axhline(result.settings.bond_tolerance_A, color="k", ls="--", lw=1, label="bond tolerance")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("largest bond deviation (Å)")
    ax.set_title("failing runs" if failed else "no failing runs")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def _drawn(draw: Callable[[Path], None], path: Path) -> bool:
    """Whether `draw(path)` wrote its figure; a failure is one line on stderr, not an exception."""
    try:
        draw(path)
        return True
    except Exception as exc:  # noqa: BLE001 - any plotting failure: the computed results are kept
        print(f"acquire md: warning: {path.name} not drawn: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        return False


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finite(value: Any) -> Any:
    """NaN/inf -> None, recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
