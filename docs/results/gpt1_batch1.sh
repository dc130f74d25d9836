#!/bin/sh
# gpt1_batch1.sh — batch-1 inference of the GPT workloads, before (BASE) and after (HEAD)
# weights kept packed (dl_sgemm_w, gemm_wide.c) and the shorter softmax rows, old and new
# binaries alternating; then the gpt training step (batch 16) the same way.
# Run from the repository root after `make`:  sh docs/results/gpt1_batch1.sh [BASE] > log
# (The build and the alternation live in gpt_pairs.sh, shared with gpa_batch1.sh.)
set -e
BASE=${1:-1f300f7}
X=/tmp/gpt1_results; rm -rf $X
. "$(dirname "$0")/gpt_pairs.sh"
gpt_build "$BASE"
echo "# base $BASE, head $(git rev-parse --short HEAD); $(grep -m1 'model name' /proc/cpuinfo)"
for W in gpt gpt_composed; do
  pairs "$W batch-1 forward, CPU time" 5 1 _cpu 7 200
  pairs "$W batch-1 forward, wall" 5 1 "" --batch 1 --only infer --reps 3 --min-time 0.5
  pairs "$W batch-1 forward, wall, 2 threads" 3 2 "" --batch 1 --only infer --reps 3 --min-time 0.5
done
W=gpt
pairs "gpt training step, batch 16" 5 1 "" --batch 16 --only train --reps 3 --min-time 0.5
echo "# end $(date -u +%T), uptime:$(uptime)"
