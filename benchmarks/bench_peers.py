"""Peer benchmark: mace-torch's own command line (`mace_run_train`) on exactly the frames of an
`acquire compare` seed, scored with the project's metric beside the project's own runs.

    OMP_NUM_THREADS=1 .venv/bin/acquire compare --dataset ethanol --budget 250ccsd --ratio 40 \
        --seeds 3 --preset paper --out runs/paper
    .venv/bin/python benchmarks/bench_peers.py --compare runs/paper --seeds 0,1,2 --out runs/peers

For each seed it writes the split's frames as extxyz (mace-torch's `REF_energy` / `REF_forces`
keys, eV and eV/Å): `train.xyz` (the standard run's 250 CCSD(T) frames), `train_acc.xyz` (the
ASTEROID run's 200), `val.xyz` (the comparison's validation frames), `test.xyz` (its test frames),
`dft_train.xyz` / `dft_val.xyz` (the ASTEROID run's DFT pool, the last 50 held out for
validation). Then it runs the recipes of the peer table (`--recipes`, default all; the table also
shows those an earlier call finished in `--out`):

- `std`: standard on the 250 CCSD(T) frames, 400 epochs;
- `ft`: naive pretrain-then-fine-tune: 40 epochs on the DFT frames, then `--foundation_model`
  with `--multiheads_finetuning False`, 200 epochs on the 200 CCSD(T) frames at lr 1e-3;

with the flags of the peer recipe (MACE 32x0e + 32x1o, max_L 1, correlation 3, r_max 5, batch 10,
lr 0.01, AMSGrad, EMA 0.99, forces weight 1000, energy weight 10, float32, `--threads` threads).
Each model is scored on `test.xyz` through `MACECalculator`, with the project's metric (force
MAE over atoms and components in kcal/mol/Å, energy MAE in kcal/mol). CPU minutes are those of
the child processes (user + system, all threads). The project's rows come from the comparison's
`metrics.json` files (test MAE on the same frames; CPU minutes from `cpu_seconds`). Writes
`peers.json` and `peers.md` (the table, per seed and mean ± spread) into `--out`. A rerun skips
what is done (per recipe, per seed).

`--curve` also writes `curve_RECIPE.json` per seed: the force MAE (kcal/mol/Å) on `val.xyz` and
`test.xyz` against the cumulative CPU seconds of the recipe's mace_run_train runs (for `ft`, counted
from the start of the pretraining), at log-spaced checkpoints (see `peer_curves.py`); its last row is the
recipe's final model. Training is unchanged (`--keep_checkpoints` only keeps the checkpoints);
the checkpoints are scored after training, outside the timed CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ase import units

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.peer_curves import curve_document, run_watched, write_curve  # noqa: E402

KCAL_MOL = units.kcal / units.mol  # eV per kcal/mol, as the project scores its own models
COMMON = ["--E0s", "average", "--energy_key", "REF_energy", "--forces_key", "REF_forces", "--device", "cpu",
          "--default_dtype", "float32", "--seed", "1", "--forces_weight", "1000", "--energy_weight", "10",
          "--amsgrad", "--ema", "--ema_decay", "0.99", "--batch_size", "10"]
MODEL = ["--model", "MACE", "--hidden_irreps", "32x0e + 32x1o", "--max_L", "1", "--correlation", "3", "--r_max", "5.0"]
RECIPES = ("std", "ft")
EPOCHS = {"train": 400, "pretrain": 40, "finetune": 200}  # per curve stage


def write_frames(path: Path, data, index: list[int]) -> None:
    """extxyz with REF_energy (eV) in info and REF_forces (eV/Å) in arrays."""
    from ase import Atoms
    from ase.io import write

    frames = []
    for i in index:
        atoms = Atoms(numbers=np.asarray(data.numbers).reshape(-1), positions=data.positions[i])
        atoms.info["REF_energy"] = float(data.energies[i])
        atoms.arrays["REF_forces"] = np.asarray(data.forces[i], dtype=float)
        frames.append(atoms)
    write(path, frames, format="extxyz")


def prepare(compare: Path, seed: int, work: Path) -> dict:
    """The seed's split files, from the comparison's stored run splits."""
    from acquire.sources import load_source

    runs = sorted((compare / "runs").glob(f"*/asteroid/seed{seed}/split.json"))
    std_runs = sorted((compare / "runs").glob(f"*/standard/seed{seed}/split.json"))
    if not runs or not std_runs:
        raise SystemExit(f"{compare}: no finished standard and asteroid runs for seed {seed}")
    ast, std = json.loads(runs[0].read_text()), json.loads(std_runs[0].read_text())
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "test.xyz").exists():
        accurate, inaccurate = load_source(ast["accurate"]), load_source(ast["inaccurate"])
        pool = ast["inaccurate_indices"]
        write_frames(work / "train.xyz", accurate, std["train"])
        write_frames(work / "train_acc.xyz", accurate, ast["train"])
        write_frames(work / "val.xyz", accurate, ast["validation"])
        write_frames(work / "dft_train.xyz", inaccurate, pool[:-50])
        write_frames(work / "dft_val.xyz", inaccurate, pool[-50:])
        write_frames(work / "test.xyz", accurate, ast["test"])
    return {"standard": runs[0].parent.parent.parent / "standard" / f"seed{seed}", "asteroid": runs[0].parent,
            "n_std": len(std["train"]), "n_acc": len(ast["train"]), "n_dft": len(ast["inaccurate_indices"]),
            "n_test": len(ast["test"])}


def mace_train(work: Path, name: str, args: list[str], threads: int, curve: bool = False) -> float | None:
    """Run `mace_run_train` in `work` (skipped when its model exists); return the CPU seconds it
    used, recorded in `NAME.cpu.json` (None for a model trained without that record). With
    `curve`, it keeps its checkpoints and the record holds the CPU seconds at each one."""
    work = work.resolve()  # mace_run_train runs in `work`: its output folders must not be relative
    record = work / f"{name}.cpu.json"
    if (work / name / "model" / f"{name}.model").exists():
        stored = json.loads(record.read_text()) if record.exists() else {}
        if curve and "checkpoints" not in stored:
            raise SystemExit(f"{work / name}: trained without --curve (its checkpoints are gone); give a new --out")
        return stored.get("cpu_seconds")
    dirs = []
    for kind in ("results", "checkpoints", "model", "log"):
        dirs += [f"--{kind}_dir", str(work / name / kind)]
    command = [str(Path(sys.executable).parent / "mace_run_train"), "--name", name, *args, *dirs, *COMMON,
               *(["--keep_checkpoints"] if curve else [])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    stored = {"threads": threads, "command": command[1:], "load_average_start": os.getloadavg()}
    with open(work / f"{name}.log", "w") as log:
        if curve:
            stored["checkpoints"] = run_watched(command, work, env, log, work / name / "checkpoints")
        else:
            subprocess.run(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    record.write_text(json.dumps({"cpu_seconds": cpu, **stored, "load_average_end": os.getloadavg()}))
    return cpu


def score(model, frames: Path) -> dict:
    """MAEs on `frames` of a mace-torch model (its file, or the module) with the project's metric
    (kcal/mol, kcal/mol/Å)."""
    import contextlib
    import io

    from ase.io import read

    with contextlib.redirect_stdout(io.StringIO()):
        from mace.calculators import MACECalculator

        source = {"model_paths": str(model.resolve())} if isinstance(model, Path) else {"models": model}
        calc = MACECalculator(**source, device="cpu", default_dtype="float32")
    structures = read(frames, index=":")
    warm = structures[0].copy()  # a process's first evaluation can differ from later ones in float32's last bit
    warm.calc = calc
    warm.get_forces()
    calc.reset()
    e_err, f_err = [], []
    for atoms in structures:
        e_ref, f_ref = atoms.info["REF_energy"], atoms.arrays["REF_forces"]
        atoms.calc = calc
        e_err.append(abs(atoms.get_potential_energy() - e_ref))
        f_err.append(np.abs(atoms.get_forces() - f_ref).ravel())
    return {"energy_mae": float(np.mean(e_err)) / KCAL_MOL, "force_mae": float(np.mean(np.concatenate(f_err))) / KCAL_MOL}


def recipe_runs(recipe: str, work: Path, model: list[str] = MODEL,
                epochs: dict[str, int] | None = None) -> list[tuple[str, str, list[str]]]:
    """(run name, curve stage, mace_run_train arguments) of each run of a recipe, in order;
    `epochs` (per stage) replaces the recipe's epochs, `model` its model flags (for a small test)."""
    epochs = {**EPOCHS, **(epochs or {})}
    if recipe == "std":
        return [("std", "train", ["--train_file", "train.xyz", "--valid_file", "val.xyz", *model, "--max_num_epochs",
                                  str(epochs["train"]), "--lr", "0.01", "--scheduler_patience", "10"])]
    return [("pre", "pretrain", ["--train_file", "dft_train.xyz", "--valid_file", "dft_val.xyz", *model,
                                 "--max_num_epochs", str(epochs["pretrain"]), "--lr", "0.01", "--scheduler_patience", "5"]),
            ("ft", "finetune", ["--foundation_model", str((work / "pre" / "model" / "pre.model").resolve()),
                                "--multiheads_finetuning", "False", "--train_file", "train_acc.xyz", "--valid_file",
                                "val.xyz", "--max_num_epochs", str(epochs["finetune"]), "--lr", "0.001",
                                "--scheduler_patience", "10"])]


def run_recipe(recipe: str, work: Path, threads: int, curve: float | None = None, model: list[str] = MODEL,
               epochs: dict[str, int] | None = None) -> dict:
    """Train one peer recipe in `work` (skipped if its result exists) and score it. With `curve` (the
    spacing factor), also write `curve_RECIPE.json`: the validation and test force MAE of the
    checkpoints, log-spaced in cumulative CPU time (see `peer_curves`)."""
    done = work / f"{recipe}.json"
    runs = recipe_runs(recipe, work, model, epochs)
    if done.exists():
        result = json.loads(done.read_text())
    else:
        began = time.monotonic()
        cpus = [mace_train(work, name, args, threads, curve is not None) for name, _, args in runs]
        last = runs[-1][0]
        cpu = None if None in cpus else sum(cpus) / 60
        result = {**score(work / last / "model" / f"{last}.model", work / "test.xyz"), "cpu_minutes": cpu,
                  "wall_minutes": (time.monotonic() - began) / 60}
        done.write_text(json.dumps(result))
    if curve is not None and not (work / f"curve_{recipe}.json").exists():
        records = [json.loads((work / f"{name}.cpu.json").read_text()) if (work / f"{name}.cpu.json").exists() else {}
                   for name, _, _ in runs]
        if any("checkpoints" not in record for record in records):
            raise SystemExit(f"{work}: {recipe} was trained without --curve (its checkpoints are gone); give a new --out")
        stages = [(name, stage, record) for (name, stage, _), record in zip(runs, records)]
        write_curve(work / f"curve_{recipe}.json", curve_document(recipe, work, stages, result, score, curve))
    return result


def ours(run_dir: Path) -> dict | None:
    """The project's run's test MAEs and CPU minutes; None while it is still training (the peer
    recipes may run beside it: a later call, which skips finished recipes, fills its row in)."""
    if not (run_dir / "metrics.json").exists():
        return None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cpu = metrics.get("cpu_seconds") or metrics["seconds"] * metrics["config"].get("threads", 1)
    return {"energy_mae": metrics["test"]["energy_mae"], "force_mae": metrics["test"]["force_mae"],
            "cpu_minutes": cpu / 60, "cpu_measured": "cpu_seconds" in metrics}


def _minutes(value: float | None) -> str:
    return "not recorded" if value is None else f"{value:.0f}"


def table(rows: dict[str, dict[int, dict]]) -> str:
    labels = {"standard": "project, standard (250 CCSD(T))", "asteroid": "project, ASTEROID (200 CCSD(T) + DFT)",
              "std": "mace_run_train, standard (250 CCSD(T), 400 epochs)",
              "ft": "mace_run_train, DFT pretrain 40 + fine-tune 200 (200 CCSD(T))"}
    seeds = sorted({s for per in rows.values() for s in per})
    lines = ["| recipe | " + " | ".join(f"seed {s} F / E / CPU min" for s in seeds) + " | mean F ± spread | mean E | mean CPU min |",
             "|---|" + "---|" * (len(seeds) + 3)]
    for name, per in rows.items():
        cells = [f"{per[s]['force_mae']:.3f} / {per[s]['energy_mae']:.3f} / {_minutes(per[s]['cpu_minutes'])}" if s in per
                 else "—" for s in seeds]
        f = np.array([r["force_mae"] for r in per.values()])
        e = np.array([r["energy_mae"] for r in per.values()])
        c = [r["cpu_minutes"] for r in per.values()]
        spread = f" ± {f.std(ddof=1):.3f}" if len(f) > 1 else ""
        mean_cpu = _minutes(None if None in c else float(np.mean(c)))
        lines.append(f"| {labels[name]} | " + " | ".join(cells) + f" | {f.mean():.3f}{spread} | {e.mean():.3f} | {mean_cpu} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compare", required=True, type=Path, help="an `acquire compare` output folder")
    p.add_argument("--seeds", default="0")
    p.add_argument("--recipes", default=",".join(RECIPES))
    p.add_argument("--threads", type=int, default=2, help="threads of each mace_run_train (the peer table used 2)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--curve", nargs="?", type=float, const=1.25, default=None, metavar="FACTOR",
                   help="also write curve_RECIPE.json per seed: validation and test force MAE against cumulative "
                        "CPU seconds, at checkpoints spaced by FACTOR in CPU time (default 1.25); a recipe trained "
                        "in --out without --curve is refused (its checkpoints are gone)")
    args = p.parse_args()
    recipes = [r for r in args.recipes.split(",") if r]
    unknown = set(recipes) - set(RECIPES)
    if unknown:
        raise SystemExit(f"unknown recipes {sorted(unknown)}; known: {', '.join(RECIPES)}")
    rows: dict[str, dict[int, dict]] = {"standard": {}, "asteroid": {}, **{r: {} for r in RECIPES}}
    for seed in (int(s) for s in args.seeds.split(",")):
        work = args.out / f"seed{seed}"
        info = prepare(args.compare, seed, work)
        for method in ("standard", "asteroid"):
            if (row := ours(info[method])) is not None:
                rows[method][seed] = row
        for recipe in recipes:
            print(f"seed {seed}: {recipe} ...", file=sys.stderr, flush=True)
            rows[recipe][seed] = run_recipe(recipe, work, args.threads, args.curve)
            print(f"seed {seed}: {recipe}: {rows[recipe][seed]}", file=sys.stderr, flush=True)
        for recipe in [r for r in RECIPES if r not in recipes]:  # finished by an earlier call: in the table too
            if (work / f"{recipe}.json").exists():
                rows[recipe][seed] = json.loads((work / f"{recipe}.json").read_text())
    from importlib.metadata import version

    document = {"compare": str(args.compare), "rows": {k: v for k, v in rows.items() if v}, "threads": args.threads, "host": platform.node(),
                "load_average": os.getloadavg(), "versions": {"mace-torch": version("mace-torch"), "torch": version("torch")}}
    (args.out / "peers.json").write_text(json.dumps(document, indent=1))
    md = table({k: v for k, v in rows.items() if v})
    (args.out / "peers.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
