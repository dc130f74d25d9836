#!/bin/sh
# w16g.sh — the measurements of docs/performance.md's section "ResNet-20's 16-channel weight
# gradient with channels in the lanes (branch w16g)". BASE: a build of the base commit 504029b
# (git archive 504029b | tar -x -C $BASE && make -C $BASE -j2 build/libdlnrt.a).
# Per layer: docs/results/wgw_drv.c against both libraries, alternating; then the step A/B.
set -e
BASE=${BASE:-/tmp/base_w16g}; T=${T:-/tmp/w16g-drv}; PAIRS=${PAIRS:-8}; mkdir -p "$T"
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/wgw_drv.c "$BASE/build/libdlnrt.a" -o "$T/old" -lpng -lz -lm
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/wgw_drv.c build/libdlnrt.a -o "$T/new" -lpng -lz -lm
for v in old new; do echo "$v $(CHECK=1 OMP_NUM_THREADS=1 "$T/$v" 16 16 32 8 5)"; done
for th in 1 2; do p=1; while [ $p -le "$PAIRS" ]; do for v in old new; do
  echo "threads $th pair $p $v $(OMP_NUM_THREADS=$th "$T/$v" 16 16 32 64 20) load $(cut -d' ' -f1 /proc/loadavg)"
done; p=$((p + 1)); done; done
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/w16g_drv.c build/libdlnrt.a -o "$T/inproc" -lpng -lz -lm
for th in 1 2; do for r in 1 2 3; do echo "threads $th run $r $(OMP_NUM_THREADS=$th "$T/inproc" 64 200) load $(cut -d' ' -f1 /proc/loadavg)"; done; done
[ -n "$NO_STEP" ] && exit 0
# the step: the final rows of the section (the first ones ran without --reps/--min-time, 7 and 5 pairs)
T=/tmp/w16g-ab OMP_NUM_THREADS=1 sh bench/ab.sh "$BASE/build/libdlnrt.a" build/libdlnrt.a resnet20 8 --only train --cpu-time --batch 64 --reps 5 --min-time 0.3
T=/tmp/w16g-ab2 OMP_NUM_THREADS=2 sh bench/ab.sh "$BASE/build/libdlnrt.a" build/libdlnrt.a resnet20 5 --only train --cpu-time --batch 64 --reps 5 --min-time 0.3
