# tests/e2e/install.sh — packaging (issue 16 item 5):
#   - `make install DESTDIR=...` puts exactly the expected files: dlnc,
#     libdlnrt.a, libdlnrt.so.MAJOR.MINOR with its two links, dlnrt.h,
#     dlnrt.pc, the stdlib sources, the man page;
#   - the shared library's SONAME is libdlnrt.so.<DL_ABI_VERSION>;
#   - a tiny program and a generated model compile and link with
#     `pkg-config --cflags --libs dlnrt` against the installed files, record
#     that soname, and run;
#   - `man` finds the installed page, and groff formats it without a warning;
#   - every subcommand and option `dlnc --help` and `dlnc plot -h` list is
#     in the man page;
#   - `make uninstall` removes every file install put (only empty
#     directories may stay).
# Needs pkg-config and groff (groff-base), as .ci/run installs. Sourced by
# run.sh (uses $B, $DLNC, $T, $pass, $fail); runs from the repository root.

inst_ok() { echo "install: $1: ok"; pass=$((pass+1)); }
inst_fail() { echo "FAIL install: $1"; [ -f "$2" ] && tail -8 "$2"; fail=$((fail+1)); }

DEST="$T/dest"
P=/usr/local
abi=$(sed -n 's/^#define DL_ABI_VERSION \([0-9]*\).*/\1/p' runtime/dlnrt.h)
minor=$(sed -n 's/^#define DLNRT_VERSION "[0-9]*\.\([0-9]*\)\..*/\1/p' runtime/dlnrt.h)
make -s install BUILD="$B" DESTDIR="$DEST" PREFIX=$P >"$T/inst.out" 2>&1; rc=$?
(cd "$DEST" && find . \( -type f -o -type l \) | sort) > "$T/inst.files"
{
  echo "./usr/local/bin/dlnc"
  echo "./usr/local/include/dlnrt.h"
  echo "./usr/local/lib/libdlnrt.a"
  echo "./usr/local/lib/libdlnrt.so"
  echo "./usr/local/lib/libdlnrt.so.$abi"
  echo "./usr/local/lib/libdlnrt.so.$abi.$minor"
  echo "./usr/local/lib/pkgconfig/dlnrt.pc"
  echo "./usr/local/share/man/man1/dlnc.1"
  for f in stdlib/*.dln; do echo "./usr/local/share/dlnc/stdlib/$(basename "$f")"; done
} | sort > "$T/inst.want"
L="$DEST$P/lib"
if [ $rc -eq 0 ] && cmp -s "$T/inst.files" "$T/inst.want" && [ "$(readlink "$L/libdlnrt.so")" = "libdlnrt.so.$abi" ] \
   && [ "$(readlink "$L/libdlnrt.so.$abi")" = "libdlnrt.so.$abi.$minor" ]; then
  inst_ok "make install puts exactly its files (libdlnrt.so -> libdlnrt.so.$abi -> libdlnrt.so.$abi.$minor)"
else
  inst_fail "make install (exit $rc)" "$T/inst.out"; diff "$T/inst.want" "$T/inst.files"
fi

if readelf -d "$L/libdlnrt.so.$abi.$minor" | grep -q "(SONAME) *Library soname: \[libdlnrt.so.$abi\]"; then
  inst_ok "SONAME libdlnrt.so.$abi"
else inst_fail "SONAME"; readelf -d "$L/libdlnrt.so.$abi.$minor" | grep -i soname; fi

# A program built the way the README says, against the installed files only.
cat > "$T/use_rt.c" <<'EOF2'
#include <dlnrt.h>
#include <stdio.h>

int main(void) {
    float logits[4] = {0.1f, 0.9f, 0.8f, 0.2f};
    int32_t labels[2] = {1, 0};
    printf("dlnrt %s: %lld of 2\n", DLNRT_VERSION, (long long)dl_count_correct(logits, labels, 2, 2));
    return 0;
}
EOF2
pc() { PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$DEST" pkg-config "$@"; }
if ! command -v pkg-config >/dev/null 2>&1; then
  inst_fail "pkg-config is not installed (apt-get install pkg-config)"
elif flags=$(pc --cflags --libs dlnrt) && echo "$flags" | grep -q -- "-I$DEST$P/include" \
   && echo "$flags" | grep -q -- "-L$L -ldlnrt" && [ "$(pc --modversion dlnrt)" = "$($DLNC --version | sed 's/.*runtime \(.*\))/\1/')" ] \
   && pc --static --libs dlnrt | grep -q -- "-lpng -lz" \
   && $DLNC samples/mlp.dln -o "$T/inst_mlp.c" \
   && cc -std=c11 -O1 -Wall -Wextra -Werror "$T/use_rt.c" "$T/inst_mlp.c" $flags -o "$T/use_rt" 2>"$T/use_rt.err" \
   && readelf -d "$T/use_rt" | grep -q "(NEEDED) *Shared library: \[libdlnrt.so.$abi\]" \
   && [ "$(LD_LIBRARY_PATH="$L" "$T/use_rt")" = "dlnrt $(pc --modversion dlnrt): 2 of 2" ]; then
  inst_ok "a program built with \`pkg-config --cflags --libs dlnrt\` links libdlnrt.so.$abi and runs"
else
  inst_fail "pkg-config build (flags: $flags)" "$T/use_rt.err"
fi

# The manual: installed where man looks, formatted without warnings, complete.
if ! command -v groff >/dev/null 2>&1; then
  inst_fail "groff is not installed (apt-get install groff-base)"
elif [ "$(man -M "$DEST$P/share/man" -w dlnc 2>/dev/null)" = "$DEST$P/share/man/man1/dlnc.1" ] \
   && groff -man -Tutf8 -ww -z docs/dlnc.1 2>"$T/man.warn" && [ ! -s "$T/man.warn" ] \
   && MANWIDTH=80 man --warnings -l docs/dlnc.1 2>"$T/man.warn" >"$T/man.txt" && [ ! -s "$T/man.warn" ]; then
  inst_ok "man dlnc: installed, no groff warnings"
else inst_fail "man page" "$T/man.warn"; fi
missing=""
for opt in $( { $DLNC --help; $DLNC plot -h; } | grep -oE '^ +-[-a-z0-9]+(, --[a-z]+)?' | tr ',' ' '); do
  grep -qE -- "(^|[ ,])${opt%%=*}([ ,=]|\$)" "$T/man.txt" || missing="$missing $opt"
done
for sub in "dlnc run" "dlnc plot"; do
  $DLNC --help | grep -q "^ *$sub \[" && grep -q "^ *$sub \[" "$T/man.txt" || missing="$missing '$sub'"
done
if [ -z "$missing" ] && grep -q "^ *--emit={ast|ir|c|dot}" "$T/man.txt"; then
  inst_ok "the man page has every subcommand and option of dlnc --help"
else inst_fail "not in the man page:$missing"; fi

make -s uninstall BUILD="$B" DESTDIR="$DEST" PREFIX=$P >"$T/uninst.out" 2>&1; rc=$?
left=$(find "$DEST" \( -type f -o -type l \) | head -5)
if [ $rc -eq 0 ] && [ -z "$left" ] && [ ! -d "$DEST$P/share/dlnc" ]; then
  inst_ok "make uninstall leaves no file"
else inst_fail "make uninstall (exit $rc) left: $left" "$T/uninst.out"; fi
