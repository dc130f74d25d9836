# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): the activation's backward mask read inside
# batch norm's backward (compiler/pass_bnorm_mask.c). In MobileNetV2's training step every
# conv -> batch norm -> relu6 whose masked gradient has no other use (15 of them; the stem's, whose
# gradient is the sum of two, is left to its fused loop) has batch_norm_sums and batch_norm_dx taking
# the ReLU6's output with mask_hi=6, and the generated C has no ReLU6 backward kernel
# (`..._sub_step_step_mul...`) left; ResNet-20's 9 ReLU masks stay folded with no mask_hi.
bm_ir=$("$B/dlnc" --emit=ir --after=dce bench/workloads/mobilenetv2.dln 2>&1 | sed -n '/^graph train_step/,/^}/p')
bm_sums=$(printf '%s\n' "$bm_ir" | grep -c '= batch_norm_sums %[0-9]*, %[0-9]*, %[0-9]*, %[0-9]* \[eps=1e-05, mask_hi=6\]')
bm_dx=$(printf '%s\n' "$bm_ir" | grep -c '= batch_norm_dx .*, %[0-9]* \[eps=1e-05, mask_hi=6\]')
"$B/dlnc" bench/workloads/mobilenetv2.dln -o "$T/bm_mbv2.c" > "$T/bm.out" 2>&1
bm_kern=$(grep -c '^static void mobilenetv2_train_k[0-9]*_sub_step_step_mul' "$T/bm_mbv2.c")
bm_rn=$("$B/dlnc" --emit=ir --after=dce bench/workloads/resnet20.dln 2>&1 | sed -n '/^graph train_step/,/^}/p' |
        grep -c '= batch_norm_sums %[0-9]*, %[0-9]*, %[0-9]*, %[0-9]* \[eps=1e-05\]')
if [ "$bm_sums" -eq 15 ] && [ "$bm_dx" -eq 15 ] && [ "$bm_kern" -eq 0 ] && [ "$bm_rn" -eq 9 ]; then
  echo "batch norm's backward with the activation's mask: MobileNetV2's 15 ReLU6 masks folded, no ReLU6 backward kernel, ResNet-20's 9 ReLU masks: ok"
  pass=$((pass+1))
else
  echo "FAIL batch norm's backward with the activation's mask: MobileNetV2 $bm_sums sums / $bm_dx dx with mask_hi=6" \
       "(want 15), $bm_kern ReLU6 backward kernels (want 0); ResNet-20 $bm_rn masked sums (want 9)"
  fail=$((fail+1))
fi
