#!/bin/sh
# g1_same_bits.sh — the GPT workloads' batch-1 forward outputs from BASE's runtime and this
# tree's (bench/forward_cpu.c's `dump`), compared bit for bit (cmp), at 1 and 2 threads.
# Needs BASE built in $X/old (as g1_batch1.sh does). Run from the repository root after
# `make build/dlnc build/libdlnrt.a`: sh docs/results/g1_same_bits.sh
set -e
X=/tmp/g1_results
for W in gpt gpt_composed; do
  for side in old new; do
    R=$X/old; [ $side = new ] && R=.
    mkdir -p $X/$side
    "$R/build/dlnc" bench/workloads/$W.dln -o $X/$side/${W}_dump.c
    cc -std=c11 -O3 -march=native -fopenmp -I$R/runtime -Ibench -I$X/$side bench/forward_cpu.c $X/$side/${W}_dump.c \
       $R/build/libdlnrt.a -o $X/$side/${W}_dump -lpng -lz -lm
    for t in 1 2; do OMP_NUM_THREADS=$t $X/$side/${W}_dump dump > $X/$side/$W.t$t.out; done
  done
  for t in 1 2; do
    if cmp -s $X/old/$W.t$t.out $X/new/$W.t$t.out; then r=identical; else r=DIFFERENT; fi
    echo "$W forward, $t thread(s): $(wc -c < $X/new/$W.t$t.out) bytes, old vs new $r"
  done
done
