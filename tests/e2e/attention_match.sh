# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): attention written from primitives runs as
# the fused attention op (compiler/pass_attention.c). In tests/e2e/attention_match.dln the eight
# matched forms (scale by / c, * c, c *, * (1/c); a causal where before or after the scale,
# masked_fill's where(triu(.., k = 1), fill, s), a triangle made of arange and transpose; a
# key-padding bias) are each one attention node
# after the passes, and the seven near misses (triu, tril with k = 1, softmax over the queries, a
# fill that does not underflow, a bias added before the scale or after the causal where, scores
# used again) keep their softmax. GPT with its attention composed
# (bench/workloads/gpt_composed.dln) has no softmax left in its training step, whose backward is
# the fused op's (attention_grad), as in bench/workloads/gpt.dln.
am_ir=$("$B/dlnc" --emit=ir --after=dce tests/e2e/attention_match.dln 2>&1 |
        sed -n 's/^ *%[0-9]* = \(attention\|softmax\) .*\[\(.*\)\] : .*attention_match.dln:\([0-9]*\):.*/\3 \1 [\2]/p' | sort -n | tr '\n' ';')
am_want="5 attention [heads=1, scale=0.5, causal];6 attention [heads=1, scale=0.25];7 attention [heads=1, scale=0.125];\
8 attention [heads=1, scale=0.333333];9 attention [heads=1, scale=0.75, causal];10 attention [heads=1, scale=0.5];\
11 attention [heads=1, scale=0.142857, causal];12 attention [heads=1, scale=0.111111, causal];14 softmax [axis=2];\
15 softmax [axis=2];16 softmax [axis=1];17 softmax [axis=2];18 softmax [axis=2];19 softmax [axis=2];21 softmax [axis=2];"
am_train=$("$B/dlnc" --emit=ir --after=dce bench/workloads/gpt_composed.dln 2>&1 | sed -n '/^graph train_step/,/^}/p')
am_grads=$(printf '%s\n' "$am_train" | grep -c '= attention_grad .*causal')
am_soft=$(printf '%s\n' "$am_train" | grep -c '= softmax ')
if [ "$am_ir" = "$am_want" ] && [ "$am_grads" -eq 4 ] && [ "$am_soft" -eq 0 ]; then
  echo "attention from primitives: 8 forms fused, 7 near misses kept, gpt_composed trains through attention_grad: ok"
  pass=$((pass+1))
else
  echo "FAIL attention from primitives: got '$am_ir' (want '$am_want'), gpt_composed train_step:" \
       "$am_grads attention_grad, $am_soft softmax"
  fail=$((fail+1))
fi
# Trained by `dlnc run` for 3 steps from one seed, gpt_composed's checkpoint is gpt's byte for
# byte: the same forward, backward and updates (~8 s at load 9, both builds included).
for am_w in gpt gpt_composed; do
  OMP_NUM_THREADS=1 DLNC_CACHE="$T/am_cache" "$B/dlnc" run bench/workloads/$am_w.dln --max-steps 3 --seed 1 --quiet \
    --checkpoint "$T/am_$am_w.safetensors" > "$T/am_$am_w.out" 2>&1 || echo "dlnc run $am_w: status $?" >> "$T/am_$am_w.out"
done
if [ -s "$T/am_gpt.safetensors" ] && cmp -s "$T/am_gpt.safetensors" "$T/am_gpt_composed.safetensors"; then
  echo "attention from primitives: gpt_composed after 3 training steps has gpt's checkpoint, byte for byte: ok"
  pass=$((pass+1))
else
  echo "FAIL attention from primitives: gpt and gpt_composed checkpoints differ after 3 steps"
  tail -3 "$T/am_gpt.out" "$T/am_gpt_composed.out"; fail=$((fail+1))
fi
