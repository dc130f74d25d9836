# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): run checkpoints that lie,
# as a disk or a hand edit leaves them. A checkpoint of a small Fashion-MNIST
# model is rewritten (tests/e2e/st_edit.py) with a step count beyond int64 in its
# metadata (strtoll clamped it to INT64_MAX and the run went on), with an
# epoch count of 2^32 + 1 (cast to int it resumed silently at epoch 1) and with a NaN
# and an infinity over a weight (loaded silently: every output NaN); each is
# refused with the file and the reason named, status 1, by --resume, by
# `dlnc explain --checkpoint` and by init_from. ~2 s.
DL=$(cd "$B" && pwd)/dlnc
cat > "$T/dmg.dln" <<'DLN'
model dmg(image: f32[N, 1, 28, 28]) -> f32[N, 10] {
    return flatten(image) |> dense(10)
}
train dmg {
    data   = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 64)
    loss   = cross_entropy(output, label)
    epochs = 2
}
DLN
sed 's|    epochs = 2|    epochs = 2\n    init_from = "dmg_nan.st"|' "$T/dmg.dln" > "$T/dmg_init.dln"
dr() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" "$@"); }
dr run dmg.dln --max-steps 3 --quiet --checkpoint dmg.st > "$T/dmg0.out" 2>&1; r0=$?
/usr/bin/python3 tests/e2e/st_edit.py "$T/dmg.st" "$T/steps.st" meta dlnc.steps 99999999999999999999999
/usr/bin/python3 tests/e2e/st_edit.py "$T/dmg.st" "$T/epochs.st" meta dlnc.epochs_done 4294967297
/usr/bin/python3 tests/e2e/st_edit.py "$T/dmg.st" "$T/dmg_nan.st" value dense0.weight 5 nan
/usr/bin/python3 tests/e2e/st_edit.py "$T/dmg.st" "$T/inf.st" value dense0.bias 0 -inf
dr run dmg.dln --quiet --checkpoint steps.st --resume > "$T/dmg1.out" 2>&1; r1=$?
dr run dmg.dln --quiet --checkpoint dmg_nan.st --resume > "$T/dmg2.out" 2>&1; r2=$?
dr run dmg.dln --quiet --checkpoint epochs.st --resume > "$T/dmg5.out" 2>&1; r5=$?
dr explain dmg.dln --checkpoint inf.st --attack fgsm --eps 0.1 > "$T/dmg3.out" 2>&1; r3=$?
dr run dmg_init.dln --max-steps 1 --quiet > "$T/dmg4.out" 2>&1; r4=$?
if [ $r0 -eq 0 ] && [ $r1 -eq 1 ] && grep -q "steps.st: metadata 'dlnc.steps' is '99999999999999999999999', not a count" "$T/dmg1.out" \
   && [ $r2 -eq 1 ] && grep -q "dmg_nan.st: tensor 'dense0.weight' holds a non-finite value (nan at element 5 of 7840)" "$T/dmg2.out" \
   && [ $r3 -eq 1 ] && grep -q "inf.st: tensor 'dense0.bias' holds a non-finite value (-inf at element 0 of 10)" "$T/dmg3.out" \
   && [ $r4 -eq 1 ] && grep -q "init_from: dmg_nan.st: tensor 'dense0.weight' holds a non-finite value" "$T/dmg4.out" \
   && [ $r5 -eq 1 ] && grep -q "epochs.st: metadata 'dlnc.epochs_done' is '4294967297', not a count" "$T/dmg5.out"; then
  echo "damaged run checkpoints (a step count past int64, an epoch count past int, a NaN and an -inf weight) refused by --resume, explain and init_from: ok"
  pass=$((pass+1))
else
  echo "FAIL damaged run checkpoints ($r0 $r1 $r2 $r3 $r4 $r5):"; cat "$T/dmg0.out" "$T/dmg1.out" "$T/dmg2.out" "$T/dmg3.out" "$T/dmg4.out" "$T/dmg5.out"
  fail=$((fail+1))
fi
