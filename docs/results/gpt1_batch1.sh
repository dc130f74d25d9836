#!/bin/sh
# gpt1_batch1.sh — batch-1 inference of the GPT workloads, before (BASE) and after (HEAD)
# weights kept packed (dl_sgemm_w, gemm_wide.c) and the shorter softmax rows, old and new
# binaries alternating; then the gpt training step (batch 16) the same way.
# Run from the repository root after `make`:  sh docs/results/gpt1_batch1.sh [BASE] > log
set -e
BASE=${1:-1f300f7}
X=/tmp/gpt1_results; rm -rf $X; mkdir -p $X/old $X/new
git archive "$BASE" | tar -x -C $X/old
(cd $X/old && make -j2 build/dlnc build/libdlnrt.a >/dev/null 2>&1)
for W in gpt gpt_composed; do
  for side in old new; do
    R=$X/old; [ $side = new ] && R=.
    "$R/build/dlnc" bench/workloads/$W.dln -o $X/$side/$W.c
    cc -std=c11 -O3 -march=native -fopenmp -I$R/runtime -I$X/$side $R/bench/bench_main.c $X/$side/$W.c \
       $R/build/libdlnrt.a -o $X/$side/$W -lpng -lz -lm
    cc -std=c11 -O3 -march=native -fopenmp -I$R/runtime -Ibench -I$X/$side bench/forward_cpu.c $X/$side/$W.c \
       $R/build/libdlnrt.a -o $X/$side/${W}_cpu -lpng -lz -lm
  done
done
echo "# base $BASE, head $(git rev-parse --short HEAD); $(grep -m1 'model name' /proc/cpuinfo)"
pairs() { # what rounds threads binary-suffix args...
  what=$1; rounds=$2; threads=$3; suffix=$4; shift 4
  echo "## $what: OMP_NUM_THREADS=$threads {old,new}/W$suffix $*  ($(date -u +%T), uptime:$(uptime))"
  i=1
  while [ $i -le $rounds ]; do
    for side in old new; do
      printf '%s round %d %s: %s\n' "$what" $i $side "$(OMP_NUM_THREADS=$threads $X/$side/$W$suffix "$@")"
    done
    i=$((i+1))
  done
}
for W in gpt gpt_composed; do
  pairs "$W batch-1 forward, CPU time" 5 1 _cpu 7 200
  pairs "$W batch-1 forward, wall" 5 1 "" --batch 1 --only infer --reps 3 --min-time 0.5
  pairs "$W batch-1 forward, wall, 2 threads" 3 2 "" --batch 1 --only infer --reps 3 --min-time 0.5
done
W=gpt
pairs "gpt training step, batch 16" 5 1 "" --batch 16 --only train --reps 3 --min-time 0.5
echo "# end $(date -u +%T), uptime:$(uptime)"
