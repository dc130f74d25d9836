#!/bin/sh
# wgw.sh — the measurements of docs/performance.md's section "ResNet-20's 32-channel weight
# gradient with channels in the lanes" (branch wgw). BASE: a build of the base commit de82629
# (git archive de82629 | tar -x -C $BASE && make -C $BASE -j2 build/libdlnrt.a).
set -e
BASE=${BASE:-/tmp/base_wgw}; T=${T:-/tmp/wgw-drv}; mkdir -p "$T"
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/wgw_drv.c "$BASE/build/libdlnrt.a" -o "$T/old" -lpng -lz -lm
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/wgw_drv.c build/libdlnrt.a -o "$T/new" -lpng -lz -lm
for v in old new; do CHECK=1 OMP_NUM_THREADS=1 "$T/$v" 32 32 16 8 5; CHECK=1 OMP_NUM_THREADS=1 "$T/$v" 64 64 8 8 5; done
for th in 1 2; do for p in 1 2 3 4 5 6 7 8; do for v in old new; do
  echo "threads $th pair $p $v $(OMP_NUM_THREADS=$th "$T/$v" 32 32 16 64 20) | $(OMP_NUM_THREADS=$th "$T/$v" 64 64 8 64 20) load $(cut -d' ' -f1 /proc/loadavg)"
done; done; done
T=/tmp/wgw-ab OMP_NUM_THREADS=1 sh bench/ab.sh "$BASE/build/libdlnrt.a" build/libdlnrt.a resnet20 9 --only train --cpu-time --batch 64
T=/tmp/wgw-ab2 OMP_NUM_THREADS=2 sh bench/ab.sh "$BASE/build/libdlnrt.a" build/libdlnrt.a resnet20 7 --only train --cpu-time --batch 64
