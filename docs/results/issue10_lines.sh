#!/bin/sh
# Generated C line count of every sample, and whether it is byte-identical to
# a snapshot made by another build (Issue 10's typed attributes must not
# change a byte of generated C).
#   sh docs/results/issue10_lines.sh BUILD_DIR [SNAPSHOT_DIR]
# With SNAPSHOT_DIR (files samples_<name>.dln.c from the other build, e.g.
# `for f in samples/*.dln; do build/dlnc $f -o SNAP/$(echo $f | tr / _).c; done`,
# at the commit before), each line also says "same" or "DIFFERENT".
build=${1:-build}; snap=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%-28s %8s %s\n' sample lines "${snap:+vs snapshot}"
total=0
for f in samples/*.dln; do
  n=$(basename "$f" .dln)
  o="$tmp/samples_$n.dln.c" # the snapshot's name: the header's name is written into the C
  if ! "$build/dlnc" "$f" -o "$o" >/dev/null 2>&1; then printf '%-28s %8s\n' "$n" "(no C)"; continue; fi
  l=$(wc -l < "$o"); total=$((total + l)); same=""
  if [ -n "$snap" ]; then
    s="$snap/samples_$n.dln.c"
    if cmp -s "$o" "$s" && cmp -s "${o%.c}.h" "${s%.c}.h"; then same=same; else same=DIFFERENT; fi
  fi
  printf '%-28s %8d %s\n' "$n" "$l" "$same"
done
printf '%-28s %8d\n' total "$total"
