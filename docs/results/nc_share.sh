#!/bin/sh
# nc_share.sh BIN OUT — docs/performance.md, section "branch nc". BIN: bench_main on ResNet-20.
# share.sh BIN OUT: perf record of BIN's 1-thread training step; prints the non-convolution share
# (batch norm kernels, the generated elementwise kernels, optimizer, memset) of the samples in the bench binary.
OMP_NUM_THREADS=1 perf record -q -o $2 -F 4000 $1 --batch 64 --reps 5 --min-time 1 --only train --cpu-time >/dev/null 2>&1
perf report -i $2 --no-children --sort symbol 2>/dev/null | grep -v '^#' | awk '
  /%/ { s=$1; sub("%","",s); sym=$3
        if (sym ~ /^(stats_block|grad_sums_block|plane_dx|resid_sums_block|dl_optim_update|__memset)/ || sym ~ /_train_k[0-9]+_/ && sym !~ /conv/) { nc += s; d[sym] += s }
        tot += s }
  END { printf "nonconv %.2f%% of %.1f%%:", nc, tot; for (k in d) if (d[k] >= 0.3) printf " %s=%.2f", k, d[k]; printf "\n" }'
