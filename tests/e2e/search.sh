# Sourced by tests/e2e/run.sh (uses $B, $T, pass, fail): `dlnc search`.
# A 2x2 grid with --max-steps: every trial in the table, ranked on the
# validation split, the CSV written, the test set looked at once (the best
# trial's rerun); a trial that diverges is a failed row, ranked last, and the
# search goes on; a model without a validation split is refused. ~5 s.
D=$(cd "$B" && pwd)/dlnc
(DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$D" search tests/e2e/diverge.dln --grid "epochs=2;lr=1000,0.001" \
  --out "$T/div.csv") > "$T/div.out" 2>&1; rcs1=$?
if [ $rcs1 -eq 0 ] && [ "$(head -1 "$T/div.csv")" = "rank,trial,epochs,lr,val_loss,val_acc,train_loss,steps,seconds,status" ] \
   && grep -q '^1,2,2,0.001,[0-9.]*,,[0-9.]*,50,[0-9.]*,ok$' "$T/div.csv" \
   && grep -q '^2,1,2,1000,,,,,[0-9.]*,"failed: non-finite loss (inf) at epoch 2' "$T/div.csv" \
   && grep -q "^best: trial 2 (epochs=2 lr=0.001), trained again from the same seed" "$T/div.out"; then
  echo "dlnc search: a diverging trial is a failed row, ranked last; the CSV: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc search with a diverging trial ($rcs1):"; cat "$T/div.out" "$T/div.csv"; fail=$((fail+1))
fi
cat > "$T/lin.dln" <<'EOF2'
model lin(x: f32[N, 1, 28, 28]) -> f32[N, 10] {
    return dense(flatten(x), 10)
}
train lin {
    data    = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 64, val_split = 0.1)
    loss    = cross_entropy(output, label)
    optim   = sgd(lr = 0.1)
    metrics = [accuracy]
}
EOF2
sed 's/, val_split = 0.1//' "$T/lin.dln" > "$T/noval.dln"
(cd "$T" && "$D" search noval.dln --grid "lr=0.1") > "$T/noval.out" 2>&1; rcs2=$?
cat > "$T/noval.expected" <<'EOF2'
noval.dln:4:1: error: dlnc search ranks trials on a validation split, and the data of 'lin' has none
    4 | train lin {
      | ^~~~~~~~~~~
hint: add val_split = 0.1 to the data source: trials are never ranked on the test set
EOF2
if [ $rcs2 -eq 1 ] && cmp -s "$T/noval.out" "$T/noval.expected"; then
  echo "dlnc search without a validation split: refused, with a hint: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc search without a validation split ($rcs2):"; diff "$T/noval.expected" "$T/noval.out"; fail=$((fail+1))
fi
if [ -d /usr/share/datasets/fashion-mnist ]; then
  (DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$D" search "$T/lin.dln" --grid "lr=0.01,0.1;batch=32,64" --max-steps 30 \
    --out "$T/grid.csv") > "$T/grid.out" 2>&1; rcs3=$?
  # ranked: accuracies in the CSV's rank order never increase
  sorted=$(awk -F, 'NR > 1 { if (NR > 2 && $6 > prev) bad = 1; prev = $6 } END { print (NR == 5 && !bad) }' "$T/grid.csv")
  if [ $rcs3 -eq 0 ] && [ "$sorted" = 1 ] && [ "$(grep -c '^trial [1-4]/4: lr=0.0*1 batch=[36][24]$' "$T/grid.out")" = 4 ] \
     && [ "$(grep -c '^test figures' "$T/grid.out")" = 1 ] && [ "$(grep -c '^val figures' "$T/grid.out")" = 1 ] \
     && tail -1 "$T/grid.out" | grep -q "^done: 1 epoch, 30 steps"; then
    echo "dlnc search: a 2x2 grid ranked on val_acc, the test set once (the best trial): ok"; pass=$((pass+1))
  else
    echo "FAIL dlnc search 2x2 grid ($rcs3, sorted $sorted):"; cat "$T/grid.out" "$T/grid.csv"; fail=$((fail+1))
  fi
fi
