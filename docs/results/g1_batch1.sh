#!/bin/sh
# g1_batch1.sh — gpa_batch1.sh's alternating pairs (gpt and gpt_composed batch-1 forward, CPU
# time and wall; the gpt training step) for the attention forward's direct column-tile kernels
# (runtime/attention_small.c): BASE (default 28b41f8, int21's tip) against this tree, in
# /tmp/g1_results. Run from the repository root after `make build/dlnc build/libdlnrt.a`:
#   sh docs/results/g1_batch1.sh [BASE] > log; python3 docs/results/g1_summary.py log
X=/tmp/g1_results exec sh "$(dirname "$0")/gpa_batch1.sh" "${1:-28b41f8}"
