# Sourced by tests/e2e/run.sh after detect.sh (needs B, T, pass, fail, and
# detect.sh's drun and figs): samples/ssd_tiny.dln — anchors at two scales,
# SSD matching, hard negative mining, the box form of metrics = [map] — on
# a small detection_canvas for 20 steps: the mAP figures are in [0, 1] with
# 0.5:0.95 at most 0.5, the loss is finite, and a run at 2 threads prints the
# same figures (the matching, the ranks of hard_negatives and the decoding
# with its NMS do not depend on the thread count).
sed 's/train_size = 20000, test_size = 2000/train_size = 640, test_size = 100/' samples/ssd_tiny.dln > "$T/ssd.dln"
drun "$T/ssd.dln" --max-steps 20 > "$T/ssd1.out" 2>&1; r1=$?
OMP_NUM_THREADS=2 DLNC_CACHE="$T/cache" "$DL" run "$T/ssd.dln" --max-steps 20 > "$T/ssd2.out" 2>&1; r2=$?
f1=$(figs "$T/ssd1.out"); f2=$(figs "$T/ssd2.out")
m50=$(echo "$f1" | sed -n 's/.*test_map50 \([0-9.]*\),.*/\1/p'); m=$(echo "$f1" | sed -n 's/.*test_map50_95 \([0-9.]*\)/\1/p')
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -n "$f1" ] && [ "$f1" = "$f2" ] && grep -q "^epoch  *1/10  loss [0-9]" "$T/ssd1.out" &&
   awk -v a="$m50" -v b="$m" 'BEGIN { exit !(a >= 0 && a <= 1 && b >= 0 && b <= a) }'; then
  echo "detection: ssd_tiny 20 steps, $f1, the same at 2 threads: ok"; pass=$((pass+1))
else
  echo "FAIL ssd_tiny ($r1, $r2): '$f1' vs '$f2'"; tail -3 "$T/ssd1.out" "$T/ssd2.out"; fail=$((fail+1))
fi
