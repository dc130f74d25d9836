#!/bin/sh
# tests/golden/run.sh DLNC — diagnostics golden tests.
#
# For every <name>.dln here, run `DLNC <name>.dln -o TMP/<name>.c` from this
# directory (so messages say `<name>.dln:L:C`; a first line `# dlnc-args: ARGS`
# puts ARGS before the file, e.g. `search --grid lr=0.1`) and check that
#   - the exit status is 1,
#   - stderr is exactly <name>.err (a diff is shown otherwise),
#   - no output file (.c or .h) was written.
# DLNC may also be a build directory (then DLNC/dlnc is used), which is how
# tests/run_all.sh calls it. The last line is `golden: N passed, N failed`.
#
# To (re)create an expectation after checking the output by eye:
#   (cd tests/golden && ../../build/dlnc NAME.dln -o /tmp/x.c 2> NAME.err)
set -u
arg=${1:-build}
if [ -d "$arg" ]; then dlnc=$arg/dlnc; else dlnc=$arg; fi
case $dlnc in /*) ;; *) dlnc=$(pwd)/$dlnc ;; esac
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dlnc_golden.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
if [ ! -x "$dlnc" ]; then
  echo "golden: compiler not found: $dlnc"
  echo "golden: 0 passed, 1 failed"
  exit 1
fi

for src in "$here"/*.dln; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .dln)
  expected="$here/$name.err"
  out="$tmp/$name.c"
  why=""
  if [ ! -f "$expected" ]; then
    why="missing $name.err"
  else
    # a first line "# dlnc-args: ARGS" runs `dlnc ARGS <name>.dln` (a subcommand's errors; no quoting)
    # (-o is the compiler's: a subcommand refuses it as another subcommand's option)
    args=$(sed -n '1s/^# dlnc-args: //p' "$src")
    if [ -n "$args" ]; then
      (cd "$here" && "$dlnc" $args "$name.dln") > "$tmp/$name.stdout" 2> "$tmp/$name.stderr"
    else
      (cd "$here" && "$dlnc" "$name.dln" -o "$out") > "$tmp/$name.stdout" 2> "$tmp/$name.stderr"
    fi
    rc=$?
    if [ $rc -ne 1 ]; then
      why="exit status $rc, expected 1"
    elif ! cmp -s "$expected" "$tmp/$name.stderr"; then
      why="stderr differs from $name.err"
    elif [ -e "$out" ] || [ -e "$tmp/$name.h" ]; then
      why="an output file was written despite the errors"
    fi
  fi
  if [ -z "$why" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: $why"
    if [ -f "$expected" ] && [ -f "$tmp/$name.stderr" ]; then
      diff -u "$expected" "$tmp/$name.stderr" | sed 's/^/    /'
    fi
  fi
done

echo "golden: $pass passed, $fail failed"
[ $fail -eq 0 ]
