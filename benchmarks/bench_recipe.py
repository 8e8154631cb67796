"""Recipe experiments: one training method on one stored comparison split, with a preset and
overrides, reporting test force/energy MAE and the CPU time it took (the lab notebook's driver).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_recipe.py --split benchmarks/results/compare_ethanol_paper/splits/seed0.json \
        --method standard --preset paper --set standard.epochs=100 --set rho=1e-4 --out /tmp/r1

`--set` takes `FIELD=VALUE` for a top-level config field, `STAGE.FIELD=VALUE` for a stage
(standard, bias, pretrain, finetune_stage) and `model.FIELD=VALUE`; values are JSON (1e-4, true,
"plateau"). The frames are those `acquire compare --dataset ethanol --budget 250ccsd --ratio 40`
trains on for that split: standard on the first 250 training frames, ASTEROID on the first 200
plus the first 2000 pool frames. Prints one JSON line: the overrides, test MAEs (kcal/mol,
kcal/mol/Å), validation force MAE, CPU seconds of this process and wall seconds.

`--run DIR` takes instead a finished `acquire compare` run (DIR/split.json and DIR/config.json: its
frames, test source included, and its exact training config, `--set` applied on top), for any data
set or store; `--reuse bias,pretrain_g1` copies those finished stages from DIR, so that a fine-tuning
experiment does not pay for the pretraining again (only valid when `--set` leaves them unchanged;
`--stages-from DIR` copies them from another experiment's `--out` on the same frames, and an item
`NAME=DIR` copies that stage from DIR):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_recipe.py --run runs/demo/runs/250ccsd_r40/asteroid/seed0 \
        --reuse bias,pretrain_g1 --set finetune_stage.epochs=200 --out /tmp/ft200
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def configured(preset_name: str, seed: int, settings: list[str]):
    """The preset with `--set` overrides applied."""
    import train

    return apply(train.preset(preset_name, seed=seed, progress=False), settings)


def apply(config, settings: list[str]):
    """`config` with `--set` overrides applied."""
    import train

    for item in settings:
        key, _, raw = item.partition("=")
        value = json.loads(raw) if raw[:1] not in "abcdefghijklmnopqrstuvwxyz" else raw
        if key.startswith("model."):
            config = train.with_model(config, **{key[6:]: value})
        elif "." in key:
            stage, field = key.split(".", 1)
            config = train.with_stage(config, stage, **{field: value})
        else:
            config = replace(config, **{key: tuple(value) if isinstance(value, list) else value})
    return config


def from_run(run_dir: Path, settings: list[str], reuse: list[str], out: Path, stages_from: Path | None = None,
             more_inaccurate: tuple[str, ...] = (), energy_only: int = 0, energy_only_file: Path | None = None):
    """The frames, method and config of a finished comparison run, with `settings` applied and the
    SRCs `more_inaccurate` added to its pretraining; the `reuse` stages copied into `out` from
    `stages_from` (default `run_dir`); with `energy_only`, that many accurate frames of the
    training source outside the split as energy-only labels (`frames['energy_only']`), or with
    `energy_only_file` the energies of an extxyz file's frames (`bench_stretch_labels.py`)."""
    import shutil

    import train
    from acquire.sources import extra_frames, followed_by, frames_of, load_source

    split = json.loads((run_dir / "split.json").read_text())
    params = json.loads((run_dir.parents[3] / "splits" / f"seed{split['seed']}.json").read_text())["params"]
    accurate = load_source(split["accurate"])
    source_rows = len(accurate.energies)  # the rows before any test source
    if params.get("test_source"):  # test frames follow the accurate source's own rows
        accurate = followed_by(accurate, load_source(params["test_source"]))
    config = train.TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    config = apply(config, settings)
    frames = {name: frames_of(accurate, split[name], name) for name in ("train", "validation", "test")}
    pool = None
    if split.get("inaccurate_indices"):
        pool = frames_of(_inaccurate(split, params, run_dir.parents[3]), split["inaccurate_indices"], "inaccurate")
        extra = extra_frames([*split.get("extra_inaccurate", []), *more_inaccurate], accurate, split["test"])
        pool = [pool, *extra] if extra else pool
    if energy_only:  # accurate rows outside this run's split, in a seeded order, energies only
        used = set(split["train"]) | set(split["validation"]) | set(split["test"])
        free = [i for i in np.random.default_rng(split["seed"]).permutation(source_rows) if i not in used]
        if len(free) < energy_only:
            raise SystemExit(f"--energy-only {energy_only}: only {len(free)} accurate frames outside the split")
        frames["energy_only"] = replace(frames_of(accurate, free[:energy_only], "energy_only"), forces=None)
    if energy_only_file is not None:
        from ase.io import read

        labelled = read(str(energy_only_file), index=":")
        frames["energy_only"] = train.Frames(np.array([a.positions for a in labelled]), labelled[0].numbers,
                                             np.array([a.get_potential_energy() for a in labelled]), None,
                                             name="energy_only")
    (out / "stages").mkdir(parents=True, exist_ok=True)
    for item in reuse:  # NAME (from stages_from or run_dir) or NAME=DIR (from DIR)
        stage, _, source = item.partition("=")
        source_dir = Path(source) if source else stages_from or run_dir
        shutil.copy(source_dir / "stages" / f"{stage}.pt", out / "stages" / f"{stage}.pt")
    return frames, pool, config


def _inaccurate(split: dict, params: dict, folder: Path):
    """The comparison's inaccurate labels: a SRC, or a computing labeler's pool labels in its labels.db."""
    from acquire.compare.pool import STORE, computes_labels, pool_frames, stored_labels, unlabeled_pool
    from acquire.sources import load_source

    if not computes_labels(split["inaccurate"]):
        return load_source(split["inaccurate"])
    frames = pool_frames(params["pool"])
    return stored_labels(folder / STORE, split["inaccurate"], frames, unlabeled_pool(split["inaccurate"], frames),
                         split["inaccurate_indices"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", help="a comparison's splits/seedK.json (embedded ethanol)")
    p.add_argument("--run", type=Path, help="a finished comparison run directory (any data)")
    p.add_argument("--reuse", default="", help="with --run: finished stages to copy, e.g. bias,pretrain_g1 "
                   "(NAME=DIR: from DIR)")
    p.add_argument("--stages-from", type=Path, help="with --reuse: the run directory to copy them from (default --run)")
    p.add_argument("--extra-inaccurate", action="append", default=[], metavar="SRC",
                   help="with --run: further cheap labels for the pretraining, as `acquire compare --extra-inaccurate`")
    p.add_argument("--energy-only", type=int, default=0, metavar="N",
                   help="with --run: N accurate frames outside the split as energy-only labels in the fine-tuning")
    p.add_argument("--energy-only-file", type=Path, default=None, metavar="EXTXYZ",
                   help="with --run: the energies of these frames as energy-only labels in the fine-tuning")
    p.add_argument("--method", choices=("standard", "asteroid"), help="with --split (--run: the run's own)")
    p.add_argument("--preset", default="paper")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--n-accurate", type=int, default=None,
                   help="default: 250 standard, 200 ASTEROID (--run: the first N of the run's training frames)")
    p.add_argument("--n-inaccurate", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    import train
    from acquire.sources import frames_of, load_source

    if (args.split is None) == (args.run is None):
        p.error("give --split (with --method) or --run")
    began = time.monotonic()
    if args.run is not None:
        frames, pool, config = from_run(args.run, args.set, [s for s in args.reuse.split(",") if s], Path(args.out),
                                         args.stages_from, tuple(args.extra_inaccurate), args.energy_only,
                                         args.energy_only_file)
        config = replace(config, threads=args.threads, progress=False)
        acc, val, test = frames["train"], frames["validation"], frames["test"]
        if args.n_accurate:
            acc = acc.subset(range(args.n_accurate))
        args.method, args.preset, n_acc = ("asteroid" if pool is not None else "standard"), "run", len(acc)
        seed = config.seed
    else:
        if args.method is None:
            p.error("--split needs --method")
        frames = {}
        split = json.loads(Path(args.split).read_text())
        accurate = load_source(split["params"]["accurate"])
        inaccurate = load_source(split["params"]["inaccurate"])
        config = replace(configured(args.preset, split["seed"], args.set), threads=args.threads)
        seed = split["seed"]
        n_acc = args.n_accurate or (250 if args.method == "standard" else 200)
        acc = frames_of(accurate, split["train_order"][:n_acc], "accurate")
        val = frames_of(accurate, split["validation"], "validation")
        test = frames_of(accurate, split["test"], "test")
        if args.method == "asteroid":
            pool = frames_of(inaccurate, split["pool_order"][:args.n_inaccurate], "inaccurate")
    if args.method == "standard":
        result = train.run_standard(acc, val, test, config, args.out)
    else:
        result = train.run_asteroid(acc, pool, val, test, config, args.out, energy_only=frames.get("energy_only"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    m = result.metrics
    print(json.dumps({"method": args.method, "preset": args.preset, "set": args.set, "seed": seed,
                      "extra_inaccurate": args.extra_inaccurate, "energy_only": args.energy_only,
                      "energy_only_file": args.energy_only_file and str(args.energy_only_file),
                      "n_accurate": n_acc, "test_force_mae": round(m["test"]["force_mae"], 4),
                      "test_energy_mae": round(m["test"]["energy_mae"], 4),
                      "val_force_mae": round(m["validation"]["force_mae"], 4),
                      "stage_cpu_s": {k: round(v, 1) for k, v in m["stage_cpu_seconds"].items()},
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                      "wall_s": round(time.monotonic() - began, 1)}))


if __name__ == "__main__":
    main()
