#!/bin/sh
# bench/profile_overhead.sh — what `dlnc run --profile` costs: plain and
# profiled runs of samples/mlp.dln (150 steps, 1 thread) alternating, so a
# load that changes hurts both alike; samples/s from the epoch lines.
#   usage: sh bench/profile_overhead.sh [RUNS]   (from the repository root)
export OMP_NUM_THREADS=1
echo "# $(date -u) commit $(git rev-parse --short HEAD)"
echo "# uptime: $(uptime)"
echo "# command: sh bench/profile_overhead.sh ${1:-4}"
for i in $(seq "${1:-4}"); do
  for p in "" --profile; do
    s=$(nice -n 5 build/dlnc run --max-steps 150 --epochs 1 $p samples/mlp.dln 2>/dev/null | sed -n 's/^epoch .*  \([0-9]*\) samples\/s.*/\1/p')
    echo "run $i ${p:-plain} $s samples/s"
  done
done
echo "# uptime after: $(uptime)"
