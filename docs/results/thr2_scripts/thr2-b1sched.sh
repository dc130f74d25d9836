#!/bin/sh
# resnet20 batch-1 forward: wall per forward and the main thread's run-queue wait per ms on CPU, 4 variants alternating
B=/tmp/thr2-bin/resnet20.bench; R=${1:-6}
for r in $(seq 1 $R); do
  for v in "1 unbound" "2 bound" "2 unbound" "1 bound"; do
    set -- $v
    if [ $2 = bound ]; then export OMP_PROC_BIND=true; else unset OMP_PROC_BIND; fi
    o=$(LD_PRELOAD=/tmp/thr2-shim/sched.so OMP_NUM_THREADS=$1 GOMP_SPINCOUNT=20000 KMP_BLOCKTIME=1 $B --batch 1 --only infer --reps 3 --min-time 0.2 2>&1 | tr '\n' ' ')
    echo "round $r threads=$1 $2 $(echo $o | grep -o 'infer_ms=[0-9.]*') $(echo $o | grep -o 'wait_per_run=[0-9.]*') load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
