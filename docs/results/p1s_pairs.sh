#!/bin/sh
# p1s_pairs.sh OLD_LIB [PAIRS] — docs/performance.md "ResNet-20's 1x1 stride-2
# shortcuts": conv_pointwise_s2.c against the base (int21 28b41f8). Run from
# the repository root after `make build/dlnc build/libdlnrt.a`; OLD_LIB is
# libdlnrt.a built at the base (`git archive 28b41f8 | tar -x -C DIR &&
# make -C DIR build/libdlnrt.a`).
set -e
OLD_LIB=$1 PAIRS=${2:-7}
T=${T:-/tmp/p1s_pairs}
mkdir -p "$T/old"
# Per layer, process CPU time, old and new alternating in one process: the
# base's conv.o with its globals renamed old_* (conv_bench.c -DCONV_BENCH_OLD).
(cd "$T/old" && ar x "$OLD_LIB" conv.o &&
 nm --defined-only -g conv.o | awk 'NF==3{print $3" old_"$3}' | sort -u > syms &&
 objcopy --redefine-syms=syms conv.o conv_old.o)
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/conv_bench.c "$T/old/conv_old.o" build/libdlnrt.a \
  -o "$T/conv_bench" -lpng -lz -lm
for s in "r 1x1 s2" "r 1x1 s2b"; do
  uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/conv_bench" 9 cpu "$s"
done
uptime
# The ResNet-20 training step at 1 thread, old and new binaries alternating:
# bench_main.c's copy here times process CPU time (the machine is loaded).
build/dlnc bench/workloads/resnet20.dln -o "$T/resnet20.c"
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" -c "$T/resnet20.c" -o "$T/resnet20.o"
mkdir -p "$T/cpu"
cp bench/bench_main.c bench/bench_util.h "$T/cpu/"
sed -i 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' "$T/cpu/bench_util.h"
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$OLD_LIB
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" bench/bench_main.c "$T/resnet20.o" "$lib" -o "$T/W.$v" -lpng -lz -lm
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" "$T/cpu/bench_main.c" "$T/resnet20.o" "$lib" -o "$T/Wcpu.$v" -lpng -lz -lm
done
p=1
while [ $p -le "$PAIRS" ]; do
  for v in old new; do
    echo "pair $p $v cpu $(OMP_NUM_THREADS=1 nice -n 5 "$T/Wcpu.$v" --batch 64 --reps 3 --min-time 0.4 --only train | cut -d' ' -f1) $(uptime)"
  done
  p=$((p + 1))
done
# Shares of one step run each (perf's cpu-clock samples: steadier than wall time on a loaded machine).
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/step.$v.data" "$T/W.$v" --batch 64 --reps 3 --min-time 0.4 --only train >/dev/null 2>&1
  echo "== perf $v"
  perf report -i "$T/step.$v.data" --no-children --sort symbol -n 2>/dev/null |
    grep -E "Samples|pw_matmul|wg_avx|wg_portable|gather_even|spread_even|dl_im2col|dl_col2im|sgemm|memset" | head -14
done
