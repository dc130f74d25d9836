# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): likelihood models.
# A tiny PixelCNN (a 7x7 mask-A layer, a 1x1 mask-B head, 4 levels) trains 20
# steps on Fashion-MNIST with metrics = [bits_per_dim] (the epoch line, the
# done: line and the history column say test_loss / ln 2); `dlnc sample
# --autoregressive` draws 4 images pixel by pixel, the same bytes for the same
# seed (57x57: 2 x 2 images of 28x28 with a 1-pixel gap). Refused with a
# message: a first layer of mask type B (not causal), a model whose logits are
# not of the image's size, --autoregressive without --grid. A flow's inverse
# without a train section (`--model inv`) draws from the flow's checkpoint,
# and a checkpoint without its tensors is refused. ~25 s of CPU.
if [ -d /usr/share/datasets/fashion-mnist ]; then
cat > "$T/pix.dln" <<'DLN'
model pix(image: f32[N, 1, 28, 28]) -> f32[N, 4, 28, 28] {
    x = minimum(floor(image * 4.0), 3.0) / 3.0
    h = masked_conv2d(x, 8, kernel = 7, mask_type = "A") |> relu
    return masked_conv2d(h, 4, kernel = 1, mask_type = "B")
}
train pix {
    data    = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 32)
    loss    = cross_entropy(transpose(output, [0, 2, 3, 1]), reshape(cast_i32(minimum(floor(image * 4.0), 3.0)), [-1, 28, 28]))
    optim   = adam(lr = 3e-3)
    epochs  = 1
    metrics = [bits_per_dim]
}
DLN
sed 's/mask_type = "A"/mask_type = "B"/' "$T/pix.dln" > "$T/peek.dln"
sed 's/-> f32\[N, 4, 28, 28\]/-> f32[N, 4, 14, 14]/; s/return masked_conv2d(h, 4, kernel = 1, mask_type = "B")/return max_pool2d(masked_conv2d(h, 4, kernel = 1, mask_type = "B"), 2)/; s/reshape(cast_i32(minimum(floor(image \* 4.0), 3.0)), \[-1, 28, 28\])/reshape(cast_i32(minimum(floor(max_pool2d(image, 2) * 4.0), 3.0)), [-1, 14, 14])/' "$T/pix.dln" > "$T/small.dln"
cat > "$T/flow.dln" <<'DLN'
model flow(image: f32[N, 1, 28, 28]) -> (z: f32[N, 784], logdet: f32[N]) {
    h, ld0 = affine_coupling(flatten(image), 16, out_init = zeros, name = "c0")
    h, ld1 = affine_coupling(h, 16, flip = true, out_init = zeros, name = "c1")
    return h, ld0 + ld1
}
model inv(z: f32[N, 784]) -> f32[N, 1, 28, 28] {
    h, ld1 = affine_coupling(z, 16, flip = true, inverse = true, name = "c1")
    h, ld0 = affine_coupling(h, 16, inverse = true, name = "c0")
    return reshape(sigmoid(h), [-1, 1, 28, 28])
}
train flow {
    data    = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 32)
    loss    = mean(0.5 * sum(z ** 2, axis = 1) - logdet) / 784.0 + 0.9189385
    optim   = adam(lr = 1e-3)
    epochs  = 1
    metrics = [bits_per_dim]
}
DLN
DL=$(cd "$B" && pwd)/dlnc
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'; }
ps_() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" "$@"); }
ps_ run pix.dln --max-steps 20 --checkpoint pix.st --history pix.csv > "$T/pix.out" 2>&1; rp=$?
ps_ run peek.dln --max-steps 2 --checkpoint peek.st --quiet > "$T/peek.out" 2>&1
ps_ run small.dln --max-steps 2 --checkpoint small.st --quiet > "$T/small.out" 2>&1
ps_ sample pix.dln --checkpoint pix.st --autoregressive --grid p1.png --count 4 --seed 3 > "$T/pa.err" 2>&1; r1=$?
ps_ sample pix.dln --checkpoint pix.st --autoregressive --grid p2.png --count 4 --seed 3 >> "$T/pa.err" 2>&1; r2=$?
ps_ sample peek.dln --checkpoint peek.st --autoregressive --grid bad.png --count 2 > "$T/pbad1" 2>&1; b1=$?
ps_ sample small.dln --checkpoint small.st --autoregressive --grid bad.png --count 2 > "$T/pbad2" 2>&1; b2=$?
ps_ sample pix.dln --checkpoint pix.st --autoregressive > "$T/pbad3" 2>&1; b3=$?
ps_ run flow.dln --max-steps 10 --checkpoint flow.st > "$T/flow.out" 2>&1; rf=$?
ps_ sample flow.dln --model inv --checkpoint flow.st --grid f.png --count 4 > "$T/flow.err" 2>&1; r3=$?
ps_ sample flow.dln --model inv --checkpoint pix.st --grid bad.png --count 4 > "$T/pbad4" 2>&1; b4=$?
bpd_ok=$(awk -F, 'NR == 1 { ok = ($6 == "test_bits_per_dim") } NR == 2 { d = $3 / log(2) - $6; ok = ok && d < 1e-4 && d > -1e-4 } END { print ok + 0 }' "$T/pix.csv")
if [ $rp -eq 0 ] && grep -q "test_bits_per_dim" "$T/pix.out" && grep -q "bits per dimension" "$T/pix.out" && [ "$bpd_ok" = 1 ] \
   && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && cmp -s "$T/p1.png" "$T/p2.png" && [ "$(png_size "$T/p1.png")" = 57x57 ] \
   && [ $b1 -eq 1 ] && grep -q "model 'pix' is not autoregressive: its logits at pixel" "$T/pbad1" \
   && [ $b2 -eq 1 ] && grep -q "model 'pix' cannot sample autoregressively" "$T/pbad2" \
   && [ $b3 -eq 1 ] && grep -q "autoregressive draws images: give --grid" "$T/pbad3" \
   && [ $rf -eq 0 ] && [ $r3 -eq 0 ] && [ "$(png_size "$T/f.png")" = 57x57 ] \
   && [ $b4 -eq 1 ] && grep -q "pix.st: no tensor of the file matches the model" "$T/pbad4" && [ ! -e "$T/bad.png" ]; then
  echo "bits_per_dim; dlnc sample --autoregressive (same seed, same PNG; non-causal and misfit models refused); a flow's inverse by --model: ok"; pass=$((pass+1))
else
  echo "FAIL likelihood models ($rp $r1 $r2 $rf $r3 / $b1 $b2 $b3 $b4, bpd $bpd_ok, $(png_size "$T/p1.png")):"
  cat "$T/pix.out" "$T/pix.csv" "$T/pa.err" "$T/pbad1" "$T/pbad2" "$T/pbad3" "$T/flow.out" "$T/flow.err" "$T/pbad4"; fail=$((fail+1))
fi
else
  echo "skip likelihood models (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
fi
