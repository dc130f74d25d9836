#!/bin/sh
# usage: BUILD=build sh docs/results/issue10_snapshot.sh OUTDIR  — generated C (+h), IR, IR after elab for every compiling .dln
# run from the repository root; BUILD defaults to build
b=${BUILD:-build}
out=$1; mkdir -p $out
for f in samples/*.dln $(find tests -name '*.dln' | sort); do
  n=$(echo $f | tr / _)
  $b/dlnc $f -o $out/$n.c >/dev/null 2>&1 || rm -f $out/$n.c $out/$n.h
  $b/dlnc $f --emit=ir >$out/$n.ir 2>/dev/null || rm -f $out/$n.ir
  $b/dlnc $f --emit=ir --after=elab >$out/$n.elab 2>/dev/null || rm -f $out/$n.elab
done
