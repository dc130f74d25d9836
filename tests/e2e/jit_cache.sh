# tests/e2e/jit_cache.sh — `dlnc run`'s build cache is trusted with code that
# runs inside dlnc, so (issue 18):
#   - a cache path is never given to a shell: a home with a quote works, and
#     one with `;touch` in it runs nothing;
#   - the cache is per user (HOME unset: the passwd entry's home, never
#     /tmp), its directories 0700, and one owned by another user or writable
#     by group/others is refused.
# Sourced by run.sh (uses $DLNC, $T, $pass, $fail); runs from the repository root.

# jit_run OUT [-u VAR | VAR=value ...]: `dlnc run -v` of a small model in that environment.
jit_run() {
  out=$1; shift
  env -u DLNC_CACHE -u XDG_CACHE_HOME "$@" DLNC_CFLAGS=-O0 OMP_NUM_THREADS=1 \
    $DLNC run tests/e2e/diverge.dln --epochs 1 --quiet -v >"$out" 2>&1
}
jit_ok() { echo "jit cache: $1: ok"; pass=$((pass+1)); }
jit_fail() { echo "FAIL jit cache: $1"; [ -f "$2" ] && cat "$2"; fail=$((fail+1)); }

# A home with a quote in it: the build works and the cache goes there.
H="$T/o'brien"; mkdir -p "$H"
if jit_run "$T/j_quote.out" HOME="$H" && [ -n "$(ls "$H/.cache/dlnc" 2>/dev/null)" ]; then
  jit_ok "a home with a quote"
else jit_fail "a home with a quote" "$T/j_quote.out"; fi

# ... and every directory dlnc made for it is 0700.
modes=$(for d in "$H/.cache" "$H/.cache/dlnc" "$H/.cache/dlnc"/*/; do stat -c %a "$d"; done | sort -u)
if [ "$modes" = 700 ]; then jit_ok "directories it creates are 0700"
else echo "modes: $modes"; jit_fail "directories it creates are 0700"; fi

# A home that would run `touch` if it reached a shell.
H="$T/h';touch $T/PWNED;'"; mkdir -p "$H"
if jit_run "$T/j_inject.out" HOME="$H" && [ ! -e "$T/PWNED" ]; then jit_ok "shell syntax in the home runs nothing"
else jit_fail "shell syntax in the home runs nothing (PWNED: $(ls "$T/PWNED" 2>&1))" "$T/j_inject.out"; fi

# HOME unset: the passwd entry's home, never a shared directory such as /tmp.
pwhome=$(getent passwd "$(id -u)" | cut -d: -f6)
if [ -n "$pwhome" ]; then
  jit_run "$T/j_nohome.out" -u HOME; rc=$?
  entry=$(sed -n 's/^dlnc: building in \([^:]*\): .*/\1/p; s/^dlnc: using cached \(.*\)\/model\.so$/\1/p' "$T/j_nohome.out")
  case "$entry" in
    "$pwhome/.cache/dlnc/"?*) [ $rc -eq 0 ] && jit_ok "HOME unset: the cache is in $pwhome/.cache" \
                               || jit_fail "HOME unset (exit $rc)" "$T/j_nohome.out"
                             rm -rf "$entry" ;;
    *) jit_fail "HOME unset: the cache is in $pwhome/.cache, not '$entry'" "$T/j_nohome.out" ;;
  esac
fi

# A cache directory writable by others, or owned by someone else, is refused.
mkdir -p "$T/jc_open"; chmod 0777 "$T/jc_open"
if ! jit_run "$T/j_open.out" DLNC_CACHE="$T/jc_open" && grep -q "error: .*writable by group or others" "$T/j_open.out" \
   && [ -z "$(ls "$T/jc_open")" ]; then jit_ok "a cache directory writable by others is refused"
else jit_fail "a cache directory writable by others is refused" "$T/j_open.out"; fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$T/jc_other"; chown nobody "$T/jc_other"; other="$T/jc_other"
else other=/usr; fi
if ! jit_run "$T/j_other.out" DLNC_CACHE="$other" && grep -q "error: .*is owned by uid" "$T/j_other.out" \
   && [ -z "$(ls -A "$T/jc_other" 2>/dev/null)" ]; then jit_ok "a cache directory owned by another user is refused"
else jit_fail "a cache directory owned by another user is refused" "$T/j_other.out"; fi

# DLNC_CC is split into words without a shell.
if jit_run "$T/j_cc.out" DLNC_CACHE="$T/jc_cc" DLNC_CC="env cc"; then jit_ok "DLNC_CC=\"env cc\""
else jit_fail "DLNC_CC=\"env cc\"" "$T/j_cc.out"; fi
