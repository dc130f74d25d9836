#!/bin/sh
# gep_profile.sh — perf profiles of batch-1 inference (1 thread, CPU-time runs of >= 1 s):
# gpt and gpt_composed with the old build (OLD: the base commit's dlnc and libdlnrt.a) and this
# tree's. Run from the repository root: OLD=/tmp/gep/old sh docs/results/gep_profile.sh
set -e
OLD=${OLD:-/tmp/gep/old}
X=${X:-/tmp/gep/prof}
echo "load: $(uptime)"
for W in gpt gpt_composed; do
  for side in old new; do
    D=$OLD; [ $side = new ] && D=build
    mkdir -p $X/$side
    "$D/dlnc" bench/workloads/$W.dln -o $X/$side/$W.c
    cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I$X/$side bench/bench_main.c $X/$side/$W.c $D/libdlnrt.a \
       -o $X/$side/$W -lpng -lz -lm
    echo "== $W, $side: $(OMP_NUM_THREADS=1 perf record -q -o $X/$side/$W.data $X/$side/$W --batch 1 --only infer \
       --reps 3 --min-time 1 --cpu-time 2>/dev/null | grep -o 'infer_ms=[0-9.]*')"
    perf report -i $X/$side/$W.data --no-children --sort symbol -n 2>/dev/null | grep -v '^#' | grep -v '^$' | head -14
  done
done
echo "load: $(uptime)"
