#!/bin/sh
# old_objects.sh — an old build's objects beside the new library in one program:
# extracts MEMBER.o from OLD_LIB into DIR and writes DIR/MEMBER_old.o with every
# global it defines renamed old_* (what bench/conv_bench.c and bench/dw_bench.c
# link under -DCONV_BENCH_OLD / -DDW_BENCH_OLD to time the old kernels beside the new).
#
#   sh bench/old_objects.sh OLD_LIB DIR MEMBER...    e.g. ... /tmp/old.a /tmp/x conv im2col
set -e
[ $# -ge 3 ] || { echo "usage: sh bench/old_objects.sh OLD_LIB DIR MEMBER..." >&2; exit 2; }
lib=$(realpath "$1") dir=$2
shift 2
mkdir -p "$dir"
cd "$dir"
objs=
for m in "$@"; do ar x "$lib" "$m.o"; objs="$objs $m.o"; done
# shellcheck disable=SC2086
nm --defined-only -g $objs | awk 'NF==3{print $3" old_"$3}' | sort -u > syms
for m in "$@"; do objcopy --redefine-syms=syms "$m.o" "${m}_old.o"; done
