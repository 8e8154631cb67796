#!/usr/bin/env bash
# Cheap labels of two more molecules for pretraining across molecules (issue 16, the paper's
# Table 5): methanol and ethanol, each a 1000-frame xTB Langevin MD pool at 500 K labelled with
# GFN2-xTB into one store. Seconds of xTB; resumable. Run from the repository root:
#   nice -n 19 bash benchmarks/ethylene/others.sh
set -euo pipefail
HERE=benchmarks/ethylene
export OMP_NUM_THREADS=1
for mol in CO CCO; do
  pool=$HERE/others_${mol}.extxyz
  [ -s "$pool" ] || acquire sample --molecule $mol --n 1000 --temperature 500 --seed 0 --out "$pool" --quiet
  acquire label "$pool" --labeler xtb:gfn2 --store $HERE/others.db --workers 1 --quiet
done
