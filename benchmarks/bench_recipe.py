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
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def configured(preset_name: str, seed: int, settings: list[str]):
    """The preset with `--set` overrides applied."""
    import train

    config = train.preset(preset_name, seed=seed, progress=False)
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", required=True, help="a comparison's splits/seedK.json")
    p.add_argument("--method", choices=("standard", "asteroid"), required=True)
    p.add_argument("--preset", default="paper")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--n-accurate", type=int, default=None, help="default: 250 standard, 200 ASTEROID")
    p.add_argument("--n-inaccurate", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    import train
    from acquire.sources import frames_of
    from acquire.sources import load_source

    split = json.loads(Path(args.split).read_text())
    accurate = load_source(split["params"]["accurate"])
    inaccurate = load_source(split["params"]["inaccurate"])
    config = replace(configured(args.preset, split["seed"], args.set), threads=args.threads)
    n_acc = args.n_accurate or (250 if args.method == "standard" else 200)
    acc = frames_of(accurate, split["train_order"][:n_acc], "accurate")
    val = frames_of(accurate, split["validation"], "validation")
    test = frames_of(accurate, split["test"], "test")
    began = time.monotonic()
    if args.method == "standard":
        result = train.run_standard(acc, val, test, config, args.out)
    else:
        pool = frames_of(inaccurate, split["pool_order"][:args.n_inaccurate], "inaccurate")
        result = train.run_asteroid(acc, pool, val, test, config, args.out)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    m = result.metrics
    print(json.dumps({"method": args.method, "preset": args.preset, "set": args.set, "seed": split["seed"],
                      "n_accurate": n_acc, "test_force_mae": round(m["test"]["force_mae"], 4),
                      "test_energy_mae": round(m["test"]["energy_mae"], 4),
                      "val_force_mae": round(m["validation"]["force_mae"], 4),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                      "wall_s": round(time.monotonic() - began, 1)}))


if __name__ == "__main__":
    main()
