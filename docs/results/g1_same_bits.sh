#!/bin/sh
# g1_same_bits.sh — the GPT workloads' batch-1 forward outputs from BASE's build and this
# tree's, compared bit for bit (cmp), at 1 and 2 threads. Needs BASE built in /tmp/g1_results/old
# (as g1_batch1.sh does). Run from the repository root after `make build/dlnc build/libdlnrt.a`.
OLD=/tmp/g1_results/old/build X=/tmp/g1_results exec sh bench/forward_same_bits.sh
