# Sourced by tests/e2e/run.sh (uses $B, $T, pass, fail): every dlnc command line of
# docs/language.md, README.md and the man page taken by dlnc's option parser, the
# ```sh blocks marked `doc-test: sh run` run for real, every option the parser
# accepts in --help, the man page and language.md (doc_cli.py; rules in
# docs/testing.md). ~30 s.
if python3 tests/e2e/doc_cli.py "$B" > "$T/doc_cli.out" 2>&1; then
  echo "command lines of the docs: $(grep -E '^doc_cli: [0-9]+ checked' "$T/doc_cli.out" | cut -d' ' -f2-) ($(grep -E '^doc_cli: [0-9]+ [a-z]' "$T/doc_cli.out" | head -1 | cut -d' ' -f2-)): ok"
  pass=$((pass+1))
else
  echo "FAIL command lines of the docs:"; cat "$T/doc_cli.out"; fail=$((fail+1))
fi
