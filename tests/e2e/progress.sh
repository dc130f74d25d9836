# tests/e2e/progress.sh — the progress line within an epoch and
# `dlnc run --profile` (issue 16 item 4):
#   - on a pipe, plain "[epoch E/N] k/total  loss L  S samples/s  ETA T" lines
#     on stderr every --progress-every seconds, none in a run shorter than
#     the default 10 s, none with --quiet; stdout (the epoch lines scripts
#     read) is the same with and without them;
#   - on a pseudo-terminal (script(1)): the line redrawn with "\r...ESC[K" and
#     erased before the epoch line;
#   - a section over several models (gan.dln) shows each step's loss;
#   - --profile: the training step's table and evaluation's, the % column of
#     each sums to 100, every row's line is a line of the model (or of the
#     stdlib, for the block lines beneath) that holds code, the three training
#     phases appear; the profiled build is its own cache entry; the C of a model
#     compiled without --profile has no DL_PROF, with it builds with -Werror
#     both with and without -DDL_PROFILE, and every sample's profiled C with it.
#   - --progress-every 0 and dlnc sample --profile are usage errors (exit 2).
# Sourced by run.sh after pictures.sh (uses $D, $T with two.dln, two.csv and
# gan.dln, $CFLAGS, $B, $pass, $fail). ~20 s.

pg_ok() { echo "progress: $1: ok"; pass=$((pass+1)); }
pg_fail() { echo "FAIL progress: $1"; [ -f "$2" ] && tail -8 "$2"; fail=$((fail+1)); }
pg() { (cd "$T" && DLNC_CACHE="$T/cache" "$D" run "$@"); }
# epoch lines without their timings (samples/s, seconds, ETA change from run to run)
epochs_of() { grep '^epoch' "$1" | sed 's/  [0-9]* samples\/s.*//'; }

pg --model b --seed 3 --progress-every 0.000001 two.dln > "$T/pg.out" 2> "$T/pg.err"; r1=$?
pg --model b --seed 3 two.dln > "$T/pg0.out" 2> "$T/pg0.err"; r2=$?
pg --model b --seed 3 --quiet --progress-every 0.000001 two.dln > "$T/pgq.out" 2> "$T/pgq.err"; r3=$?
line='^\[epoch [12]/2\] [0-9][0-9]*/[0-9][0-9]*  loss [0-9][0-9]*\.[0-9]\{4\}  [0-9][0-9]* samples/s\(  ETA [0-9.]*s\)\{0,1\}$'
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && grep -q '^\[epoch 1/2\] 1/' "$T/pg.err" \
   && [ "$(grep -c '^\[epoch' "$T/pg.err")" -ge 4 ] && [ "$(grep '^\[epoch' "$T/pg.err" | grep -cv "$line")" -eq 0 ] \
   && ! grep -q "$(printf '\r')" "$T/pg.err" && ! grep -q '^\[epoch' "$T/pg0.err" "$T/pgq.err" "$T/pg.out" \
   && [ -n "$(epochs_of "$T/pg.out")" ] && [ "$(epochs_of "$T/pg.out")" = "$(epochs_of "$T/pg0.out")" ] \
   && ! grep -q '^epoch' "$T/pgq.out"; then
  pg_ok "plain lines on a pipe, on stderr only, none by default in a short run or with --quiet"
else pg_fail "pipe ($r1 $r2 $r3)" "$T/pg.err"; cat "$T/pg.out"; fi

pg --model b --progress-every 0 two.dln > "$T/pgbad.out" 2>&1; rb=$?
(cd "$T" && "$D" sample --profile --checkpoint x.st two.dln) > "$T/pgbad2.out" 2>&1; rb2=$?
if [ $rb -eq 2 ] && grep -q "error: --progress-every expects seconds > 0, got '0'" "$T/pgbad.out" \
   && [ $rb2 -eq 2 ] && grep -q "error: --profile is an option of dlnc FILE and dlnc run, not of dlnc sample" "$T/pgbad2.out"; then
  pg_ok "--progress-every 0 and dlnc sample --profile are usage errors"
else pg_fail "usage errors (exit $rb $rb2)" "$T/pgbad.out"; cat "$T/pgbad2.out"; fi

if command -v script >/dev/null 2>&1; then
  (cd "$T" && DLNC_CACHE="$T/cache" script -qec "'$D' run --model b two.dln" /dev/null) > "$T/pgtty.out" 2>&1; rt=$?
  esc=$(printf '\033')
  cr=$(printf '\r')
  if [ $rt -eq 0 ] && grep -q "${cr}\[epoch 1/2\] 1/[0-9]*  loss [0-9.]*  [0-9]* samples/s  ETA [0-9.]*s${esc}\[K" "$T/pgtty.out" \
     && grep -q "${cr}${esc}\[K${cr}\{0,1\}epoch  *1/2  loss" "$T/pgtty.out"; then
    pg_ok "a terminal's line is redrawn in place and erased before the epoch line"
  else pg_fail "terminal (exit $rt)" ; od -c "$T/pgtty.out" | head -12; fi
else pg_fail "script(1) (util-linux/bsdutils) is not installed"; fi

pg gan.dln --max-steps 6 --progress-every 0.000001 > "$T/pgg.out" 2> "$T/pgg.err"; rg=$?
if [ $rg -eq 0 ] && grep -Eq '^\[epoch 1/1\] 3/6  loss_disc [0-9]+\.[0-9]{4}  loss_gen [0-9]+\.[0-9]{4}  [0-9]+ samples/s  ETA' "$T/pgg.err" \
   && grep -q '^epoch 1/1  loss_disc' "$T/pgg.out"; then
  pg_ok "a section over several models: each step's loss"
else pg_fail "steps section (exit $rg)" "$T/pgg.err"; fi

# --profile: the table after the run
pg --model b --profile -v two.dln > "$T/pf.out" 2> "$T/pf.err"; rp=$?
pg --model b -v two.dln > "$T/pf0.out" 2> "$T/pf0.err"
# table T (training|evaluation): its rows of lines (phase first) and of block lines (indented)
rows() { sed -n "/^profile: $1/,/^total /p" "$2" | grep -E '^(forward|backward|optimizer|eval) '; }
inner() { sed -n "/^profile: $1/,/^total /p" "$2" | grep -E '^ {13}[a-z]'; }
pct() { rows "$1" "$2" | awk '{ s += $(NF - 2) } END { printf "%.2f", s }'; }
# every line a row names holds code: two.dln's own lines, the stdlib's for block lines
bad_lines=$( { rows 'the training step' "$T/pf.out"; rows evaluation "$T/pf.out"; } | awk '{ print "'"$T"'/" $2 }'
             inner 'the training step' "$T/pf.out" | awk '{ print $1 }')
bad_lines=$(echo "$bad_lines" | while IFS=: read -r f n; do
  [ -n "$f" ] && { [ -f "$f" ] && sed -n "${n}p" "$f" | grep -q '[a-z]' || echo "$f:$n"; }; done)
pt=$(pct 'the training step' "$T/pf.out"); pe=$(pct evaluation "$T/pf.out")
entry() { sed -n 's/^dlnc: building in \([^:]*\):.*/\1/p; s/^dlnc: using cached \(.*\)\/model\.so$/\1/p' "$1" | head -1; }
if [ $rp -eq 0 ] && awk -v p="$pt" -v e="$pe" 'BEGIN { exit !(p > 99.8 && p < 100.2 && e > 99.8 && e < 100.2) }' \
   && [ -z "$bad_lines" ] && [ -n "$(inner 'the training step' "$T/pf.out")" ] \
   && rows 'the training step' "$T/pf.out" | grep -q '^forward  *two.dln:5 ' \
   && rows 'the training step' "$T/pf.out" | grep -q '^backward ' && rows evaluation "$T/pf.out" | grep -q '^eval ' \
   && rows 'the training step' "$T/pf.out" | grep -q '^optimizer ' && ! grep -q '^profile:' "$T/pf0.out" \
   && [ -n "$(entry "$T/pf.err")" ] && [ "$(entry "$T/pf.err")" != "$(entry "$T/pf0.err")" ]; then
  pg_ok "--profile: the step's and evaluation's tables (% sums to $pt and $pe), real .dln lines, its own cache entry"
else pg_fail "--profile (exit $rp, % sums $pt $pe, bad lines '$bad_lines')" "$T/pf.out"; cat "$T/pf.err"; fi

(cd "$T" && "$D" two.dln -o pn.c && "$D" --profile two.dln -o pp.c) > "$T/pfc.err" 2>&1; rc=$?
if [ $rc -eq 0 ] && ! grep -q DL_PROF "$T/pn.c" && grep -q 'DL_PROF(a_train_prof' "$T/pp.c" \
   && cc $CFLAGS -I"$T" -c "$T/pp.c" -o "$T/pp.o" 2>>"$T/pfc.err" \
   && cc $CFLAGS -DDL_PROFILE -I"$T" -c "$T/pp.c" -o "$T/ppd.o" 2>>"$T/pfc.err"; then
  pg_ok "profiled C builds with -Werror with and without -DDL_PROFILE; plain C has no DL_PROF"
else pg_fail "profiled C (exit $rc)" "$T/pfc.err"; fi

# every sample's profiled C (convolutions with epilogues, scans, attention, several models)
# passes -Werror with -DDL_PROFILE, where each site is defined and used (~10 s, no code generated)
bad=""
for f in samples/*.dln; do
  n=$(basename "$f" .dln)
  $D --profile "$f" -o "$T/prof_$n.c" 2>"$T/prof_$n.err" \
    && cc $CFLAGS -DDL_PROFILE -I"$T" -fsyntax-only "$T/prof_$n.c" 2>>"$T/prof_$n.err" || bad="$bad $n"
done
if [ -z "$bad" ]; then pg_ok "every sample's profiled C passes -Werror with -DDL_PROFILE"
else pg_fail "profiled C of:$bad" "$T/prof_$(echo $bad | cut -d' ' -f1).err"; fi
