# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): a character language
# model end to end — `dlnc run` on a `text` source (an LSTM over a small
# corpus written here: the scan loop, embedding, per-position cross-entropy,
# the vocabulary saved in the checkpoint), then `dlnc sample`: the same seed
# gives the same text, a prompt byte outside the vocabulary and a model of
# another form are errors (exit 1) naming the cause.
awk 'BEGIN { srand(7); for (i = 0; i < 400; i++) { n = int(rand() * 4);
  printf "%s %s the %s.\n", n == 0 ? "A cat" : n == 1 ? "The dog" : n == 2 ? "My bird" : "Your fish",
         i % 2 ? "sees" : "likes", i % 3 ? "sun" : "moon" } }' > "$T/corpus.txt"
cat > "$T/lm.dln" <<'DLN'
model lm(tokens: i32[N, T]) -> f32[N, T, 32] {
    h = embedding(tokens, 32, 16)
    h = lstm(h, 32)
    return dense(h, 32)
}
train lm {
    data  = text("corpus.txt", batch = 8, seq_len = 16, val_split = 0.1)
    loss  = cross_entropy(output, targets)
    optim = adam(lr = 1e-2)
    epochs = 3
}
DLN
DL=$(cd "$B" && pwd)/dlnc
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run lm.dln --checkpoint lm.st) > "$T/lm.out" 2>&1; rcr=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample lm.dln --checkpoint lm.st --prompt "The " --length 60 --seed 5) > "$T/s1" 2>&1; rc1=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample lm.dln --checkpoint lm.st --prompt "The " --length 60 --seed 5) > "$T/s2" 2>&1; rc2=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample lm.dln --checkpoint lm.st --prompt "Zebra" --length 5) > "$T/s3" 2>&1; rc3=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample "$OLDPWD/samples/mlp.dln" --checkpoint lm.st) > "$T/s4" 2>&1; rc4=$?
if [ $rcr -eq 0 ] && grep -q "^done: 3 epochs.*val_loss .* bits per character" "$T/lm.out" \
   && grep -q '"vocab"' "$T/lm.st" && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$T/s1" "$T/s2" \
   && [ "$(head -c 4 "$T/s1")" = "The " ] && [ "$(wc -c < "$T/s1")" -eq 65 ] \
   && [ $rc3 -eq 1 ] && grep -q "error: .*'Z'" "$T/s3" \
   && [ $rc4 -eq 1 ] && grep -q "cannot generate text" "$T/s4"; then
  echo "a character LSTM trains on a text source and dlnc sample continues a prompt, reproducibly: ok"
  pass=$((pass+1))
else
  echo "FAIL text language model ($rcr $rc1 $rc2 $rc3 $rc4):"; cat "$T/lm.out" "$T/s1" "$T/s2" "$T/s3" "$T/s4"; fail=$((fail+1))
fi
# truncated BPTT: contiguous batches, the LSTM's state carried in [N, H] buffers
cp tests/e2e/tbptt.dln "$T/tbptt.dln"
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run tbptt.dln --checkpoint tbptt.st) > "$T/tb.out" 2>&1; rct=$?
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample tbptt.dln --checkpoint tbptt.st --prompt "A " --length 20 --temperature 0) \
  > "$T/tb.s" 2>&1; rcts=$?
if [ $rct -eq 0 ] && grep -q "^done: 3 epochs.*bits per character" "$T/tb.out" && [ $rcts -eq 0 ] \
   && [ "$(head -c 2 "$T/tb.s")" = "A " ] && ! grep -q '"h"' "$T/tbptt.st"; then
  echo "truncated BPTT over contiguous text batches, the state carried in buffers (not saved): ok"; pass=$((pass+1))
else
  echo "FAIL truncated BPTT ($rct $rcts):"; cat "$T/tb.out" "$T/tb.s"; fail=$((fail+1))
fi
# logits narrower than the corpus's vocabulary: refused before the first step (it
# stopped at the first batch holding an id beyond them, maybe thousands of steps in)
sed 's/f32\[N, T, 32\]/f32[N, T, 8]/; s/dense(h, 32)/dense(h, 8)/' "$T/lm.dln" > "$T/lm_narrow.dln"
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run lm_narrow.dln --max-steps 1) > "$T/narrow.out" 2>&1; rcn=$?
if [ $rcn -eq 1 ] && grep -q "output 'output' of model 'lm' has 8 classes, too few for the next-token targets (the [0-9]* ids of the vocabulary)" "$T/narrow.out" \
   && ! grep -q "^epoch" "$T/narrow.out"; then
  echo "a language model's logits narrower than the vocabulary refused before training: ok"; pass=$((pass+1))
else
  echo "FAIL narrow logits ($rcn):"; cat "$T/narrow.out"; fail=$((fail+1))
fi
