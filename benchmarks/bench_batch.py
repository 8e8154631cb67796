"""Training throughput by batch size and by how many runs share the machine: configurations per
second of the project's full training step (collate, energies and forces by autograd, the energy +
force loss, backward, AMSGrad step) for a preset's model (or `--model NAME` at its default size) on embedded ethanol.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_batch.py --preset quick --batches 10,32,100 --concurrent 1,2

With `--concurrent 2` two processes measure at once (what `acquire compare --jobs 2` does); the
figure is per process. `--allocators default,keep` measures each batch with glibc's default malloc
and with freed memory kept (`train.allocator`, what every training stage sets), alternating processes. Best of `--repeats` timings of `--seconds` each; one torch thread per process.
Prints one JSON document (with the load average before the run).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def throughput(preset: str, architecture: str | None, batch: int, seconds: float, repeats: int,
               allocator: str = "keep") -> float:
    """Best configurations per second of training steps at `batch`."""
    import numpy as np
    import torch

    from train.allocator import keep_freed_memory

    if allocator == "keep":
        keep_freed_memory()

    from labelers.datasets import load_md17
    from train.config import default_model
    from train.config import preset as make_preset
    from train.frames import Frames
    from train.graph import collate, to_data_list
    from train.losses import weighted_loss
    from train.models import build_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = make_preset(preset)
    data = load_md17("ethanol", "ccsd(t)")
    frames = Frames(data.positions[:batch], data.numbers, data.energies[:batch], data.forces[:batch], name="bench")
    model_config = config.model if architecture is None else default_model(architecture)
    if model_config.name == "mace":
        from dataclasses import replace

        model_config = replace(model_config, elements=(1, 6, 8), neighbours=8.0)
    model = build_model(model_config)
    model.set_scale(float(np.sqrt(np.mean(frames.forces**2))))
    graphs = to_data_list(frames, model_config.cutoff, torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = weighted_loss(model, collate(graphs), config.rho, config.loss)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    best = 0.0
    for _ in range(repeats):
        steps, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            step()
            steps += 1
        best = max(best, steps * batch / (time.perf_counter() - began))
    return best


def _worker(args: tuple[str, str | None, int, float, int, str]) -> float:
    return throughput(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--model", default=None, help="another architecture at its default size (train.default_model)")
    parser.add_argument("--batches", default="10,32,100")
    parser.add_argument("--concurrent", default="1,2", help="processes measuring at once")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--allocators", default="keep", help="default (glibc's), keep (train.allocator), or both")
    args = parser.parse_args()
    result = {"preset": args.preset, "model": args.model, "load_average": os.getloadavg(), "threads": 1, "rows": []}
    context = multiprocessing.get_context("spawn")
    for concurrent in (int(c) for c in args.concurrent.split(",")):
        for batch in (int(b) for b in args.batches.split(",")):
            for allocator in args.allocators.split(","):
                with context.Pool(concurrent) as pool:
                    work = (args.preset, args.model, batch, args.seconds, args.repeats, allocator)
                    rates = pool.map(_worker, [work] * concurrent)
                row = {"batch": batch, "concurrent": concurrent, "allocator": allocator,
                       "configs_per_s_each": [round(r, 1) for r in rates], "configs_per_s_total": round(sum(rates), 1)}
                result["rows"].append(row)
                print(json.dumps(row), file=sys.stderr)
    import torch

    result["torch"] = torch.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
