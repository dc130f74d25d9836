# tests/e2e/jit_cache.sh — `dlnc run`'s build cache is trusted with code that
# runs inside dlnc, so (issue 18):
#   - a cache path is never given to a shell: a home with a quote works, and
#     one with `;touch` in it runs nothing;
#   - the cache is per user (HOME unset: the passwd entry's home, never
#     /tmp), its directories 0700, and one owned by another user or writable
#     by group/others is refused;
#   - an entry is loaded only if its model.so is a regular file (not a
#     symlink) with the SHA-256 recorded when it was built: a replaced or
#     truncated one is rebuilt, never loaded;
#   - the built .so is fsynced before it is renamed into place.
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

# Code planted in an entry never runs: a model.so replaced by another .so
# (whose constructor would leave a marker), or a symlink to it with a forged
# matching record. Each is rebuilt with a warning.
C="$T/jc"
cat > "$T/planted.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void) { close(creat("$T/PLANTED", 0600)); }
EOF
cc -shared -fPIC -o "$T/planted.so" "$T/planted.c"
jit_run "$T/j_first.out" DLNC_CACHE="$C"
if [ -f "$C"/*/model.so.sha256 ] && (cd "$C"/*/ && sha256sum -c --quiet model.so.sha256); then
  jit_ok "the entry records its model.so's SHA-256"
else jit_fail "the entry records its model.so's SHA-256" "$T/j_first.out"; fi
for so in "$C"/*/model.so; do cp "$T/planted.so" "$so"; done
if jit_run "$T/j_planted.out" DLNC_CACHE="$C" && [ ! -e "$T/PLANTED" ] && grep -q "warning: .*rebuilding" "$T/j_planted.out"; then
  jit_ok "a replaced model.so is rebuilt, not loaded"
else jit_fail "a replaced model.so is rebuilt, not loaded (PLANTED: $(ls "$T/PLANTED" 2>&1))" "$T/j_planted.out"; fi
rm -f "$T/PLANTED"
for so in "$C"/*/model.so; do
  ln -sf "$T/planted.so" "$so"
  echo "$(sha256sum < "$T/planted.so" | cut -c1-64)  model.so" > "$so.sha256"
done
if jit_run "$T/j_link.out" DLNC_CACHE="$C" && [ ! -e "$T/PLANTED" ] && grep -q "warning: .*rebuilding" "$T/j_link.out"; then
  jit_ok "a symlinked model.so with a forged record is rebuilt, not loaded"
else jit_fail "a symlinked model.so is rebuilt, not loaded (PLANTED: $(ls "$T/PLANTED" 2>&1))" "$T/j_link.out"; fi

# A truncated model.so (a crash or a full disk) is rebuilt, not a SIGBUS in every later run.
jit_run "$T/j_trunc0.out" DLNC_CACHE="$T/jc_trunc"
for so in "$T/jc_trunc"/*/model.so; do truncate -s $(( $(stat -c %s "$so") / 2 )) "$so"; done
if jit_run "$T/j_trunc.out" DLNC_CACHE="$T/jc_trunc" && grep -q "warning: .*rebuilding" "$T/j_trunc.out" \
   && jit_run "$T/j_trunc2.out" DLNC_CACHE="$T/jc_trunc" && ! grep -q "warning" "$T/j_trunc2.out"; then
  jit_ok "a truncated model.so is rebuilt once"
else jit_fail "a truncated model.so is rebuilt once (exit $?)" "$T/j_trunc.out"; fi

# The .so reaches the disk before its name does: fsync, then rename.
if command -v strace >/dev/null; then
  strace -o "$T/j_strace.txt" -e trace=openat,fsync,rename,renameat,renameat2 \
    env DLNC_CFLAGS=-O0 DLNC_CACHE="$T/jc_sync" $DLNC run tests/e2e/diverge.dln --epochs 1 --quiet >"$T/j_sync.out" 2>&1
  # fd of the temporary .so, an fsync of it, then its rename to model.so.
  if awk '/openat\(.*"model\.so\.tmp\.[0-9]+"/ { fd = $NF }
          fd != "" && $0 ~ "^fsync\\(" fd "\\)" { synced = 1 }
          /rename.*"model\.so\.tmp\.[0-9]+".*"model\.so"/ { ok = synced; exit }
          END { exit !ok }' "$T/j_strace.txt"; then jit_ok "the built model.so is fsynced before it is renamed"
  else grep "model\.so\|fsync" "$T/j_strace.txt" > "$T/j_strace.short"
       jit_fail "the built model.so is fsynced before it is renamed" "$T/j_strace.short"; fi
else
  echo "skip jit cache fsync check: no strace"
fi

# `dlnc x.dln -o OUT.c` writes OUT.c and OUT.h through temporaries created with
# O_EXCL under unpredictable names: `OUT.c.tmp.PID` opened with fopen followed a
# symlink another user planted in a shared directory (/tmp) and truncated its target.
if command -v strace >/dev/null; then
  mkdir -p "$T/j_out"
  strace -o "$T/j_out.strace" -e trace=openat $DLNC tests/e2e/diverge.dln -o "$T/j_out/m.c" >"$T/j_out.out" 2>&1
  n_excl=$(grep -cE 'openat\(.*/m\.[ch]\.tmp\.[0-9]+\.[0-9a-f]{12}", O_WRONLY\|O_CREAT\|O_EXCL' "$T/j_out.strace")
  if [ "$n_excl" = 2 ] && [ -s "$T/j_out/m.c" ] && [ -s "$T/j_out/m.h" ] && [ "$(ls "$T/j_out")" = "m.c
m.h" ]; then jit_ok "dlnc -o creates its temporaries with O_EXCL, unpredictable names"
  else grep "j_out" "$T/j_out.strace" > "$T/j_out.short"; cat "$T/j_out.out" >> "$T/j_out.short"
       jit_fail "dlnc -o creates its temporaries with O_EXCL, unpredictable names" "$T/j_out.short"; fi
fi

# DLNC_CC is split into words without a shell.
if jit_run "$T/j_cc.out" DLNC_CACHE="$T/jc_cc" DLNC_CC="env cc"; then jit_ok "DLNC_CC=\"env cc\""
else jit_fail "DLNC_CC=\"env cc\"" "$T/j_cc.out"; fi
