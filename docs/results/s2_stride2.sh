#!/bin/sh
# Reproduces docs/performance.md "Stride-2 im2col/col2im by half rows": old = int17 110c0c5, new = this branch.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 110c0c5.
set -e
T=${T:-/tmp/s2}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
# conv_bench (per layer, process CPU time): the old conv.o + im2col.o with all their globals renamed old_*.
sh bench/old_objects.sh "$OLD_LIB" "$T/old" conv im2col
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/conv_bench.c "$T/old/conv_old.o" "$T/old/im2col_old.o" \
  build/libdlnrt.a -o "$T/conv_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/conv_bench" 9 cpu; uptime
# The ResNet-20 training step, old and new binaries alternating (wall time), then perf shares.
T=$T sh bench/ab.sh "$OLD_LIB" build/libdlnrt.a resnet20 5 --batch 64 --reps 5 --min-time 0.3 --only train
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/step.$v.data" "$T/$v/bench" --batch 64 --reps 5 --min-time 0.3 --only train >/dev/null
  perf report -i "$T/step.$v.data" --no-children --sort symbol -n | grep -E "Samples|im2col|col2im"
done
