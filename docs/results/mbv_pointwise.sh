#!/bin/sh
# Reproduces docs/performance.md "MobileNetV2's pointwise layers without packing" (and its 4x4 depthwise part):
# old = int19 1f300f7, new = this branch. Run from the repository root after
# `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 1f300f7.
set -e
T=${T:-/tmp/mbv}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
mkdir -p "$T/old"
# Per layer (process CPU time, 1 thread): the old conv.o with its globals renamed old_* (bench/bench_conv_old.h).
sh bench/old_objects.sh "$OLD_LIB" "$T/old" conv
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/dw_bench.c "$T/old/conv_old.o" build/libdlnrt.a \
  -o "$T/pw_old_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/pw_old_bench" 9 cpu pw; uptime
# The depthwise layers at batch 1 (unchanged; mbv_dw_b1.log): the library build alone.
cc -std=c11 -O2 -fopenmp -Iruntime bench/dw_bench.c build/libdlnrt.a -o "$T/dw_bench" -lpng -lz -lm
OMP_NUM_THREADS=1 "$T/dw_bench" 3 cpu
# The whole model, old and new alternating, in process CPU time (1 thread: the thread's time).
T=$T/train sh bench/ab.sh "$OLD_LIB" build/libdlnrt.a mobilenetv2 7 --batch 64 --reps 3 --min-time 0.5 --only train --cpu-time
T=$T/b1 sh bench/ab.sh "$OLD_LIB" build/libdlnrt.a mobilenetv2 7 --batch 1 --reps 3 --min-time 0.5 --only infer --cpu-time
# Batch-1 inference profile (mbv_b1_perf.log).
OMP_NUM_THREADS=1 perf record -q -o "$T/b1.data" "$T/b1/new/bench" --batch 1 --only infer --reps 5 --min-time 1
perf report -i "$T/b1.data" --no-children --sort symbol | grep -v '^#' | head -14
# conv_dw3_tiny.c (mbv_dw_tiny_layers.log): old conv_depthwise.o + conv_dw3.o renamed old_*.
sh bench/old_objects.sh "$OLD_LIB" "$T/olddw" conv_depthwise conv_dw3
cc -std=c11 -O2 -fopenmp -Iruntime -DDW_BENCH_OLD bench/dw_bench.c "$T/olddw/conv_depthwise_old.o" "$T/olddw/conv_dw3_old.o" \
  build/libdlnrt.a -o "$T/dw_old_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/dw_old_bench" 9 cpu; uptime
