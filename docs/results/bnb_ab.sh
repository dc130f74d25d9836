#!/bin/sh
# bnb_ab.sh OLD_TREE NEW_TREE WORKLOAD BATCH PAIRS — old and new
# alternating, 1 thread: the bench_main step time and (second binary) the
# per-kernel CPU times by kind (bnb_profmain.c, bnb_summ.sh). Each tree must
# have build/dlnc and build/libdlnrt.a (make build/dlnc build/libdlnrt.a);
# OLD_TREE e.g. `git archive int19 | tar -x -C /tmp/base`.
set -e
old=$1 new=$2 w=$3 b=$4 pairs=$5
here=$(cd "$(dirname "$0")" && pwd)
X=$(mktemp -d)
for v in old new; do
  t=$(eval echo \$$v)
  "$t/build/dlnc" "$t/bench/workloads/$w.dln" -o "$X/$v.c"
  cc -std=c11 -O3 -march=native -fopenmp -I"$t/runtime" -I"$X" "$t/bench/bench_main.c" "$X/$v.c" "$t/build/libdlnrt.a" -o "$X/$v" -lpng -lz -lm
  "$t/build/dlnc" --profile "$t/bench/workloads/$w.dln" -o "$X/${v}p.c"
  cc -std=c11 -O3 -march=native -fopenmp -DDL_PROFILE -I"$t/runtime" -I"$X" -c "$X/${v}p.c" -o "$X/${v}p.o"
  cc -std=c11 -O3 -march=native -fopenmp -Dmain=bench_real_main -I"$t/runtime" -I"$X" -c "$t/bench/bench_main.c" -o "$X/${v}b.o"
  cc -O2 -I"$t/runtime" "$here/bnb_profmain.c" "$X/${v}b.o" "$X/${v}p.o" "$t/build/libdlnrt.a" -o "$X/${v}_prof" \
     -Wl,--wrap=dl_prof_add -Wl,--wrap=dl_prof_clock -fopenmp -lpng -lz -lm
done
nbn=$(grep -c '_batch_stats(n, ' "$X/new.c") # batch norms per step
echo "# $w, batch $b, 1 thread; old = $old, new = $new; $(date -u); $(lscpu | grep 'Model name' | tr -s ' ')"
echo "# step: OMP_NUM_THREADS=1 nice -n 5 W --batch $b --reps 3 --min-time 0.5 --only train (bench_main, wall time)"
echo "# kernels: the same run of the --profile build, kernel CPU times by kind in ms per step (bnb_summ.sh)"
echo "# uptime before: $(uptime)"
for i in $(seq "$pairs"); do
  for v in old new; do
    s=$(OMP_NUM_THREADS=1 nice -n 5 "$X/$v" --batch "$b" --reps 3 --min-time 0.5 --only train | grep -o 'train_ms=[0-9.]*')
    OMP_NUM_THREADS=1 nice -n 5 "$X/${v}_prof" --batch "$b" --reps 3 --min-time 0.5 --only train > "$X/p.txt"
    echo "$v $s $(NBN=$nbn sh "$here/bnb_summ.sh" "$X/p.txt")"
  done
done
echo "# uptime after: $(uptime)"
rm -rf "$X"
