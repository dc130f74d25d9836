#!/bin/sh
# gpa_batch1.sh — batch-1 inference of the GPT workloads before (BASE) and after (HEAD) the
# column-form softmax of the fused attention (runtime/attention.c, probs_cols), old and new
# binaries alternating; then the gpt training step (batch 16) the same way.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`:
#   sh docs/results/gpa_batch1.sh [BASE] > log
# Builds BASE with `make -j2` in /tmp/gpa_results/old (skipped when already there).
set -e
BASE=${1:-c6a4429}
X=/tmp/gpa_results; mkdir -p $X/old $X/new
if [ ! -x $X/old/build/dlnc ] || [ "$(cat $X/old/.base 2>/dev/null)" != "$BASE" ]; then
  rm -rf $X/old; mkdir -p $X/old
  git archive "$BASE" | tar -x -C $X/old
  (cd $X/old && nice -n 5 make -j2 build/dlnc build/libdlnrt.a >/dev/null 2>&1)
  echo "$BASE" > $X/old/.base
fi
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
      printf '%s round %d %s: %s\n' "$what" $i $side "$(OMP_NUM_THREADS=$threads nice -n 5 $X/$side/$W$suffix "$@")"
    done
    i=$((i+1))
  done
}
for W in gpt gpt_composed; do
  pairs "$W batch-1 forward, CPU time" 7 1 _cpu 7 200
  pairs "$W batch-1 forward, wall" 5 1 "" --batch 1 --only infer --reps 3 --min-time 0.5
done
W=gpt
pairs "gpt training step, batch 16" 5 1 "" --batch 16 --only train --reps 3 --min-time 0.5
echo "# end $(date -u +%T), uptime:$(uptime)"
