#!/bin/sh
# Reproduces docs/performance.md "MobileNetV2's pointwise layers without packing" (and its 4x4 depthwise part):
# old = int19 1f300f7, new = this branch. Run from the repository root after
# `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 1f300f7.
set -e
T=${T:-/tmp/mbv}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
mkdir -p "$T/old" "$T/cpu"
# Per layer (process CPU time, 1 thread): the old conv.o with its globals renamed old_* (bench/bench_conv_old.h).
(cd "$T/old" && ar x "$OLD_LIB" conv.o &&
 nm --defined-only -g conv.o | awk 'NF==3{print $3" old_"$3}' | sort -u > syms &&
 objcopy --redefine-syms=syms conv.o conv_old.o)
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/dw_bench.c "$T/old/conv_old.o" build/libdlnrt.a \
  -o "$T/pw_old_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/pw_old_bench" 9 cpu pw; uptime
# The depthwise layers at batch 1 (unchanged; mbv_dw_b1.log): the library build alone.
cc -std=c11 -O2 -fopenmp -Iruntime bench/dw_bench.c build/libdlnrt.a -o "$T/dw_bench" -lpng -lz -lm
OMP_NUM_THREADS=1 "$T/dw_bench" 3 cpu
# The whole model, old and new binaries alternating. bench_main.c times wall clock; on this
# loaded machine its copy here times process CPU time instead (1 thread: the thread's time).
build/dlnc bench/workloads/mobilenetv2.dln -o "$T/W.c"
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" -c "$T/W.c" -o "$T/W.o"
cp bench/bench_main.c bench/bench_util.h "$T/cpu/"
sed -i 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' "$T/cpu/bench_util.h"
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$OLD_LIB
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" "$T/cpu/bench_main.c" "$T/W.o" "$lib" -o "$T/Wcpu.$v" -lpng -lz -lm
done
for p in 1 2 3 4 5 6 7; do for v in old new; do
  echo "pair $p $v train $(OMP_NUM_THREADS=1 nice -n 5 "$T/Wcpu.$v" --batch 64 --reps 3 --min-time 0.5 --only train) | $(uptime)"
  echo "pair $p $v infer1 $(OMP_NUM_THREADS=1 nice -n 5 "$T/Wcpu.$v" --batch 1 --reps 3 --min-time 0.5 --only infer) | $(uptime)"
done; done
# Batch-1 inference profile (mbv_b1_perf.log).
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" bench/bench_main.c "$T/W.o" build/libdlnrt.a -o "$T/W.new" -lpng -lz -lm
OMP_NUM_THREADS=1 perf record -q -o "$T/b1.data" "$T/W.new" --batch 1 --only infer --reps 5 --min-time 1
perf report -i "$T/b1.data" --no-children --sort symbol | grep -v '^#' | head -14
# conv_dw3_tiny.c (mbv_dw_tiny_layers.log): old conv_depthwise.o + conv_dw3.o renamed old_*.
mkdir -p "$T/olddw"
(cd "$T/olddw" && ar x "$OLD_LIB" conv_depthwise.o conv_dw3.o &&
 nm --defined-only -g conv_depthwise.o conv_dw3.o | awk 'NF==3{print $3" old_"$3}' | sort -u > syms &&
 objcopy --redefine-syms=syms conv_depthwise.o cd_old.o && objcopy --redefine-syms=syms conv_dw3.o cw_old.o)
cc -std=c11 -O2 -fopenmp -Iruntime -DDW_BENCH_OLD bench/dw_bench.c "$T/olddw/cd_old.o" "$T/olddw/cw_old.o" \
  build/libdlnrt.a -o "$T/dw_old_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/dw_old_bench" 9 cpu; uptime
