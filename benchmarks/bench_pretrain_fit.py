"""How well a pretrained model fits its own (inaccurate) fidelity: force MAE and RMSE of stage model
files on inaccurate frames outside the pool they were pretrained on, and on frames of that pool.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pretrain_fit.py \
        --run runs/paper2/runs/250ccsd_r40/asteroid/seed0 runs/exp7/A/stages/pretrain_uniform.pt

`--run` is a finished ASTEROID run of `acquire compare` (its `split.json` and `run.json` give
the inaccurate source, the pool and the network); each MODEL is a stage file (`stages/NAME.pt`)
trained with that network. Prints one JSON line per model: force MAE and RMSE in kcal/mol/Å on
`--frames` held-out frames (the source's first frames not in the pool) and on the pool's first
`--frames`. The pretraining stage has no validation set, so this is what says whether it is under-
or over-fitted.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def force_errors(model, frames, cutoff: float) -> dict[str, float]:
    """Force MAE and RMSE of `model` on `frames`, kcal/mol/Å."""
    from train.evaluate import KCAL_MOL, predict
    from train.graph import to_data_list

    _, forces = predict(model, to_data_list(frames, cutoff), 50)
    error = (forces - frames.forces) / KCAL_MOL
    return {"force_mae": round(float(np.abs(error).mean()), 4), "force_rmse": round(float(np.sqrt((error**2).mean())), 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="a finished ASTEROID run directory of `acquire compare`")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("models", nargs="+", type=Path, help="stage files, e.g. RUN/stages/pretrain_uniform.pt")
    args = p.parse_args()
    import torch

    import train
    from acquire.sources import frames_of, load_source
    from train.models import build_model

    torch.set_num_threads(1)
    split = json.loads((args.run / "split.json").read_text())
    config = train.TrainConfig.from_dict(json.loads((args.run / "run.json").read_text())["config"])  # as trained: elements set
    source = load_source(split["inaccurate"])
    pool = set(split["inaccurate_indices"])
    held_out = [i for i in range(len(source.energies)) if i not in pool][:args.frames]
    sets = {"held_out": frames_of(source, held_out, "held-out"),
            "pool": frames_of(source, split["inaccurate_indices"][:args.frames], "pool")}
    for path in args.models:
        model = build_model(config.model)
        model.load_state_dict(torch.load(path, weights_only=True)["state_dict"])
        print(json.dumps({"model": str(path), "source": split["inaccurate"], "frames": args.frames, "units": "kcal/mol/Å",
                          **{name: force_errors(model.eval(), frames, config.model.cutoff) for name, frames in sets.items()}}))


if __name__ == "__main__":
    main()
