#!/bin/sh
# gpt2_bounds.sh — what each piece of gpt's batch-1 forward besides the weight products is
# worth: the forward with that piece taken out (docs/results/gpt2_dlnc_variant.sh for the
# generated C; the fused attention's exp for the runtime) against the forward as it is, pairs
# alternating (bench/ab.sh), CPU time, 1 thread. Upper bounds only: the variants' outputs are wrong.
# Then a perf profile of the forward as it is. Run from the repository root after
# `make build/dlnc build/libdlnrt.a`; logs into docs/results/gpt2_bounds_*.log.
set -e
R=docs/results
T=${T:-/tmp/gpt2_bounds}
PAIRS=${PAIRS:-7}
opts="--batch 1 --only infer --reps 3 --min-time 0.4 --cpu-time"
mkdir -p "$T"
for v in nogelu nodiv noslice; do
  VARIANT=$v NEW_DLNC=$R/gpt2_dlnc_variant.sh T=$T/$v sh bench/ab.sh build/libdlnrt.a build/libdlnrt.a gpt "$PAIRS" $opts \
    > $R/gpt2_bounds_$v.log 2>&1
done
# the fused attention's softmax without its exp (expf16 returns x + 1): a runtime built from HEAD
rm -rf "$T/noexp" && mkdir -p "$T/noexp" && git archive HEAD | tar -x -C "$T/noexp"
sed -i 's/^static INLINE __m512 expf16(__m512 x) {$/& if (1) return _mm512_add_ps(x, _mm512_set1_ps(1.0f));/' \
  "$T/noexp/runtime/attention_small.c"
grep -q 'if (1) return' "$T/noexp/runtime/attention_small.c"
make -C "$T/noexp" -j2 build/libdlnrt.a > "$T/noexp.build.log" 2>&1
T=$T/noexp_ab sh bench/ab.sh build/libdlnrt.a "$T/noexp/build/libdlnrt.a" gpt "$PAIRS" $opts > $R/gpt2_bounds_noexp.log 2>&1
# the profile: CPU samples of the forward as it is
mkdir -p "$T/prof" && build/dlnc bench/workloads/gpt.dln -o "$T/prof/gpt.c"
cc -std=c11 -O3 -march=native -fopenmp -g -Iruntime -I"$T/prof" bench/bench_main.c "$T/prof/gpt.c" build/libdlnrt.a \
  -o "$T/prof/gpt" -lpng -lz -lm
{ echo "# gpt batch-1 forward, 1 thread, $(git rev-parse --short HEAD); $(date -u); $(uptime)"
  echo "# OMP_NUM_THREADS=1 perf record $T/prof/gpt --batch 1 --only infer --min-time 3; perf report --no-children --sort symbol"
  OMP_NUM_THREADS=1 perf record -q -o "$T/prof/perf.data" "$T/prof/gpt" --batch 1 --only infer --min-time 3 2>&1
  perf report -i "$T/prof/perf.data" --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
  echo "# perf annotate -s scores_avx512 (lines >= 1% of its samples)"
  perf annotate -i "$T/prof/perf.data" --stdio -s scores_avx512 2>/dev/null | awk '$1+0 >= 1.0'
  echo "# done $(date -u); $(uptime)"; } > $R/gpt2_profile.log 2>&1
