#!/usr/bin/env bash
# MD stability of the ethylene models (issue 16; the paper's Figure 6b): Langevin MD at 500 K at
# 0.5, 1 and 2 fs from frames of the held-out test trajectory, seed-0 models of compare.sh, with
# GFN2-xTB beside them as the reference potential. Run after compare.sh:
#   bash benchmarks/ethylene/md.sh               # OUT=runs/ethylene by default
set -euo pipefail
HERE=benchmarks/ethylene
OUT=${OUT:-runs/ethylene}
export OMP_NUM_THREADS=1
STEPS=${STEPS:-4000}
RUNS=${RUNS:-10}
acquire md $OUT/xtb/runs/250ccsd_r13446_share1ccsd/standard/seed0 $OUT/xtb/runs/250ccsd_r13446_share1ccsd/asteroid/seed0 \
    $OUT/dft/runs/250ccsd_r4.902/asteroid/seed0 xtb:gfn2 --start $HERE/test_trajectory.extxyz \
    --temperature 500 --timesteps 0.5,1,2 --steps "$STEPS" --runs "$RUNS" --workers 2 --quiet --json --out $OUT/md > $OUT/md.json
