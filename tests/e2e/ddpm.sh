# Sourced by tests/e2e/run.sh after image_grid.sh (needs B, T, pass, fail and
# image_grid.sh's png_size): `dlnc sample --ddpm`
# runs a diffusion model's reverse process. A tiny denoiser block, shared by
# name between the training model `ddpm` (randint steps, q_sample) and the
# sampling model `eps(x, t)`, trains 5 steps on Fashion-MNIST; DDPM and DDIM
# grids are the same bytes for the same seed and 9 images make an 86x86 PNG;
# the training model itself (no step input), a bad --ddpm, DDIM steps
# beyond T and a model whose tensors are not in the checkpoint are refused,
# and no picture is left behind.
if [ -d /usr/share/datasets/fashion-mnist ]; then
cat > "$T/ddpm.dln" <<'DLN'
block denoiser(x: f32[N, 1, 28, 28], t: i32[N]) -> f32[N, 1, 28, 28] {
    temb = timestep_embedding(t, 8) |> dense(8)
    h = conv2d(x, 4, pad = 1) |> silu
    h = h + reshape(dense(temb, 4), [N, 4, 1, 1])
    return conv2d(h, 1, pad = 1)
}
model ddpm(image: f32[N, 1, 28, 28]) -> (eps: f32[N, 1, 28, 28], noise: f32[N, 1, 28, 28]) {
    betas, alphas, abar = ddpm_schedule(20, betaT = 0.2)
    t = randint(zeros(N), 20)
    noise = randn(image)
    return denoiser(q_sample(image * 2.0 - 1.0, t, noise, abar), t, name = "unet"), noise
}
model eps(x: f32[N, 1, 28, 28], t: i32[N]) -> f32[N, 1, 28, 28] {
    return denoiser(x, t, name = "unet")
}
model other(x: f32[N, 1, 28, 28], t: i32[N]) -> f32[N, 1, 28, 28] {
    return denoiser(x, t, name = "elsewhere")
}
train ddpm {
    data  = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 32)
    loss  = mse(eps, noise)
    optim = adam(lr = 1e-2)
    epochs = 1
}
DLN
DL=$(cd "$B" && pwd)/dlnc
ds() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample ddpm.dln --checkpoint ddpm.st --beta-t 0.2 --count 9 "$@"); }
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run ddpm.dln --max-steps 5 --checkpoint ddpm.st --quiet) > "$T/ddpm.out" 2>&1; rct=$?
ds --model eps --ddpm 20 --grid d1.png --seed 2 > "$T/ddpm.err" 2>&1; r1=$?
ds --model eps --ddpm 20 --grid d2.png --seed 2 >> "$T/ddpm.err" 2>&1; r2=$?
ds --model eps --ddpm 20 --ddim 5 --grid d3.png --seed 2 >> "$T/ddpm.err" 2>&1; r3=$?
ds --model eps --ddpm 20 --ddim 5 --grid d4.png --seed 2 >> "$T/ddpm.err" 2>&1; r4=$?
ds --ddpm 20 --grid bad.png > "$T/dbad1" 2>&1; b1=$?
ds --model eps --ddpm 2x --grid bad.png > "$T/dbad2" 2>&1; b2=$?
ds --model eps --ddpm 20 --ddim 21 --grid bad.png > "$T/dbad3" 2>&1; b3=$?
ds --model other --ddpm 20 --grid bad.png > "$T/dbad4" 2>&1; b4=$?
if [ $rct -eq 0 ] && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && [ $r4 -eq 0 ] \
   && cmp -s "$T/d1.png" "$T/d2.png" && cmp -s "$T/d3.png" "$T/d4.png" && ! cmp -s "$T/d1.png" "$T/d3.png" \
   && [ "$(png_size "$T/d1.png")" = 86x86 ] && grep -q "model 'eps' from ddpm.st: 8 tensors loaded" "$T/ddpm.err" \
   && [ $b1 -eq 1 ] && grep -q "model 'ddpm' cannot run the reverse process" "$T/dbad1" \
   && [ $b2 -eq 2 ] && grep -q "ddpm takes a number of steps from 2" "$T/dbad2" \
   && [ $b3 -eq 1 ] && grep -q "ddim takes a number of steps from 2 to T = 20" "$T/dbad3" \
   && [ $b4 -eq 1 ] && grep -q "no tensor of the file matches" "$T/dbad4" && [ ! -e "$T/bad.png" ]; then
  echo "dlnc sample --ddpm/--ddim: seeded grids (86x86 for 9 images), a shared denoiser loaded by name, wrong forms refused: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc sample --ddpm ($rct $r1 $r2 $r3 $r4 / $b1 $b2 $b3 $b4, $(png_size "$T/d1.png")):"
  cat "$T/ddpm.out" "$T/ddpm.err" "$T/dbad1" "$T/dbad2" "$T/dbad3" "$T/dbad4"; fail=$((fail+1))
fi
else
  echo "skip dlnc sample --ddpm (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
fi
