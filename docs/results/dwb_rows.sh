#!/bin/sh
# Reproduces docs/performance.md "MobileNetV2's depthwise rows in registers": old = int20
# (c6a4429: conv_dw3.c's tap views for the 8-, 16- and 32-wide planes), new = this branch
# (conv_dw3_rows.c). Run from the repository root after `make -j2 build/dlnc build/libdlnrt.a`.
# The old library is this build with conv_dw3.o compiled from int20's source and
# conv_dw3_rows.o left out: nothing else differs.
set -e
T=${T:-/tmp/dwb}; BASE=${BASE:-c6a4429}
CF="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -fPIC -fno-math-errno -fopenmp -Iruntime"
mkdir -p "$T/old"
git show "$BASE:runtime/conv_dw3.c" > "$T/old/conv_dw3.c"
git show "$BASE:runtime/conv_depthwise.c" > "$T/old/conv_depthwise.c"
cc $CF -c "$T/old/conv_dw3.c" -o "$T/old/conv_dw3.o"
cc $CF -c "$T/old/conv_depthwise.c" -o "$T/old/conv_depthwise.o"
cp build/libdlnrt.a "$T/libdlnrt.old.a"
ar d "$T/libdlnrt.old.a" conv_dw3_rows.o
ar r "$T/libdlnrt.old.a" "$T/old/conv_dw3.o"
# Per layer (dw_bench, process CPU time, 1 thread, old and new alternating): the old
# conv_depthwise.o + conv_dw3.o with their globals renamed old_*.
sh bench/old_objects.sh "$T/libdlnrt.old.a" "$T/old" conv_depthwise conv_dw3
cc -std=c11 -O2 -fopenmp -Iruntime -DDW_BENCH_OLD bench/dw_bench.c "$T/old/conv_depthwise_old.o" "$T/old/conv_dw3_old.o" \
  build/libdlnrt.a -o "$T/dw_old_bench" -lpng -lz -lm
uptime; OMP_NUM_THREADS=1 nice -n 5 "$T/dw_old_bench" ${LAYER_REPS:-9} cpu; uptime
# The whole model, old and new alternating, in process CPU time (1 thread: the thread's
# time), the steadier measure on this shared machine.
T=$T/b1 sh bench/ab.sh "$T/libdlnrt.old.a" build/libdlnrt.a mobilenetv2 "${PAIRS:-7}" --batch 1 --reps 3 --min-time 0.5 --only infer --cpu-time
T=$T/train sh bench/ab.sh "$T/libdlnrt.old.a" build/libdlnrt.a mobilenetv2 "${PAIRS:-7}" --batch 64 --reps 3 --min-time 0.5 --only train --cpu-time
# Batch-1 inference profiles, old and new (perf record, many reps).
for v in old new; do
  OMP_NUM_THREADS=1 perf record -q -o "$T/b1.$v.data" "$T/b1/$v/bench" --batch 1 --only infer --reps 9 --min-time 1 >/dev/null
  echo "== $v"; perf report -i "$T/b1.$v.data" --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -16
done
