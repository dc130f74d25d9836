#!/bin/sh
# Reproduces docs/performance.md "Stride-2 weight gradient as outer products": old = int21 28b41f8,
# new = this branch. Run from the repository root after `make build/dlnc build/libdlnrt.a`;
# OLD_LIB = libdlnrt.a built at 28b41f8 (the branch point).
set -e
T=${T:-/tmp/s2w}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
mkdir -p "$T/cpu"
# Per layer: docs/results/s2d_layer_driver.c calls one pass 200 times and prints the best process
# CPU time (op 2 = weight gradient; second argument 0 = 16->32 on 32x32, 1 = 32->64 on 16x16; batch 64).
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/s2d_layer_driver.c "$OLD_LIB" -o "$T/drv.old" -lpng -lz -lm
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/s2d_layer_driver.c build/libdlnrt.a -o "$T/drv.new" -lpng -lz -lm
uptime
for p in $(seq 1 ${LAYER_PAIRS:-7}); do for l in 0 1; do for v in old new; do
  echo "pair $p $v $(OMP_NUM_THREADS=1 nice -n 5 "$T/drv.$v" 2 $l) load $(cut -d' ' -f1 /proc/loadavg)"
done; done; done
uptime
# The ResNet-20 training step, old and new bench_main alternating, in process CPU time (shared machine).
sed 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' bench/bench_util.h > "$T/cpu/bench_util.h"
cp bench/bench_main.c "$T/cpu/"
build/dlnc bench/workloads/resnet20.dln -o "$T/resnet20.c"
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" -c "$T/resnet20.c" -o "$T/resnet20.o"
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$OLD_LIB
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" "$T/cpu/bench_main.c" "$T/resnet20.o" "$lib" -o "$T/Wc.$v" -lpng -lz -lm
done
uptime
for p in $(seq 1 ${STEP_PAIRS:-8}); do for v in old new; do
  echo "pair $p $v $(OMP_NUM_THREADS=1 nice -n 5 "$T/Wc.$v" --batch 64 --reps 3 --min-time 0.4 --only train | cut -d' ' -f1) load $(cut -d' ' -f1 /proc/loadavg)"
done; done
uptime
# Where the new weight gradient spends its time (perf of the pass alone).
for l in 0 1; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/pw.data" "$T/drv.new" 2 $l
  perf report -i "$T/pw.data" --no-children --sort symbol | grep -v "^#" | grep -v "^$" | head -5
done
