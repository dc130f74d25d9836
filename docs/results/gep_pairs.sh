#!/bin/sh
# gep_pairs.sh LOG — per pair new/old infer_ms (or train_ms with FIELD=train_ms) of a bench/ab.sh log.
f=${FIELD:-infer_ms}
grep '^pair' "$1" | sed "s/.*pair \([0-9]*\) \(old\|new\) .*$f=\([0-9.]*\).* load \([0-9.]*\).*/\1 \2 \3 \4/" |
  awk '{v[$1 "_" $2] = $3; l[$1] = $4} END {for (p = 1; v[p "_new"] != ""; p++) printf "pair %d: old %s new %s new/old %.3f (load %s)\n", p, v[p "_old"], v[p "_new"], v[p "_new"] / v[p "_old"], l[p]}'
