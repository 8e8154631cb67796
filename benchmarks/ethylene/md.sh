#!/usr/bin/env bash
# MD stability of the ethylene models (issue 16; the paper's Figure 6b): Langevin MD at 500 K at
# 0.5, 1 and 2 fs from frames of the held-out test trajectory, the models of compare.sh (standard,
# ASTEROID with xTB, ASTEROID with PBE; every seed in SEEDS), with GFN2-xTB beside them as the
# reference potential. Run after compare.sh:
#   bash benchmarks/ethylene/md.sh               # OUT=runs/ethylene by default; rerun to resume
set -euo pipefail
HERE=benchmarks/ethylene
OUT=${OUT:-runs/ethylene}
export OMP_NUM_THREADS=1
STEPS=${STEPS:-4000}
RUNS=${RUNS:-10}
models=()
for seed in ${SEEDS:-0 1 2}; do
  models+=("standard-s$seed=$OUT/xtb/runs/250ccsd_r13446_share1ccsd/standard/seed$seed"
           "ASTEROID-xTB-s$seed=$OUT/xtb/runs/250ccsd_r13446_share1ccsd/asteroid/seed$seed"
           "ASTEROID-PBE-s$seed=$OUT/dft/runs/250ccsd_r4.902/asteroid/seed$seed")
done
acquire md "${models[@]}" GFN2-xTB=xtb:gfn2 --start $HERE/test_trajectory.extxyz \
    --temperature 500 --timesteps 0.5,1,2 --steps "$STEPS" --runs "$RUNS" --workers 2 --quiet --json --out $OUT/md > $OUT/md.json
