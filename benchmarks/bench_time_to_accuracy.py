"""Time to accuracy: the force error of one `acquire compare` run against the CPU time it has spent,
scored while it trains (a monitor on every epoch, `train.loop.fit`), on the comparison's own
validation and test frames.

    C="--dataset ethanol --budget 250ccsd --ratio 40 --validation 50 --test 500 --seeds 3 --preset paper --out runs/tta"
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_time_to_accuracy.py --method asteroid --seed 0 \\
        --branches 10,20,40 --curves benchmarks/results/time_to_accuracy -- $C
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_time_to_accuracy.py --method standard --seed 0 \\
        --curves benchmarks/results/time_to_accuracy -- $C

Everything after `--` is `acquire compare`'s own arguments: the run trains in the comparison's layout
with the comparison's frames, config and thread count, as `benchmarks/compare_runs.py` trains it.

A point is scored at the first epoch of every stage and whenever the stage's CPU time (without the
scoring itself) has grown by `--factor` since its last point; a point's `cpu_s` is the run's. The model scored is
the one the run would keep if it stopped there: the best-validated weights of a stage with
validation, else its EMA (or current) weights. Force MAE in kcal/mol/Å over atoms and components,
energy MAE in kcal/mol. The test frames are only scored, never used to choose anything.

`--branches E1,E2,...` (ASTEROID, a pretraining with a constant learning rate and no warm-up, whose
first E epochs are exactly an E-epoch pretraining): the pretraining's state is saved at those epochs,
and after the run each is fine-tuned as its own run (`RUN-pretrainE`, the same config with an
E-epoch pretraining), its curve continuing from the pretraining's CPU time at E; `--branch-only E`
fine-tunes one branch in another process as soon as its state is saved (a lock file keeps two
processes off one branch). One curve file per run: `CURVES/<preset>_<method>[_pretrainE]_seed<S>.json`
(settings, versions, load averages, points, final metrics; a branch's holds its fine-tuning points and
names the run's curve, whose pretraining points up to E are its start). `time_to_accuracy_report.py`
draws them and tabulates CPU-minutes to each accuracy.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Curve:
    """The monitor: scores the kept model at log-spaced points of the run's CPU time and saves the
    pretraining's state at the branch epochs."""

    def __init__(self, validation: list, test: list, config, factor: float, branches: dict[int, Path],
                 spent: dict[str, float] | None = None) -> None:
        self.validation, self.test, self.config, self.factor = validation, test, config, factor
        self.branches = branches
        self.stage_cpu: dict[str, float] = dict(spent or {})  # CPU seconds of each stage so far
        self.points: list[dict] = []
        self.next_s = 0.0
        self.scratch: dict[str, object] = {}

    def cpu_s(self) -> float:
        return sum(self.stage_cpu.values())

    def __call__(self, label: str, state) -> None:
        first = label not in self.stage_cpu
        self.stage_cpu[label] = state.result.cpu_seconds
        if label.startswith("pretrain") and state.epoch in self.branches:
            self._save_branch(label, state)
        if first or state.result.cpu_seconds >= self.next_s:  # log-spaced within each stage
            self.points.append({"cpu_s": round(self.cpu_s(), 2), "stage": label, "epoch": state.epoch,
                                **self._score(label, state)})
            self.next_s = state.result.cpu_seconds * self.factor

    def _score(self, label: str, state) -> dict[str, float]:
        from train.evaluate import evaluate

        source = state.ema if state.ema is not None else state.model
        if label not in self.scratch:
            self.scratch[label] = copy.deepcopy(source)
        model = self.scratch[label]
        model.load_state_dict(state.best if state.best is not None else source.state_dict())
        c = self.config
        scores = {}
        for split, graphs in (("val", self.validation), ("test", self.test)):
            m = evaluate(model, graphs, c.rho, c.loss, c.eval_batch_size, c.energy_per_atom)
            scores[f"{split}_force_mae"] = round(m["force_mae"], 5)
            scores[f"{split}_energy_mae"] = round(m["energy_mae"], 5)
        return scores

    def _save_branch(self, label: str, state) -> None:
        import torch

        path = self.branches[state.epoch] / "stages" / f"{label}.state.pt"
        if not path.exists() and not path.with_name(f"{label}.pt").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(state.state_dict(), path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)


def branch_config(config, epochs: int):
    """`config` with an `epochs`-epoch pretraining (no step minimum)."""
    from train.config import with_stage

    return with_stage(config, "pretrain", epochs=epochs, min_steps=0)


def check_branchable(config, branches: list[int]) -> None:
    """Branches are exact only where the first E epochs of the pretraining are an E-epoch pretraining,
    and their curves simple only with one weighting (one pretraining, one fine-tuning)."""
    stage = config.pretrain
    if branches and (stage.schedule != "constant" or stage.warmup_epochs or len(config.weightings()) != 1):
        sys.exit(f"bench_time_to_accuracy: error: --branches needs one weighting and a constant-rate pretraining "
                 f"without warm-up (this run: {len(config.weightings())} weightings, {stage.schedule} schedule, "
                 f"{stage.warmup_epochs} warm-up epochs)")


def branch_start(run_dir: Path, branch_dir: Path, stage_cpu: dict[str, float]) -> dict[str, float]:
    """A branch's CPU seconds before its fine-tuning: the run's stages before pretraining (their
    finished files copied into the branch, not trained again) and each pretraining's saved state."""
    import shutil

    import torch

    spent = {}
    for label, seconds in stage_cpu.items():
        if not label.startswith(("pretrain", "finetune")):
            shutil.copy2(run_dir / "stages" / f"{label}.pt", branch_dir / "stages" / f"{label}.pt")
            spent[label] = seconds
    for state in (branch_dir / "stages").glob("pretrain*.state.pt"):
        spent[state.name.removesuffix(".state.pt")] = torch.load(state, weights_only=False)["cpu_seconds"]
    return spent


def train_with_curve(method: str, frames, config, run_dir: Path, curve: Curve) -> dict:
    from acquire.training import train_method

    return train_method(method, frames, config, run_dir, monitor=curve).metrics


def write_curve(path: Path, curve: Curve, metrics: dict, about: dict) -> None:
    from train.checkpoint import versions

    final = {split: metrics[split] for split in ("validation", "test")}
    last = {"cpu_s": round(metrics["cpu_seconds"], 2), "stage": "final", "epoch": None,
            **{f"{short}_{k}": round(final[split][k], 5) for short, split in (("val", "validation"), ("test", "test"))
               for k in ("force_mae", "energy_mae")}}  # the run's model: what it ships
    document = {**about, "points": [*curve.points, last], "final": final, "cpu_seconds": metrics["cpu_seconds"],
                "stage_cpu_seconds": metrics["stage_cpu_seconds"], "load_average_end": os.getloadavg(),
                "config": metrics["config"], "versions": versions(),
                "units": {"cpu_s": "s", "force_mae": "kcal/mol/Å", "energy_mae": "kcal/mol"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{path}: {len(curve.points)} points, final test force MAE {final['test']['force_mae']:.4f} kcal/mol/Å "
          f"after {metrics['cpu_seconds'] / 60:.1f} CPU-min", file=sys.stderr)


def run_branch(epochs: int, context: dict) -> None:
    """Fine-tune from the pretraining saved at `epochs` as its own run and write its curve (skipped
    when another process has it: its lock file exists)."""
    run_dir, curves, name = context["run_dir"], context["curves"], context["name"]
    branch_dir = run_dir.with_name(f"{run_dir.name}-pretrain{epochs}")
    if not any((branch_dir / "stages").glob("pretrain*.state.pt")) and not any((branch_dir / "stages").glob("pretrain*.pt")):
        sys.exit(f"bench_time_to_accuracy: error: no pretraining state saved at epoch {epochs} in {branch_dir} "
                 "(run the run itself with --branches first)")
    try:
        (branch_dir / "curve.lock").open("x").close()
    except FileExistsError:
        print(f"{branch_dir}: another process fine-tunes it (curve.lock)", file=sys.stderr)
        return
    spent = branch_start(run_dir, branch_dir, context["stage_cpu"])
    branch = Curve(*context["graphs"], context["config"], context["factor"], {}, spent)
    context["store_record"](branch_dir)
    metrics = train_with_curve(context["trainer"], context["frames"], branch_config(context["config"], epochs), branch_dir, branch)
    write_curve(curves / f"{name}_pretrain{epochs}_seed{context['seed']}.json", branch, metrics,
                {**context["about"], "pretrain_epochs": epochs, "run": str(branch_dir),
                 "branch_of": f"{name}_seed{context['seed']}.json"})


def main() -> None:
    from acquire.cli.compare import settings_from
    from acquire.cli.main import parse_args
    from acquire.compare.methods import METHODS, RunInputs, run_frames
    from acquire.compare.runner import prepare, store_record

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", required=True, choices=("standard", "asteroid"))
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--branches", default="", help="ASTEROID: pretraining epochs to fine-tune from as well, e.g. 10,20,40")
    p.add_argument("--branch-only", type=int, default=None, metavar="E",
                   help="only fine-tune the branch at pretraining epoch E (saved by a run with --branches)")
    p.add_argument("--factor", type=float, default=1.2, help="CPU-time growth between two scored points (default 1.2)")
    p.add_argument("--curves", type=Path, required=True, help="folder of the curve files")
    p.add_argument("compare", nargs=argparse.REMAINDER, help="-- then acquire compare's arguments")
    args = p.parse_args()
    branches = sorted({int(e) for e in args.branches.split(",") if e.strip()} | ({args.branch_only} - {None}))
    compare_args = parse_args(["compare", *[a for a in args.compare if a != "--"]])
    settings = settings_from(compare_args)
    out = Path(compare_args.out)
    prepared = prepare(settings, out, lambda line: print(line, file=sys.stderr))
    run = next(r for r in prepared.runs if r.seed == args.seed and r.method == args.method)
    config, run_dir = prepared.config(run), out / run.dir
    if branches and args.method != "asteroid":
        sys.exit("bench_time_to_accuracy: error: --branches is for ASTEROID (its pretraining)")
    check_branchable(config, branches)
    method = METHODS[run.method]
    frames = run_frames(RunInputs(prepared.labels, prepared.indices(run), config, run_dir), method)
    import torch

    from train.graph import to_data_list

    dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
    graphs = tuple(to_data_list(f, config.model.cutoff, dtype) for f in (frames.validation, frames.test))
    about = {"method": args.method, "seed": args.seed, "preset": settings.preset, "run": str(run_dir),
             "command": " ".join(sys.argv), "threads": config.threads, "factor": args.factor,
             "load_average_start": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    name = f"{settings.preset}_{args.method}"
    context = {"run_dir": run_dir, "curves": args.curves, "name": name, "seed": args.seed, "graphs": graphs,
               "config": config, "factor": args.factor, "trainer": method.trainer, "frames": frames, "about": about,
               "store_record": lambda d: store_record(d, prepared.record(run)), "stage_cpu": {}}
    if args.branch_only is not None:
        if config.bias_weights and not (args.curves / f"{name}_seed{args.seed}.json").exists():
            sys.exit("bench_time_to_accuracy: error: --branch-only with a bias model needs the run's curve file "
                     "(the bias stage's CPU time)")
        context["stage_cpu"] = json.loads((args.curves / f"{name}_seed{args.seed}.json").read_text())["stage_cpu_seconds"] \
            if (args.curves / f"{name}_seed{args.seed}.json").exists() else {}
        run_branch(args.branch_only, context)
        return
    store_record(run_dir, prepared.record(run))
    dirs = {e: run_dir.with_name(f"{run_dir.name}-pretrain{e}") for e in branches}
    curve = Curve(*graphs, config, args.factor, dirs)
    metrics = train_with_curve(method.trainer, frames, config, run_dir, curve)
    write_curve(args.curves / f"{name}_seed{args.seed}.json", curve, metrics, about)
    context["stage_cpu"] = curve.stage_cpu
    for epochs in branches:
        run_branch(epochs, context)


if __name__ == "__main__":
    main()
