#!/usr/bin/env bash
# The ethylene comparisons (issue 16), from the label stores alone: no quantum chemistry, so a fresh
# clone reproduces the recorded tables. Run from the repository root, in the project's environment,
# after run.sh (labels) and others.sh (cheap labels of two more molecules):
#   bash benchmarks/ethylene/compare.sh          # OUT=runs/ethylene by default; rerun to resume
# The ratios are the ones the labels were bought at (plan_pyscf.json, plan_xtb.json: the calibration
# of 2026-12-04, CCSD(T) 13.53 s, PBE 2.76 s, xTB 1.0 ms per label).
set -euo pipefail
HERE=benchmarks/ethylene
OUT=${OUT:-runs/ethylene}
export OMP_NUM_THREADS=1 ASTEROID_CALIBRATION=$HERE/calibration.json  # the costs the plans were made with
mkdir -p "$OUT"
CCSD='pyscf:ccsd(t)/cc-pvdz;frozen=core'
common=(--store $HERE/labels.db --accurate "$CCSD" --test-source "$HERE/test.db:$CCSD" --budget 250ccsd
        --jobs 2 --quiet --json)
# DFT as the cheap fidelity: 200 CCSD(T) + 245 PBE/def2-SVP against 250 CCSD(T).
acquire compare "${common[@]}" --seeds 3 --inaccurate pyscf:pbe/def2-svp --ratio 4.902 --out $OUT/dft > $OUT/dft.json
# xTB as the cheap fidelity, as plan_xtb.json bought it: the 4000-label cap binds, so the budget keeps
# 249 CCSD(T) labels, and the xTB labels are the whole 2000-frame pool (1 accurate-label unit buys 13446).
xtb=(--inaccurate xtb:gfn2 --ratio 13446 --inaccurate-share 1ccsd)
# The standard runs are the DFT comparison's (the same 250 CCSD(T) frames): copied, not retrained.
acquire compare "${common[@]}" --seeds 3 "${xtb[@]}" --reuse $OUT/dft --out $OUT/xtb > $OUT/xtb.json
# Pretraining across molecules: the same, with the xTB labels of methanol and ethanol added (not
# charged); the standard runs, which do not read them, are copied from the xTB comparison.
acquire compare "${common[@]}" --seeds 3 "${xtb[@]}" --extra-inaccurate $HERE/others.db:xtb:gfn2 \
    --reuse $OUT/xtb --out $OUT/xtb_multi > $OUT/xtb_multi.json
