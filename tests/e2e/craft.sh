# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): training craft
# (tests/e2e/craft.dln on a generated 3-class CSV). Early stopping ends the
# run after patience epochs without improvement, says which epoch it kept,
# and its checkpoint is that epoch's, byte for byte; the plateau schedule
# halves the rate after an epoch without a 50% better validation loss;
# log_every prints a loss line every 5 steps (--log-every overrides it,
# --quiet silences it). Refused at run time: --resume of such a run. ~2 s.
awk 'BEGIN { print "a,b,label"; for (i = 0; i < 400; i++) { x = (i * 37 % 100) / 50 - 1; y = (i * 61 % 97) / 48.5 - 1;
             printf "%.4f,%.4f,%d\n", x, y, (x + y > 0.3) + (x - y > 0.5) } }' > "$T/craft.csv"
cp tests/e2e/craft.dln "$T/craft.dln"
DC=$(cd "$B" && pwd)/dlnc
cr() { (cd "$T" && DLNC_CACHE="$T/cache" "$DC" run craft.dln "$@"); }
cr --checkpoint craft_es.st > "$T/craft.out" 2>&1; rc1=$?
cr --checkpoint craft_1.st --epochs 1 --quiet > "$T/craft1.out" 2>&1; rc2=$?
cr --checkpoint craft_es.st --resume > "$T/craftr.out" 2>&1; rc3=$?
cr --epochs 1 --log-every 7 --quiet > "$T/craft7.out" 2>&1; rc4=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$T/craft_es.st" "$T/craft_1.st" \
   && grep -q "^early stop after epoch 3: val_loss has not improved by more than 100 for 2 epochs$" "$T/craft.out" \
   && grep -q "^kept epoch 1 (val_loss [0-9.]*) in craft_es.st$" "$T/craft.out" \
   && grep -q "^done: 3 epochs, " "$T/craft.out" && ! grep -q "^epoch   4/20" "$T/craft.out" \
   && grep -q "^plateau: val_loss has not improved for 1 epoch: lr x 0.5 = 0.005 from epoch 3$" "$T/craft.out" \
   && grep -q "^step 40  epoch 3  loss [0-9.]*  lr 0.005$" "$T/craft.out" \
   && [ "$(grep -c '^step ' "$T/craft.out")" -eq 11 ] && ! grep -q "^step " "$T/craft1.out" \
   && [ $rc3 -eq 1 ] && grep -q "a run with early_stop cannot be resumed" "$T/craftr.out" \
   && [ $rc4 -eq 0 ] && [ "$(grep -c '^step ' "$T/craft7.out")" -eq 2 ] && grep -q "^step 14  epoch 1 " "$T/craft7.out"; then
  echo "early stopping keeps the best epoch's checkpoint; plateau; log_every: ok"; pass=$((pass+1))
else
  echo "FAIL training craft ($rc1 $rc2 $rc3 $rc4):"; cat "$T/craft.out" "$T/craft1.out" "$T/craftr.out" "$T/craft7.out"
  fail=$((fail+1))
fi
# The figures at the end, with 95% intervals: accuracy (Wilson), loss (batch
# means), macro precision/recall/F1 (bootstrap) of the kept epoch, each point
# inside its interval; the per-class table and its CSV beside the history
# (supports adding up to the 100 validation samples); a segmentation model's
# iou and mean_iou with intervals over images (Fashion-MNIST masks, 20 steps),
# on the validation split and then on the 10000 test masks, evaluated once.
cr --checkpoint craft_f.st --history craft_f.csv --quiet --epochs 2 > "$T/craftf.out" 2>&1; rc5=$?
cr --checkpoint craft_f.st --epochs 2 > "$T/craftf2.out" 2>&1
inside() {  # name file: the figure's value lies within its printed interval
  awk -v n="$1" '$1 == n { v = $2; lo = $3; hi = $4; gsub(/[][,%]/, "", v); gsub(/[][,%]/, "", lo); gsub(/[][,%]/, "", hi);
                 ok = (lo + 0 <= v + 0 && v + 0 <= hi + 0 && lo + 0 < hi + 0) } END { exit !ok }' "$2"
}
cat > "$T/seg.dln" <<'SEG'
model seg(x: f32[N, 1, 28, 28]) -> f32[N, 1, 28, 28] {
    return conv2d(conv2d(x, 4, 3, pad = 1) |> relu, 1, 3, pad = 1)
}
train seg {
    data    = fashion_mnist_masks(batch = 64, val_split = 0.02)
    loss    = bce_with_logits(output, label)
    optim   = adam(lr = 0.01)
    epochs  = 1
    metrics = [iou, mean_iou]
}
SEG
(cd "$T" && DLNC_CACHE="$T/cache" "$DC" run seg.dln --max-steps 20) > "$T/seg.out" 2>&1; rc6=$?
if [ $rc5 -eq 0 ] && ! grep -q "figures" "$T/craftf.out" && [ "$(wc -l < "$T/craft_f.per_class.csv")" -eq 4 ] \
   && head -1 "$T/craft_f.per_class.csv" | grep -q "^class,support,predicted,precision,recall,f1$" \
   && [ "$(awk -F, 'NR > 1 { s += $2 } END { print s }' "$T/craft_f.per_class.csv")" -eq 100 ] \
   && grep -q "^val figures (95% intervals; 100 samples):$" "$T/craftf2.out" \
   && grep -q "^  accuracy .* Wilson$" "$T/craftf2.out" && grep -q "^  loss .* normal, 7 batch means$" "$T/craftf2.out" \
   && inside accuracy "$T/craftf2.out" && inside loss "$T/craftf2.out" && inside precision "$T/craftf2.out" \
   && inside recall "$T/craftf2.out" && inside f1 "$T/craftf2.out" \
   && grep -q "^per class (val; recall is the class's accuracy):$" "$T/craftf2.out" \
   && [ $rc6 -eq 0 ] && inside iou "$T/seg.out" && inside mean_iou "$T/seg.out" \
   && grep -q "^  mean_iou .* bootstrap of 1000 over images$" "$T/seg.out" \
   && grep -q "^test set, evaluated once after training with the final weights:$" "$T/seg.out" \
   && grep -q "^test figures (95% intervals; 10000 samples):$" "$T/seg.out" \
   && [ "$(grep -c '^  mean_iou ' "$T/seg.out")" -eq 2 ]; then
  echo "end-of-run figures with 95% intervals, per-class table and CSV, mean_iou, the test set once: ok"; pass=$((pass+1))
else
  echo "FAIL end-of-run figures ($rc5 $rc6):"; cat "$T/craftf.out" "$T/craftf2.out" "$T/seg.out" "$T/craft_f.per_class.csv"
  fail=$((fail+1))
fi
# Augmentations through dlnc run on Fashion-MNIST, 15 steps twice: a finite
# loss, and the same checkpoint bytes (the draws depend on the seed, epoch and
# sample only). aug_twice NAME LOSS WHAT AUGMENT-LIST
aug_twice() {
  cat > "$T/$1.dln" <<AUG
model $1(x: f32[N, 1, 28, 28]) -> f32[N, 10] {
    return dense(flatten(x), 10)
}
train $1 {
    data    = fashion_mnist(batch = 32, val_split = 0.01)
    loss    = $2(output, label)
    augment = $4
    epochs  = 1
}
AUG
  (cd "$T" && DLNC_CACHE="$T/cache" "$DC" run "$1.dln" --max-steps 15 --quiet --checkpoint "${1}1.st") > "$T/${1}1.out" 2>&1; r1=$?
  (cd "$T" && DLNC_CACHE="$T/cache" "$DC" run "$1.dln" --max-steps 15 --quiet --checkpoint "${1}2.st") > "$T/${1}2.out" 2>&1; r2=$?
  if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && cmp -s "$T/${1}1.st" "$T/${1}2.st" \
     && grep -Eq "^done: 1 epoch, 15 steps in .*, val_loss [0-9]+\.[0-9]+" "$T/${1}1.out"; then
    echo "$3 train, seeded: ok"; pass=$((pass+1))
  else
    echo "FAIL $3 ($r1 $r2):"; cat "$T/${1}1.out" "$T/${1}2.out"; fail=$((fail+1))
  fi
}
aug_twice aug soft_cross_entropy "random_resized_crop, color_jitter and cutmix" \
  '[random_resized_crop(scale = (0.5, 1.0)), color_jitter(brightness = 0.3, contrast = 0.3), cutmix(alpha = 1.0, p = 0.5)]'
aug_twice augm cross_entropy "random_affine, gaussian_blur, equalize, solarize and random_erasing" \
  '[random_affine(degrees = 10, translate = (0.1, 0.1), scale = (0.9, 1.1), shear = 5), gaussian_blur(kernel = 3, p = 0.5), equalize(), solarize(threshold = 0.8), random_erasing(value = "random")]'
# Per-sample weights from the data: the same CSV with a weight column (20 for
# class 2, 1 otherwise) read by weight_col and used as `mask = weight` trains
# exactly as class_weight(label, [1.0, 1.0, 20.0]) on the plain CSV: the same
# validation losses epoch by epoch (the first is a general-form model that
# reads the field `weight`, the second a one-input model), and the first
# still gets its confusion matrix and figures.
awk -F, 'NR == 1 { print "a,b,w,label"; next } { print $1 "," $2 "," ($3 == 2 ? 20 : 1) "," $3 }' "$T/craft.csv" > "$T/wcraft.csv"
cat > "$T/w1.dln" <<'W1'
model w1(x: f32[N, 2]) -> f32[N, 3] {
    return dense(dense(x, 16) |> relu, 3)
}
train w1 {
    data    = csv("wcraft.csv", batch = 16, val_split = 0.25, weight_col = 2)
    loss    = cross_entropy(output, label, mask = weight)
    optim   = adam(lr = 0.01)
    epochs  = 4
    metrics = [accuracy]
}
W1
sed -e 's/w1/w2/g; s/wcraft.csv/craft.csv/; s/, weight_col = 2//; s/mask = weight/mask = class_weight(label, [1.0, 1.0, 20.0])/' "$T/w1.dln" > "$T/w2.dln"
(cd "$T" && DLNC_CACHE="$T/cache" "$DC" run w1.dln --history w1.csv) > "$T/w1.out" 2>&1; rw1=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DC" run w2.dln --history w2.csv --quiet) > "$T/w2.out" 2>&1; rw2=$?
if [ $rw1 -eq 0 ] && [ $rw2 -eq 0 ] && [ "$(cut -d, -f3 "$T/w1.csv")" = "$(cut -d, -f3 "$T/w2.csv")" ] \
   && [ "$(wc -l < "$T/w1.csv")" -eq 5 ] && grep -q "^confusion matrix (val; " "$T/w1.out" \
   && grep -q "^  accuracy .* Wilson$" "$T/w1.out"; then
  echo "weight_col importance weights equal class_weight: ok"; pass=$((pass+1))
else
  echo "FAIL weight_col ($rw1 $rw2):"; cat "$T/w1.out" "$T/w2.out" "$T/w1.csv" "$T/w2.csv"; fail=$((fail+1))
fi
