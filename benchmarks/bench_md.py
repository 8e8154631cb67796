"""MD benchmarks for `acquire md`.

speed:      MD steps/s through the trained-model ASE calculator and `acquire.md.runs.run_one` (Langevin,
            stability checks) against the bare model forward+backward on a prebuilt graph.
            Target: the MD loop adds <= 20 % over the bare model.
stability:  stable fraction of trained ethanol models (e.g. standard vs ASTEROID) at chosen time steps.
lockstep:   MD steps/s of R replicas of one trained model stepped together (one batched model call per
            step, `acquire.md.lockstep`) against the same R runs one at a time, in one process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_md.py speed [--model RUN_DIR] [--steps 1000] [--rounds 5]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_md.py stability --model standard=RUN --model asteroid=RUN \
        --timesteps 0.5,2 --runs 10 --steps 2000 --workers 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_md.py lockstep --model RUN --replicas 1,5,20 --steps 100

Without --model, `speed` trains a small EGNN (hidden 64, 4 layers, the paper's architecture) for
--train-epochs on 200 CCSD(T) frames: its speed, not its accuracy, is what is measured.
"""
from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def train_egnn(out_dir: Path, epochs: int) -> Path:
    """A small EGNN trained on 200 embedded CCSD(T) ethanol frames for `epochs` epochs."""
    from labelers.datasets import load_md17
    from train import Frames, preset, with_model, with_stage

    data = load_md17("ethanol", "ccsd(t)")
    frames = lambda s: Frames(data.positions[s], data.numbers, data.energies[s], data.forces[s])  # noqa: E731
    config = with_model(preset("quick", progress=False), name="egnn", hidden=64, layers=4)
    config = with_stage(config, "standard", epochs=epochs)
    run_dir = out_dir / "egnn"
    from train import run_standard

    run_standard(frames(slice(0, 200)), frames(slice(200, 250)), None, config, run_dir)
    return run_dir


def _timed(function, seconds: float = 3.0) -> float:
    """Median seconds per call of `function` over rounds of about 0.3 s, after a warm-up."""
    for _ in range(5):
        function()
    rounds = []
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            function()
            n += 1
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds)


class _Stopwatch:
    """Wraps a callable and adds up the wall time spent inside it."""

    def __init__(self, function) -> None:
        self.function, self.seconds, self.calls = function, 0.0, 0

    def __call__(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1


def speed(args: argparse.Namespace) -> dict:
    """Time inside the bare model (forward+backward), inside the ASE calculator, and per MD step,
    all measured within the same MD runs, so that load from other processes hits them alike."""
    import torch

    from acquire.md.calculators import calculator_for
    from acquire.md.runs import MDSettings, run_one
    from acquire.molecules import load_molecule

    torch.set_num_threads(1)
    model_dir = Path(args.model) if args.model else train_egnn(Path(tempfile.mkdtemp()), args.train_epochs)
    atoms = load_molecule("ethanol")
    calculators = {"trainer": calculator_for(str(model_dir), threads=1)}
    settings = MDSettings(steps=args.steps, timestep_fs=0.5, temperature_K=500.0, save_every=args.save_every)
    rounds: dict[str, list[dict]] = {name: [] for name in calculators}
    for seed in range(args.max_runs):
        for name, calc in calculators.items():  # alternate, so that load from other processes hits both alike
            bare = calc.model.energy_forces = _Stopwatch(type(calc.model).energy_forces.__get__(calc.model))
            inside = calc.calculate = _Stopwatch(type(calc).calculate.__get__(calc))
            result = run_one(calc, atoms, settings, seed=seed, trajectory=Path(tempfile.mkdtemp()) / "t.extxyz")
            if result.steps < min(args.steps, 200):  # too short to time (the model failed early)
                continue
            calls = result.steps + 1  # + the start geometry's forces
            assert bare.calls == inside.calls == calls, (bare.calls, inside.calls, calls)
            rounds[name].append({"seed": seed, "steps": result.steps, "stable": result.stable,
                                 "bare_ms": 1e3 * bare.seconds / calls, "calculator_ms": 1e3 * inside.seconds / calls,
                                 "md_step_ms": 1e3 * result.wall_s / calls})
        if min(len(r) for r in rounds.values()) >= args.rounds:
            break
    if not all(rounds.values()):
        raise SystemExit("every MD run failed within 200 steps: give a trained --model")
    return {"model": str(model_dir), "model_config": _model_config(model_dir), "steps_per_run": args.steps,
            "save_every": args.save_every, "threads": 1, "python": platform.python_version(),
            "torch": torch.__version__, **{name: _speed_summary(r) for name, r in rounds.items()}}


def _speed_summary(rounds: list[dict]) -> dict:
    """Medians over runs; ratios are taken within each run (same load), then the median."""
    median = lambda key: statistics.median(r[key] for r in rounds)  # noqa: E731
    ratio = lambda a, b: 100.0 * (statistics.median(r[a] / r[b] for r in rounds) - 1.0)  # noqa: E731
    return {
        "runs": rounds, "bare_forward_backward_ms": median("bare_ms"), "calculator_call_ms": median("calculator_ms"),
        "md_step_ms": median("md_step_ms"), "md_steps_per_s": 1e3 / median("md_step_ms"),
        "md_over_bare_percent": ratio("md_step_ms", "bare_ms"),
        "calculator_over_bare_percent": ratio("calculator_ms", "bare_ms"),
        "md_loop_over_calculator_percent": ratio("md_step_ms", "calculator_ms"),
    }


def _model_config(model_dir: Path) -> dict:
    from train.checkpoint import read_model_file

    return dict(read_model_file(model_dir)["model_config"])


def stability(args: argparse.Namespace) -> dict:
    from acquire.md.calculators import calculator_for
    from acquire.md.finished_runs import RunStore
    from acquire.md.report import metrics, write_outputs
    from acquire.md.runs import MDSettings, parse_timesteps, run_stability
    from acquire.molecules import load_molecule

    models = dict(item.split("=", 1) for item in args.model)
    factories = {name: functools.partial(calculator_for, path) for name, path in models.items()}
    settings = MDSettings(steps=args.steps, temperature_K=args.temperature, save_every=args.save_every)
    result = run_stability(factories, [load_molecule("ethanol")], settings, parse_timesteps(args.timesteps),
                           runs=args.runs, seed=args.seed, workers=args.workers, out_dir=args.out, sources=models,
                           store=RunStore(args.out) if args.out else None)
    if args.out:
        write_outputs(result, args.out)
    data = metrics(result)
    return {"summary": data["summary"], "settings": data["settings"], "models": models, "wall_s": result.wall_s,
            "model_configs": {name: _model_config(Path(path)) for name, path in models.items() if Path(path).exists()}}


def lockstep(args: argparse.Namespace) -> dict:
    import os

    from acquire.md.calculators import calculator_for
    from acquire.md.runs import MDSettings, run_stability
    from acquire.molecules import load_molecule

    factories = {"model": functools.partial(calculator_for, args.model)}
    settings = MDSettings(steps=args.steps, temperature_K=500.0, timestep_fs=0.5, save_every=0)
    rows = []
    for replicas in (int(r) for r in args.replicas.split(",")):
        row = {"replicas": replicas}
        for mode, source in (("one_at_a_time", "not-a-path"), ("lockstep", args.model)):  # a path batches
            result = run_stability(factories, [load_molecule("ethanol")], settings, [0.5], runs=replicas,
                                   seed=args.seed, sources={"model": source})
            steps = sum(r.steps for r in result.runs)
            row[mode] = {"steps": steps, "wall_s": result.wall_s, "md_steps_per_s": steps / result.wall_s,
                         "stable": sum(r.stable for r in result.runs)}
        row["speedup"] = row["lockstep"]["md_steps_per_s"] / row["one_at_a_time"]["md_steps_per_s"]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return {"model": args.model, "model_config": _model_config(Path(args.model)), "steps_per_run": args.steps,
            "threads": 1, "load_average": os.getloadavg(), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--model", help="trained model run directory or model.pt (default: train a small EGNN)")
    p.add_argument("--train-epochs", type=int, default=60)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--max-runs", type=int, default=20)
    p.add_argument("--save-every", type=int, default=10)
    p = sub.add_parser("stability")
    p.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    p.add_argument("--timesteps", default="0.5,2")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--temperature", type=float, default=500.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--save-every", type=int, default=0)
    p.add_argument("--out", default=None)
    p = sub.add_parser("lockstep")
    p.add_argument("--model", required=True, help="trained model run directory or model.pt")
    p.add_argument("--replicas", default="1,5,20")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = {"speed": speed, "stability": stability, "lockstep": lockstep}[args.what](args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
