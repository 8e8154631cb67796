"""CPU time per label with glibc's default malloc and with `train.allocator.keep_freed_memory()`
(what every label worker sets), in alternating fresh processes, so that the machine's load falls
on both alike.

    OMP_NUM_THREADS=1 python benchmarks/bench_allocator.py --spec 'pyscf:ccsd(t)/cc-pvdz;frozen=core' \
        --frames benchmarks/ethylene/pool.extxyz --labels 2 --rounds 3

Each process labels one warm-up frame (discarded), then `--labels` frames; the figure is its CPU
time (user + system, every thread) per label and its page faults per label. Prints one JSON document
with the load average before and after.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(spec: str, frames: str, start: int, labels: int, allocator: str) -> dict[str, float]:
    """CPU seconds and minor page faults per label of `labels` frames after one warm-up label."""
    from ase.io import read

    from labelers import get_labeler
    from train.allocator import keep_freed_memory

    if allocator == "keep":
        keep_freed_memory()
    labeler = get_labeler(spec)
    atoms = read(frames, index=f"{start}:{start + labels + 1}")
    labeler.label(atoms[0])
    before = resource.getrusage(resource.RUSAGE_SELF)
    for frame in atoms[1:]:
        labeler.label(frame)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s_per_label": cpu / labels, "system_s_per_label": (after.ru_stime - before.ru_stime) / labels,
            "page_faults_per_label": (after.ru_minflt - before.ru_minflt) / labels}


def _worker(args: tuple[str, str, int, int, str]) -> dict[str, float]:
    return measure(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--frames", required=True, help="extxyz of geometries to label")
    parser.add_argument("--labels", type=int, default=2, help="timed labels per process")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of processes (default, keep)")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    result: dict = {"spec": args.spec, "frames": args.frames, "load_average_before": os.getloadavg(), "rounds": []}
    for k in range(args.rounds):
        row = {}
        for allocator in ("default", "keep"):
            with context.Pool(1) as pool:
                work = (args.spec, args.frames, k * (args.labels + 1), args.labels, allocator)
                row[allocator] = pool.apply(_worker, (work,))
        result["rounds"].append(row)
        print(json.dumps(row), file=sys.stderr)
    result["load_average_after"] = os.getloadavg()
    default = [r["default"]["cpu_s_per_label"] for r in result["rounds"]]
    keep = [r["keep"]["cpu_s_per_label"] for r in result["rounds"]]
    result["median_cpu_s"] = {"default": statistics.median(default), "keep": statistics.median(keep)}
    result["ratio_default_over_keep"] = statistics.median(d / k for d, k in zip(default, keep))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
