#!/bin/sh
# threads_busy.sh — 1 against 2 threads, on a quiet machine and with one core
# kept busy by a bounded loop this script starts and stops (docs/performance.md,
# "Threads on a busy machine").
#   A. bench_main's training step (ms, median of 3) for bench/workloads
#      lenet5, mlp, resnet20: 1 thread; 2 threads spinning at barriers as
#      libgomp does by default (GOMP_SPINCOUNT=300000, the "before"); 2 threads
#      with the passive policy bench_main and `dlnc run` now set themselves.
#   B. `dlnc run --max-steps S` of samples/lenet5, mlp and resnet8 on
#      Fashion-MNIST (seconds of training): --threads 1; --threads 2 spinning
#      (before); the default now (passive, the team choosing among 1 and 2).
#   usage: bench/threads_busy.sh [BUILD_DIR] [STEPS]   (run under OMP_NUM_THREADS unset, 2 cores)
B=${1:-build}
S=${2:-300}
T=$(mktemp -d)
BUSY=
trap '[ -n "$BUSY" ] && kill $BUSY; rm -rf "$T"' EXIT
CFLAGS="-O3 -march=native"
for w in lenet5 mlp resnet20; do
  "$B/dlnc" bench/workloads/$w.dln -o "$T/$w.c" &&
    cc -std=c11 $CFLAGS -fopenmp -Iruntime -I"$T" bench/bench_main.c "$T/$w.c" "$B/libdlnrt.a" -o "$T/$w.bench" -lz -lm ||
    exit 1
done
for w in lenet5 mlp resnet8; do "$B/dlnc" run samples/$w.dln --max-steps 1 --quiet >/dev/null 2>&1; done # JIT cache warm
busy() { sh -c 'while :; do :; done' & BUSY=$!; }
quiet() { [ -n "$BUSY" ] && kill $BUSY; BUSY=; }
step_ms() { env "$@" "$T/$w.bench" --only train --reps 3 --min-time 0.5 | tr ' ' '\n' | sed -n 's/^train_ms=//p'; }
run_s() { env "$@" --max-steps "$S" --quiet --checkpoint "$T/ck.safetensors" -v 2>"$T/err" |
            sed -n 's/.* steps in \([^,]*\),.*/\1/p'; }
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for scen in quiet busy; do
  [ $scen = busy ] && busy
  echo "# $scen (uptime:$(uptime | sed 's/.*load/ load/'))"
  echo "A $scen | workload | 1 thread ms | 2 threads spinning ms | 2 threads passive ms"
  for w in lenet5 mlp resnet20; do
    echo "A $scen | $w | $(step_ms OMP_NUM_THREADS=1) | $(step_ms OMP_NUM_THREADS=2 GOMP_SPINCOUNT=300000) | $(step_ms OMP_NUM_THREADS=2)"
  done
  echo "B $scen | sample ($S steps) | --threads 1 s | --threads 2 spinning s | default (team) s | team's choice"
  for w in lenet5 mlp resnet8; do
    d=samples/$w.dln
    a=$(run_s OMP_NUM_THREADS=2 "$B/dlnc" run $d --threads 1)
    b=$(run_s OMP_NUM_THREADS=2 GOMP_SPINCOUNT=300000 "$B/dlnc" run $d --threads 2)
    c=$(run_s OMP_NUM_THREADS=2 "$B/dlnc" run $d)
    echo "B $scen | $w | $a | $b | $c | $(grep 'threads:' "$T/err" | tail -1 | sed 's/.*step \([0-9]*\): threads: \([0-9]*\).*/\2 (from step \1)/')"
  done
  quiet
  echo "# end of $scen (uptime:$(uptime | sed 's/.*load/ load/'))"
done
