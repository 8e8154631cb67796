"""Bond-stretched frames of one comparison run's pool, as an extxyz file for `--extra-inaccurate`
(the recipe experiments' way in; `acquire compare --stretched N` does the same inside a comparison).
What the frames are and how they are labelled: `acquire.labeling.stretched`.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/stretch_frames.py --run runs/paper3/runs/250ccsd_r40/asteroid/seed0 \
        --labeler xtb:gfn2 --frames 200 --stretch=-0.2:0.6 --store runs/exp8/labels.db --out runs/exp8/stretched_seed0.extxyz

`--run` is an ASTEROID run of `acquire compare` (its split.json names the inaccurate source and the
pool); the frames come from the pool's first `--frames` frames, so no test geometry is touched.
Prints one JSON line (the record of `stretched_frames`, without the per-frame list).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="an ASTEROID run directory of `acquire compare`")
    p.add_argument("--labeler", default="xtb:gfn2", help="the computing labeler of the moves")
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--stretch", default="-0.2:0.6", help="LOW:HIGH, Å (negative compresses)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--store", required=True, type=Path, help="label store for the cheap labels")
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    from acquire.labeling.stretched import Stretch, stretched_frames, write_extxyz
    from acquire.sources import load_source

    low, high = (float(x) for x in args.stretch.split(":"))
    split = json.loads((args.run / "split.json").read_text())
    rows = split["inaccurate_indices"][:args.frames]
    arrays, record = stretched_frames(load_source(split["inaccurate"]), rows, Stretch(args.frames, args.labeler, low, high),
                                      args.seed, args.store)
    write_extxyz(arrays, args.out)
    print(json.dumps({"out": str(args.out), "source": split["inaccurate"],
                      **{k: v for k, v in record.items() if k != "frames_made"}}))


if __name__ == "__main__":
    main()
