#!/bin/sh
# Time per epoch of samples/mlp.dln under `dlnc run` and of its PyTorch twin
# (bench/mlp_torch.py), alternating, one thread each, REPS times; prints the
# medians and the ratio. The machine is shared: only the ratio, measured side
# by side, means much.
#   usage: bench/epoch_compare.sh [BUILD_DIR] [REPS]
B=${1:-build}; REPS=${2:-3}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1 DLNC_CACHE="$T/cache"
$B/dlnc run samples/mlp.dln --epochs 1 --quiet >/dev/null 2>&1   # build the cached .so first
for i in $(seq "$REPS"); do
  # the progress line gives samples/s; an epoch is 60000 samples
  $B/dlnc run samples/mlp.dln --epochs 1 | sed -n 's/.* \([0-9]*\) samples\/s.*/\1/p' | head -1 | awk '{printf "%.2f\n", 60000 / $1}' >> "$T/ours"
  /usr/bin/python3 bench/mlp_torch.py --epochs 1 --threads 1 | sed -n 's/^torch: \([0-9.]*\) s.*/\1/p' >> "$T/torch"
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
o=$(med "$T/ours"); t=$(med "$T/torch")
echo "mlp epoch, 1 thread: dlnc ${o}s, pytorch ${t}s (medians of $REPS, alternating); pytorch/dlnc = $(echo "$t $o" | awk '{printf "%.2f", $1/$2}')"
