# Sourced by tests/e2e/run.sh after text_lm.sh and gpt_sample.sh (needs B, T,
# pass, fail, and their $T/lm.st and $T/gpt.st): `dlnc sample --beam K`.
# --beam 1 is greedy (temperature 0) byte for byte; --beam 4 gives the same
# beams (scores to 1e-4) with the key/value cache as with --no-cache, past
# the context; its best sequence's log-probability is at least greedy's (both
# scored by the model: --all-beams prints the sum of log p); the length
# penalty divides the score by length^alpha; an end token (--end .) ends
# beams, --beam 1 at greedy's first '.'; the LSTM (no cache, its state
# reset per window) searches too; bad arguments are refused.
DL=$(cd "$B" && pwd)/dlnc
bs() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample "$@"); }
ok=1
for m in gpt lm; do
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --temperature 0 > "$T/bg0" 2>&1 || ok=0
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 1 > "$T/bg1" 2>&1 || ok=0
  cmp -s "$T/bg0" "$T/bg1" || { echo "  $m: --beam 1 is not greedy"; ok=0; }
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 1 --all-beams > "$T/bs1" 2>&1 || ok=0
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 4 --all-beams -v > "$T/bs4" 2> "$T/bs4.err" || ok=0
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 4 --all-beams --no-cache > "$T/bs4n" 2>&1 || ok=0
  # the same beams; their scores agree to rounding (the cached kernels run at other lengths)
  grep -v '^beam ' "$T/bs4" > "$T/bs4.txt"; grep -v '^beam ' "$T/bs4n" > "$T/bs4n.txt"
  cmp -s "$T/bs4.txt" "$T/bs4n.txt" || { echo "  $m: --beam 4's text differs with --no-cache"; ok=0; }
  grep '^beam ' "$T/bs4" | tr -d , > "$T/bs4.s"
  grep '^beam ' "$T/bs4n" | tr -d , | paste "$T/bs4.s" - | awk '{ d = $7 - $16; if (d * d > 1e-8 || NF != 18) bad = 1 }
    END { exit bad || NR != 4 }' || { echo "  $m: --beam 4's scores differ with --no-cache"; ok=0; }
  [ "$(grep -c '^beam [1-4]: score' "$T/bs4")" -eq 4 ] || ok=0
  grep -q "beam search of width 4, the beams through the model at batch 4" "$T/bs4.err" || ok=0
  # the greedy text's log p (beam 1 is greedy) and the best beam's, and the score = log p / 40
  awk '/^beam 1:/ { gsub(",", ""); print $7 }' "$T/bs1" > "$T/lp1"
  awk '/^beam 1:/ { gsub(",", ""); print $4, $7 }' "$T/bs4" > "$T/lp4"
  awk -v g="$(cat "$T/lp1")" '{ exit !($2 >= g && $2 < 0 && ($1 - $2 / 40) ^ 2 < 1e-10) }' "$T/lp4" \
    || { echo "  $m: beam 4's log p $(cat "$T/lp4") below greedy's $(cat "$T/lp1")"; ok=0; }
  head -n 1 "$T/bg0" > "$T/bg0.1"
  sed -n 2p "$T/bs1" | cmp -s - "$T/bg0.1" || { echo "  $m: --all-beams' text is not greedy's"; ok=0; }
done
# an end token: --beam 1 stops greedy's text at its first '.'; with K = 4 every beam ends at a '.'
# (or runs the length), scores best first and equal to log p / tokens, the same with --no-cache
for m in gpt lm; do
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --temperature 0 > "$T/be0" 2>&1 || ok=0
  dot=$(grep -bo '[.]' "$T/be0" | head -n 1 | cut -d: -f1)
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 1 --end . > "$T/be1" 2>&1 || ok=0
  { head -c $((dot + 1)) "$T/be0"; echo; } | cmp -s - "$T/be1" || { echo "  $m: --beam 1 --end . is not greedy's first sentence"; ok=0; }
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 4 --end . --all-beams > "$T/be4" 2>&1 || ok=0
  bs $m.dln --checkpoint $m.st --prompt "The " --length 40 --beam 4 --end . --all-beams --no-cache > "$T/be4n" 2>&1 || ok=0
  grep -v "^beam " "$T/be4" > "$T/be4.txt"
  grep -v '^beam ' "$T/be4n" | cmp -s - "$T/be4.txt" || { echo "  $m: --end . differs with --no-cache"; ok=0; }
  awk '/^beam / { gsub(",", ""); n++; s = $4; lp = $7; len = $8; if ((s - lp / len) ^ 2 > 1e-10 || (n > 1 && s > prev)) bad = 1
                  prev = s; getline t; if (len < 40 && substr(t, length(t)) != ".") bad = 1 }
       END { exit bad || n != 4 }' "$T/be4" || { echo "  $m: --end . beams:"; cat "$T/be4"; ok=0; }
done
bs gpt.dln --checkpoint gpt.st --prompt "The " --length 20 --beam 3 --all-beams --length-penalty 0 > "$T/bp0" 2>&1 || ok=0
awk '/^beam/ { gsub(",", ""); if ($4 != $7) bad = 1 } END { exit bad }' "$T/bp0" || { echo "  alpha 0: score != log p"; ok=0; }
if [ $ok -eq 1 ]; then
  echo "dlnc sample --beam: 1 is greedy, 4 the same with and without the cache, log p >= greedy's: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc sample --beam:"; cat "$T/bs1" "$T/bs4" "$T/bs4.err" "$T/bs4n"; fail=$((fail+1))
fi
ok=1
for args in "--beam 0" "--beam 65" "--beam two" "--beam 2 --temperature 0.5" "--beam 2 --top-k 5" "--beam 2 --top-p 0.9" \
            "--length-penalty 2" "--all-beams" "--beam 2 --length-penalty inf" "--end ." "--beam 2 --end ab" \
            "--beam 2 --end Q"; do
  bs gpt.dln --checkpoint gpt.st --length 5 $args > "$T/be.out" 2>&1 && { echo "  accepted: $args"; ok=0; }
  grep -q "^dlnc: error: .*\(--beam\|--length-penalty\|--end\|end token\)" "$T/be.out" || { echo "  $args:"; cat "$T/be.out"; ok=0; }
done
if [ $ok -eq 1 ]; then
  echo "dlnc sample --beam refuses a width outside 1..64, sampling options and beam options without --beam: ok"
  pass=$((pass+1))
else
  echo "FAIL dlnc sample --beam's bad arguments"; fail=$((fail+1))
fi
