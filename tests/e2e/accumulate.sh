# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): gradient accumulation,
# `accumulate = 3` in a train section (parity section `accumulate` checks the
# arithmetic against PyTorch). 30 shuffled rows in batches of 4: 8 batches an
# epoch, groups of 3, 3 and a short one of 2 closed at the epoch's end, so a
# checkpoint never holds half a group. A run of 1 epoch `--resume`d to 3 ends
# with the checkpoint of a 3-epoch run byte for byte (the optimizer's step count
# restored: 3 updates an epoch, 9 in all); the log has a line per batch (24)
# and the rate of a step(...) schedule moves per update, not per batch. ~2 s.
awk 'BEGIN { for (i = 0; i < 30; i++) printf "%.3f,%.3f,%.3f,%d\n", (i * 7 % 11) / 5 - 1, (i * 5 % 13) / 6 - 1, (i % 4) / 2 - 0.7, i % 3 }' > "$T/acc.csv"
cat > "$T/acc.dln" <<'DLN'
model grouped(features: f32[N, 3]) -> f32[N, 3] {
    return dense(tanh(dense(features, 6)), 3)
}
train grouped {
    data       = csv("acc.csv", test = "acc.csv", batch = 4)
    loss       = cross_entropy(output, label)
    optim      = adam(lr = 0.01)
    accumulate = 3
    epochs     = 3
    log_every  = 1
}
DLN
sed 's/^    epochs     = 3$/    sched      = step(step_size = 1, gamma = 0.5, warmup = 1, warmup_start = 0.25)/' "$T/acc.dln" > "$T/acc_sched.dln"
DA=$(cd "$B" && pwd)/dlnc
acc_run() { (cd "$T" && DLNC_CACHE="$T/cache" "$DA" run "$@"); }
acc_run acc.dln --checkpoint whole.st > "$T/acc1.out" 2>&1; ra=$?
acc_run acc.dln --checkpoint cut.st --epochs 1 --quiet > "$T/acc2.out" 2>&1; rb=$?
acc_run acc.dln --checkpoint cut.st --resume --quiet > "$T/acc3.out" 2>&1; rc=$?
acc_run acc_sched.dln --epochs 1 > "$T/acc4.out" 2>&1; rd=$?
steps=$(grep -c '^step ' "$T/acc1.out")
# the rate at each of the first epoch's 8 batches: warm-up from 0.25 over 3 updates, the same within a group
lrs=$(sed -n 's/^step .* lr \([0-9.e-]*\)$/\1/p' "$T/acc4.out" | tr '\n' ' ')
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && [ $rc -eq 0 ] && [ $rd -eq 0 ] && [ "$steps" = 24 ] && cmp -s "$T/whole.st" "$T/cut.st" \
   && grep -q 'resuming from cut.st: 1 epoch, 8 steps done' "$T/acc3.out" \
   && [ "$lrs" = "0.0025 0.0025 0.0025 0.005 0.005 0.005 0.0075 0.0075 " ]; then
  echo "accumulate = 3: 8 batches an epoch in 3 updates, resumed after an epoch byte for byte, the rate per update: ok"
  pass=$((pass+1))
else
  echo "FAIL accumulate ($ra $rb $rc $rd, $steps step lines, lrs '$lrs'):"; cat "$T/acc1.out" "$T/acc3.out" "$T/acc4.out" | tail -12
  fail=$((fail+1))
fi
