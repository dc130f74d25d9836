#!/bin/sh
# bench/run.sh — what `make bench` runs: dlnc-compiled models against their
# PyTorch twins, and dl_sgemm against OpenBLAS, on this machine.
#   usage: bench/run.sh [BUILD_DIR]      (default: build; needs $B/dlnc and $B/libdlnrt.a)
#   env:   BENCH_WORKLOADS="mlp ..."     subset of bench/workloads/*.dln
#          BENCH_ROUNDS=3                alternating rounds per (workload, threads)
#          BENCH_OUT=docs/performance.md where the table goes ("-": stdout only)
#          BENCH_BUSY="lenet5 resnet20"  workloads also timed beside a busy core ("": none)
#          BENCH_LAYERS="resnet20 mobilenetv2"  workloads profiled layer by layer
#                                        (bench/conv_layers.c; "0" or "": none)
# Builds into a temporary directory: each workload's C from dlnc, compiled
# like `dlnc run` does (-O3 -march=native, or $DLNC_CFLAGS) and linked with
# bench/bench_main.c; then bench/run.py alternates the runs and writes the table.
# Whole run: about 2 minutes per workload (PyTorch tries up to 6 configurations),
# 1 for the ceilings, 2 per busy-core workload, about 1 per layer-profiled one.
set -e
B=${1:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
CFLAGS=${DLNC_CFLAGS:-"-O3 -march=native"}
OB=/usr/include/x86_64-linux-gnu/openblas-pthread
cc -O2 -fopenmp -Iruntime -I$OB bench/gemm_bench.c "$B/libdlnrt.a" -o "$T/gemm_bench" -lopenblas -lz -lm
# Built for baseline x86-64: it picks the widest ISA at run time itself.
cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror bench/fma_peak.c -o "$T/fma_peak"
CONV_WRAP=-Wl,--wrap=dl_conv2d,--wrap=dl_conv2d_ep,--wrap=dl_conv2d_bwd_data,--wrap=dl_conv2d_bwd_weight
for f in bench/workloads/*.dln; do
  w=$(basename "$f" .dln)
  case " ${BENCH_WORKLOADS:-$w} " in *" $w "*) ;; *) continue ;; esac
  # A workload that does not build is reported and skipped, not fatal.
  if ! "$B/dlnc" "$f" -o "$T/$w.c" 2>"$T/$w.err" ||
     ! cc -std=c11 $CFLAGS -fopenmp -Iruntime -I"$T" -c "$T/$w.c" -o "$T/$w.o" 2>>"$T/$w.err" ||
     ! cc -std=c11 $CFLAGS -fopenmp -Iruntime bench/bench_main.c "$T/$w.o" "$B/libdlnrt.a" \
        -o "$T/$w.bench" -lz -lm 2>>"$T/$w.err"; then
    echo "bench: skipping $w, it does not build:" >&2; head -5 "$T/$w.err" >&2
    continue
  fi
  # The same model object again, its convolution calls routed through
  # conv_layers.c's recorders (ld --wrap), for the per-layer profile.
  case " ${BENCH_LAYERS-resnet20 mobilenetv2} " in
    *" $w "*) cc -std=c11 $CFLAGS -fopenmp -Iruntime bench/conv_layers.c "$T/$w.o" "$B/libdlnrt.a" -o "$T/$w.layers" \
                $CONV_WRAP -lz -lm 2>>"$T/$w.err" || echo "bench: $w's layer profile does not build" >&2 ;;
  esac
done
# Generation per token with and without the key/value cache (a decoder sample).
if "$B/dlnc" samples/gpt_char.dln -o "$T/gpt_char.c" 2>"$T/gpt_char.err"; then
  cc -std=c11 $CFLAGS -fopenmp -Iruntime -I"$T" bench/decode_latency.c "$T/gpt_char.c" "$B/libdlnrt.a" \
    -o "$T/decode_latency" -lz -lm 2>>"$T/gpt_char.err" || echo "bench: decode_latency does not build" >&2
fi
/usr/bin/python3 bench/run.py --bin "$T" --out "${BENCH_OUT:-docs/performance.md}" --rounds "${BENCH_ROUNDS:-3}" \
  --cflags "$CFLAGS" --busy "${BENCH_BUSY-lenet5 resnet20}"
