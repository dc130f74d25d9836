#!/bin/sh
# bench/profile_by_line.sh LOG — from the output of `dlnc run --profile`, the training
# step's kernel time summed per block line (a stdlib line such as conv.dln:12 over
# every line of the model calling it) and per remaining line of the model, largest first.
sed -n '/^profile: the training/,/^by phase/p' "$1" | awk '
  /^             [a-z]/ { k = $1; ms[k] += $(NF-3) }
  /^(forward|backward|optimizer) / && $0 !~ /basic_block|batch_norm|dense|cross_entropy/ { ms[$2] += $(NF-3) }
  /^total/ { t = $(NF-1) }
  END { for (k in ms) printf "%-28s %10.1f ms %6.2f%%\n", k, ms[k], 100 * ms[k] / t }' | sort -k4 -nr
