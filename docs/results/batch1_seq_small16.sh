#!/bin/sh
# docs/results/batch1_seq_small16.sh — batch-1 inference and batch-64 training of the
# sequence workloads, old build against new, alternating in one run (issue 15, target 2).
#
#   sh docs/results/batch1_seq_small16.sh OLD_BUILD NEW_BUILD [ROUNDS]
#
# OLD_BUILD / NEW_BUILD: build directories holding dlnc and libdlnrt.a (e.g. the base
# commit unpacked with `git archive 48fc604 | tar -x -C /tmp/base && make -C /tmp/base`,
# and this tree's build/). Each workload's bench binary is built as docs/performance.md
# says; the rounds alternate old and new so both see the same machine load. Short windows
# (medians of 9 windows of >= 50 ms for inference) so that on an oversubscribed machine some
# rounds catch a quiet core: docs/results/batch1_seq_small16.py takes per workload the median
# and the best of the rounds, and the median of the per-round new/old ratios.
set -e
OLD=$1 NEW=$2 ROUNDS=${3:-5}
X=$(mktemp -d)
trap 'rm -rf "$X"' EXIT
for W in gpt gpt_composed lstm_rows char_lstm; do
    for V in old new; do
        B=$OLD; [ $V = new ] && B=$NEW
        mkdir -p "$X/$V"
        "$B/dlnc" bench/workloads/$W.dln -o "$X/$V/$W.c"
        cc -std=c11 -O3 -march=native -fopenmp -Iruntime -I"$X/$V" bench/bench_main.c "$X/$V/$W.c" \
            "$B/libdlnrt.a" -o "$X/$V/$W" -lpng -lz -lm
    done
done
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -n) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# load at start: $(uptime)"
run() { OMP_NUM_THREADS=1 "$X/$2/$1" $4 | grep -o "$3=[0-9.]*"; } # workload, old|new, field, arguments
for r in $(seq 1 "$ROUNDS"); do
    for W in gpt gpt_composed lstm_rows char_lstm; do
        for V in old new; do echo "infer1 $W $V round$r $(run $W $V infer_ms '--batch 1 --reps 9 --min-time 0.05 --only infer')"; done
    done
    for W in gpt lstm_rows char_lstm; do
        for V in old new; do echo "train64 $W $V round$r $(run $W $V train_ms '--batch 64 --reps 3 --min-time 0.3 --only train')"; done
    done
done
echo "# load at end: $(uptime)"
