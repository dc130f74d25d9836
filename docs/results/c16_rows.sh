#!/bin/sh
# Reproduces docs/performance.md "ResNet-20's 16-channel stage by output rows": old = int19 1f300f7, new = this branch.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`; OLD_LIB = libdlnrt.a built at 1f300f7.
set -e
T=${T:-/tmp/c16}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
mkdir -p "$T/old"
# conv_bench (per layer, process CPU time): the old conv.o + conv_direct_small.o with all their globals renamed old_*.
(cd "$T/old" && ar x "$OLD_LIB" conv.o conv_direct_small.o &&
 nm --defined-only -g conv.o conv_direct_small.o | awk 'NF==3{print $3" old_"$3}' | sort -u > syms &&
 objcopy --redefine-syms=syms conv.o conv_old.o && objcopy --redefine-syms=syms conv_direct_small.o cds_old.o)
cc -std=c11 -O2 -fopenmp -Iruntime -DCONV_BENCH_OLD bench/conv_bench.c "$T/old/conv_old.o" "$T/old/cds_old.o" \
  build/libdlnrt.a -o "$T/conv_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 "$T/conv_bench" 9 cpu; uptime
# The ResNet-20 training step, old and new binaries alternating (wall time), then perf shares.
build/dlnc bench/workloads/resnet20.dln -o "$T/resnet20.c"
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" -c "$T/resnet20.c" -o "$T/resnet20.o"
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$OLD_LIB
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" bench/bench_main.c "$T/resnet20.o" "$lib" -o "$T/W.$v" -lpng -lz -lm
done
for p in 1 2 3 4 5; do for v in old new; do
  echo "pair $p $v $(OMP_NUM_THREADS=1 nice -n 5 "$T/W.$v" --batch 64 --reps 3 --min-time 0.5 --only train | cut -d' ' -f1) $(uptime)"
done; done
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/step.$v.data" "$T/W.$v" --batch 64 --reps 3 --min-time 0.5 --only train >/dev/null
  perf report -i "$T/step.$v.data" --no-children --sort symbol -n 2>/dev/null | grep -E "Samples|fwd_block|wg_block|memmove|memset|dl_conv_small|dl_conv_rows" 
done
