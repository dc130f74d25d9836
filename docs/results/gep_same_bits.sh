#!/bin/sh
# gep_same_bits.sh — the GPT workloads' batch-1 forward, old build (OLD) against this tree's
# (NEW=/tmp/gep/b2: the softmax build, docs/performance.md), bit for bit at 1 and 2 threads.
OLD=${OLD:-/tmp/gep/old} X=${X:-/tmp/gep/bits} exec sh bench/forward_same_bits.sh
