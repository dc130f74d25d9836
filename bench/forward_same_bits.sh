#!/bin/sh
# forward_same_bits.sh — two builds' batch-1 forward outputs (bench/forward_cpu.c's `dump`)
# compared bit for bit (cmp), at 1 and 2 threads: OLD and NEW are directories each holding a
# dlnc and its libdlnrt.a (NEW defaults to this tree's build/), X the work directory, WORKLOADS
# the bench/workloads names (default: the GPT pair). Run from the repository root:
#   OLD=/tmp/base/build sh bench/forward_same_bits.sh
set -e
OLD=${OLD:?OLD: the old build directory (its dlnc and libdlnrt.a)}
NEW=${NEW:-build}
X=${X:-/tmp/forward_same_bits}
for W in ${WORKLOADS:-gpt gpt_composed}; do
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
