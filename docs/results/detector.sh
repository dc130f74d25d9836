#!/bin/sh
# docs/results/detector.sh NAME — reruns a detection result of the README:
# samples/NAME.dln trained by `dlnc run` at 1 thread (log: NAME.log,
# history: NAME.csv), then the picture of its test detections
# (bench/detect_boxes.c linked with the model's generated C: NAME_boxes.png,
# the detections it drew in NAME_boxes.txt). From the repository root, after
# `make`. yolo_tiny.sh and ssd_tiny.sh call it.
set -e
name=$1
out=docs/results
ck=${TMPDIR:-/tmp}/$name.st
{ echo "# $(date -u) uptime: $(uptime)"
  echo "# OMP_NUM_THREADS=1 nice -n 5 build/dlnc run samples/$name.dln --checkpoint $ck --history $out/$name.csv"
  OMP_NUM_THREADS=1 nice -n 5 build/dlnc run "samples/$name.dln" --checkpoint "$ck" --history "$out/$name.csv"
  echo "# $(date -u) uptime: $(uptime)"; } > "$out/$name.log" 2>&1
t=$(mktemp -d)
build/dlnc "samples/$name.dln" -o "$t/$name.c"
cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$t" bench/detect_boxes.c "$t/$name.c" build/libdlnrt.a \
   -lpng -lz -lm -o "$t/detect_boxes"
OMP_NUM_THREADS=1 "$t/detect_boxes" "$ck" "$out/${name}_boxes.png" > "$out/${name}_boxes.txt"
rm -rf "$t"
