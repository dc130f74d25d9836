#!/bin/sh
# lenet5: 1 thread vs the team (limit 2) unbound and bound, wall time, no trace, no spinner; order reversed every round
R=${1:-6}; shift; EXTRA="$*"
for r in $(seq 1 $R); do
  if [ $((r % 2)) = 1 ]; then L="1 tu tb"; else L="tb tu 1"; fi
  for v in $L; do
    case $v in 1) n=1; b=""; x="";; tu) n=2; b=""; x=--team;; tb) n=2; b=true; x=--team;; esac
    if [ -n "$b" ]; then export OMP_PROC_BIND=true; else unset OMP_PROC_BIND; fi
    echo "r$r $v $(OMP_NUM_THREADS=$n GOMP_SPINCOUNT=20000 KMP_BLOCKTIME=1 /tmp/thr2-bin/lenet5.bench --batch 64 --reps 5 --min-time 0.2 --only train $x $EXTRA | grep -o 'train_ms=[0-9.]*\|team_threads=[0-9]*' | tr '\n' ' ') load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
