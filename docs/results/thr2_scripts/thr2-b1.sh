#!/bin/sh
# alternating: resnet20 batch-1 forward, 4 variants, CPU time and wall
B=${1:-/tmp/thr2-bin/resnet20.bench}; R=${2:-6}
for r in $(seq 1 $R); do
  for v in "1 unbound" "2 bound" "2 unbound" "1 bound"; do
    set -- $v
    if [ $2 = bound ]; then export OMP_PROC_BIND=true; else unset OMP_PROC_BIND; fi
    c=$(OMP_NUM_THREADS=$1 GOMP_SPINCOUNT=20000 $B --batch 1 --only infer --reps 3 --min-time 0.2 --cpu-time | sed 's/.*infer_ms=\([0-9.]*\).*/\1/')
    w=$(OMP_NUM_THREADS=$1 GOMP_SPINCOUNT=20000 $B --batch 1 --only infer --reps 3 --min-time 0.2 | sed 's/.*infer_ms=\([0-9.]*\).*/\1/')
    echo "round $r threads=$1 $2 cpu_ms=$c wall_ms=$w load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
