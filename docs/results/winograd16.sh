#!/bin/sh
# Winograd before/after: conv_bench per layer, then ResNet-20 step and batch-1 inference, alternating old/new.
set -e
W=/work/wt-wino16; B=/tmp/wino16/base; X=/tmp/wino16/x
mkdir -p $X/old $X/new
cd $W
cc -std=c11 -O2 -fopenmp -DCONV_BENCH_OLD -Iruntime bench/conv_bench.c /tmp/wino16/old_conv2.o build/libdlnrt.a -o $X/conv_bench -lpng -lz -lm
$B/build/dlnc bench/workloads/resnet20.dln -o $X/old/W.c
cc -std=c11 -O3 -march=native -fopenmp -I$B/runtime -I$X/old $B/bench/bench_main.c $X/old/W.c $B/build/libdlnrt.a -o $X/old/W -lpng -lz -lm
build/dlnc bench/workloads/resnet20.dln -o $X/new/W.c
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I$X/new bench/bench_main.c $X/new/W.c build/libdlnrt.a -o $X/new/W -lpng -lz -lm
echo "== $(date -u) $(uptime)"
echo "== OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive conv_bench 5 cpu   (old = base $(git -C $W rev-parse --short HEAD~1) conv.o, new = HEAD)"
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 $X/conv_bench 5 cpu
echo "== $(uptime)"
for pair in 1 2 3 4 5; do
  for v in old new; do
    echo "== pair $pair $v train: OMP_NUM_THREADS=1 W --batch 64 --reps 3 --min-time 0.5 --only train  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 nice -n 5 $X/$v/W --batch 64 --reps 3 --min-time 0.5 --only train
  done
done
for pair in 1 2 3 4 5; do
  for v in old new; do
    echo "== pair $pair $v infer1: OMP_NUM_THREADS=1 W --batch 1 --reps 3 --min-time 0.5 --only infer  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 nice -n 5 $X/$v/W --batch 1 --reps 3 --min-time 0.5 --only infer
  done
done
for pair in 1 2 3; do
  for v in old new; do
    echo "== pair $pair $v train 2 threads: OMP_NUM_THREADS=2 W --batch 64 --reps 3 --min-time 0.5 --only train  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=2 nice -n 5 $X/$v/W --batch 64 --reps 3 --min-time 0.5 --only train
  done
done
echo "== done $(date -u) $(uptime)"
#!/bin/sh
# As measure.sh's step rows, but bench_main timing process CPU time (CLOCK_PROCESS_CPUTIME_ID) at 1 thread:
# on a machine loaded 8-10 by other sessions, wall time swung 185-470 ms between consecutive runs.
set -e
W=/work/wt-wino16; B=/tmp/wino16/base; X=/tmp/wino16/x
sed 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' $W/bench/bench_main.c > $X/bench_cpu.c
cc -std=c11 -O3 -march=native -fopenmp -I$B/runtime -I$X/old $X/bench_cpu.c $X/old/W.c $B/build/libdlnrt.a -o $X/old/Wcpu -lpng -lz -lm
cc -std=c11 -O3 -march=native -fopenmp -I$W/runtime -I$X/new $X/bench_cpu.c $X/new/W.c $W/build/libdlnrt.a -o $X/new/Wcpu -lpng -lz -lm
echo "== $(date -u) $(uptime)"
for pair in 1 2 3 4 5; do
  for v in old new; do
    echo "== pair $pair $v train (CPU time): OMP_NUM_THREADS=1 Wcpu --batch 64 --reps 3 --min-time 0.5 --only train  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 nice -n 5 $X/$v/Wcpu --batch 64 --reps 3 --min-time 0.5 --only train
  done
done
for pair in 1 2 3 4 5; do
  for v in old new; do
    echo "== pair $pair $v infer1 (CPU time): OMP_NUM_THREADS=1 Wcpu --batch 1 --reps 3 --min-time 0.5 --only infer  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 nice -n 5 $X/$v/Wcpu --batch 1 --reps 3 --min-time 0.5 --only infer
  done
done
echo "== done $(date -u) $(uptime)"
#!/bin/sh
# After the weight gradient: conv_bench per layer (old = base conv.o) and the ResNet-20 step/inference in CPU time, alternating.
set -e
W=/work/wt-wino16; B=/tmp/wino16/base; X=/tmp/wino16/x2
mkdir -p $X/new
cd $W
cc -std=c11 -O2 -fopenmp -DCONV_BENCH_OLD -Iruntime bench/conv_bench.c /tmp/wino16/old_conv2.o build/libdlnrt.a -o $X/conv_bench -lpng -lz -lm
build/dlnc bench/workloads/resnet20.dln -o $X/new/W.c
sed 's/CLOCK_MONOTONIC/CLOCK_PROCESS_CPUTIME_ID/' bench/bench_main.c > $X/bench_cpu.c
cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I$X/new $X/bench_cpu.c $X/new/W.c build/libdlnrt.a -o $X/new/Wcpu -lpng -lz -lm
echo "== $(date -u) $(uptime)"
echo "== OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive conv_bench 5 cpu   (old = base 48fc604 conv.o, new = $(git rev-parse --short HEAD))"
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive nice -n 5 $X/conv_bench 5 cpu
for pair in 1 2 3 4 5; do
  for v in old new; do
    P=/tmp/wino16/x/old/Wcpu; [ $v = new ] && P=$X/new/Wcpu
    echo "== pair $pair $v train (CPU time): OMP_NUM_THREADS=1 Wcpu --batch 64 --reps 3 --min-time 0.5 --only train  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 nice -n 5 $P --batch 64 --reps 3 --min-time 0.5 --only train
  done
done
for pair in 1 2 3 4 5; do
  for v in old new; do
    P=/tmp/wino16/x/old/Wcpu; [ $v = new ] && P=$X/new/Wcpu
    echo "== pair $pair $v infer1 (CPU time): OMP_NUM_THREADS=1 Wcpu --batch 1 --reps 3 --min-time 0.5 --only infer  ($(uptime | sed 's/.*load/load/'))"
    OMP_NUM_THREADS=1 nice -n 5 $P --batch 1 --reps 3 --min-time 0.5 --only infer
  done
done
echo "== done $(date -u) $(uptime)"
