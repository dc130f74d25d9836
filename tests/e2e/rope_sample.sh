# Sourced by tests/e2e/run.sh after gpt_sample.sh (needs B, T, pass, fail and
# $T/corpus.txt): a LLaMA-style model with the stdlib's rotary positions and
# grouped-query attention (repeat_kv) gets a key/value cache, and sampling
# with it gives the text of recomputing every window (--no-cache), past the
# context too: the rotation of a new token uses its position in the sequence,
# not its index in the step's window.
cat > "$T/rope.dln" <<'DLN'
model rope(tokens: i32[N, T]) -> f32[N, T, 32] {
    x = embedding(tokens, 32, 32)
    h = layer_norm(x, 32)
    q = transpose(reshape(dense(h, 32, name = "wq"), [N, T, 4, 8]), [0, 2, 1, 3]) |> rotary
    k = transpose(reshape(dense(h, 16, name = "wk"), [N, T, 2, 8]), [0, 2, 1, 3]) |> rotary
    v = transpose(reshape(dense(h, 16, name = "wv"), [N, T, 2, 8]), [0, 2, 1, 3])
    a = attention(q, repeat_kv(k, 2), repeat_kv(v, 2), causal = true)
    x = x + dense(reshape(transpose(a, [0, 2, 1, 3]), [N, T, 32]), 32, name = "wo")
    return layer_norm(x, 32) |> dense(32)
}
train rope {
    data  = text("corpus.txt", batch = 8, seq_len = 16, val_split = 0.1)
    loss  = cross_entropy(output, targets)
    optim = adamw(lr = 3e-3)
    epochs = 1
}
DLN
DL=$(cd "$B" && pwd)/dlnc
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run rope.dln --checkpoint rope.st --max-steps 40) > "$T/rope.out" 2>&1; rcr=$?
ok=1
for temp in 0 1; do
  (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample rope.dln --checkpoint rope.st --prompt "The " --length 40 --seed 5 \
     --temperature $temp -v) > "$T/r1" 2> "$T/r1.err" || ok=0
  (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample rope.dln --checkpoint rope.st --prompt "The " --length 40 --seed 5 \
     --temperature $temp --no-cache) > "$T/r2" 2>&1 || ok=0
  cmp -s "$T/r1" "$T/r2" || ok=0
done
if [ $rcr -eq 0 ] && [ $ok -eq 1 ] && grep -q "sampling with the key/value cache (rope_decode)" "$T/r1.err"; then
  echo "rotary positions and grouped-query attention sample with the key/value cache as without: ok"; pass=$((pass+1))
else
  echo "FAIL rotary sampling with the key/value cache ($rcr $ok):"; cat "$T/rope.out" "$T/r1" "$T/r1.err" "$T/r2"; fail=$((fail+1))
fi
# --top-p: a nucleus smaller than any token's probability keeps the likeliest alone
# (greedy at any temperature); a probability outside (0, 1] is a usage error.
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample rope.dln --checkpoint rope.st --prompt "The " --length 30 --temperature 0) \
  > "$T/p1" 2>/dev/null
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample rope.dln --checkpoint rope.st --prompt "The " --length 30 --temperature 2 \
  --top-p 1e-6 --seed 4) > "$T/p2" 2>/dev/null
(cd "$T" && "$DL" sample rope.dln --checkpoint rope.st --top-p 0) > "$T/p3" 2>&1; rcp=$?
if [ -s "$T/p1" ] && cmp -s "$T/p1" "$T/p2" && [ $rcp -eq 2 ] && grep -q "top-p takes a probability in (0, 1], not '0'" "$T/p3"; then
  echo "sample --top-p: a tiny nucleus is greedy, 0 refused: ok"; pass=$((pass+1))
else
  echo "FAIL sample --top-p ($rcp):"; cat "$T/p1" "$T/p2" "$T/p3"; fail=$((fail+1))
fi
