"""`acquire md`: MD stability of trained force fields (and labelers used as force fields).

A thin layer over `acquire.md.runs.run_stability` and `acquire.md.report.write_outputs`; ASE, torch
and tblite are imported inside `run` only.
"""
from __future__ import annotations

import argparse
import sys

from acquire.cli import arguments
from acquire.cli.output import add_output_arguments, print_json, show_progress, stdout_console
from acquire.errors import AcquireError

HELP = "Run Langevin MD with trained models or labelers and report how many runs stay stable."
EXAMPLES = """examples:
  acquire md runs/standard runs/asteroid --molecule ethanol --steps 10000 --runs 20 --out md/
  acquire md runs/asteroid/model.pt --timesteps 0.5,1,2,3 --runs 10 --out sweep/   # step-size sweep
  acquire md xtb:gfn2 --molecule CCO --temperature 500 --steps 2000 --runs 4 --json  # a reference force field
  acquire md model.pt --start pool.extxyz --runs 8 --workers 2 --out md/            # 8 starts spread over a pool
  acquire md standard=runs/c/runs/250ccsd_r40/standard/seed0 ASTEROID=runs/c/runs/250ccsd_r40/asteroid/seed0 --out md/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", metavar="MODEL",
                        help="a trained model (model.pt or its run directory) or a labeler spec such as xtb:gfn2; "
                        "NAME=MODEL names it in the report (default: the end of its path that tells it apart)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--molecule", metavar="M", default=None,
                       help="start geometry: SMILES, a structure file ASE reads (.xyz, .sdf, .mol, ...) or embedded name (default: the first "
                       "trained model's own molecule, its training data's first geometry; ethanol for labelers only)")
    start.add_argument("--start", metavar="FILE", default=None,
                       help="start geometries (xyz/extxyz): RUNS frames spread evenly over the file, run k from the k-th")
    parser.add_argument("--temperature", type=arguments.temperature, default=500.0, metavar="K", help="temperature, K (default 500)")
    parser.add_argument("--timestep", type=arguments.timestep, default=0.5, metavar="FS", help="time step, fs (default 0.5)")
    parser.add_argument("--timesteps", default=None, metavar="LIST",
                        help="step-size sweep, fs, e.g. 0.5,1,2,3 (overrides --timestep)")
    parser.add_argument("--friction", type=arguments.friction, default=0.002, metavar="1/FS",
                        help="Langevin friction, 1/fs (default 0.002); 0: microcanonical dynamics, and the "
                             "report gives each model's total-energy drift and fluctuation")
    parser.add_argument("--steps", type=arguments.positive_steps, default=10000, help="steps per run (default 10000)")
    parser.add_argument("--runs", type=arguments.runs, default=20, help="runs per model and time step (default 20)")
    parser.add_argument("--seed", type=arguments.seed, default=0, help="seed of run 0; run k uses seed+k (default 0)")
    parser.add_argument("--bond-tolerance", type=arguments.length, default=0.5, metavar="Å",
                        help="a run fails when a bond moves more than this from its start length (default 0.5 Å)")
    parser.add_argument("--min-distance", type=arguments.length, default=0.5, metavar="Å",
                        help="any two atoms closer than this fail a run (default 0.5 Å)")
    parser.add_argument("--hydrogen-mass", type=arguments.number(maximum=1000.0, above=0.0, what="a mass in amu"), default=None, metavar="AMU",
                        help="mass of every H atom in the dynamics, amu (e.g. 2.014, deuterium: slows the X-H "
                        "stretches so that 2 fs steps stay clear of Verlet's resonances; default: natural masses)")
    parser.add_argument("--save-every", type=arguments.steps, default=100, metavar="N",
                        help="trajectory frame every N steps (and the failing step), 0 for none (default 100)")
    parser.add_argument("--workers", type=arguments.workers, default=None,
                        help="parallel processes, one thread each (default: CPU count); the runs of a trained "
                        "model at one time step are stepped together in one process, one batched model call per step")
    parser.add_argument("--out", default="md-report", metavar="DIR",
                        help="report.md, metrics.json, PNGs, trajectories/ and finished runs/ (default md-report); "
                        "rerunning into the same DIR resumes")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                        help="where trained models run: cpu (default), cuda, or auto (cuda when a GPU is visible)")
    add_output_arguments(parser, "print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import functools
    import os

    from acquire.folders import output_folder
    from acquire.md.calculators import calculator_for, model_labels
    from acquire.md.finished_runs import RunStore
    from acquire.md.report import metrics, write_outputs
    from acquire.md.runs import MDSettings, parse_timesteps, run_stability
    from acquire.model_molecule import check_molecule, trained_records
    from acquire.progress_bars import bar

    settings = MDSettings(
        temperature_K=args.temperature, timestep_fs=args.timestep, friction_per_fs=args.friction, steps=args.steps,
        bond_tolerance_A=args.bond_tolerance, min_pair_distance_A=args.min_distance, save_every=args.save_every,
        hydrogen_mass_amu=args.hydrogen_mass,
    )
    timesteps = parse_timesteps(args.timesteps) if args.timesteps else [args.timestep]
    workers = args.workers if args.workers is not None else os.cpu_count() or 1
    if workers < 1:
        raise AcquireError(f"--workers must be >= 1, got {workers}")
    if args.runs < 1:
        raise AcquireError(f"--runs must be >= 1, got {args.runs}")
    labelled = model_labels(args.models)
    output_folder(args.out, "md", create=False)  # a file or another command's folder: refused before any work
    records = trained_records(labelled)
    starts = _starts(args.molecule, args.start, args.runs, records)
    check_molecule(records, starts)
    modes = _check_and_measure(labelled, args.device, starts[0], settings, timesteps)
    factories = {name: functools.partial(calculator_for, model, device=args.device) for name, model in labelled}
    total = len(labelled) * len(timesteps) * args.runs
    output_folder(args.out, "md")  # every check passed: the folder is made and marked as an md study's
    with bar("MD runs", total, enabled=show_progress(args), transient=True) as update:

        def advance(result) -> None:
            status = "stable" if result.stable else f"failed ({result.failure.kind})"
            update(advance=1, note=f"{result.model} {result.timestep_fs:g} fs run {result.run}: {status}")

        result = run_stability(factories, starts, settings, timesteps, args.runs, args.seed, workers, args.out,
                               sources=dict(labelled), on_result=advance, store=RunStore(args.out), modes=False)
    result = dataclasses.replace(result, fastest_modes=modes)
    paths = write_outputs(result, args.out)
    if args.json:
        data = metrics(result)
        print_json({"summary": data["summary"], "settings": data["settings"], "models": data["models"],
                    "comparisons": data["comparisons"], "fastest_modes": data["fastest_modes"],
                    "outputs": {k: str(p) for k, p in paths.items()}})
    else:
        _print_summary(result, paths["report"])
    return 0


def _check_and_measure(labelled: list[tuple[str, str]], device: str, start, settings, timesteps: list[float]) -> dict:
    """Build each model once before any run starts, so that a bad MODEL fails with one line, and
    measure its fastest vibration against the time steps (a warning on stderr for a step at or past
    one of velocity Verlet's resonances, before hours of dynamics)."""
    from acquire.md.calculators import calculator_for
    from acquire.md.runs import measure_fastest_modes
    from acquire.md.vibrations import BELOW, verdict

    built = {name: calculator_for(model, device=device) for name, model in labelled}
    modes = measure_fastest_modes({name: (lambda calculator=calculator: calculator) for name, calculator in built.items()},
                                  start, settings)
    for name, mode in modes.items():
        for dt in timesteps:
            where = verdict(mode.omega_dt(dt))
            if where != BELOW:
                print(f"warning: {name} at {dt:g} fs: ωΔt {mode.omega_dt(dt):.3f} of its fastest vibration "
                      f"({mode.wavenumber_cm1:.0f} cm⁻¹, {mode.label}) is {where}; expect "
                      f"failures from the integrator (a shorter step or --hydrogen-mass 2.014 avoids it)", file=sys.stderr)
    return modes


def _starts(molecule: str | None, start: str | None, runs: int, records: dict[str, dict] | None = None) -> list:
    """Start geometries: --molecule, or `runs` frames of --start spread evenly over the file (so
    that frames of an MD pool are decorrelated; run k starts from the k-th), or the first trained
    model's own molecule (`records`)."""
    if start is not None:
        from ase.io import read

        from acquire.errors import PoolError

        try:
            frames = read(start, index=":")
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for a malformed file
            raise PoolError(f"cannot read start geometries from {start}: {type(exc).__name__}") from None
        frames = frames if isinstance(frames, list) else [frames]
        if not frames:
            raise PoolError(f"{start} holds no geometries")
        if len(frames) > runs:
            step = len(frames) / runs
            frames = [frames[int(k * step)] for k in range(runs)]
        return frames
    from acquire.model_molecule import FALLBACK_MOLECULE, default_molecule
    from acquire.molecules import load_molecule

    own = default_molecule(records or {}) if molecule is None else None
    return [own[0] if own is not None else load_molecule(molecule or FALLBACK_MOLECULE)]


def _print_summary(result, report) -> None:
    from rich.table import Table

    table = Table(title=f"MD stability at {result.settings.temperature_K:g} K, {result.settings.steps} steps per run",
                  title_justify="left")
    for header in ("model", "time step (fs)", "stable / runs", "95 % interval", "median time to failure (ps)", "failures"):
        table.add_column(header, justify="left" if header in ("model", "failures") else "right")
    for s in result.summaries():
        table.add_row(s.model, f"{s.timestep_fs:g}", f"{s.stable} / {s.runs}", "{:.2f}–{:.2f}".format(*s.stable_fraction_ci95),
                      "—" if s.median_time_to_failure_ps is None else f"{s.median_time_to_failure_ps:.3f}",
                      ", ".join(f"{k} {n}" for k, n in sorted(s.failures.items())) or "—")
    console = stdout_console()
    console.print(table)
    for name, mode in result.fastest_modes.items():
        steps = ", ".join(f"{mode.omega_dt(dt):.3f} at {dt:g} fs" for dt in result.timesteps_fs)
        console.print(f"{name}: fastest vibration {mode.wavenumber_cm1:.0f} cm⁻¹ ({mode.label}, {mode.period_fs:.1f} fs); "
                      f"ωΔt {steps} (Verlet: 4:1 resonance at 1.414, unstable at 2)", highlight=False)
    if result.resumed:
        console.print(f"{result.resumed} runs read back from an earlier call (rerun with another --out to redo them)")
    console.print(f"report: {report}", highlight=False)
