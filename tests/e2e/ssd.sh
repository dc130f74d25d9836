# Sourced by tests/e2e/run.sh after detect.sh (needs B, T, pass, fail, and
# detect.sh's detect_run): samples/ssd_tiny.dln — anchors at two scales, SSD
# matching, hard negative mining, the box form of metrics = [map] — on a
# small detection_canvas for 20 steps: finite loss, the mAP figures in [0, 1]
# with 0.5:0.95 at most 0.5, and a run at 2 threads prints the same figures
# (the matching, the ranks of hard_negatives and the decoding with its NMS do
# not depend on the thread count). Then the language.md examples of NMS and
# RoI Align in a model compile.
detect_run ssd_tiny
# The Detection section's NMS-in-a-model and RoI Align examples, as docs/language.md prints
# them, compile to C that builds with -Werror.
for ex in post roi_head; do
  awk -v m="model $ex(" 'index($0, m) == 1 { on = 1 } on { print } on && /^}/ { exit }' docs/language.md > "$T/doc_$ex.dln"
  if [ -s "$T/doc_$ex.dln" ] && "$DL" "$T/doc_$ex.dln" -o "$T/doc_$ex.c" 2> "$T/doc_$ex.err" &&
     cc -std=c11 -O1 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$T" -c "$T/doc_$ex.c" -o "$T/doc_$ex.o" 2>> "$T/doc_$ex.err"; then
    echo "detection: the language.md example '$ex' compiles: ok"; pass=$((pass+1))
  else
    echo "FAIL the language.md example '$ex':"; cat "$T/doc_$ex.err"; fail=$((fail+1))
  fi
done
