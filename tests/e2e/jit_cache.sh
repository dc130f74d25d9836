# tests/e2e/jit_cache.sh — `dlnc run`'s build cache is trusted with code that
# runs inside dlnc, so (issue 18):
#   - a cache path is never given to a shell: a home with a quote works, and
#     one with `;touch` in it runs nothing.
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

# A home that would run `touch` if it reached a shell.
H="$T/h';touch $T/PWNED;'"; mkdir -p "$H"
if jit_run "$T/j_inject.out" HOME="$H" && [ ! -e "$T/PWNED" ]; then jit_ok "shell syntax in the home runs nothing"
else jit_fail "shell syntax in the home runs nothing (PWNED: $(ls "$T/PWNED" 2>&1))" "$T/j_inject.out"; fi

# DLNC_CC is split into words without a shell.
if jit_run "$T/j_cc.out" DLNC_CACHE="$T/jc_cc" DLNC_CC="env cc"; then jit_ok "DLNC_CC=\"env cc\""
else jit_fail "DLNC_CC=\"env cc\"" "$T/j_cc.out"; fi
