# Sourced by tests/e2e/run.sh (needs B, T, pass, fail; gpt_sample.sh wrote
# $T/gpt.dln and $T/gpt.st): `dlnc sample --grid` draws a trained image
# model's outputs as one PNG. A small autoencoder (any model with one f32
# input and an image output can draw; its input is then N(0, 1) noise) trains
# 50 steps on Fashion-MNIST; the same seed gives the same bytes, the PNG's
# size is 10 images in 4 columns and 3 rows of 28x28 with 1-pixel gaps, and a
# classifier, a text model, a missing checkpoint, an unwritable path and a
# count out of range are refused with a message.
if [ -d /usr/share/datasets/fashion-mnist ]; then
cat > "$T/ae.dln" <<'DLN'
model ae(x: f32[N, 1, 28, 28]) -> f32[N, 1, 28, 28] {
    h = flatten(x) |> dense(16) |> relu
    return reshape(sigmoid(dense(h, 784)), [-1, 1, 28, 28])
}
train ae {
    data  = fashion_mnist("/usr/share/datasets/fashion-mnist", batch = 64)
    loss  = mse(output, x)
    optim = adam(lr = 1e-3)
    epochs = 1
}
DLN
DL=$(cd "$B" && pwd)/dlnc
# PNG width and height: big-endian words at bytes 16 and 20 of the IHDR.
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'; }
gs() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" sample "$@"); }
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run ae.dln --max-steps 50 --checkpoint ae.st --quiet) > "$T/ae.out" 2>&1; rca=$?
gs ae.dln --checkpoint ae.st --grid g1.png --count 10 --seed 4 > "$T/grid.err" 2>&1; r1=$?
gs ae.dln --checkpoint ae.st --grid g2.png --count 10 --seed 4 >> "$T/grid.err" 2>&1; r2=$?
gs ae.dln --checkpoint ae.st --grid g3.png --count 10 --seed 5 --range -1,1 >> "$T/grid.err" 2>&1; r3=$?
gs "$(pwd)/samples/mlp.dln" --checkpoint ae.st --grid bad.png > "$T/gbad1" 2>&1; b1=$?
gs gpt.dln --checkpoint gpt.st --grid bad.png > "$T/gbad2" 2>&1; b2=$?
gs ae.dln --checkpoint none.st --grid bad.png > "$T/gbad3" 2>&1; b3=$?
gs ae.dln --checkpoint ae.st --grid "$T/no/such/dir/g.png" > "$T/gbad4" 2>&1; b4=$?
gs ae.dln --checkpoint ae.st --grid bad.png --count 0 > "$T/gbad5" 2>&1; b5=$?
if [ $rca -eq 0 ] && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && cmp -s "$T/g1.png" "$T/g2.png" \
   && ! cmp -s "$T/g1.png" "$T/g3.png" && [ "$(png_size "$T/g1.png")" = 115x86 ] \
   && [ $b1 -eq 1 ] && grep -q "model 'mlp' cannot draw a grid" "$T/gbad1" \
   && [ $b2 -eq 1 ] && grep -q "model 'gpt' cannot draw a grid" "$T/gbad2" \
   && [ $b3 -eq 1 ] && grep -q "none.st: cannot open" "$T/gbad3" \
   && [ $b4 -eq 1 ] && grep -q "cannot create" "$T/gbad4" \
   && [ $b5 -eq 2 ] && grep -q "count must be between 1 and 1024" "$T/gbad5" && [ ! -e "$T/bad.png" ]; then
  echo "dlnc sample --grid: the same seed gives the same PNG (115x86 for 10 images), wrong forms refused: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc sample --grid ($rca $r1 $r2 $r3 / $b1 $b2 $b3 $b4 $b5, $(png_size "$T/g1.png")):"
  cat "$T/ae.out" "$T/grid.err" "$T/gbad1" "$T/gbad2" "$T/gbad3" "$T/gbad4" "$T/gbad5"; fail=$((fail+1))
fi
else
  echo "skip dlnc sample --grid (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
fi
