# Sourced by tests/e2e/run.sh (needs B, T, pass, fail; text_lm.sh wrote
# $T/corpus.txt): a small GPT from the stdlib's transformer layers trains on a
# text source, and `dlnc sample` generates with its key/value cache
# (<model>_decode): the same text as --no-cache, which recomputes every
# window, at temperature 0 and 0.8, past the context too (where the window
# slides and the cache is rebuilt); -v says which way it sampled.
cat > "$T/gpt.dln" <<'DLN'
model gpt(tokens: i32[N, T]) -> f32[N, T, 32] {
    h = embedding(tokens, 32, 32) |> learned_positions(16)
    repeat 2 { h = transformer_encoder_layer(h, 4, ff = 64, dropout = 0.0, activation = "gelu", norm_first = true, causal = true) }
    return layer_norm(h, 32) |> dense(32)
}
train gpt {
    data  = text("corpus.txt", batch = 8, seq_len = 16, val_split = 0.1)
    loss  = cross_entropy(output, targets)
    optim = adamw(lr = 3e-3)
    epochs = 2
}
DLN
DL=$(cd "$B" && pwd)/dlnc
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run gpt.dln --checkpoint gpt.st) > "$T/gpt.out" 2>&1; rcg=$?
ok=1
for temp in 0 0.8; do
  (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample gpt.dln --checkpoint gpt.st --prompt "The " --length 40 --seed 3 \
     --temperature $temp -v) > "$T/g1" 2> "$T/g1.err" || ok=0
  (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample gpt.dln --checkpoint gpt.st --prompt "The " --length 40 --seed 3 \
     --temperature $temp --no-cache) > "$T/g2" 2>&1 || ok=0
  cmp -s "$T/g1" "$T/g2" || ok=0
done
if [ $rcg -eq 0 ] && [ $ok -eq 1 ] && grep -q "sampling with the key/value cache (gpt_decode)" "$T/g1.err" \
   && [ "$(wc -c < "$T/g1")" -eq 45 ]; then
  echo "a GPT samples with its key/value cache, token for token as recomputing the window: ok"; pass=$((pass+1))
else
  echo "FAIL GPT sampling with the key/value cache ($rcg $ok):"; cat "$T/gpt.out" "$T/g1" "$T/g1.err" "$T/g2"; fail=$((fail+1))
fi
