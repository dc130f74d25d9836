#!/bin/sh
# docs/results/yolo_tiny.sh — reruns the detection result of the README:
# samples/yolo_tiny.dln trained by `dlnc run` (log: yolo_tiny.log, history:
# yolo_tiny.csv), then the picture of its test detections
# (bench/detect_boxes.c linked with the model's generated C: yolo_tiny_boxes.png,
# the detections it drew in yolo_tiny_boxes.txt). From the repository root,
# after `make`.
set -e
out=docs/results
ck=${TMPDIR:-/tmp}/yolo_tiny.st
{ echo "# $(date -u) uptime: $(uptime)"
  echo "# OMP_NUM_THREADS=1 build/dlnc run samples/yolo_tiny.dln --checkpoint $ck --history $out/yolo_tiny.csv"
  OMP_NUM_THREADS=1 build/dlnc run samples/yolo_tiny.dln --checkpoint "$ck" --history "$out/yolo_tiny.csv"
  echo "# $(date -u) uptime: $(uptime)"; } > "$out/yolo_tiny.log" 2>&1
t=$(mktemp -d)
build/dlnc samples/yolo_tiny.dln -o "$t/yolo_tiny.c"
cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$t" bench/detect_boxes.c "$t/yolo_tiny.c" build/libdlnrt.a \
   -lpng -lz -lm -o "$t/detect_boxes"
OMP_NUM_THREADS=1 "$t/detect_boxes" "$ck" "$out/yolo_tiny_boxes.png" > "$out/yolo_tiny_boxes.txt"
rm -rf "$t"
