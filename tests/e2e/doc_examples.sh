# Sourced by tests/e2e/run.sh (uses $B, $T, pass, fail): every fenced block of
# docs/language.md checked by doc_examples.py (programs compiled, their C built
# with -Werror, error examples failing with the diagnostics shown, every shown
# diagnostic one a test checks; the rules in docs/testing.md). ~20-60 s.
if python3 tests/e2e/doc_examples.py "$B" > "$T/doc_examples.out" 2>&1; then
  echo "docs/language.md examples: $(grep -E '^doc_examples: [0-9]+ checked' "$T/doc_examples.out" | cut -d' ' -f2-) ($(grep -E '^doc_examples: [0-9]+ [a-z]' "$T/doc_examples.out" | head -1 | cut -d' ' -f2-)): ok"
  pass=$((pass+1))
else
  echo "FAIL docs/language.md examples:"; cat "$T/doc_examples.out"; fail=$((fail+1))
fi
