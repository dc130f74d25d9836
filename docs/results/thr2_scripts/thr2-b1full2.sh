#!/bin/sh
# make bench's own invocation (train then batch-1 infer in one process), resnet20, 1 vs 2 threads (bound at 2, as run.py), CPU time; order alternating
B=/tmp/thr2-bin/resnet20.bench
for r in 1 2 3 4 5 6; do
  if [ $((r % 2)) = 1 ]; then L="1 2"; else L="2 1"; fi
  for t in $L; do
    if [ $t = 2 ]; then export OMP_PROC_BIND=true; else unset OMP_PROC_BIND; fi
    echo "round $r threads=$t cpu: $(OMP_NUM_THREADS=$t GOMP_SPINCOUNT=20000 KMP_BLOCKTIME=1 $B --batch 64 --reps 5 --min-time 0.2 --cpu-time) load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
