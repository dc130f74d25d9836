# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): segmentation from
# images(path, masks = ...). tests/e2e/segment_fixture.py writes 48 + 16 tiny
# image/mask pairs (class ids per pixel, 255 ignored); a two-convolution net
# with logits f32[N, 3, 16, 16] against label i32[N, 16, 16] trains 8 epochs:
# the loss falls and the test pixel accuracy is high. Damaged pairs stop the
# run naming the file: a mask value beyond the model's classes, a missing
# mask, a mask of another size, a color mask.
DL=$(cd "$B" && pwd)/dlnc
sgrun() { DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$DL" run "$@"; }
/usr/bin/python3 tests/e2e/segment_fixture.py "$T/seg"
sed "s|SEG/|$T/seg/|g" tests/e2e/segment.dln > "$T/seg.dln"
sgrun "$T/seg.dln" > "$T/seg.out" 2>&1; rs=$?
l1=$(sed -n 's/^epoch *1\/8  loss \([0-9.]*\).*/\1/p' "$T/seg.out"); l8=$(sed -n 's/^epoch *8\/8  loss \([0-9.]*\).*/\1/p' "$T/seg.out")
acc=$(sed -n 's/^done:.*test_acc \([0-9.]*\)%.*/\1/p' "$T/seg.out")
if [ $rs -eq 0 ] && awk -v a="$l1" -v b="$l8" -v c="$acc" 'BEGIN { exit !(b < a / 4 && c >= 90) }'; then
  echo "segment: images(masks = ...) trains per-pixel cross_entropy (loss $l1 -> $l8, test pixel accuracy $acc%): ok"; pass=$((pass+1))
else
  echo "FAIL segment training ($rs, $l1 -> $l8, $acc):"; tail -3 "$T/seg.out"; fail=$((fail+1))
fi
# damaged copies: each a fresh tree, one file changed
sgbad() {   # NAME PYTHON-STATEMENT: runs the model on a copy of the fixture changed by the statement
  rm -rf "$T/sb_$1" && cp -r "$T/seg" "$T/sb_$1"
  /usr/bin/python3 -c "import sys; sys.argv = ['x', '$T/sb_$1']; exec(open('tests/e2e/segment_fixture.py').read().split('root = sys.argv[1]')[0]); root = '$T/sb_$1'; $2"
  sed "s|SEG/|$T/sb_$1/|g" tests/e2e/segment.dln > "$T/sb_$1.dln"
  sgrun "$T/sb_$1.dln" --max-steps 1 > "$T/sb_$1.out" 2>&1
}
sgbad class "png(root + '/train/mask/005.png', 16, 16, 1, [[0] * 16] * 15 + [[5] * 16])"; r1=$?
sgbad missing "import os; os.remove(root + '/train/mask/007.png')"; r2=$?
sgbad size "png(root + '/test/mask/003.png', 15, 16, 1, [[0] * 15] * 16)"; r3=$?
sgbad color "png(root + '/train/mask/000.png', 16, 16, 3, [[0] * 48] * 16)"; r4=$?
if [ $r1 -eq 1 ] && grep -q "sb_class/train/mask/005.png: a pixel of class 5, but output 'output' of model 'seg' has 3 classes" "$T/sb_class.out" &&
   [ $r2 -eq 1 ] && grep -q "sb_missing/train/mask/007.png: no mask for the image .*sb_missing/train/img/007.png" "$T/sb_missing.out" &&
   [ $r3 -eq 1 ] && grep -q "sb_size/test/mask/003.png: the mask's size differs from its image" "$T/sb_size.out" &&
   [ $r4 -eq 1 ] && grep -q "sb_color/train/mask/000.png: a mask must be an 8-bit grayscale PNG whose pixel values are class ids; this one is in color" "$T/sb_color.out"; then
  echo "segment: a class beyond the model's, a missing mask, a mask of another size and a color mask name the file: ok"; pass=$((pass+1))
else
  echo "FAIL segment errors ($r1 $r2 $r3 $r4):"; cat "$T/sb_class.out" "$T/sb_missing.out" "$T/sb_size.out" "$T/sb_color.out"; fail=$((fail+1))
fi
# augmented (tests/e2e/segment_aug.dln): the masks move with the images; mean IoU on the test pairs
sed "s|SEG/|$T/seg/|g" tests/e2e/segment_aug.dln > "$T/sega.dln"
sgrun "$T/sega.dln" --history "$T/sega.csv" > "$T/sega.out" 2>&1; rs=$?
l1=$(sed -n 's/^epoch *1\/8  loss \([0-9.]*\).*/\1/p' "$T/sega.out"); l8=$(sed -n 's/^epoch *8\/8  loss \([0-9.]*\).*/\1/p' "$T/sega.out")
acc=$(sed -n 's/^done:.*test_acc \([0-9.]*\)%.*/\1/p' "$T/sega.out"); miou=$(sed -n 's/^done:.*test_mean_iou \([0-9.]*\).*/\1/p' "$T/sega.out")
# the history carries each epoch's mean IoU: its last row's is the done: line's
hmiou=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_mean_iou") c = i } END { print $c }' "$T/sega.csv" 2>/dev/null)
if [ $rs -eq 0 ] && awk -v a="$l1" -v b="$l8" -v c="$acc" -v u="$miou" -v h="$hmiou" \
     'BEGIN { exit !(b < a && c >= 90 && u >= 0.8 && h != "" && h - u < 6e-5 && u - h < 6e-5) }' &&
   [ "$(wc -l < "$T/sega.csv")" -eq 9 ]; then
  echo "segment: images(masks = ...) trains with augment (loss $l1 -> $l8, test pixel accuracy $acc%, mean IoU $miou, in the history too): ok"; pass=$((pass+1))
else
  echo "FAIL segment augmented training ($rs, $l1 -> $l8, $acc, $miou, history '$hmiou'):"; tail -3 "$T/sega.out"; cat "$T/sega.csv"; fail=$((fail+1))
fi
# rand_augment on the same pairs: the loss falls, and 1 and 2 threads give the same epoch lines
sed -e "s|SEG/|$T/seg/|g" -e 's|^    epochs = 8$|    epochs = 8\n    augment = [hflip(), rand_augment(n = 2, m = 9)]|' tests/e2e/segment.dln > "$T/segr.dln"
sgrun "$T/segr.dln" > "$T/segr1.out" 2>&1; r1=$?
DLNC_CACHE="$T/cache" OMP_NUM_THREADS=2 "$DL" run "$T/segr.dln" > "$T/segr2.out" 2>&1; r2=$?
l1=$(sed -n 's/^epoch *1\/8  loss \([0-9.]*\).*/\1/p' "$T/segr1.out"); l8=$(sed -n 's/^epoch *8\/8  loss \([0-9.]*\).*/\1/p' "$T/segr1.out")
strip() { sed -n 's/^\(epoch.*test_acc [0-9.]*%\).*/\1/p' "$1"; }
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && grep -q "rand_augment" "$T/segr.dln" && [ -n "$(strip "$T/segr1.out")" ] &&
   [ "$(strip "$T/segr1.out")" = "$(strip "$T/segr2.out")" ] && awk -v a="$l1" -v b="$l8" 'BEGIN { exit !(b < a) }'; then
  echo "segment: rand_augment moves masks with its geometric ops (loss $l1 -> $l8), the same at 1 and 2 threads: ok"; pass=$((pass+1))
else
  echo "FAIL segment rand_augment ($r1 $r2, $l1 -> $l8):"; tail -2 "$T/segr1.out" "$T/segr2.out"; fail=$((fail+1))
fi
