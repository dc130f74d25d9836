#!/bin/sh
# Reproduces docs/performance.md "Stride-2 convolutions on phase planes": old = int19 1f300f7, new = this branch.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 1f300f7.
set -e
T=${T:-/tmp/s2d}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
# conv_bench (per layer, process CPU time): the old conv.o + im2col.o with all their globals renamed old_*.
sh bench/old_objects.sh "$OLD_LIB" "$T/old" conv im2col
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/conv_bench.c "$T/old/conv_old.o" "$T/old/im2col_old.o" \
  build/libdlnrt.a -o "$T/conv_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/conv_bench" 9 cpu; uptime
# The ResNet-20 training step, old and new alternating, timed in process CPU time
# (the machine's load was 6-8: wall time doubled and swung by 40% between runs).
T=$T sh bench/ab.sh "$OLD_LIB" build/libdlnrt.a resnet20 18 --batch 64 --reps 5 --min-time 0.3 --only train --cpu-time
# perf shares of the step (wall-clock binaries), the symbols these layers run in.
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/step.$v.data" "$T/$v/bench" --batch 64 --reps 5 --min-time 0.3 --only train >/dev/null
  perf report -i "$T/step.$v.data" --no-children --sort symbol | grep -E "Samples|im2col|col2im|taps_block|split_phases|gx_rows|wg_block|dl_conv_s2|dl_ukernel"
done
# perf shares of each pass alone: docs/results/s2d_layer_driver.c calls one pass 200 times
# (op 0 forward, 1 data gradient, 2 weight gradient; second argument 0 = 16->32, 1 = 32->64).
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/s2d_layer_driver.c build/libdlnrt.a -o "$T/drv" -lpng -lz -lm
for a in "0 0" "0 1" "1 0" "1 1" "2 0"; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/px.data" "$T/drv" $a
  perf report -i "$T/px.data" --no-children --sort symbol | grep -v "^#" | grep -v "^$" | head -5
done
