# tests/e2e/llvm_jit.sh — the in-process LLVM JIT (`make LLVM=1`, `dlnc run
# --jit=llvm`, compiler/jit_llvm.h). When llvm-config-14 is present, builds
# the LLVM variant as $B/llvm/dlnc from the objects already built (only
# jit_llvm.cpp is compiled, ~20 s), then trains the MLP for a few steps with
# both JITs of that one binary at 2 threads (OpenMP through libomp in both):
# the same losses within 1e-4 relative (gcc and clang may contract a*b+c
# differently); a second LLVM run links the object the first left in the
# verified cache (same losses again), and an object changed on disk is
# rebuilt with a warning, never linked; every sample's C accepted by that
# clang with the JIT's flags and -Werror. Without LLVM: a "skipped" line,
# and the default dlnc refuses --jit=llvm with the way to get it.
# Sourced by run.sh (uses $B, $DLNC, $T, $pass, $fail); runs from the repository root.

llvm_ok() { echo "llvm jit: $1: ok"; pass=$((pass+1)); }
llvm_fail() { echo "FAIL llvm jit: $1"; [ -f "$2" ] && tail -20 "$2"; fail=$((fail+1)); }

if $DLNC run samples/mlp.dln --jit=llvm --max-steps 1 --quiet >"$T/llvm_none.out" 2>&1; then
  llvm_ok "$DLNC was built with LLVM=1 and runs --jit=llvm"
elif grep -q "built without LLVM (rebuild with \`make LLVM=1\`)" "$T/llvm_none.out"; then
  llvm_ok "a dlnc without LLVM refuses --jit=llvm, naming make LLVM=1"
else llvm_fail "--jit=llvm without LLVM" "$T/llvm_none.out"; fi

# llvm_train JIT OUT: 12 steps of the MLP, its per-epoch CSV in OUT.csv.
llvm_train() {
  mkdir -p "$T/llvm_cache_$1"
  env DLNC_CACHE="$T/llvm_cache_$1" OMP_NUM_THREADS=2 "$B/llvm/dlnc" run samples/mlp.dln --jit="$1" -v \
    --max-steps 12 --seed 7 --history "$2.csv" >"$2" 2>&1
}

if ! command -v llvm-config-14 >/dev/null 2>&1; then
  echo "llvm jit: skipped (llvm-config-14 not found; apt-get install llvm-dev libclang-dev libclang-cpp14-dev libomp-14-dev)"
elif ! make -s -j2 BUILD="$B" "$B/llvm/dlnc" >"$T/llvm_build.out" 2>&1; then
  llvm_fail "make BUILD=$B $B/llvm/dlnc" "$T/llvm_build.out"
else
  llvm_ok "the LLVM variant builds"
  if llvm_train cc "$T/llvm_cc.out" && llvm_train llvm "$T/llvm_llvm.out" &&
     grep -q "model ready (llvm JIT)" "$T/llvm_llvm.out" && grep -q "model ready (cc JIT)" "$T/llvm_cc.out"; then
    # Every loss and accuracy of the two histories (not the seconds) within 1e-4 relative.
    if awk -F, 'NR==FNR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; n = FNR; next }
                FNR == 1 { for (i = 1; i <= NF; i++) timing[i] = ($i == "seconds") }
                FNR > 1 { for (i = 1; i <= NF; i++) if (!timing[i] && $i + 0 == $i) {
                            d = $i - a[FNR, i]; if (d < 0) d = -d; m = $i < 0 ? -$i : $i
                            if (d > 1e-4 * m + 1e-6) { print "column " i ": " a[FNR, i] " vs " $i; bad = 1 } } }
                END { exit bad || n < 2 }' "$T/llvm_cc.out.csv" "$T/llvm_llvm.out.csv" >"$T/llvm_diff.out"; then
      llvm_ok "the MLP's 12 steps: same losses as cc ($(sed -n 2p "$T/llvm_llvm.out.csv"))"
    else llvm_fail "the MLP's losses differ from cc's" "$T/llvm_diff.out"; fi
    # The second run links the cached object: the same numbers, and the entry
    # holds a relocatable object whose SHA-256 record sha256sum accepts.
    llvm_train llvm "$T/llvm_again.out"
    entry=$(ls -d "$T/llvm_cache_llvm"/*/ 2>/dev/null | head -1)
    if grep -q "^dlnc: using cached .*model.so" "$T/llvm_again.out" && ! grep -q "LLVM JIT: clang" "$T/llvm_again.out" &&
       [ "$(cut -d, -f1-4 "$T/llvm_llvm.out.csv")" = "$(cut -d, -f1-4 "$T/llvm_again.out.csv")" ] &&
       (cd "$entry" && sha256sum -c --quiet model.so.sha256) && od -An -c -N4 "$entry/model.so" | grep -q "E   L   F"; then
      llvm_ok "a second run links the cached, verified object: same losses"
    else llvm_fail "the cached LLVM object" "$T/llvm_again.out"; fi
    # A changed object is rebuilt, not linked.
    printf 'x' >>"$entry/model.so"
    if llvm_train llvm "$T/llvm_bad.out" && grep -q "does not match its recorded SHA-256.*rebuilding it" "$T/llvm_bad.out" &&
       grep -q "LLVM JIT: clang" "$T/llvm_bad.out" && (cd "$entry" && sha256sum -c --quiet model.so.sha256); then
      llvm_ok "a changed cached object is rebuilt, never linked"
    else llvm_fail "a changed cached object" "$T/llvm_bad.out"; fi
  else
    llvm_fail "dlnc run --jit=cc|llvm on the MLP" "$T/llvm_llvm.out"; cat "$T/llvm_cc.out" | tail -5
  fi
  # Every sample's C through the same clang front end the JIT links (its
  # flags, syntax only: ~0.2 s each), so no sample is gcc-only C.
  bad=""
  for f in samples/*.dln; do
    n=$(basename "$f" .dln)
    $DLNC "$f" -o "$T/llvm_$n.c" 2>/dev/null && "$(llvm-config-14 --bindir)/clang" -std=c11 -fopenmp=libomp \
      -march=native -fsyntax-only -Werror -Wall -Wextra -Iruntime -I"$T" "$T/llvm_$n.c" >>"$T/llvm_syntax.out" 2>&1 \
      || bad="$bad $n"
  done
  if [ -z "$bad" ]; then llvm_ok "every sample's C passes clang 14 -fopenmp -Wall -Wextra -Werror"
  else llvm_fail "samples clang 14 rejects:$bad" "$T/llvm_syntax.out"; fi
fi
