#!/bin/sh
# Reproduces docs/performance.md "Stride-2 convolutions on phase planes": old = int19 1f300f7, new = this branch.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 1f300f7.
set -e
T=${T:-/tmp/s2d}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
mkdir -p "$T/old" "$T/cpu"
# conv_bench (per layer, process CPU time): the old conv.o + im2col.o with all their globals renamed old_*.
(cd "$T/old" && ar x "$OLD_LIB" conv.o im2col.o &&
 nm --defined-only -g conv.o im2col.o | awk 'NF==3{print $3" old_"$3}' | sort -u > syms &&
 objcopy --redefine-syms=syms conv.o conv_old.o && objcopy --redefine-syms=syms im2col.o im2col_old.o)
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/conv_bench.c "$T/old/conv_old.o" "$T/old/im2col_old.o" \
  build/libdlnrt.a -o "$T/conv_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/conv_bench" 9 cpu; uptime
# The ResNet-20 training step, old and new bench_main alternating, timed in process CPU time
# (the machine's load was 6-8: wall time doubled and swung by 40% between runs).
sed 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' bench/bench_util.h > "$T/cpu/bench_util.h"
cp bench/bench_main.c "$T/cpu/"
build/dlnc bench/workloads/resnet20.dln -o "$T/resnet20.c"
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" -c "$T/resnet20.c" -o "$T/resnet20.o"
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$OLD_LIB
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" "$T/cpu/bench_main.c" "$T/resnet20.o" "$lib" -o "$T/Wc.$v" -lpng -lz -lm
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" bench/bench_main.c "$T/resnet20.o" "$lib" -o "$T/W.$v" -lpng -lz -lm
done
uptime
for p in $(seq 1 18); do for v in old new; do
  echo "pair $p $v $(OMP_NUM_THREADS=1 nice -n 5 "$T/Wc.$v" --batch 64 --reps 5 --min-time 0.3 --only train | cut -d' ' -f1) load $(cut -d' ' -f1 /proc/loadavg)"
done; done
uptime
# perf shares of the step (wall-clock binaries), the symbols these layers run in.
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/step.$v.data" "$T/W.$v" --batch 64 --reps 5 --min-time 0.3 --only train >/dev/null
  perf report -i "$T/step.$v.data" --no-children --sort symbol | grep -E "Samples|im2col|col2im|taps_block|split_phases|gx_rows|wg_block|dl_conv_s2|dl_ukernel"
done
# perf shares of each pass alone: docs/results/s2d_layer_driver.c calls one pass 200 times
# (op 0 forward, 1 data gradient, 2 weight gradient; second argument 0 = 16->32, 1 = 32->64).
cc -std=c11 -O2 -fopenmp -Iruntime docs/results/s2d_layer_driver.c build/libdlnrt.a -o "$T/drv" -lpng -lz -lm
for a in "0 0" "0 1" "1 0" "1 1" "2 0"; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/px.data" "$T/drv" $a
  perf report -i "$T/px.data" --no-children --sort symbol | grep -v "^#" | grep -v "^$" | head -5
done
