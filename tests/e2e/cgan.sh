# Sourced by tests/e2e/run.sh (needs B, T, pass, fail; image_grid.sh defined
# png_size): a conditional GAN (tests/e2e/cgan.dln) whose step losses read the
# label field trains; `dlnc sample --model gen --grid` of its generator (an
# i32[N] class input) draws one row per class by default (30 images, 10
# classes: 3 columns x 10 rows = 86x289, the same bytes per seed) and all one
# class with --label (9 images: 86x86; another class, other bytes); a class
# out of range, too few images for the rows, --label for an unconditional
# generator and a generator conditioned by an f32 input are refused. ~5 s.
if [ -d /usr/share/datasets/fashion-mnist ]; then
cp tests/e2e/cgan.dln "$T/cgan.dln"
DC=$(cd "$B" && pwd)/dlnc
cg() { (cd "$T" && DLNC_CACHE="$T/cache" "$DC" "$@"); }
cg run cgan.dln --model cgan --max-steps 20 --checkpoint cgan.st --history cgan.csv > "$T/cgan.out" 2>&1; rc=$?
cg sample cgan.dln --model gen --checkpoint cgan.st --grid cg1.png --count 30 --seed 2 > "$T/cgan.err" 2>&1; r1=$?
cg sample cgan.dln --model gen --checkpoint cgan.st --grid cg2.png --count 30 --seed 2 >> "$T/cgan.err" 2>&1; r2=$?
cg sample cgan.dln --model gen --checkpoint cgan.st --grid cl1.png --count 9 --label 1 >> "$T/cgan.err" 2>&1; r3=$?
cg sample cgan.dln --model gen --checkpoint cgan.st --grid cl2.png --count 9 --label 2 >> "$T/cgan.err" 2>&1; r4=$?
cg sample cgan.dln --model gen --checkpoint cgan.st --grid bad.png --label 10 > "$T/cbad1" 2>&1; b1=$?
cg sample cgan.dln --model gen --checkpoint cgan.st --grid bad.png --count 9 > "$T/cbad2" 2>&1; b2=$?
cg sample gan.dln --model gen --checkpoint gan.st --grid bad.png --label 1 > "$T/cbad3" 2>&1; b3=$?
cg sample cgan.dln --model gen1h --checkpoint cgan.st --grid bad.png > "$T/cbad4" 2>&1; b4=$?
if [ $rc -eq 0 ] && grep -q "^done: 1 epoch, 20 steps" "$T/cgan.out" && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] \
   && cmp -s "$T/cg1.png" "$T/cg2.png" && [ "$(png_size "$T/cg1.png")" = 86x289 ] \
   && [ $r3 -eq 0 ] && [ $r4 -eq 0 ] && [ "$(png_size "$T/cl1.png")" = 86x86 ] && ! cmp -s "$T/cl1.png" "$T/cl2.png" \
   && [ $b1 -eq 1 ] && grep -q "label 10 is not a class in \[0, 10)" "$T/cbad1" \
   && [ $b2 -eq 1 ] && grep -q "count 9 is fewer than the 10 classes" "$T/cbad2" \
   && [ $b3 -eq 1 ] && grep -q "are for a generator with a class input" "$T/cbad3" \
   && [ $b4 -eq 1 ] && grep -q "a conditioning f32 input such as a one-hot is not drawn" "$T/cbad4" \
   && [ ! -e "$T/bad.png" ]; then
  echo "a conditional GAN reads label in its steps; --grid draws a row per class, --label one class: ok"; pass=$((pass+1))
else
  echo "FAIL conditional GAN ($rc $r1 $r2 $r3 $r4 / $b1 $b2 $b3 $b4, $(png_size "$T/cg1.png")):"
  cat "$T/cgan.out" "$T/cgan.err" "$T/cbad1" "$T/cbad2" "$T/cbad3" "$T/cbad4"; fail=$((fail+1))
fi
else
  echo "skip conditional GAN (no Fashion-MNIST in /usr/share/datasets/fashion-mnist)"
fi
