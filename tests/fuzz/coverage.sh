#!/bin/sh
# tests/fuzz/coverage.sh [NAME...] — line coverage of the fuzz corpora (make fuzz-coverage).
#
# Runs each harness, built with clang's source-based coverage into
# build-fuzz-cov/, over its corpus and seeds once (-runs=0: no fuzzing), and
# prints llvm-cov's line coverage of the code that harness is for: compiler/
# for the compiler, the reader's own file(s) for the others. Needs llvm
# (llvm-profdata, llvm-cov); not part of make test.
set -eu
cd "$(dirname "$0")/../.."
out=build-fuzz-cov
. tests/fuzz/harnesses.sh
names=${*:-$(harness_names)}

TMPDIR=$(pwd)/$out/tmp
export TMPDIR
mkdir -p "$TMPDIR"
for name in $names; do
  seeds=$(harness_seeds "$name" "$out/seeds/$name")
  rm -f "$out/$name".prof*
  # shellcheck disable=SC2086 # seeds is empty or one directory
  LLVM_PROFILE_FILE="$out/$name.profraw" "$out/fuzz_$name" -runs=0 -max_len=8192 \
    "tests/fuzz/corpus/$name" $seeds > "$out/$name.log" 2>&1
  llvm-profdata merge -o "$out/$name.profdata" "$out/$name.profraw"
  files=$(ls "tests/fuzz/corpus/$name" | wc -l)
  # shellcheck disable=SC2046 # a list of paths
  llvm-cov report "$out/fuzz_$name" -instr-profile="$out/$name.profdata" $(harness_sources "$name") |
    awk -v n="$name" -v f="$files" -v s="$(harness_sources "$name")" '$1 == "TOTAL" {
      printf "%s (%d corpus files) on %s: lines %s (%d of %d), branches %s, functions %s\n",
             n, f, s, $10, $8 - $9, $8, $13, $7 }'
done
rm -rf "$TMPDIR"
