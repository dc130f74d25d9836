#!/bin/sh
# docs/results/adversarial.sh — the adversarial-training figures of the README:
# samples/adversarial.dln trained normally and adversarially (1 thread each,
# one after the other), then both attacked with FGSM and PGD over the test set.
# Run from the repository root after `make`; writes docs/results/adversarial_*.
set -e
R=docs/results
for m in clean adv; do
  { echo "# uptime: $(uptime)"; echo "# OMP_NUM_THREADS=1 build/dlnc run samples/adversarial.dln --model $m --checkpoint /tmp/adversarial_$m.st --history $R/adversarial_$m.csv --quiet";
    /usr/bin/time -f "# %e s wall, %U s user" env OMP_NUM_THREADS=1 build/dlnc run samples/adversarial.dln --model $m \
      --checkpoint /tmp/adversarial_$m.st --history $R/adversarial_$m.csv --quiet 2>&1;
    echo "# uptime: $(uptime)"; } > $R/adversarial_train_$m.log 2>&1
done
for m in clean adv; do
  for a in fgsm pgd; do
    { echo "# uptime: $(uptime)";
      echo "# OMP_NUM_THREADS=1 build/dlnc explain samples/adversarial.dln --model cnn --checkpoint /tmp/adversarial_$m.st --attack $a --eps 0,0.02,0.05,0.1,0.15,0.2 --curve $R/adversarial_${m}_$a.svg --grid $R/adversarial_${m}_$a.png";
      OMP_NUM_THREADS=1 build/dlnc explain samples/adversarial.dln --model cnn --checkpoint /tmp/adversarial_$m.st --attack $a \
        --eps 0,0.02,0.05,0.1,0.15,0.2 --curve $R/adversarial_${m}_$a.svg --grid $R/adversarial_${m}_$a.png 2>&1;
      echo "# uptime: $(uptime)"; } > $R/adversarial_explain_${m}_$a.log 2>&1
  done
done
