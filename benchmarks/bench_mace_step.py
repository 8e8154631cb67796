"""Training-step throughput: the project's MACE step against mace-torch's own (`mace.tools.train.take_step`)
on the same batch of ethanol configurations, in one run, interleaved, best of `--repeats`.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mace_step.py [--batch 10] [--threads 1] [--max-ell 2]
        [--correlation 3] [--reduced-cg]

Both sides: the same MACE (32 x 0e + 32 x 1o, 2 interactions, 8 Bessel functions, correlation 3 or
`--correlation`, polynomial envelope of order 5 and the full Clebsch-Gordan basis as mace-torch's
command line builds it, or its reduced basis with `--reduced-cg`, r_max 5 Å, H C O one-hot),
float32, Adam; a step = collate the batch, energies and forces (forces by autograd through the
positions), the energy + force loss, backward, optimiser step. Ours: `train.graph.collate` +
`train.losses.weighted_loss` on `Potential(MACENet)`. mace-torch's: its `Batch.from_data_list` of
`AtomicData` + `take_step` with `WeightedEnergyForcesLoss(10, 1000)`
on `ScaleShiftMACE`. Prints configurations per second of each and the ratio ours / mace-torch's.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ELEMENTS = (1, 6, 8)


def ours(frames, max_ell: int, correlation: int, reduced_cg: bool, lr: float):
    from train.config import ModelConfig
    from train.graph import collate, to_data_list
    from train.losses import weighted_loss
    from train.models import build_model

    config = ModelConfig(name="mace", hidden=32, layers=2, rbf=8, cutoff=5.0, max_ell=max_ell, correlation=correlation,
                         elements=ELEMENTS, neighbours=8.0, reduced_cg=reduced_cg)
    model = build_model(config)
    model.set_scale(float(np.sqrt(np.mean(frames.forces**2))))
    graphs = to_data_list(frames, 5.0, torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, amsgrad=True)
    model.train()

    def step() -> None:
        batch = collate(graphs)
        optimizer.zero_grad(set_to_none=True)
        loss = weighted_loss(model, batch, 1e-3, "mse")
        loss.backward()
        optimizer.step()

    return step


def theirs(frames, max_ell: int, correlation: int, reduced_cg: bool, lr: float):
    from ase import Atoms

    with contextlib.redirect_stdout(io.StringIO()):
        from e3nn import o3
        from mace import data, modules, tools
        from mace.tools import torch_geometric
        from mace.tools.train import take_step

    table = tools.AtomicNumberTable(list(ELEMENTS))
    keys = data.KeySpecification(info_keys={"energy": "REF_energy"}, arrays_keys={"forces": "REF_forces"})
    items = []
    for i in range(len(frames)):
        atoms = Atoms(numbers=frames.numbers, positions=frames.positions[i])
        atoms.info["REF_energy"], atoms.arrays["REF_forces"] = float(frames.energies[i]), frames.forces[i]
        items.append(data.AtomicData.from_config(data.config_from_atoms(atoms, keys), z_table=table, cutoff=5.0))
    model = modules.ScaleShiftMACE(
        r_max=5.0, num_bessel=8, num_polynomial_cutoff=5, max_ell=max_ell, use_reduced_cg=reduced_cg,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticInteractionBlock"],
        num_interactions=2, num_elements=len(ELEMENTS), hidden_irreps=o3.Irreps("32x0e + 32x1o"),
        MLP_irreps=o3.Irreps("16x0e"), atomic_energies=np.zeros(len(ELEMENTS)), avg_num_neighbors=8.0,
        atomic_numbers=list(ELEMENTS), correlation=correlation, gate=torch.nn.functional.silu, radial_MLP=[64, 64, 64],
        atomic_inter_scale=float(np.sqrt(np.mean(frames.forces**2))), atomic_inter_shift=0.0,
    )
    loss_fn = modules.WeightedEnergyForcesLoss(energy_weight=10.0, forces_weight=1000.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, amsgrad=True)
    output_args = {"forces": True, "virials": False, "stress": False}
    model.train()

    def step() -> None:
        batch = torch_geometric.Batch.from_data_list(items)
        take_step(model, loss_fn, batch, optimizer, None, output_args, None, torch.device("cpu"))

    return step


def rate(step, batch: int, seconds: float) -> float:
    """Configurations per second over about `seconds` of steps."""
    began, steps = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        step()
        steps += 1
    return batch * steps / (time.perf_counter() - began)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-ell", type=int, default=2)
    p.add_argument("--correlation", type=int, default=3)
    p.add_argument("--reduced-cg", action="store_true", help="the reduced Clebsch-Gordan basis (both sides)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from labelers.datasets import load_md17
    from train.frames import Frames

    md17 = load_md17("ethanol", "ccsd(t)")
    frames = Frames(md17.positions[:args.batch], md17.numbers, md17.energies[:args.batch], md17.forces[:args.batch])
    settings = (args.max_ell, args.correlation, args.reduced_cg, 1e-3)  # model and learning rate
    steps = {"ours": ours(frames, *settings), "mace-torch": theirs(frames, *settings)}
    for step in steps.values():  # warm-up
        rate(step, args.batch, 1.0)
    best = {name: 0.0 for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            best[name] = max(best[name], rate(step, args.batch, args.seconds))
    print(json.dumps({"configs_per_s": {k: round(v, 1) for k, v in best.items()},
                      "ratio_ours_over_mace": round(best["ours"] / best["mace-torch"], 3),
                      "batch": args.batch, "threads": args.threads, "max_ell": args.max_ell,
                      "correlation": args.correlation, "reduced_cg": args.reduced_cg,
                      "load_average": os.getloadavg(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
