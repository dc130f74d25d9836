#!/bin/sh
# docs/results/adversarial.sh — the adversarial-training figures of the README:
# samples/adversarial.dln trained normally, with FGSM and with PGD (the
# `adversarial` option), the three side by side (1 thread each, nice -n 5), so
# their times compare as ratios; then each attacked with FGSM and PGD over the
# test set (the three models side by side again).
# Run from the repository root after `make`; writes docs/results/adversarial_*.
R=docs/results
train() {
  { echo "# uptime: $(uptime)"; echo "# OMP_NUM_THREADS=1 nice -n 5 build/dlnc run samples/adversarial.dln --model $1 --checkpoint /tmp/adversarial_$1.st --history $R/adversarial_$1.csv --quiet";
    /usr/bin/time -f "# %e s wall, %U s user" env OMP_NUM_THREADS=1 nice -n 5 build/dlnc run samples/adversarial.dln --model $1 \
      --checkpoint /tmp/adversarial_$1.st --history $R/adversarial_$1.csv --quiet 2>&1;
    echo "# uptime: $(uptime)"; } > $R/adversarial_train_$1.log 2>&1
}
attack() {
  for a in fgsm pgd; do
    { echo "# uptime: $(uptime)";
      echo "# OMP_NUM_THREADS=1 nice -n 5 build/dlnc explain samples/adversarial.dln --model cnn --checkpoint /tmp/adversarial_$1.st --attack $a --eps 0,0.02,0.05,0.1,0.15,0.2 --curve $R/adversarial_$1_$a.svg --grid $R/adversarial_$1_$a.png";
      OMP_NUM_THREADS=1 nice -n 5 build/dlnc explain samples/adversarial.dln --model cnn --checkpoint /tmp/adversarial_$1.st --attack $a \
        --eps 0,0.02,0.05,0.1,0.15,0.2 --curve $R/adversarial_$1_$a.svg --grid $R/adversarial_$1_$a.png 2>&1;
      echo "# uptime: $(uptime)"; } > $R/adversarial_explain_$1_$a.log 2>&1
  done
}
build/dlnc run samples/adversarial.dln --model pgd --max-steps 1 --quiet > /dev/null 2>&1   # the JIT cache, before the clocks start
for m in clean adv pgd; do train $m & done
wait
for m in clean adv pgd; do attack $m & done
wait
