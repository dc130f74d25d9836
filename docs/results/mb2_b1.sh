#!/bin/sh
# Reproduces docs/performance.md "MobileNetV2 batch-1 inference: 8-wide depthwise planes, 8-row
# 4x4 tiles, the clamp by vmaxps/vminps" (branch mb2): old = int22 (006d638), new = this tree.
# Run from the repository root after `make -j2 build/dlnc build/libdlnrt.a`; the old tree is
# `git archive int22` built in $BASE (as the brief's /tmp/base_mb2). 1 thread, process CPU time.
#   1. per layer: docs/results/mb2_layers.c against each library, old and new alternating;
#   2. whole model: bench/ab.sh, batch-1 inference (PAIRS) and the batch-64 training step
#      (TRAIN_PAIRS; the 8-wide depthwise change also serves training, the others do not);
#   3. outputs: bench/forward_same_bits.sh (old and new bit for bit, 1 and 2 threads);
#   4. perf profiles of the batch-1 forward, old and new.
set -e
BASE=${BASE:-/tmp/base_mb2}; X=${X:-/tmp/mb2_results}
if [ ! -x "$BASE/build/dlnc" ]; then
  mkdir -p "$BASE" && git archive int22 | tar -x -C "$BASE"
  make -C "$BASE" -j2 build/dlnc build/libdlnrt.a >/dev/null
fi
mkdir -p "$X"
echo "== per layer; $(uptime)"
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$BASE/build/libdlnrt.a
  cc -std=c11 -O2 -fopenmp -Iruntime docs/results/mb2_layers.c "$lib" -o "$X/layers.$v" -lpng -lz -lm
done
for p in $(seq 1 ${LAYER_PAIRS:-3}); do for v in old new; do
  OMP_NUM_THREADS=1 nice -n 5 "$X/layers.$v" > "$X/layers.$v.$p"
done; done
for p in $(seq 1 ${LAYER_PAIRS:-3}); do
  echo "-- pair $p: layer, old us, new us"
  paste "$X/layers.old.$p" "$X/layers.new.$p" | awk -F'\t' '{o=$1; n=$2; sub(/ us.*/, "", o); sub(/ us.*/, "", n);
    lab=substr($1, 1, 27); sub(/.* /, "", o); sub(/.* /, "", n); printf "%s %8s %8s\n", lab, o, n}'
done
echo "== batch-1 inference; $(uptime)"
T=$X/ab_infer OLD_DLNC=$BASE/build/dlnc sh bench/ab.sh "$BASE/build/libdlnrt.a" build/libdlnrt.a mobilenetv2 \
  ${PAIRS:-7} --batch 1 --only infer --reps 3 --min-time 0.4 --cpu-time
echo "== batch-64 training step; $(uptime)"
T=$X/ab_train OLD_DLNC=$BASE/build/dlnc sh bench/ab.sh "$BASE/build/libdlnrt.a" build/libdlnrt.a mobilenetv2 \
  ${TRAIN_PAIRS:-3} --batch 64 --only train --reps 3 --min-time 0.5 --cpu-time
echo "== outputs"
OLD=$BASE/build X=$X/same WORKLOADS="mobilenetv2 resnet20" sh bench/forward_same_bits.sh
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$X/b1.$v.data" "$X/ab_infer/$v/bench" --batch 1 --only infer --min-time 3 >/dev/null 2>&1
  echo "== perf $v"; perf report -i "$X/b1.$v.data" --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -14
done
echo "== done; $(uptime)"
# 5. the one change training also runs: the 8-wide depthwise planes at batch 64 (bench/dw_bench.c,
#    old and new library, twice each, alternating)
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$BASE/build/libdlnrt.a
  cc -std=c11 -O2 -fopenmp -Iruntime -Ibench bench/dw_bench.c "$lib" -o "$X/dwb.$v" -lpng -lz -lm
done
for v in old new old new; do
  echo "== dw_bench 5 cpu, $v library"; OMP_NUM_THREADS=1 "$X/dwb.$v" 5 cpu | grep 'c192 8x8 s1'
done
