#!/bin/sh
# `make test`: every test layer, then one total line.
#   unit (CUnit), unit under ASan+UBSan, golden diagnostics, end to end,
#   a short libFuzzer run (tests/fuzz, needs clang), parity with PyTorch
#   (tests/parity, needs python3-torch).
# Each layer prints its own summary; the last line here adds them up as
# "N passed, N failed".
set -u
B=${BUILD:-build}
total_pass=0; total_fail=0
add() { total_pass=$((total_pass + $1)); total_fail=$((total_fail + $2)); }

# CUnit prints "  tests   <total> <ran> <passed> <failed> <inactive>".
cunit_counts() {
  awk '$1=="tests" && NF>=5 {print $4, $5; found=1} END {if (!found) print 0, 1}' "$1"
}

echo "== unit tests =="
$B/unit_tests > /tmp/dlnc_unit.$$ 2>&1; rc=$?
cat /tmp/dlnc_unit.$$
set -- $(cunit_counts /tmp/dlnc_unit.$$); [ $rc -ne 0 ] && [ "$2" = 0 ] && set -- "$1" 1
add "$1" "$2"

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
make -s asan-test > /tmp/dlnc_asan.$$ 2>&1; rc=$?
tail -n 15 /tmp/dlnc_asan.$$
set -- $(cunit_counts /tmp/dlnc_asan.$$); [ $rc -ne 0 ] && [ "$2" = 0 ] && set -- "$1" 1
add "$1" "$2"

for layer in golden e2e fuzz parity; do
  echo "== $layer =="
  sh tests/$layer/run.sh "$B" > /tmp/dlnc_$layer.$$ 2>&1
  cat /tmp/dlnc_$layer.$$
  line=$(grep -E "^$layer: [0-9]+ passed, [0-9]+ failed" /tmp/dlnc_$layer.$$ | tail -n 1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    add "$p" "$f"
  else
    add 0 1
  fi
done
rm -f /tmp/dlnc_*.$$
echo "$total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
