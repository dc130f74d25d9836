#!/bin/sh
# p1s_pairs.sh OLD_ROOT NEW_ROOT [PAIRS] — ResNet-20's 1x1 stride-2 shortcuts
# (conv_pointwise_s2.c), old build against new, alternating in one run.
# OLD_ROOT/NEW_ROOT: source trees with build/dlnc and build/libdlnrt.a built
# (old: `git archive <base> | tar -x -C OLD_ROOT && make -C OLD_ROOT build/dlnc build/libdlnrt.a`).
# Per pair: bench/conv_layers.c on ResNet-20 (batch 64, 1 thread; only the
# kh=1 sh=2 lines are kept), then the 1-thread training step (bench_main.c).
set -e
OLD=$1 NEW=$2 PAIRS=${3:-3}
T=${TMPDIR:-/tmp}/p1s_pairs
mkdir -p "$T"
WRAP=-Wl,--wrap=dl_conv2d,--wrap=dl_conv2d_ep,--wrap=dl_conv2d_bwd_data,--wrap=dl_conv2d_bwd_weight
for v in old new; do
  R=$OLD; [ $v = new ] && R=$NEW
  "$R/build/dlnc" "$NEW/bench/workloads/resnet20.dln" -o "$T/r20_$v.c"
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$T" -c "$T/r20_$v.c" -o "$T/r20_$v.o"
  cc -std=c11 -O3 -march=native -fopenmp -I"$NEW/runtime" "$NEW/bench/conv_layers.c" "$T/r20_$v.o" "$R/build/libdlnrt.a" \
    -o "$T/layers_$v" $WRAP -lpng -lz -lm
  cc -std=c11 -O3 -march=native -fopenmp -I"$NEW/runtime" "$NEW/bench/bench_main.c" "$T/r20_$v.o" "$R/build/libdlnrt.a" \
    -o "$T/step_$v" -lpng -lz -lm
done
echo "# $(date -u) $(uptime)"
grep -m1 "model name" /proc/cpuinfo
i=1
while [ $i -le "$PAIRS" ]; do
  for v in old new; do
    echo "## pair $i $v layers ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 "$T/layers_$v" --batch 64 --reps 5 --min-time 0.3 | grep "kh=1 kw=1 sh=2" || true
    echo "## pair $i $v step ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 "$T/step_$v" --batch 64 --reps 3 --min-time 0.4 --only train
  done
  i=$((i + 1))
done
