#!/bin/sh
# wait_policy.sh — libgomp's wait policy at 2 threads: sleep at once
# (OMP_WAIT_POLICY=passive) against a brief spin (GOMP_SPINCOUNT=20000, what
# `dlnc run` sets), alternating, on a quiet machine and beside a spinning loop.
#   sh bench/wait_policy.sh DIR PAIRS   (DIR holds bench_main builds named
#   after bench/workloads/*.dln, e.g. DIR/resnet20; see docs/performance.md)
dir=$1
pairs=${2:-5}
step() { # env... binary batch: the training step in ms
    env "$@" --reps 3 --min-time 0.3 --only train | sed -n 's/^train_ms=\([0-9.]*\) .*/\1/p'
}
echo "# $(date -u '+%F %T') $(uptime)"
for w in resnet20 lenet5; do
    [ -x "$dir/$w" ] || continue
    for scen in quiet busy; do
        if [ $scen = busy ]; then
            timeout 900 sh -c 'while :; do :; done' &
            spin=$!
        fi
        i=0
        while [ $i -lt "$pairs" ]; do
            one=$(step OMP_NUM_THREADS=1 "$dir/$w" --batch 64)
            p=$(step OMP_NUM_THREADS=2 OMP_PROC_BIND=true OMP_WAIT_POLICY=passive "$dir/$w" --batch 64)
            s=$(step OMP_NUM_THREADS=2 OMP_PROC_BIND=true GOMP_SPINCOUNT=20000 "$dir/$w" --batch 64)
            echo "$w $scen pair $i: 1 thread $one | 2 passive $p | 2 spin20000 $s"
            i=$((i + 1))
        done
        [ $scen = busy ] && kill $spin
    done
done
echo "# $(date -u '+%F %T') $(uptime)"
