#!/bin/sh
# gep_same_bits.sh — the GPT workloads' batch-1 forward outputs from the old build (OLD: a
# directory holding the base commit's dlnc and libdlnrt.a) and this tree's (bench/forward_cpu.c's
# `dump`), compared bit for bit (cmp), at 1 and 2 threads. Run from the repository root after
# `make build/dlnc build/libdlnrt.a`: OLD=/tmp/gep/old sh docs/results/gep_same_bits.sh
set -e
OLD=${OLD:-/tmp/gep/old}
NEW=${NEW:-build} # (NEW=/tmp/gep/b2: the softmax build, docs/performance.md)
X=${X:-/tmp/gep/bits}
for W in gpt gpt_composed; do
  for side in old new; do
    D=$OLD; [ $side = new ] && D=$NEW
    mkdir -p $X/$side
    "$D/dlnc" bench/workloads/$W.dln -o $X/$side/${W}_dump.c
    cc -std=c11 -O3 -march=native -fopenmp -Iruntime -Ibench -I$X/$side bench/forward_cpu.c $X/$side/${W}_dump.c \
       $D/libdlnrt.a -o $X/$side/${W}_dump -lpng -lz -lm
    for t in 1 2; do OMP_NUM_THREADS=$t $X/$side/${W}_dump dump > $X/$side/$W.t$t.out; done
  done
  for t in 1 2; do
    if cmp -s $X/old/$W.t$t.out $X/new/$W.t$t.out; then r=identical; else r=DIFFERENT; fi
    echo "$W forward, $t thread(s): $(wc -c < $X/new/$W.t$t.out) bytes, old vs new $r"
  done
done
