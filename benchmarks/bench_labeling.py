"""Labeling throughput with real PySCF DFT labels of ethanol: local pool with 1 and 2 workers, and
Dask (scheduler + workers as local processes) against the local pool with the same worker count.

Each configuration labels the same N MD17 ethanol frames into a fresh store through
`acquire.labeling.engine.label_frames`, after one warm-up label per worker (process start and the PySCF
import are not throughput). Prints a table; `--out` also writes it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_labeling.py --n 8 --out benchmarks/results/labeling.txt
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def frames(n: int, offset: int = 0):
    from labelers import get_labeler

    return get_labeler("md17:ethanol/dft").frames()[offset:offset + n]


def warm_up(executor, spec: str, workers: int) -> None:
    """One label per worker so that every process has started and imported PySCF."""
    futures = [executor.submit(spec, atoms) for atoms in frames(workers, offset=1000)]
    for future in futures:
        future.result()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def timed(executor, spec: str, n: int, folder: Path, name: str, pids: list[int]) -> dict:
    from acquire.labeling.engine import label_frames
    from acquire.labeling.store import LabelStore
    from labelers import get_labeler

    labeler = get_labeler(spec)
    store = LabelStore(folder / f"{name}.db")
    cpu_before = cpu_seconds(pids)
    start = time.perf_counter()
    report = label_frames(store, labeler, frames(n), executor=executor)
    wall = time.perf_counter() - start
    cpu = cpu_seconds(pids) - cpu_before
    assert report.done == n, report
    return {"config": name, "labels": n, "wall_s": wall, "labels_per_min": 60 * n / wall,
            "worker_cpu_s_per_label": cpu / n, "cores_obtained": cpu / wall}


def worker_pids(parent: int) -> list[int]:
    """Worker processes under `parent` (not multiprocessing's resource tracker)."""
    import psutil

    return [p.pid for p in psutil.Process(parent).children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())]


def start_dask(folder: Path, workers: int, profiler: bool) -> tuple[list[subprocess.Popen], str]:
    """`dask scheduler` and `dask worker --nworkers N --nthreads 1` as processes on this machine;
    `profiler=False` turns off Dask's statistical profiler (it samples worker stacks every 10 ms)."""
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": str(profiler)}
    scheduler_file = folder / f"scheduler-{profiler}.json"
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(scheduler_file)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    while not scheduler_file.exists():
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", str(workers),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [worker, scheduler], address


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="labels per configuration (default 8)")
    parser.add_argument("--spec", default="pyscf:pbe/def2-svp", help="labeler (default pyscf:pbe/def2-svp)")
    parser.add_argument("--out", default=None, help="also write the table here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    from acquire.labeling.executors import DaskExecutor, LocalExecutor

    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for workers in (1, 2):
            executor = LocalExecutor(workers)
            try:
                warm_up(executor, args.spec, workers)
                rows.append(timed(executor, args.spec, args.n, folder, f"local-{workers}", worker_pids(os.getpid())))
            finally:
                executor.close()
        for profiler, name in ((True, "dask-2"), (False, "dask-2-np")):
            processes, address = start_dask(folder, 2, profiler)
            try:
                executor = DaskExecutor(address, timeout_s=30)
                while sum(executor._client.nthreads().values()) < 2:
                    time.sleep(0.2)
                warm_up(executor, args.spec, 2)
                rows.append(timed(executor, args.spec, args.n, folder, name, worker_pids(processes[0].pid)))
                executor.close()
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(timeout=30)
    load_after = os.getloadavg()
    base = {r["config"]: r for r in rows}
    speedup = base["local-1"]["wall_s"] / base["local-2"]["wall_s"]
    overhead = base["dask-2"]["wall_s"] / base["local-2"]["wall_s"] - 1
    efficiency = base["local-1"]["worker_cpu_s_per_label"] / base["local-2"]["worker_cpu_s_per_label"]
    cpu_overhead = base["dask-2"]["worker_cpu_s_per_label"] / base["local-2"]["worker_cpu_s_per_label"] - 1
    overhead_np = base["dask-2-np"]["wall_s"] / base["local-2"]["wall_s"] - 1
    cpu_overhead_np = base["dask-2-np"]["worker_cpu_s_per_label"] / base["local-2"]["worker_cpu_s_per_label"] - 1
    lines = [
        f"# acquire labeling benchmark: {args.spec}, MD17 ethanol frames, {args.n} labels per configuration",
        "# command: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_labeling.py " + " ".join(sys.argv[1:]),
        f"# machine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}; "
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (other jobs share these cores)",
        f"{'config':<10} {'labels':>6} {'wall s':>8} {'labels/min':>11} {'worker CPU s/label':>19} {'cores obtained':>15}",
        *(f"{r['config']:<10} {r['labels']:>6} {r['wall_s']:>8.1f} {r['labels_per_min']:>11.2f} "
          f"{r['worker_cpu_s_per_label']:>19.2f} {r['cores_obtained']:>15.2f}" for r in rows),
        f"speed-up 2 workers vs 1 (local pool): {speedup:.2f}x (target >= 1.8x)",
        f"  per core obtained (labels per worker-CPU-second, 2 vs 1): {efficiency:.2f} (1.00 = no engine overhead)",
        f"Dask (2 workers) vs local pool (2 workers) wall-time overhead: {100 * overhead:+.1f} % (target <= 5 %)",
        f"  worker CPU per label, Dask vs local: {100 * cpu_overhead:+.1f} %",
        f"Dask with its profiler off (dask-2-np) vs local pool: wall {100 * overhead_np:+.1f} %, "
        f"worker CPU per label {100 * cpu_overhead_np:+.1f} %",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
