#!/bin/sh
# Reproduces docs/performance.md "Batch norm + ReLU6 as data in the convolution kernels":
# old = int21 (28b41f8), new = this branch (branch mb1). Run from the repository root after
# `make -j2 build/dlnc build/libdlnrt.a`. The old tree is `git archive 28b41f8` built in $T/base.
# Both workloads' batch-1 inference (and MobileNetV2's training step, which must not change),
# old and new binaries alternating, timed in process CPU time (bench_main.c's clock switched
# to CLOCK_PROCESS_CPUTIME_ID: 1 thread, the shared machine's steadier measure); then perf.
set -e
T=${T:-/tmp/mb1}; BASE=${BASE:-28b41f8}; B=${B:-build} # B: the new build directory
if [ ! -x "$T/base/build/dlnc" ]; then
  mkdir -p "$T/base" && git archive "$BASE" | tar -x -C "$T/base"
  (cd "$T/base" && make -j2 build/dlnc build/libdlnrt.a >/dev/null)
fi
mkdir -p "$T/cpu"
cp bench/bench_main.c bench/bench_util.h "$T/cpu/"
sed -i 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' "$T/cpu/bench_util.h"
for w in mobilenetv2 resnet20; do for v in old new; do
  dlnc=$B/dlnc lib=$B/libdlnrt.a
  [ $v = old ] && dlnc=$T/base/build/dlnc lib=$T/base/build/libdlnrt.a
  mkdir -p "$T/$v"
  $dlnc bench/workloads/$w.dln -o "$T/$v/$w.c"
  cc -std=c11 -O3 -g -march=native -fopenmp -Iruntime -I"$T/$v" -c "$T/$v/$w.c" -o "$T/$v/$w.o"
  cc -std=c11 -O3 -g -march=native -fopenmp -Iruntime -I"$T/$v" "$T/cpu/bench_main.c" "$T/$v/$w.o" $lib -o "$T/$w.cpu.$v" -lpng -lz -lm
  cc -std=c11 -O3 -g -march=native -fopenmp -Iruntime -I"$T/$v" bench/bench_main.c "$T/$v/$w.o" $lib -o "$T/$w.$v" -lpng -lz -lm
done; done
for p in $(seq 1 ${PAIRS:-7}); do for w in mobilenetv2 resnet20; do for v in old new; do
  echo "pair $p $w $v infer1 $(OMP_NUM_THREADS=1 nice -n 5 "$T/$w.cpu.$v" --batch 1 --reps 3 --min-time 0.4 --only infer) | $(uptime)"
done; done; done
for p in $(seq 1 ${TRAIN_PAIRS:-3}); do for v in old new; do
  echo "pair $p mobilenetv2 $v train64 $(OMP_NUM_THREADS=1 nice -n 5 "$T/mobilenetv2.cpu.$v" --batch 64 --reps 3 --min-time 0.5 --only train | sed 's/ infer_ms=[^ ]*//') | $(uptime)"
done; done
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/b1.$v.data" "$T/mobilenetv2.$v" --batch 1 --only infer --reps 9 --min-time 1 >/dev/null
  echo "== perf $v"; perf report -i "$T/b1.$v.data" --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -16
done
