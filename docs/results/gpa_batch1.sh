#!/bin/sh
# gpa_batch1.sh — batch-1 inference of the GPT workloads before (BASE) and after (HEAD) the
# column-form softmax of the fused attention (runtime/attention.c, probs_cols), old and new
# binaries alternating; then the gpt training step (batch 16) the same way.
# Run from the repository root after `make build/dlnc build/libdlnrt.a`:
#   sh docs/results/gpa_batch1.sh [BASE] > log
# Builds BASE with `make -j2` in $X/old (X default /tmp/gpa_results; kept when already built from BASE).
set -e
BASE=${1:-c6a4429}
X=${X:-/tmp/gpa_results} NICE="nice -n 5"
. "$(dirname "$0")/gpt_pairs.sh"
gpt_build "$BASE"
echo "# base $BASE, head $(git rev-parse --short HEAD); $(grep -m1 'model name' /proc/cpuinfo)"
for W in gpt gpt_composed; do
  pairs "$W batch-1 forward, CPU time" 7 1 _cpu 7 200
  pairs "$W batch-1 forward, wall" 5 1 "" --batch 1 --only infer --reps 3 --min-time 0.5
done
W=gpt
pairs "gpt training step, batch 16" 5 1 "" --batch 16 --only train --reps 3 --min-time 0.5
echo "# end $(date -u +%T), uptime:$(uptime)"
