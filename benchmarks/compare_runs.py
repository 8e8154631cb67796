"""Train some runs of an `acquire compare` command, in its own layout, without the rest: one
method and seed at a time (`--method`, `--seed`), or only the split files of a seed (`--splits-only`,
what `bench_peers.py` reads). A later `acquire compare ... --reuse OUT` (or the same `--out`) picks
the finished runs up; this is for experiments that share a core budget, not a second pipeline.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compare_runs.py --method asteroid --seed 1 -- \
        --dataset ethanol --budget 250ccsd --ratio 40 --validation 50 --test 500 --seeds 3 --preset paper --out runs/p
    .venv/bin/python benchmarks/compare_runs.py --splits-only --seed 2 -- <the same compare arguments>

Everything after `--` is `acquire compare`'s own arguments; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from acquire.cli.compare import settings_from
    from acquire.cli.main import parse_args
    from acquire.compare.runner import execute, prepare, store_record

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--method", help="the method whose runs to train (e.g. asteroid, standard)")
    p.add_argument("--splits-only", action="store_true", help="write every run's split.json of the seed, train nothing")
    p.add_argument("compare", nargs=argparse.REMAINDER, help="-- then acquire compare's arguments")
    args = p.parse_args()
    if args.method is None and not args.splits_only:
        p.error("give --method or --splits-only")
    compare_args = parse_args(["compare", *[a for a in args.compare if a != "--"]])  # --config applied
    settings = settings_from(compare_args)
    out = Path(compare_args.out)
    prepared = prepare(settings, out, lambda line: print(line, file=sys.stderr))
    for run in prepared.runs:
        if run.seed != args.seed or (args.method and run.method != args.method):
            continue
        if args.splits_only:
            store_record(out / run.dir, prepared.record(run))
        else:
            print(f"training {run.dir}", file=sys.stderr)
            execute(*prepared.job(run, out))
        print(out / run.dir)


if __name__ == "__main__":
    main()
