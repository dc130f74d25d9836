#!/bin/sh
# Issue 10's speed check: the training step and batch-1 inference of the bench
# workloads, compiled by dlnc before the op-table work (BEFORE, a worktree at
# 0731e19^) and now (AFTER), each with its own bench_main.c and libdlnrt, run
# alternately (before, after, before, ...) at 1 thread so that a shared
# machine's slow phases hit both alike.
#   usage: sh docs/results/issue10_bench.sh BEFORE_TREE AFTER_TREE [ROUNDS]
set -e
BEFORE=$1; AFTER=$2; ROUNDS=${3:-3}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for side in before after; do
  if [ $side = before ]; then R=$BEFORE; else R=$AFTER; fi
  for w in mlp lenet5 resnet20; do
    "$R/build/dlnc" "$AFTER/bench/workloads/$w.dln" -o "$T/${side}_$w.c"
    cc -std=c11 -O3 -march=native -fopenmp -I"$R/runtime" -I"$T" "$R/bench/bench_main.c" "$T/${side}_$w.c" \
       "$R/build/libdlnrt.a" -o "$T/${side}_$w" -lz -lm
  done
done
uptime
for r in $(seq "$ROUNDS"); do
  for w in mlp lenet5 resnet20; do
    b=$(grep -o 'batch = [0-9]*' "$AFTER/bench/workloads/$w.dln" | head -1 | cut -d' ' -f3)
    for side in before after; do
      printf '%s %s round %s: ' "$w" "$side" "$r"
      OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive "$T/${side}_$w" --batch "$b" --reps 3 --min-time 1
    done
  done
done
uptime
