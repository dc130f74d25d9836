#!/bin/sh
# r1_b1.sh — ResNet-20 batch-1 inference before (BASE commit) and after (this tree), alternating.
# Usage: sh docs/results/r1_b1.sh BASE_LIB [PAIRS]   (BASE_LIB: libdlnrt.a of the base commit, built
# e.g. by `git archive 28b41f8 | tar -x -C /tmp/base && make -C /tmp/base build/libdlnrt.a`).
# Run from the repository root after `make`; writes binaries under $T (default /tmp/r1b1).
set -e
BASE=$1; PAIRS=${2:-5}; T=${T:-/tmp/r1b1}; mkdir -p $T
build/dlnc bench/workloads/resnet20.dln -o $T/W.c
build/dlnc --profile bench/workloads/resnet20.dln -o $T/P.c
# Per-kernel time in the calling thread's CPU time (a loaded machine preempts: wall time per kernel
# was noise): DL_PROF redefined ahead of the generated C, and a destructor printing every profiled
# kernel site's counters (names from the generated C).
cat > $T/pre.inc <<'PRE'
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#include "dlnrt.h"
#undef DL_PROF
static int64_t r1_cpu_ns(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
#define DL_PROF(site, flops, ...) do { const int64_t r1_t0_ = r1_cpu_ns(); __VA_ARGS__; (site).calls++; (site).ns += r1_cpu_ns() - r1_t0_; } while (0)
PRE
grep -o "static dl_prof_site [a-z0-9_]*" $T/P.c | awk 'BEGIN { print "#ifdef DL_PROFILE"; print "#include <stdio.h>";
    print "__attribute__((destructor)) static void per_kernel(void) {" }
  { s = $3; printf "  if (%s.calls) printf(\"K %%s %%lld %%lld %%lld\\n\", %s.kernel, (long long)%s.calls, (long long)%s.ns, (long long)%s.flops);\n", s, s, s, s, s }
  END { print "}"; print "#endif" }' > $T/perk.inc
cat $T/pre.inc $T/P.c $T/perk.inc > $T/P2.c
for v in old new; do
  lib=build/libdlnrt.a; [ $v = old ] && lib=$BASE
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I$T bench/bench_main.c $T/W.c $lib -o $T/W.$v -lpng -lz -lm
  cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I$T docs/results/r1_b1_cpu.c $T/W.c $lib -o $T/C.$v -lpng -lz -lm
  cc -std=c11 -O3 -march=native -fopenmp -DDL_PROFILE -Iruntime -I$T bench/bench_main.c $T/P2.c $lib -o $T/P.$v -lpng -lz -lm
done
echo "== start: $(date -u) $(uptime)"; lscpu | grep "Model name"
echo "== batch-1 inference, 1 thread: wall (bench_main) and process CPU time (r1_b1_cpu: 300 forwards x 5, median)"
for i in $(seq $PAIRS); do for v in old new; do
  echo "$v $(OMP_NUM_THREADS=1 $T/W.$v --batch 1 --reps 3 --min-time 0.4 --only infer | grep -o 'infer_ms=[0-9.]*') $(OMP_NUM_THREADS=1 $T/C.$v 300 5)"
done; done
echo "== batch-1 inference, 2 threads (bench_main, wall)"
for i in $(seq 3); do for v in old new; do
  echo "$v $(OMP_NUM_THREADS=2 $T/W.$v --batch 1 --reps 3 --min-time 0.4 --only infer | grep -o 'infer_ms=[0-9.]*')"
done; done
echo "== training step, batch 64, 1 thread: wall (bench_main) and process CPU time (r1_b1_cpu: 3 steps x 3, median)"
for i in $(seq $PAIRS); do for v in old new; do
  echo "$v $(OMP_NUM_THREADS=1 $T/W.$v --batch 64 --reps 3 --min-time 0.4 --only train | grep -o 'train_ms=[0-9.]*') $(OMP_NUM_THREADS=1 $T/C.$v 3 3 64)"
done; done
echo "== per-layer batch-1 profile, 1 thread (dlnc --profile timed in thread CPU time, medians of $PAIRS alternating runs, us per forward)"
python3 docs/results/r1_layers.py $T/P.old $T/P.new $PAIRS
echo "== end: $(date -u) $(uptime)"
