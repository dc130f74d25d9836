#!/bin/sh
# tests/fuzz/run.sh — the libFuzzer harnesses (tests/fuzz/fuzz_<name>.c),
# built by `make fuzz-build` into build-fuzz/ (clang, ASan + UBSan).
#
#   sh tests/fuzz/run.sh [BUILD]                  the make test layer: each harness replays its
#                                                 corpus, then fuzzes a few seconds; new inputs
#                                                 are thrown away. Last line: fuzz: N passed, N failed
#   sh tests/fuzz/run.sh --long SECONDS [NAME..]  make fuzz: SECONDS per harness, resuming from
#                                                 build-fuzz/work/NAME; inputs that add coverage
#                                                 are merged into tests/fuzz/corpus/NAME
#
# A crash, leak, sanitizer report, timeout (10 s) or memory blow-up (2 GB)
# fails the harness and leaves the input in build-fuzz/findings/NAME/;
# reproduce it with `build-fuzz/fuzz_NAME FILE`. Without clang the layer
# fails rather than skips: CI installs clang.
set -u
cd "$(dirname "$0")/../.."
long=0
if [ "${1:-}" = --long ]; then long=1; seconds=${2:?--long needs SECONDS}; shift 2; else shift $#; fi
out=build-fuzz
. tests/fuzz/harnesses.sh
names=${*:-$(harness_names)}

# Copies into tests/fuzz/corpus/NAME the inputs of WORK that reach an edge
# nothing in the corpus or the seeds reaches. Edges only (-use_counters=0):
# inputs that merely run a loop more often stay in build-fuzz/work, or the
# checked-in corpus would be three times the size for the same code.
merge() {
  m=$out/merge/$1
  rm -rf "$m" && mkdir -p "$m"
  cp "tests/fuzz/corpus/$1/"* "$m/" 2> /dev/null
  s=$(harness_seeds "$1" "$out/seeds/$1")
  [ -n "$s" ] && cp "$s/"* "$m/"
  ls "$m" > "$m.before"
  # shellcheck disable=SC2046
  "$out/fuzz_$1" $(harness_flags "$1") -merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/findings/$1/" "$m" "$2" > "$out/logs/$1.merge.log" 2>&1
  added=0
  for f in $(ls "$m" | grep -vxF -f "$m.before"); do cp "$m/$f" "tests/fuzz/corpus/$1/" && added=$((added + 1)); done
  echo "    merged into tests/fuzz/corpus/$1: $added new inputs (corpus now $(ls "tests/fuzz/corpus/$1" | wc -l))"
}

if ! command -v clang > /dev/null; then
  echo "fuzz: clang not found (install clang and libclang-rt-14-dev, as .ci/run does)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
if ! make -s fuzz-build > /tmp/dlnc_fuzz_build.$$ 2>&1; then
  tail -n 30 /tmp/dlnc_fuzz_build.$$
  rm -f /tmp/dlnc_fuzz_build.$$
  echo "fuzz: cannot build the harnesses"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
rm -f /tmp/dlnc_fuzz_build.$$

# The readers' scratch files go here, so a crashed run leaves nothing in /tmp.
TMPDIR=$(pwd)/$out/tmp
export TMPDIR
mkdir -p "$TMPDIR"

pass=0; fail=0
for name in $names; do
  bin=$out/fuzz_$name
  findings=$out/findings/$name
  log=$out/logs/$name.log
  mkdir -p "$findings" "$out/logs"
  if [ $long = 1 ]; then
    work=$out/work/$name; secs=$seconds
  else
    work=$(mktemp -d "$TMPDIR/new_$name.XXXXXX"); secs=$(harness_test_seconds "$name")
  fi
  mkdir -p "$work" "tests/fuzz/corpus/$name"
  # shellcheck disable=SC2046 # flags and seeds are lists of words
  "$bin" $(harness_flags "$name") -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$work" "tests/fuzz/corpus/$name" $(harness_seeds "$name" "$out/seeds/$name") \
    > "$log" 2>&1
  rc=$?
  stats=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -E 's/^#([0-9]+).*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 runs, cov \2, ft \3, corpus \4/')
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1))
    echo "fuzz $name: ok in ${secs}s ($stats)"
  else
    fail=$((fail + 1))
    echo "FAIL fuzz $name: exit status $rc ($stats); log $log"
    grep -E 'ERROR|SUMMARY|^fuzz_|internal error|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
  fi
  if [ $long = 1 ]; then
    merge "$name" "$work"
  else
    rm -rf "$work"
  fi
done
rmdir "$TMPDIR" 2> /dev/null
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
