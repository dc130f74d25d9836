# Sourced by tests/e2e/run.sh (needs B, T, pass, fail, CFLAGS): sequence-to-
# sequence and masked-token training end to end. An LSTM encoder-decoder
# learns the copy task of seq2seq_task (generated, no file) in 400 steps and
# reports both exact-match figures (epoch lines, done:, --history columns); a decoder that peeks at the next
# target_in position gets teacher-forced exact match for free and nothing
# greedily (the reason the greedy number exists); a masked-token model (a
# convolution over the window) learns on a tokens(..., mlm = 0.15) source to
# find masked ids from their neighbours (>= 70% of the masked validation
# positions; chance is 10%); a model whose vocabulary has no room
# for [MASK] or for the task's tokens is refused before training. Each
# program's C builds with -Werror.
DL=$(cd "$B" && pwd)/dlnc
for f in seq2seq_copy seq2seq_peek; do cp "tests/e2e/$f.dln" "$T/$f.dln"; done
awk 'BEGIN { for (i = 0; i < 6000; i++) printf "%d%s", (i * 3 + int(i / 7)) % 10, i % 20 == 19 ? "\n" : " " }' > "$T/ids.txt"
cat > "$T/mlm.dln" <<'DLN'
model mlm(tokens: i32[N, 16]) -> f32[N, 16, 11] {
    h = transpose(embedding(tokens, 11, 16))                  # f32[N, 16 features, 16 positions]
    h = relu(conv1d(h, 32, kernel = 3, pad = 1))              # each position sees its neighbours
    return dense(transpose(h), 11)                            # 10 ids, then [MASK] = 10
}
train mlm {
    data    = tokens("ids.txt", batch = 16, seq_len = 16, vocab = 10, mlm = 0.15, val_split = 0.2)
    loss    = cross_entropy(output, targets, mask = mlm_mask)
    optim   = adam(lr = 1e-2)
    epochs  = 4
    metrics = [accuracy]
}
DLN
sed 's/11/10/g' "$T/mlm.dln" > "$T/mlm_small.dln"
sed 's/f32\[N, T, 14\]/f32[N, T, 12]/; s/dense(dec, 14)/dense(dec, 12)/' "$T/seq2seq_copy.dln" > "$T/copy_small.dln"
ok=1
for f in seq2seq_copy seq2seq_peek mlm; do
  "$DL" "$T/$f.dln" -o "$T/$f.c" && cc $CFLAGS -c "$T/$f.c" -o "$T/$f.o" || { ok=0; echo "FAIL $f: does not build with -Werror"; }
done
run() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" run "$@"); }
run seq2seq_copy.dln --history copy.csv > "$T/copy.out" 2>&1; rc1=$?
run seq2seq_peek.dln > "$T/peek.out" 2>&1; rc2=$?
run mlm.dln > "$T/mlm.out" 2>&1; rc3=$?
run mlm_small.dln > "$T/mlm_small.out" 2>&1; rc4=$?
run copy_small.dln > "$T/copy_small.out" 2>&1; rc5=$?
# a figure of a done: line, as an integer percentage
pct() { sed -n "s/^done: .*$2 \([0-9]*\)\.[0-9]*%.*/\1/p" "$1"; }
tf=$(pct "$T/copy.out" test_exact_teacher); gr=$(pct "$T/copy.out" test_exact_greedy)
ptf=$(pct "$T/peek.out" test_exact_teacher); pgr=$(pct "$T/peek.out" test_exact_greedy)
if [ $ok -eq 1 ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && grep -q "^epoch  *1/2 .*test_exact_teacher .*test_exact_greedy" "$T/copy.out" \
   && [ "$(head -1 "$T/copy.csv")" = "epoch,train_loss,test_loss,test_acc,seconds,test_exact_teacher,test_exact_greedy" ] \
   && [ "$(wc -l < "$T/copy.csv")" -eq 3 ] && [ -n "$tf" ] && [ "$tf" -ge 90 ] && [ -n "$gr" ] && [ "$gr" -ge 90 ] \
   && [ -n "$ptf" ] && [ "$ptf" -ge 90 ] && [ -n "$pgr" ] && [ "$pgr" -le 10 ]; then
  echo "seq2seq_task: an LSTM encoder-decoder copies (exact match teacher-forced $tf%, greedy $gr%); a peeking decoder $ptf% / $pgr%: ok"
  pass=$((pass+1))
else
  echo "FAIL seq2seq ($ok $rc1 $rc2; $tf $gr $ptf $pgr):"; cat "$T/copy.out" "$T/peek.out"; fail=$((fail+1))
fi
macc=$(sed -n 's/^done: 4 epochs.*val_acc \([0-9]*\)\.[0-9]*%, val_loss [0-9.]* (masked tokens).*/\1/p' "$T/mlm.out")
if [ $rc3 -eq 0 ] && [ -n "$macc" ] && [ "$macc" -ge 70 ] \
   && [ $rc4 -eq 1 ] && grep -q "too few for masked tokens .*\[MASK\] = 10): 11 are needed" "$T/mlm_small.out" \
   && [ $rc5 -eq 1 ] && grep -q "12 classes, too few for seq2seq_task's tokens (digits + 4): 14 are needed" "$T/copy_small.out"; then
  echo "masked-token training on tokens(mlm = 0.15): $macc% of masked tokens found from their neighbours; vocabularies without room for [MASK] or the task's tokens refused: ok"
  pass=$((pass+1))
else
  echo "FAIL masked tokens ($rc3 $rc4 $rc5):"; cat "$T/mlm.out" "$T/mlm_small.out" "$T/copy_small.out"; fail=$((fail+1))
fi
# the attention decoder of docs/language.md ("Loops over sequences"): additive_attention
# inside the decoder's scan body learns to reverse (greedy exact match >= 90%; 100% seen)
cp tests/e2e/seq2seq_attn.dln "$T/seq2seq_attn.dln"
"$DL" "$T/seq2seq_attn.dln" -o "$T/seq2seq_attn.c" && cc $CFLAGS -c "$T/seq2seq_attn.c" -o "$T/seq2seq_attn.o"; rc6=$?
run seq2seq_attn.dln > "$T/attn.out" 2>&1; rc7=$?
agr=$(pct "$T/attn.out" test_exact_greedy)
if [ $rc6 -eq 0 ] && [ $rc7 -eq 0 ] && [ -n "$agr" ] && [ "$agr" -ge 90 ]; then
  echo "seq2seq_task: a GRU decoder attending over its encoder in a scan body reverses (greedy $agr%): ok"
  pass=$((pass+1))
else
  echo "FAIL attention decoder ($rc6 $rc7; $agr):"; cat "$T/attn.out"; fail=$((fail+1))
fi
