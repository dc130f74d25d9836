# tests/e2e/bench_build.sh — the benchmark's programs build and work, quickly
# (`make bench` itself is not part of make test: it takes many minutes):
#   - bench/fma_peak.c compiles with -Wall -Wextra -Werror, picks an ISA the
#     CPU has, prints positive GFLOP/s, runs every ISA it names on request,
#     and rejects an unknown ISA with exit 2;
#   - bench/gemm_bench.c compiles with -Wall -Wextra -Werror;
#   - bench/bw_scaling.c (-Werror) prints a positive rate at 1 and 2 threads
#     for each size asked, and rejects a bad argument with exit 2;
#   - bench/gemm_w_bench.c (-Werror) times GPT's four batch-1 products;
#   - bench/forward_cpu.c (-Werror) times a batch-1 forward of LeNet-5 and
#     of the GPT workload (both API forms) in CPU time;
#   - bench/dw_bench.c compiles with -Werror and times every depthwise shape;
#   - bench/mobilenetv2.dln compiles to C that builds with -Werror;
#   - bench/conv_layers.c (-Werror) records LeNet-5's two convolutions from
#     one training step, with the passes it makes (no data gradient for the
#     first), and times each (also with --best); torch_conv_layers.py times
#     the same layers;
#   - bench/busy_core.py's spinner stops at its own deadline;
#   - bench/region_work.c (-Werror) counts a program's regions and their CPU time;
#   - bench/run.py's trace_summary sums a thread-team trace;
#   - torch_bench.py times every PyTorch configuration it claims for a conv
#     model (channels_last training, frozen TorchScript in both layouts),
#     each checked inside it against eager NCHW (skipped without PyTorch).
# Sourced by run.sh (uses $T, $CFLAGS, $DLNC, $B, $pass, $fail). ~10 s.

bb_ok() { echo "bench build: $1: ok"; pass=$((pass+1)); }
bb_fail() { echo "FAIL bench build: $1"; [ -f "$2" ] && tail -8 "$2"; fail=$((fail+1)); }

if cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror bench/fma_peak.c -o "$T/fma_peak" 2>"$T/fma.err" \
   && OMP_NUM_THREADS=2 "$T/fma_peak" --seconds 0.02 --rounds 2 >"$T/fma.out" 2>>"$T/fma.err" \
   && grep -Eq '^isa=(avx512|avx2|sse|scalar) lanes=[0-9]+ chains=[0-9]+ threads=2 gflops_1=[0-9.]+ gflops_all=[0-9.]+$' "$T/fma.out" \
   && awk '{split($5, a, "="); split($6, b, "="); exit !(a[2] > 0 && b[2] > 0)}' "$T/fma.out"; then
  isas=ok
  for i in sse scalar; do   # every x86-64 CPU has these: both must run and count
    OMP_NUM_THREADS=1 "$T/fma_peak" --isa $i --seconds 0.01 --rounds 1 >"$T/fma_$i.out" 2>&1 \
      && grep -q "^isa=$i .*gflops_1=[1-9]" "$T/fma_$i.out" || isas="$i failed"
  done
  "$T/fma_peak" --isa vax >"$T/fma_bad.out" 2>&1; rc=$?
  if [ "$isas" = ok ] && [ $rc -eq 2 ] && grep -q "ISA 'vax' unknown or not supported" "$T/fma_bad.out"; then
    bb_ok "fma_peak: -Werror, $(cut -d' ' -f1 "$T/fma.out"), sse and scalar on request, unknown ISA exit 2"
  else
    bb_fail "fma_peak ISAs ($isas, unknown ISA exit $rc)" "$T/fma_bad.out"
  fi
else
  bb_fail "fma_peak" "$T/fma.err"; cat "$T/fma.out" 2>/dev/null
fi

# dw_bench: the depthwise layers of MobileNetV2, 7 shapes x 3 ops at batch 64
# and 7 forwards at batch 1, each with a positive rate, and with "pw" its 12
# pointwise shapes x 3 ops and 12 forwards at batch 1 (~2 s at one rep).
if cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime bench/dw_bench.c "$B/libdlnrt.a" \
     -o "$T/dw_bench" -lpng -lz -lm 2>"$T/dw.err" \
   && OMP_NUM_THREADS=1 "$T/dw_bench" 1 cpu >"$T/dw.out" 2>>"$T/dw.err" \
   && [ "$(grep -Ec '^n(64|1) c[0-9]+ [0-9]+x[0-9]+ s[12] +(fwd|bwd_data|bwd_weight) ' "$T/dw.out")" -eq 28 ] \
   && awk 'NR > 1 && !($(NF-1) > 0) { bad = 1 } END { exit bad }' "$T/dw.out" \
   && OMP_NUM_THREADS=1 "$T/dw_bench" 1 cpu pw >"$T/pw.out" 2>>"$T/dw.err" \
   && [ "$(grep -Ec '^n(64|1) [0-9]+>[0-9]+ [0-9]+x[0-9]+ +(fwd|bwd_data|bwd_weight) +[0-9.]+ +[0-9.]*[1-9]' "$T/pw.out")" -eq 48 ]; then
  bb_ok "dw_bench: -Werror, 28 depthwise and 48 pointwise timings, all positive"
else
  bb_fail "dw_bench" "$T/dw.err"; cat "$T/dw.out" 2>/dev/null
fi

if cc -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I/usr/include/x86_64-linux-gnu/openblas-pthread \
     -c bench/gemm_bench.c -o "$T/gemm_bench.o" 2>"$T/gemm.err"; then
  bb_ok "gemm_bench compiles with -Werror"
else
  bb_fail "gemm_bench" "$T/gemm.err"
fi

# gemm_w_bench: GPT's four batch-1 products, dl_sgemm and dl_sgemm_w, one
# round: four shape lines and the total, every rate positive (~0.3 s).
if cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime bench/gemm_w_bench.c "$B/libdlnrt.a" \
     -o "$T/gemm_w_bench" -lpng -lz -lm 2>"$T/gemmw.err" \
   && OMP_NUM_THREADS=1 "$T/gemm_w_bench" 1 >"$T/gemmw.out" 2>>"$T/gemmw.err" \
   && [ "$(grep -Ec '^(64 x [0-9]+ x [0-9]+|one block.s four products) +[0-9.]*[1-9][0-9.]* +[0-9.]*[1-9][0-9.]* ' "$T/gemmw.out")" -eq 5 ]; then
  bb_ok "gemm_w_bench: -Werror, 4 shapes and the total, rates positive"
else
  bb_fail "gemm_w_bench" "$T/gemmw.err"; cat "$T/gemmw.out" 2>/dev/null
fi

if $DLNC bench/workloads/mobilenetv2.dln -o "$T/mnv2.c" 2>"$T/mnv2.err" \
   && cc $CFLAGS -I"$T" -c "$T/mnv2.c" -o "$T/mnv2.o" 2>>"$T/mnv2.err" \
   && $DLNC --summary bench/workloads/mobilenetv2.dln 2>&1 | grep -q "^Total params: 138,426$"; then
  bb_ok "mobilenetv2 workload: -Werror, 138,426 parameters (its PyTorch twin's count)"
else
  bb_fail "mobilenetv2 workload" "$T/mnv2.err"
fi

if cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror bench/bw_scaling.c -o "$T/bw_scaling" 2>"$T/bw.err" \
   && OMP_NUM_THREADS=2 "$T/bw_scaling" --reps 2 1 2 >"$T/bw.out" 2>>"$T/bw.err" \
   && [ "$(grep -Ec '^mb=[12] gbs_1=[0-9.]*[1-9][0-9.]* gbs_all=[0-9.]*[1-9][0-9.]* threads=2 scaling=[0-9.]+$' "$T/bw.out")" -eq 2 ]; then
  "$T/bw_scaling" --reps 0 >"$T/bw_bad.out" 2>&1; rc=$?
  if [ $rc -eq 2 ]; then bb_ok "bw_scaling: -Werror, rates at 1 and 2 threads, bad --reps exit 2"
  else bb_fail "bw_scaling: bad --reps exit $rc" "$T/bw_bad.out"; fi
else
  bb_fail "bw_scaling" "$T/bw.err"; cat "$T/bw.out" 2>/dev/null
fi

# One line per distinct convolution, in the step's order; the first layer
# (the input's) has no data gradient, so no data_ms either.
bb_l1='^layer=0 n=2 c=1 h=28 w=28 oc=6 oh=28 ow=28 kh=5 kw=5 sh=1 sw=1 pt=2 pb=2 pl=2 pr=2 dh=1 dw=1 groups=1 ep=[01] fwd_count=1 data_count=0 weight_count=1 gflop=0\.000470 fwd_ms=[0-9.]+ weight_ms=[0-9.]+$'
bb_l2='^layer=1 n=2 c=6 h=14 w=14 oc=16 oh=10 ow=10 kh=5 kw=5 sh=1 sw=1 pt=0 pb=0 pl=0 pr=0 dh=1 dw=1 groups=1 ep=[01] fwd_count=1 data_count=1 weight_count=1 gflop=0\.000960 fwd_ms=[0-9.]+ data_ms=[0-9.]+ weight_ms=[0-9.]+$'
if $DLNC bench/workloads/lenet5.dln -o "$T/lenet5b.c" 2>"$T/cl.err" \
   && cc $CFLAGS -c "$T/lenet5b.c" -o "$T/lenet5b.o" 2>>"$T/cl.err" \
   && cc $CFLAGS bench/conv_layers.c "$T/lenet5b.o" "$B/libdlnrt.a" -o "$T/conv_layers" -lz -lm \
        -Wl,--wrap=dl_conv2d,--wrap=dl_conv2d_ep,--wrap=dl_conv2d_bwd_data,--wrap=dl_conv2d_bwd_weight 2>>"$T/cl.err" \
   && OMP_NUM_THREADS=2 "$T/conv_layers" --batch 2 --reps 1 --min-time 0.001 >"$T/cl.out" 2>>"$T/cl.err" \
   && [ "$(wc -l <"$T/cl.out")" -eq 2 ] && grep -Eq "$bb_l1" "$T/cl.out" && grep -Eq "$bb_l2" "$T/cl.out" \
   && OMP_NUM_THREADS=2 "$T/conv_layers" --batch 2 --reps 3 --min-time 0.001 --best >"$T/clb.out" 2>>"$T/cl.err" \
   && grep -Eq "$bb_l1" "$T/clb.out" && grep -Eq "$bb_l2" "$T/clb.out"; then
  bb_ok "conv_layers: LeNet-5's 2 convolutions recorded from a step, with their passes, and timed"
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    if OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_conv_layers.py "$T/cl.out" --reps 1 --min-time 0.001 \
         >"$T/tcl.out" 2>"$T/tcl.err" \
       && grep -Eq '^layer=0 fwd_ms=[0-9.]+ weight_ms=[0-9.]+ fwd_cl_ms=[0-9.]+ weight_cl_ms=[0-9.]+$' "$T/tcl.out" \
       && grep -Eq '^layer=1 fwd_ms=[0-9.]+ data_ms=[0-9.]+ weight_ms=[0-9.]+ fwd_cl_ms=[0-9.]+ data_cl_ms=[0-9.]+ weight_cl_ms=[0-9.]+$' "$T/tcl.out"; then
      bb_ok "torch_conv_layers: the same layers and passes, both layouts, gradients checked against autograd"
    else
      bb_fail "torch_conv_layers" "$T/tcl.err"; cat "$T/tcl.out"
    fi
  fi
else
  bb_fail "conv_layers" "$T/cl.err"; cat "$T/cl.out" 2>/dev/null
fi

# forward_cpu: CPU time per batch-1 forward, linked like bench_main with a
# model of each API form (LeNet-5's one input; GPT's token input), 1 round.
bb_fc='^cpu_ms=[0-9.]*[1-9][0-9.]* min_ms=[0-9.]*[1-9][0-9.]*$'
if [ -f "$T/lenet5b.o" ] && $DLNC bench/workloads/gpt.dln -o "$T/gptfc.c" 2>"$T/fc.err" \
   && cc $CFLAGS -Ibench bench/forward_cpu.c "$T/lenet5b.o" "$B/libdlnrt.a" -o "$T/fc_lenet" -lpng -lz -lm 2>>"$T/fc.err" \
   && cc $CFLAGS -Ibench -I"$T" bench/forward_cpu.c "$T/gptfc.c" "$B/libdlnrt.a" -o "$T/fc_gpt" -lpng -lz -lm 2>>"$T/fc.err" \
   && OMP_NUM_THREADS=1 "$T/fc_lenet" 1 2 >"$T/fc.out" 2>>"$T/fc.err" && OMP_NUM_THREADS=1 "$T/fc_gpt" 1 2 >>"$T/fc.out" 2>>"$T/fc.err" \
   && [ "$(grep -Ec "$bb_fc" "$T/fc.out")" -eq 2 ] \
   && ! OMP_NUM_THREADS=2 "$T/fc_gpt" >/dev/null 2>&1; then
  bb_ok "forward_cpu: -Werror, both API forms timed, more than one thread refused"
else
  bb_fail "forward_cpu" "$T/fc.err"; cat "$T/fc.out" 2>/dev/null
fi

# ab.sh: two builds alternating (here one library twice: LeNet-5, 1 pair, bench_main's
# --cpu-time); old_objects.sh: an old build's objects with their globals renamed old_*.
if OLD_DLNC=$DLNC NEW_DLNC=$DLNC T=$T/ab sh bench/ab.sh "$B/libdlnrt.a" "$B/libdlnrt.a" lenet5 1 \
     --batch 4 --reps 1 --min-time 0.001 --only train --cpu-time >"$T/ab.out" 2>"$T/ab.err" \
   && [ "$(grep -Ec '^pair 1 (old|new) train_ms=[0-9.]*[1-9]' "$T/ab.out")" -eq 2 ] \
   && grep -Eq '^median train_ms: old [0-9.]+ new [0-9.]+ new/old [0-9.]+ \(1 pairs\)$' "$T/ab.out" \
   && sh bench/old_objects.sh "$B/libdlnrt.a" "$T/oo" conv 2>>"$T/ab.err" \
   && nm --defined-only "$T/oo/conv_old.o" | grep -q " T old_dl_conv2d$" \
   && ! nm --defined-only "$T/oo/conv_old.o" | grep -q " T dl_conv2d$"; then
  bb_ok "ab.sh: old and new alternating with medians; old_objects.sh renames an old build's globals"
else
  bb_fail "ab.sh / old_objects.sh" "$T/ab.err"; cat "$T/ab.out" 2>/dev/null
fi

# forward_same_bits.sh: two builds' batch-1 outputs compared bit for bit (here one build twice).
if OLD=$B NEW=$B WORKLOADS=lenet5 X=$T/fsb sh bench/forward_same_bits.sh >"$T/fsb.out" 2>"$T/fsb.err" \
   && [ "$(grep -c '^lenet5 forward, [12] thread(s): [1-9][0-9]* bytes, old vs new identical$' "$T/fsb.out")" -eq 2 ]; then
  bb_ok "forward_same_bits.sh: one build against itself, identical at 1 and 2 threads"
else
  bb_fail "forward_same_bits.sh" "$T/fsb.err"; cat "$T/fsb.out" 2>/dev/null
fi

# region_work.c: preloaded over GOMP_parallel, a program of 3 regions at 2 threads gives one
# function with regions=3, both threads' CPU summed (busiest <= sum), and the totals line.
cat >"$T/rw3.c" <<'RW'
#include <stdio.h>
int main(void) { volatile double x = 0; for (int r = 0; r < 3; r++) {
#pragma omp parallel
    { for (int i = 0; i < 2000000; i++) x += 1e-9; } } printf("%d\n", x > 0); return 0; }
RW
if cc -O2 -fPIC -shared -fopenmp -Wall -Wextra -Werror bench/region_work.c -o "$T/region_work.so" -ldl 2>"$T/rw.err" \
   && cc -O1 -fopenmp "$T/rw3.c" -o "$T/rw3" 2>>"$T/rw.err" \
   && SHIM_OUT="$T/rw.out" LD_PRELOAD="$T/region_work.so" OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive "$T/rw3" >/dev/null 2>>"$T/rw.err" \
   && [ "$(grep -c '^fn 0x[0-9a-f]* regions=' "$T/rw.out")" -eq 1 ] \
   && awk '/^fn / { split($3, r, "="); split($4, w, "="); split($5, b, "=");
                   ok = r[2] == 3 && w[2] > 0 && b[2] > 0 && b[2] <= w[2] + 1e-6 } END { exit !ok }' "$T/rw.out" \
   && grep -Eq '^total work_cpu=[0-9.]+ busiest_cpu=[0-9.]+ master_cpu=[0-9.]+ master_serial=-?[0-9.]+ process_cpu=[0-9.]+$' "$T/rw.out"; then
  bb_ok "region_work: -Werror, 3 regions at 2 threads counted with their CPU time"
else
  bb_fail "region_work" "$T/rw.err"; cat "$T/rw.out" 2>/dev/null
fi

# run.py's trace_summary: the thread team's trace summed as make bench's busy-core log line prints it.
if [ "$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "bench"); import run
print(run.trace_summary("team: step 1 threads 2 0.0500 ms/sample explore\nteam: others used 1.20 of 2 cores over 0.100 s: 1 free\nteam: step 2 threads 1 0.0300 ms/sample chosen\n", 64))' 2>"$T/ts.err")" \
     = " steps=2 at2=1 at2_ms=3.2 all_ms=5.1 looks=1 others_min=1.20 others_max=1.20" ]; then
  bb_ok "run.py trace_summary: steps, steps at 2 threads and the others' cores from a team trace"
else
  bb_fail "run.py trace_summary" "$T/ts.err"
fi

if /usr/bin/python3 bench/busy_core.py >"$T/busy.out" 2>&1 && grep -q "stopped by its deadline after 1\.[0-9] s, status 0" "$T/busy.out"; then
  bb_ok "busy_core spinner bounded by its deadline"
else
  bb_fail "busy_core" "$T/busy.out"
fi

if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  if OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_bench.py lenet5 --batch 4 --threads 1 --reps 1 --min-time 0.001 \
       >"$T/tb.out" 2>"$T/tb.err" \
     && (for k in train_ms train_cl_ms infer_ms infer_cl_ms infer_jit_ms infer_jit_cl_ms; do
           grep -Eq "(^| )$k=[0-9]" "$T/tb.out" || exit 1; done); then
    bb_ok "torch_bench: lenet5 in all six configurations"
  else
    bb_fail "torch_bench configurations" "$T/tb.err"; cat "$T/tb.out"
  fi
else
  echo "bench build: torch_bench: skipped (no PyTorch for /usr/bin/python3)"
fi
