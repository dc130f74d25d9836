#!/bin/sh
# Reproduces docs/results/s2w_other_shapes.log (docs/performance.md, "Stride-2 weight gradient as
# outer products": the 16-output-channel rule). The layer driver of s2d_layer_driver.c with the
# geometry from C, OC, H (stride 2, 3x3, pad 1, batch 64); old = int21 28b41f8's libdlnrt.a.
# The log was measured at 2ad1413 (before dl_conv_s2w_pays existed), so "final" ran
# conv_s2_wgrad.c for OC 8 too; with the rule, OC 8 takes the old path again.
set -e
T=${T:-/tmp/s2w}; OLD_LIB=${OLD_LIB:-$T/libdlnrt.old.a}
sed -e 's/g.c=big?32:16; g.h=g.w=big?16:32; g.oc=big?64:32;/g.c=atoi(getenv("C")); g.h=g.w=atoi(getenv("H")); g.oc=atoi(getenv("OC"));/' \
    -e 's/r<200/r<100/' docs/results/s2d_layer_driver.c > "$T/drvg.c"
cc -O2 -fopenmp -Iruntime "$T/drvg.c" "$OLD_LIB" -o "$T/drvg.old" -lpng -lz -lm
cc -O2 -fopenmp -Iruntime "$T/drvg.c" build/libdlnrt.a -o "$T/drvg.final" -lpng -lz -lm
for s in "16 8 32" "16 24 32" "64 16 16" "8 16 64" "3 16 32"; do set -- $s; for r in 1 2; do for v in old final; do
  echo "C=$1 OC=$2 H=$3 $v $(C=$1 OC=$2 H=$3 OMP_NUM_THREADS=1 "$T/drvg.$v" 2 0)"
done; done; done
