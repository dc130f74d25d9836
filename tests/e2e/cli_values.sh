# tests/e2e/cli_values.sh — sourced by run.sh. An option given without its
# value, in every subcommand's parser: exit 2 and the one message
# (compiler/cli.c), never a read past argv or a silent default.
cv_bad=""
for c in "samples/mlp.dln -o" "run samples/mlp.dln --model" "plot -o" "sample samples/ddpm.dln --ddpm" \
         "search samples/mlp.dln --grid" "explain samples/mlp.dln --eps" "export samples/mlp.dln --calibrate"; do
  opt=${c##* }
  # shellcheck disable=SC2086
  "$DLNC" $c > "$T/cv.out" 2>&1; rc=$?
  if [ $rc -ne 2 ] || ! grep -qx "dlnc: error: $opt needs an argument" "$T/cv.out"; then
    cv_bad="$cv_bad [dlnc $c: exit $rc: $(head -c 200 "$T/cv.out")]"
  fi
done
if [ -z "$cv_bad" ]; then
  echo "a missing option value in each subcommand: exit 2, one message: ok"; pass=$((pass+1))
else
  echo "FAIL: a missing option value:$cv_bad"; fail=$((fail+1))
fi
# --epochs 0 meant "the train section's" (a whole run where none was asked for), and
# 3000000000 wrapped through an int: both refused before anything is built
cv_bad=""
for e in 0 3000000000; do
  "$DLNC" run samples/mlp.dln --epochs $e > "$T/cv.out" 2>&1; rc=$?
  if [ $rc -ne 2 ] || ! grep -qx "dlnc: error: --epochs needs a number of epochs from 1 to 2147483647, got $e" "$T/cv.out"; then
    cv_bad="$cv_bad [--epochs $e: exit $rc: $(head -c 200 "$T/cv.out")]"
  fi
done
"$DLNC" run samples/mlp.dln --max-steps 0 > "$T/cv.out" 2>&1; rc=$?   # 0 was "no limit": a whole run
if [ $rc -ne 2 ] || ! grep -qx "dlnc: error: --max-steps needs a number of steps >= 1 (leave it out for no limit)" "$T/cv.out"; then
  cv_bad="$cv_bad [--max-steps 0: exit $rc: $(head -c 200 "$T/cv.out")]"
fi
if [ -z "$cv_bad" ]; then
  echo "--epochs 0, --epochs 3000000000 and --max-steps 0 refused: ok"; pass=$((pass+1))
else
  echo "FAIL: --epochs out of range:$cv_bad"; fail=$((fail+1))
fi
# -o naming a directory: refused before anything is written (it wrote DIR/.h, then failed on the .c)
cv_bad=""
mkdir -p "$T/cv_dir"
for o in "$T/cv_dir/" "$T/cv_dir"; do
  "$DLNC" samples/mlp.dln -o "$o" > "$T/cv.out" 2>&1; rc=$?
  if [ $rc -ne 2 ] || ! grep -q "^dlnc: error: -o $o: a directory, not a file$" "$T/cv.out" || [ -n "$(ls -A "$T/cv_dir")" ]; then
    cv_bad="$cv_bad [-o $o: exit $rc: $(head -c 200 "$T/cv.out"); left: $(ls -A "$T/cv_dir")]"
  fi
done
if [ -z "$cv_bad" ]; then
  echo "-o DIR and -o DIR/ refused, nothing written: ok"; pass=$((pass+1))
else
  echo "FAIL: -o a directory:$cv_bad"; fail=$((fail+1))
fi
