# tests/e2e/kernels_distinct.sh — sourced by run.sh. Generated C a person would
# keep (issue 10): in every sample's C, no kernel body is defined twice (the
# emitter shares one across graphs, repeated blocks and the models of a
# section with steps) and every kernel names the .dln line it computes
# (tests/e2e/kernels_distinct.py says exactly what is compared).
mkdir -p "$T/kd"
kd_built=1
for f in samples/*.dln; do
  "$DLNC" "$f" -o "$T/kd/$(basename "$f" .dln).c" 2>"$T/kd/err" || { kd_built=0; cat "$T/kd/err"; }
done
if [ $kd_built = 1 ] && python3 tests/e2e/kernels_distinct.py "$T"/kd/*.c > "$T/kd/out" 2>&1; then
  echo "every sample's C: each kernel body defined once, each kernel naming its .dln line: ok"; pass=$((pass+1))
else
  echo "FAIL: repeated or unlocated kernels:"; head -20 "$T/kd/out"; fail=$((fail+1))
fi
