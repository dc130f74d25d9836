# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): detection end to end.
# samples/yolo_tiny.dln on a small detection_canvas (640 training, 100 test
# canvases) for 20 steps: every evaluation prints mAP@0.5 and mAP@0.5:0.95
# in [0, 1], with 0.5:0.95 at most 0.5, and two runs with the same seed print
# the same figures (the canvases and the evaluation are seeded and
# thread-independent); a missing Fashion-MNIST directory stops the run with
# status 1 naming the file.
DL=$(cd "$B" && pwd)/dlnc
drun() { DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$DL" run "$@"; }
# detect_run NAME: samples/NAME.dln on 640 / 100 canvases for 20 steps at 1 and 2
# threads (also used by ssd.sh)
detect_run() {
  sed 's/train_size = 20000, test_size = 2000/train_size = 640, test_size = 100/' "samples/$1.dln" > "$T/$1.dln"
  drun "$T/$1.dln" --max-steps 20 --history "$T/${1}1.csv" > "$T/${1}1.out" 2>&1; r1=$?
  OMP_NUM_THREADS=2 DLNC_CACHE="$T/cache" "$DL" run "$T/$1.dln" --max-steps 20 > "$T/${1}2.out" 2>&1; r2=$?
  f1=$(figs "$T/${1}1.out"); f2=$(figs "$T/${1}2.out")
  m50=$(echo "$f1" | sed -n 's/.*test_map50 \([0-9.]*\),.*/\1/p'); m=$(echo "$f1" | sed -n 's/.*test_map50_95 \([0-9.]*\)/\1/p')
  if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -n "$f1" ] && [ "$f1" = "$f2" ] &&
     grep -q "^epoch  *1/10  loss [0-9].*test_map50 " "$T/${1}1.out" &&
     head -1 "$T/${1}1.csv" | grep -q ",test_map50,test_map50_95$" &&
     [ "$(tail -1 "$T/${1}1.csv" | awk -F, -v v="$m50" '{ d = $(NF - 1) - v; print (d < 6e-5 && -d < 6e-5) }')" = 1 ] &&
     awk -v a="$m50" -v b="$m" 'BEGIN { exit !(a >= 0 && a <= 1 && b >= 0 && b <= a) }'; then
    echo "detection: $1 20 steps, $f1, the same at 2 threads: ok"; pass=$((pass+1))
  else
    echo "FAIL detection $1 ($r1, $r2): '$f1' vs '$f2'"; tail -3 "$T/${1}1.out" "$T/${1}2.out"; fail=$((fail+1))
  fi
}
figs() { sed -n 's/^done: .*\(test_loss .*test_map50_95 [0-9.]*\).*/\1/p' "$1"; }
detect_run yolo_tiny
sed 's|detection_canvas(|detection_canvas(path = "'"$T"'/nowhere", |' "$T/yolo_tiny.dln" > "$T/yolo_nopath.dln"
drun "$T/yolo_nopath.dln" --max-steps 1 > "$T/yolo_nopath.out" 2>&1; rn=$?
if [ $rn -eq 1 ] && grep -q "nowhere: no train-images-idx3-ubyte.gz" "$T/yolo_nopath.out"; then
  echo "detection: a missing Fashion-MNIST directory is a clear error: ok"; pass=$((pass+1))
else
  echo "FAIL detection without data ($rn):"; cat "$T/yolo_nopath.out"; fail=$((fail+1))
fi
