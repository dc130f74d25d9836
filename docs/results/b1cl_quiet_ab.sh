#!/bin/sh
# quiet-window A/B: each pair runs only after 0.5 s in which the 2 cores were >= 1.7 idle (/proc/stat)
T=/tmp/b1cl-ab; PAIRS=${PAIRS:-8}; MAXW=${MAXW:-900}
idle() { awk '/^cpu /{print $5+$6}' /proc/stat; }
p=1; start=$(date +%s)
while [ $p -le $PAIRS ] && [ $(( $(date +%s) - start )) -lt $MAXW ]; do
  a=$(idle); sleep 0.5; b=$(idle)
  id=$(( b - a ))   # jiffies (100/s) over 0.5 s: 100 = both cores idle
  if [ $id -ge ${IDLE:-85} ]; then
    for v in old new; do
      echo "pair $p $v idle_before=$id $(OMP_NUM_THREADS=${TH:-2} nice -n 5 $T/$v/bench "$@") load $(cut -d' ' -f1 /proc/loadavg)"
    done
    p=$((p+1))
  fi
done
