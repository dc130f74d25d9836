# Sourced by tests/e2e/run.sh (needs B, T, CFLAGS, pass, fail): models of the
# general form (tests/e2e/iface.dln: several inputs, an i32 one, two named
# outputs, a run-time T) through their generated C API (iface_main.c), and
# trained by `dlnc run` from a CSV source whose fields they read by name.
awk 'BEGIN { for (r = 0; r < 60; r++) { for (c = 0; c < 16; c++) printf "%d,", c < (r % 3 + 1) * 5; print r % 3 } }' > "$T/iface.csv"
cp tests/e2e/iface.dln "$T/iface.dln"
if $B/dlnc "$T/iface.dln" -o "$T/iface.c" 2>"$T/iface.err" \
   && cc $CFLAGS -I"$T" tests/e2e/iface_main.c "$T/iface.c" "$B/libdlnrt.a" -lpng -lz -lm -o "$T/iface.test" 2>>"$T/iface.err" \
   && OMP_NUM_THREADS=2 "$T/iface.test" "$T" > "$T/iface.out" 2>&1; then
  cat "$T/iface.out"; pass=$((pass+1))
else
  echo "FAIL iface API:"; head -20 "$T/iface.err" "$T/iface.out"; fail=$((fail+1))
fi
DI=$(cd "$B" && pwd)/dlnc
(cd "$T" && DLNC_CACHE="$T/cache" "$DI" run --model pair --epochs 20 iface.dln) > "$T/pair.out" 2>&1; rca=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DI" run --model single iface.dln) > "$T/single.out" 2>&1; rcb=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DI" run --model carried --checkpoint carry.st iface.dln) > "$T/carry.out" 2>&1; rcs=$?
# a model input the data does not give is a compile error naming the fields
sed 's/label: i32\[N\])/lbl: i32[N])/; s/cast_f32(label)/cast_f32(lbl)/' "$T/iface.dln" > "$T/nofield.dln"
(cd "$T" && "$DI" nofield.dln -o nofield.c) > "$T/nofield.out" 2>&1; rcc=$?
if [ $rca -eq 0 ] && grep -q "^done: 20 epochs, 120 steps.*val_acc 100.00%" "$T/pair.out" \
   && [ $rcb -eq 0 ] && grep -q "^done: 3 epochs, 18 steps.*val_loss" "$T/single.out" \
   && [ $rcs -eq 0 ] && grep -q "^done: 2 epochs" "$T/carry.out" && ! grep -q '"h"' "$T/carry.st" \
   && [ $rcc -eq 1 ] && grep -q "model input 'lbl' is not given by the data" "$T/nofield.out" \
   && grep -q "hint: csv(...) gives the fields features, label" "$T/nofield.out"; then
  echo "dlnc run binds data fields to a general model's inputs and loss by name: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc run of general models ($rca $rcb $rcs $rcc):"; cat "$T/pair.out" "$T/single.out" "$T/carry.out" "$T/nofield.out"; fail=$((fail+1))
fi
