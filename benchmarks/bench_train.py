"""Trainer benchmark: training throughput against a minimal plain-torch EGNN, and a quick
ASTEROID vs standard run on the embedded ethanol data (test force MAE, wall time).

    python benchmarks/bench_train.py                     # throughput + accuracy (about 15-25 min)
    python benchmarks/bench_train.py --skip-accuracy     # throughput only (about 1 min)

Throughput: configurations per second of full training steps (energy + forces by autograd, force
and energy loss, backward through the forces, Adam), EGNN 5 layers x 128, batch 10, float32, on
ethanol (9 atoms, all 72 pairs within the 5 Å cutoff), with 1 and 2 torch threads. The reference
is a minimal EGNN of the same size written directly on tensors (pre-stacked batches, no PyG, no
weights, no reference energies), measured in the same run, interleaved, best of `--repeats`.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from labelers.datasets import load_md17


class _RefLayer(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.edge = nn.Sequential(nn.Linear(2 * hidden + 1, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, h, src, dst, d2):
        m = self.edge(torch.cat([h[dst], h[src], d2], dim=-1))
        return h + self.node(torch.cat([h, torch.zeros_like(h).index_add(0, dst, m)], dim=-1))


class ReferenceEGNN(nn.Module):
    """Minimal plain-torch EGNN energy model (the comparison point)."""

    def __init__(self, hidden: int = 128, layers: int = 5) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, hidden)
        self.layers = nn.ModuleList(_RefLayer(hidden) for _ in range(layers))
        self.out = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, z, pos, src, dst, graph, n_graphs):
        d2 = ((pos[dst] - pos[src]) ** 2).sum(-1, keepdim=True)
        h = self.embed(z)
        for layer in self.layers:
            h = layer(h, src, dst, d2)
        return torch.zeros(n_graphs).index_add(0, graph, self.out(h).squeeze(-1))


def _reference_step_factory(positions, numbers, energies, forces, batch_size):
    model = ReferenceEGNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    k = positions.shape[1]
    i, j = np.nonzero(~np.eye(k, dtype=bool))
    offsets = np.arange(batch_size)[:, None] * k
    src = torch.as_tensor((j[None] + offsets).ravel())
    dst = torch.as_tensor((i[None] + offsets).ravel())
    graph = torch.arange(batch_size).repeat_interleave(k)
    z = torch.as_tensor(np.tile(numbers, batch_size))
    pos_all = torch.tensor(np.array(positions), dtype=torch.float32)
    e_all = torch.as_tensor(energies - energies.mean(), dtype=torch.float32)
    f_all = torch.as_tensor(forces, dtype=torch.float32)
    rng = np.random.default_rng(0)

    def step() -> int:
        pick = torch.as_tensor(rng.choice(len(pos_all), batch_size, replace=False))
        pos = pos_all[pick].reshape(-1, 3).requires_grad_(True)
        energy = model(z, pos, src, dst, graph, batch_size)
        (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
        loss = 1e-3 * ((energy - e_all[pick]) ** 2).mean() + ((-grad - f_all[pick].reshape(-1, 3)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return batch_size

    return step


def _ours_step_factory(positions, numbers, energies, forces, batch_size):
    from train import Frames, ModelConfig
    from train.graph import batches, to_data_list
    from train.losses import weighted_loss
    from train.models import build_model

    frames = Frames(positions, numbers, energies, forces)
    data = to_data_list(frames, 5.0)
    model = build_model(ModelConfig(name="egnn", hidden=128, layers=5))
    model.fit_reference(np.bincount(numbers, minlength=101)[None].astype(float), energies[:1])
    model.set_scale(float(np.sqrt(np.mean(forces**2))))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    state = {"it": iter(())}

    def step() -> int:
        batch = next(state["it"], None)
        if batch is None:
            state["it"] = batches(data, batch_size, True, generator)
            batch = next(state["it"])
        optimizer.zero_grad()
        weighted_loss(model, batch, 1e-3, "mse").backward()
        optimizer.step()
        return batch.num_graphs

    return step


def _rate(step, seconds: float) -> float:
    for _ in range(3):
        step()
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        done += step()
    return done / (time.perf_counter() - began)


def throughput(repeats: int, seconds: float) -> list[dict]:
    data = load_md17("ethanol", "ccsd(t)")
    args = (data.positions[:500], data.numbers, data.energies[:500], data.forces[:500], 10)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        ours, ref = _ours_step_factory(*args), _reference_step_factory(*args)
        best_ours = best_ref = 0.0
        for _ in range(repeats):  # interleaved: both see the same machine load
            best_ours = max(best_ours, _rate(ours, seconds))
            best_ref = max(best_ref, _rate(ref, seconds))
        rows.append({"threads": threads, "ours_configs_per_s": best_ours, "reference_configs_per_s": best_ref,
                     "ratio": best_ours / best_ref})
    torch.set_num_threads(1)
    return rows


def accuracy(out: Path, seed: int) -> dict:
    import train
    from train import Frames, preset

    ccsd, dft = load_md17("ethanol", "ccsd(t)"), load_md17("ethanol", "dft")
    f = lambda d, i: Frames(d.positions[i], d.numbers, d.energies[i], d.forces[i])  # noqa: E731
    order = np.random.default_rng(seed).permutation(len(ccsd))
    val, test = f(ccsd, order[250:300]), f(ccsd, order[300:])
    # DFT pool: frames that are not a test geometry (distance keys), 2000 drawn with the seed
    from labelers.datasets import match_frames

    allowed = np.flatnonzero(match_frames(dft.positions, ccsd.positions[order[300:]]) < 0)
    pool = np.random.default_rng([seed, 1]).choice(allowed, 2000, replace=False)
    config = preset("quick", seed=seed, progress=False)
    results = {}
    for method in ("standard", "asteroid"):
        began = time.perf_counter()
        if method == "standard":
            run = train.run_standard(f(ccsd, order[:250]), val, test, config, out / method)
        else:
            run = train.run_asteroid(f(ccsd, order[:200]), f(dft, pool), val, test, config, out / method)
        results[method] = {"test_force_mae": run.metrics["test"]["force_mae"],
                           "test_energy_mae": run.metrics["test"]["energy_mae"],
                           "val_force_mae": run.metrics["validation"]["force_mae"],
                           "gamma": run.metrics.get("gamma"), "train_seconds": run.metrics["seconds"],
                           "wall_seconds": time.perf_counter() - began}
    results["gain"] = 1 - results["asteroid"]["test_force_mae"] / results["standard"]["test_force_mae"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput measurement")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_train_runs"))
    args = parser.parse_args()
    print(f"# bench_train  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  torch {torch.__version__}  "
          f"{platform.processor() or platform.machine()}  load average {open('/proc/loadavg').read().split()[:3]}")
    print("## training throughput, EGNN 5x128, batch 10, float32, ethanol (configs/s, best of repeats)")
    print(f"{'threads':>7} {'ours':>10} {'reference':>10} {'ratio':>6}")
    for row in throughput(args.repeats, args.seconds):
        print(f"{row['threads']:>7} {row['ours_configs_per_s']:>10.1f} {row['reference_configs_per_s']:>10.1f} {row['ratio']:>6.2f}")
    if args.skip_accuracy:
        return
    print("## quick preset on embedded ethanol, seed", args.seed,
          "(standard: 250 CCSD(T); ASTEROID: 200 CCSD(T) + 2000 DFT; 50 validation; 700 test)")
    results = accuracy(args.out, args.seed)
    print(f"{'method':>9} {'test F MAE (kcal/mol/Å)':>24} {'test E MAE (kcal/mol)':>22} {'gamma':>6} {'wall s':>7}")
    for method in ("standard", "asteroid"):
        r = results[method]
        gamma = "-" if r["gamma"] is None else f"{r['gamma']:g}"
        print(f"{method:>9} {r['test_force_mae']:>24.3f} {r['test_energy_mae']:>22.3f} {gamma:>6} {r['wall_seconds']:>7.0f}")
    print(f"ASTEROID force MAE is {100 * results['gain']:.1f} % below standard")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
