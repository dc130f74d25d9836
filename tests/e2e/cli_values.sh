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
# an option of another subcommand: refused (exit 2, the subcommands that take it named) before
# anything is compiled or run; it was silently ignored (`dlnc m.dln --epochs 3` wrote the C)
cv_bad=""
cv_mis() {   # cv_mis "EXPECTED MESSAGE" ARGS...
  cv_want=$1; shift
  "$DLNC" "$@" > "$T/cv.out" 2>&1; rc=$?
  if [ $rc -ne 2 ] || [ "$(cat "$T/cv.out")" != "dlnc: error: $cv_want" ]; then
    cv_bad="$cv_bad [dlnc $*: exit $rc: $(head -c 200 "$T/cv.out")]"
  fi
}
cv_mis "--epochs is an option of dlnc run and dlnc search, not of dlnc FILE" samples/mlp.dln -o "$T/cv_m.c" --epochs 3
cv_mis "--temperature is an option of dlnc sample, not of dlnc run" run samples/mlp.dln --temperature 0.5
cv_mis "--temperature is an option of dlnc sample, not of dlnc run" run samples/mlp.dln --temperature x   # not its value's error
cv_mis "--attack is an option of dlnc explain, not of dlnc run" run samples/mlp.dln --attack fgsm
cv_mis "--threads is an option of dlnc run and dlnc search, not of dlnc sample" sample --checkpoint x.st --threads 2 samples/mlp.dln
cv_mis "-o is an option of dlnc FILE and dlnc export, not of dlnc run" run -o "$T/cv_m.c" samples/mlp.dln
cv_mis "--jit is an option of dlnc run, dlnc sample, dlnc search and dlnc explain, not of dlnc export" export --jit=cc --checkpoint x.st samples/mlp.dln
cv_mis "--seed is an option of dlnc run, dlnc sample, dlnc search and dlnc explain, not of dlnc FILE" --seed 1 samples/mlp.dln
cv_mis "--emit=c is an option of dlnc FILE, not of dlnc run" run --emit=c samples/mlp.dln   # it trained, printing nothing
cv_mis "--after needs --emit=ir" --after=fuse samples/mlp.dln -o "$T/cv_m.c"   # it wrote the C, --after ignored
cv_mis "--after needs --emit=ir" --emit=c --after=fuse samples/mlp.dln -o "$T/cv_m.c"
cv_mis "--after needs --emit=ir" --emit=dot --after=elab samples/mlp.dln
# dlnc sample's text and its images read options of their own
cv_mis "--temperature is an option of dlnc sample, not of dlnc sample --grid/--reconstruct/..." sample --checkpoint x.st --grid "$T/cv.png" --temperature 0.5 samples/mlp.dln
cv_mis "--count is an option of dlnc explain and dlnc sample --grid/--reconstruct/..., not of dlnc sample" sample --checkpoint x.st --count 4 samples/mlp.dln
if [ -e "$T/cv_m.c" ] || [ -e "$T/cv_m.h" ] || [ -e "$T/cv.png" ]; then cv_bad="$cv_bad [a refused command wrote $T/cv_m.c]"; fi
if [ -z "$cv_bad" ]; then
  echo "options of another subcommand refused, exit 2, nothing written: ok"; pass=$((pass+1))
else
  echo "FAIL: options of another subcommand:$cv_bad"; fail=$((fail+1))
fi
