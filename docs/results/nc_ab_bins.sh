#!/bin/sh
# docs/performance.md, section "branch nc": bench/ab.sh for two prebuilt bench_main binaries (the prototype is a patched model.c).
# ab.sh OLD NEW PAIRS THREADS: two bench_main binaries alternating (as bench/ab.sh), CPU time
old=$1 new=$2 pairs=$3; export OMP_NUM_THREADS=$4
echo "ab: $old vs $new, $pairs pairs, OMP_NUM_THREADS=$4; $(uptime)"
p=1
while [ $p -le $pairs ]; do
  for v in old new; do eval b=\$$v; echo "pair $p $v $(nice -n 5 $b --batch 64 --reps 3 --min-time 0.4 --only train --cpu-time) load $(cut -d' ' -f1 /proc/loadavg)"; done
  p=$((p+1))
done > ${T:-/tmp/nc-ab}.pairs.$4.log
awk '{for(i=4;i<=NF;i++) if(split($i,kv,"=")==2 && kv[1]=="train_ms") v[$3]=v[$3]" "kv[2]} END{print "old:"v["old"]; print "new:"v["new"]}' ${T:-/tmp/nc-ab}.pairs.$4.log
