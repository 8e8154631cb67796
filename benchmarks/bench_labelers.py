"""Per-label cost of each labeler backend on ethanol (MD17 frame 0), one thread: the labeler's
overhead over a bare PySCF call, and declared (code's scaling law, no calibration) vs measured.

    OMP_NUM_THREADS=1 python benchmarks/bench_labelers.py [--full] > benchmarks/results/labelers_ethanol.md

--full adds CCSD(T)/cc-pVDZ with forces (~6 min). Timings depend on the load of the machine: the
load average at the start and end is printed with the results.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

os.environ["ASTEROID_CALIBRATION"] = os.path.join(tempfile.mkdtemp(), "none.json")  # declared laws only

from ase import Atoms  # noqa: E402

from acquire.molecules import load_molecule  # noqa: E402
from labelers import get_labeler  # noqa: E402
from labelers.calibration import distorted_copies  # noqa: E402

# spec -> labels to time (median kept)
SPECS: dict[str, int] = {
    "pyscf:ccsd(t)/cc-pvdz;forces=false": 1,
    "pyscf:ccsd(t)/6-31g": 4,
    "pyscf:ccsd(t)/6-31g;forces=false": 1,
    "pyscf:ccsd(t)/sto-3g": 3,
    "pyscf:ccsd(t)/sto-3g;forces=false": 3,
    "pyscf:ccsd/cc-pvdz": 1,
    "pyscf:ccsd/cc-pvdz;forces=false": 1,
    "pyscf:mp2/cc-pvdz": 1,
    "pyscf:mp2/cc-pvdz;forces=false": 1,
    "pyscf:hf/cc-pvdz": 1,
    "pyscf:hf/cc-pvdz;forces=false": 1,
    "pyscf:pbe/def2-svp": 4,
    "pyscf:pbe/def2-svp;forces=false": 1,
    "xtb:gfn2": 21,
    "xtb:gfn1": 21,
    "openmm:gaff-2.11": 201,
}


def _mol(atoms: Atoms, basis: str):
    from pyscf import gto

    return gto.M(atom=[(s, tuple(p)) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                 basis=basis, verbose=0)


def bare_pbe(atoms: Atoms) -> None:
    """PBE/def2-SVP energy + gradient straight from PySCF (the labeler's defaults)."""
    from pyscf import dft

    mf = dft.RKS(_mol(atoms, "def2-svp"))
    mf.xc, mf.conv_tol = "pbe", 1e-9
    mf.kernel()
    mf.nuc_grad_method().kernel()


def bare_ccsd_t(atoms: Atoms) -> None:
    """CCSD(T)/6-31G energy + analytic gradient straight from PySCF (the labeler's defaults)."""
    from pyscf import cc, scf
    from pyscf.cc import ccsd_t_lambda
    from pyscf.grad import ccsd_t

    mf = scf.RHF(_mol(atoms, "6-31g"))
    mf.conv_tol = 1e-9
    mf.kernel()
    mycc = cc.CCSD(mf)
    mycc.conv_tol_normt = 1e-5
    mycc.kernel()
    eris = mycc.ao2mo()
    mycc.ccsd_t(eris=eris)
    _, l1, l2 = ccsd_t_lambda.kernel(mycc, eris, mycc.t1, mycc.t2, tol=1e-5, verbose=0)
    ccsd_t.Gradients(mycc).kernel(mycc.t1, mycc.t2, l1, l2, eris=eris)


BARE: dict[str, Callable[[Atoms], None]] = {"pyscf:pbe/def2-svp": bare_pbe, "pyscf:ccsd(t)/6-31g": bare_ccsd_t}


def _timed(call: Callable[[Atoms], None], atoms: Atoms) -> float:
    start = time.perf_counter()
    call(atoms)
    return time.perf_counter() - start


def _declared(labeler, atoms: Atoms) -> float:
    return labeler.cost(atoms)  # ASTEROID_CALIBRATION points at an empty table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add CCSD(T)/cc-pVDZ energy + forces")
    args = parser.parse_args()
    from pyscf import lib

    lib.num_threads(1)
    specs = dict(SPECS, **({"pyscf:ccsd(t)/cc-pvdz": 1} if args.full else {}))
    atoms = load_molecule("ethanol")
    load_before = os.getloadavg()[0]
    rows = []
    for spec, repeats in specs.items():
        labeler = get_labeler(spec)
        copies = distorted_copies(atoms, repeats, seed=1)
        measured, bare = [], []
        for index, copy in enumerate(copies):  # labeler and bare call interleaved, order alternating
            if spec in BARE and index % 2:
                bare.append(_timed(BARE[spec], copy))
            measured.append(labeler.label(copy).seconds)
            if spec in BARE and not index % 2:
                bare.append(_timed(BARE[spec], copy))
        row = {"spec": labeler.spec, "repeats": repeats, "measured_s": statistics.median(measured),
               "declared_s": _declared(labeler, atoms), "size": labeler.cost_size(atoms)}
        row["declared_over_measured"] = row["declared_s"] / row["measured_s"]
        if bare:  # totals over the same copies: medians of 2-4 loaded runs are too noisy
            row["bare_s"] = statistics.median(bare)
            row["overhead_pct"] = 100 * (sum(measured) / sum(bare) - 1)
        rows.append(row)
        print(json.dumps(row), flush=True, file=__import__("sys").stderr)
    load_after = os.getloadavg()[0]
    print("# Labeler costs on ethanol (MD17 frame 0), one thread per label\n")
    print("Command: `OMP_NUM_THREADS=1 python benchmarks/bench_labelers.py"
          f"{' --full' if args.full else ''}`  ")
    print(f"Machine: {os.cpu_count()} cores, load average {load_before:.1f} at start, {load_after:.1f} at end "
          "(the machine is shared; a load above 2 inflates every figure).\n")
    print("| spec | N (size) | labels | measured s/label | declared s/label | declared ÷ measured | bare PySCF s | overhead (totals) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        bare = f"{r['bare_s']:.3g}" if "bare_s" in r else "-"
        over = f"{r['overhead_pct']:+.1f} %" if "overhead_pct" in r else "-"
        print(f"| `{r['spec']}` | {r['size']:.0f} | {r['repeats']} | {r['measured_s']:.3g} | {r['declared_s']:.3g} | "
              f"{r['declared_over_measured']:.2f} | {bare} | {over} |")
    print("\n```json")
    print(json.dumps({"load_average": [load_before, load_after], "rows": rows}, indent=1))
    print("```")


if __name__ == "__main__":
    main()
