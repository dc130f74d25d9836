#!/bin/sh
# Reproduces docs/performance.md "ResNet-20's 16-channel stage inside the step": old = int20 (c6a4429),
# new = this branch. Run from the repository root after `make build/dlnc build/libdlnrt.a`.
# The old library is this build's libdlnrt.a with int20's conv.c, conv_direct_small.c and
# conv_direct_rows.c compiled in their place (the only files the change touches).
set -e
T=${T:-/tmp/r16}; PAIRS=${PAIRS:-8}; BASE=${BASE:-c6a4429}
mkdir -p "$T/old/runtime"
for f in conv.c conv_direct_small.c conv_direct_rows.c conv_small_internal.h; do
  git show "$BASE:runtime/$f" > "$T/old/runtime/$f"
done
cp build/libdlnrt.a "$T/libdlnrt.old.a"
for f in conv conv_direct_small conv_direct_rows; do
  cc -Icompiler -Iruntime -Ibuild/gen -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -fPIC -fno-math-errno -fopenmp \
    -iquote "$T/old/runtime" -c "$T/old/runtime/$f.c" -o "$T/old/$f.o"
done
(cd "$T/old" && ar r "$T/libdlnrt.old.a" conv.o conv_direct_small.o conv_direct_rows.o)
# One pass of the 16->16 layer alone, tensors in memory (8 rotating copies) and in cache (1 copy):
# flat, old and new in turn, median CPU ms per call of 48, 1 thread.
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$T/libdlnrt.old.a
  cc -std=c11 -O2 -fopenmp -Iruntime docs/results/r16_cold_driver.c "$lib" -o "$T/cold.$v" -lpng -lz -lm
done
# "flat" = the flat padded kernels the row kernels replaced (dl_conv_rows_enable(0)).
for copies in 8 1; do for pass in 0 1 2; do for p in 1 2 3; do
  echo "layer copies $copies pass $pass pair $p flat $(OMP_NUM_THREADS=1 nice -n 5 "$T/cold.new" $pass 48 $copies 0)" \
       "old $(OMP_NUM_THREADS=1 nice -n 5 "$T/cold.old" $pass 48 $copies)" \
       "new $(OMP_NUM_THREADS=1 nice -n 5 "$T/cold.new" $pass 48 $copies) load $(cut -d' ' -f1 /proc/loadavg)"
done; done; done
uptime
# The training step, old and new alternating, 1 thread, CPU time then wall time.
T=$T/cpu sh bench/ab.sh "$T/libdlnrt.old.a" build/libdlnrt.a resnet20 "$PAIRS" --batch 64 --reps 3 --min-time 0.5 --only train --cpu-time
T=$T sh bench/ab.sh "$T/libdlnrt.old.a" build/libdlnrt.a resnet20 "$PAIRS" --batch 64 --reps 3 --min-time 0.5 --only train
# perf shares of the step: the symbols of the 16-channel stage's kernels.
for v in old new; do
  OMP_NUM_THREADS=1 nice -n 5 perf record -q -o "$T/step.$v.data" "$T/$v/bench" --batch 64 --reps 3 --min-time 0.5 --only train >/dev/null
  echo "== perf $v"; perf report -i "$T/step.$v.data" --no-children --sort symbol 2>/dev/null |
    grep -E "Samples|fwd_block|wg_block|dl_conv_rows|dl_conv_small|memset|memmove|memcpy" | head -12
done
# (No cache-miss counts: this KVM guest exposes no hardware counters, `perf stat -e cycles` says
# <not supported>; perf samples on cpu-clock.)
uptime
