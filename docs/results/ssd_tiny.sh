#!/bin/sh
# docs/results/ssd_tiny.sh — reruns the SSD result of the README:
# samples/ssd_tiny.dln trained by `dlnc run` (log: ssd_tiny.log, history:
# ssd_tiny.csv), then the picture of its test detections
# (bench/detect_boxes.c linked with the model's generated C: ssd_tiny_boxes.png,
# the detections it drew in ssd_tiny_boxes.txt). From the repository root,
# after `make`.
set -e
out=docs/results
ck=${TMPDIR:-/tmp}/ssd_tiny.st
{ echo "# $(date) uptime: $(uptime)"
  echo "# OMP_NUM_THREADS=1 nice -n 5 build/dlnc run samples/ssd_tiny.dln --checkpoint $ck --history $out/ssd_tiny.csv"
  OMP_NUM_THREADS=1 nice -n 5 build/dlnc run samples/ssd_tiny.dln --checkpoint "$ck" --history "$out/ssd_tiny.csv"
  echo "# exit $?"
  echo "# $(date) uptime: $(uptime)"; } > "$out/ssd_tiny.log" 2>&1
t=$(mktemp -d)
build/dlnc samples/ssd_tiny.dln -o "$t/ssd_tiny.c"
cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$t" bench/detect_boxes.c "$t/ssd_tiny.c" build/libdlnrt.a \
   -lpng -lz -lm -o "$t/detect_boxes"
OMP_NUM_THREADS=1 "$t/detect_boxes" "$ck" "$out/ssd_tiny_boxes.png" > "$out/ssd_tiny_boxes.txt"
rm -rf "$t"
