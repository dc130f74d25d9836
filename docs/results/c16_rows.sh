#!/bin/sh
# Reproduces docs/performance.md "ResNet-20's 16-channel stage by output rows": old = int19 1f300f7, new = this branch.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 1f300f7.
set -e
T=${T:-/tmp/c16}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
# conv_bench (per layer, process CPU time): the old conv.o + conv_direct_small.o with all their globals renamed old_*.
sh bench/old_objects.sh "$OLD_LIB" "$T/old" conv conv_direct_small
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/conv_bench.c "$T/old/conv_old.o" "$T/old/conv_direct_small_old.o" \
  build/libdlnrt.a -o "$T/conv_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/conv_bench" 9 cpu; uptime
# The ResNet-20 training step, old and new binaries alternating (wall time), then perf shares.
T=$T sh bench/ab.sh "$OLD_LIB" build/libdlnrt.a resnet20 5 --batch 64 --reps 3 --min-time 0.5 --only train
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/step.$v.data" "$T/$v/bench" --batch 64 --reps 3 --min-time 0.5 --only train >/dev/null
  perf report -i "$T/step.$v.data" --no-children --sort symbol -n 2>/dev/null | grep -E "Samples|fwd_block|wg_block|memmove|memset|dl_conv_small|dl_conv_rows"
done
