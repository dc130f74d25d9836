# Sourced by tests/e2e/run.sh (needs B, T, pass, fail; image_grid.sh wrote
# $T/ae.dln and $T/ae.st): `dlnc sample --reconstruct` and `--interpolate`.
# The autoencoder of image_grid.sh draws 10 test images above their
# reconstructions (8 per row: 231x115) and prints the test-set MSE, which is
# the run's test loss (loss = mse(output, x)); a small VAE (vae_small.dln)
# trains 50 steps, then its decoder alone, loading its dec.* by name from the
# VAE's checkpoint (and saying so), draws 8 rows of 10 interpolations
# (289x231; the same seed, the same bytes), and with --encoder between the
# latents of pairs of test images drawn at both ends (347x231). Refused: a
# classifier, a model with no train section, a latent of the wrong size,
# tensors missing from the checkpoint, --encoder without --interpolate.
if [ -d /usr/share/datasets/fashion-mnist ]; then
DL=$(cd "$B" && pwd)/dlnc
cp tests/e2e/vae_small.dln "$T/vae.dln"
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'; }
ds() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample "$@"); }
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run ae.dln --max-steps 50 --checkpoint ae.st) > "$T/ae2.out" 2>&1; rca=$?
ds ae.dln --checkpoint ae.st --reconstruct r.png --count 10 > "$T/r.out" 2>&1; r1=$?
# the run's test loss and the printed MSE, both over the 10000 test images, to 4 decimals
tl=$(sed -n 's/.*test_loss \([0-9.]*\).*/\1/p' "$T/ae2.out" | tail -1)
ms=$(sed -n 's/.* \([0-9.]*\) over the 10000 test images.*/\1/p' "$T/r.out")
same=$(awk -v a="$tl" -v b="$ms" 'BEGIN { d = a - b; print (a != "" && b != "" && d < 6e-5 && d > -6e-5) ? 1 : 0 }')
ds "$(pwd)/samples/mlp.dln" --checkpoint ae.st --reconstruct bad.png > "$T/rbad1" 2>&1; b1=$?
if [ $rca -eq 0 ] && [ $r1 -eq 0 ] && [ "$(png_size "$T/r.png")" = 231x115 ] && [ "$same" = 1 ] \
   && [ $b1 -eq 1 ] && grep -q "model 'mlp' cannot reconstruct" "$T/rbad1" && [ ! -e "$T/bad.png" ]; then
  echo "dlnc sample --reconstruct: 231x115 for 10 images, the test MSE is the run's test loss ($ms), a classifier refused: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc sample --reconstruct ($rca $r1 $b1, $(png_size "$T/r.png"), test_loss $tl vs $ms):"
  cat "$T/ae2.out" "$T/r.out" "$T/rbad1"; fail=$((fail+1))
fi
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run vae.dln --max-steps 50 --checkpoint vae.st --quiet) > "$T/vae.out" 2>&1; rcv=$?
ds vae.dln --model dec --checkpoint vae.st --interpolate i1.png --sigmoid --seed 3 > "$T/i1.out" 2>&1; i1=$?
ds vae.dln --model dec --checkpoint vae.st --interpolate i2.png --sigmoid --seed 3 > /dev/null 2>&1; i2=$?
ds vae.dln --model dec --checkpoint vae.st --interpolate i3.png --sigmoid --seed 4 > /dev/null 2>&1; i3=$?
ds vae.dln --model dec --encoder enc --checkpoint vae.st --interpolate i4.png --sigmoid > "$T/i4.out" 2>&1; i4=$?
ds vae.dln --model vae --checkpoint vae.st --reconstruct r2.png --sigmoid > "$T/r2.out" 2>&1; i5=$?
ds vae.dln --model dec --checkpoint vae.st --reconstruct bad.png > "$T/ibad1" 2>&1; c1=$?
ds vae.dln --model dec --encoder enc2 --checkpoint vae.st --interpolate bad.png > "$T/ibad2" 2>&1; c2=$?
ds vae.dln --model other --checkpoint vae.st --interpolate bad.png > "$T/ibad3" 2>&1; c3=$?
ds vae.dln --model dec --encoder enc --checkpoint vae.st --grid bad.png > "$T/ibad4" 2>&1; c4=$?
ds vae.dln --model dec --checkpoint none.st --interpolate bad.png > "$T/ibad5" 2>&1; c5=$?
if [ $rcv -eq 0 ] && [ $i1 -eq 0 ] && [ $i2 -eq 0 ] && [ $i3 -eq 0 ] && [ $i4 -eq 0 ] && [ $i5 -eq 0 ] \
   && grep -q "model 'dec' from vae.st: 4 tensors loaded, 6 in the file skipped (enc.fc.weight" "$T/i1.out" \
   && grep -q "model 'enc' from vae.st: 6 tensors loaded, 4 in the file skipped (dec.fc.weight" "$T/i4.out" \
   && cmp -s "$T/i1.png" "$T/i2.png" && ! cmp -s "$T/i1.png" "$T/i3.png" \
   && [ "$(png_size "$T/i1.png")" = 289x231 ] && [ "$(png_size "$T/i4.png")" = 347x231 ] \
   && [ "$(png_size "$T/r2.png")" = 231x231 ] && grep -q "sigmoid of 'recon'" "$T/r2.out" \
   && [ $c1 -eq 1 ] && grep -q "model 'dec' has no train section; --reconstruct draws the test images" "$T/ibad1" \
   && [ $c2 -eq 1 ] && grep -q "model 'enc2' cannot be the encoder" "$T/ibad2" \
   && [ $c3 -eq 1 ] && grep -q "2 tensors of model 'other' not in the checkpoint (pre.weight, pre.bias)" "$T/ibad3" \
   && [ $c4 -eq 2 ] && grep -q "encoder is for --interpolate" "$T/ibad4" \
   && [ $c5 -eq 1 ] && grep -q "none.st: cannot open" "$T/ibad5" && [ ! -e "$T/bad.png" ]; then
  echo "dlnc sample --interpolate: a VAE's decoder from its checkpoint, 289x231 (347x231 with --encoder), the same seed the same bytes, wrong forms refused: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc sample --interpolate ($rcv $i1 $i2 $i3 $i4 $i5 / $c1 $c2 $c3 $c4 $c5, $(png_size "$T/i1.png") $(png_size "$T/i4.png") $(png_size "$T/r2.png")):"
  cat "$T/vae.out" "$T/i1.out" "$T/i4.out" "$T/r2.out" "$T/ibad1" "$T/ibad2" "$T/ibad3" "$T/ibad4" "$T/ibad5"; fail=$((fail+1))
fi
else
  echo "skip dlnc sample --reconstruct/--interpolate (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
fi
