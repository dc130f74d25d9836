#!/bin/sh
# docs/results/gcn.sh — the figures of the README's graph rows, reproduced:
# each GCN sample (and the features-only baseline) trained once with its
# history, then over seeds 1..10 (the karate club's 24 test nodes make one
# run's accuracy a coarse figure), and the PyTorch twin over the same seeds.
# One thread each. Writes docs/results/gcn_*.log and gcn_*.csv.
#   usage: sh docs/results/gcn.sh   (from the repository root, after make)
set -e
R=docs/results
export OMP_NUM_THREADS=1
for s in gcn_karate gcn_sbm mlp_sbm; do
  { echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"
    echo "# OMP_NUM_THREADS=1 build/dlnc run samples/$s.dln --history $R/$s.csv"
    build/dlnc run samples/$s.dln --history $R/$s.csv
    echo "# seeds 1..10: OMP_NUM_THREADS=1 build/dlnc run samples/$s.dln --seed S --quiet"
    for seed in 1 2 3 4 5 6 7 8 9 10; do printf 'seed %s: ' $seed; build/dlnc run samples/$s.dln --seed $seed --quiet; done
  } > $R/$s.log 2>&1
  rm -f $R/$s.steps.csv $R/$s.png $R/$s.svg $R/$s.confusion.csv $R/$s.confusion.png $R/$s.confusion.svg
  awk '/^seed/ { sub(/.*test_acc /, ""); sub(/%.*/, ""); n++; s += $0; q += $0 * $0 }
       END { m = s / n; printf "# dlnc: test_acc %.2f%% ± %.2f over %d seeds\n", m, sqrt(q - n * m * m > 0 ? (q - n * m * m) / (n - 1) : 0), n }' \
      $R/$s.log >> $R/$s.log
done
for g in karate sbm; do
  { echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"
    echo "# OMP_NUM_THREADS=1 /usr/bin/python3 bench/gcn_torch.py $g --seeds 10"
    /usr/bin/python3 bench/gcn_torch.py $g --seeds 10; } > $R/gcn_${g}_torch.log 2>&1
done
tail -n 1 $R/gcn_karate.log $R/gcn_sbm.log $R/mlp_sbm.log $R/gcn_karate_torch.log $R/gcn_sbm_torch.log
