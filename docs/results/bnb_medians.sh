#!/bin/sh
# bnb_medians.sh LOG — the median of each figure of a bnb_ab.sh log, old and new rows apart.
for v in old new; do
  printf '%s median of %s runs:' "$v" "$(grep -c "^$v " "$1")"
  for k in train_ms conv nonconv stats normalize relu_mask resid_mask sums dx other; do
    grep "^$v " "$1" | grep -o " $k=[0-9.]*" | cut -d= -f2 | sort -n |
      awk -v k="$k" '{a[NR]=$1} END {if (NR) printf " %s=%.2f", k, NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
  done
  echo
done
