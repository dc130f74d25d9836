# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): `dlnc explain`.
# A batch-norm CNN (explain.dln) trains 60 steps; FGSM at eps 0, 0.05, 0.1
# draws 6 test images in 3 rows (image, perturbation, adversarial image:
# 173x86) and the accuracy curve (PNG and SVG); eps 0 gives the clean
# accuracy and the attacks lower it; PGD with more steps does no better for
# the model than FGSM at the same eps. The same CNN trained adversarially in a
# section with steps (adv_train.dln: the model three times in one step, batch norm
# updating its statistics once per call) is attacked with --model cnn.
# Saliency, occlusion and Grad-CAM maps of 5 images (3 rows: 144x86).
# Refused: no --attack, an unknown attack, a bad --eps, --curve with one eps,
# a model that is not a classifier, a map without --grid, a --layer the model
# does not assign, no --checkpoint.
if [ -d /usr/share/datasets/fashion-mnist ]; then
DL=$(cd "$B" && pwd)/dlnc
cp tests/e2e/explain.dln tests/e2e/adv_train.dln "$T/"
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'; }
dx() { (cd "$T" && DLNC_CACHE="$T/cache" "$DL" explain "$@"); }
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run explain.dln --max-steps 60 --checkpoint ex.st --quiet) > "$T/ex.out" 2>&1; rt=$?
dx explain.dln --checkpoint ex.st --attack fgsm --eps 0,0.05,0.1 --count 6 --grid fg.png --curve fg.svg > "$T/fg.out" 2>&1; r1=$?
dx explain.dln --checkpoint ex.st --attack fgsm --eps 0,0.1 --curve fg2.png > /dev/null 2>&1; r2=$?
dx explain.dln --checkpoint ex.st --attack pgd --eps 0.1 --steps 4 --random-start > "$T/pgd.out" 2>&1; r3=$?
acc() { sed -n "s/^$2.*accuracy:* \([0-9.]*\).*/\1/p" "$1" | head -1; }
clean=$(acc "$T/fg.out" "clean"); e0=$(acc "$T/fg.out" "FGSM eps 0:"); e5=$(acc "$T/fg.out" "FGSM eps 0.05")
e10=$(acc "$T/fg.out" "FGSM eps 0.1"); p10=$(acc "$T/pgd.out" "PGD eps 0.1")
order=$(awk -v c="$clean" -v a="$e5" -v b="$e10" -v p="$p10" 'BEGIN { print (c > 0.5 && a < c && b < a && p <= b) ? 1 : 0 }')
if [ $rt -eq 0 ] && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] && [ "$clean" = "$e0" ] && [ "$order" = 1 ] \
   && [ "$(png_size "$T/fg.png")" = 173x86 ] && grep -q "<svg" "$T/fg.svg" && [ -s "$T/fg2.png" ]; then
  echo "dlnc explain: clean $clean, FGSM 0.05 $e5, 0.1 $e10, PGD 0.1 $p10; grid 173x86, curves: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc explain ($rt $r1 $r2 $r3, clean $clean eps0 $e0 $e5 $e10 pgd $p10, $(png_size "$T/fg.png")):"
  cat "$T/ex.out" "$T/fg.out" "$T/pgd.out"; fail=$((fail+1))
fi
(cd "$T" && DLNC_CACHE="$T/cache" "$DL" run adv_train.dln --max-steps 30 --checkpoint adv.st --quiet) > "$T/adv.out" 2>&1; ra=$?
dx adv_train.dln --model cnn --checkpoint adv.st --attack fgsm --eps 0.1 > "$T/adv2.out" 2>&1; rb=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && grep -q "(prefix 'cnn.'): 8 tensors loaded" "$T/adv2.out" \
   && grep -q "^FGSM eps 0.1: accuracy" "$T/adv2.out"; then
  echo "adversarial training of a batch-norm CNN (the model three times in a step), then dlnc explain --model cnn: ok"; pass=$((pass+1))
else
  echo "FAIL adversarial training ($ra $rb):"; cat "$T/adv.out" "$T/adv2.out"; fail=$((fail+1))
fi
dx explain.dln --checkpoint ex.st --map saliency --grid sal.png --count 5 > "$T/sal.out" 2>&1; m1=$?
dx explain.dln --checkpoint ex.st --map occlusion --patch 7 --grid occ.png --count 5 > "$T/occ.out" 2>&1; m2=$?
dx explain.dln --checkpoint ex.st --map gradcam --layer h --grid cam.png --count 5 > "$T/cam.out" 2>&1; m3=$?
if [ $m1 -eq 0 ] && [ $m2 -eq 0 ] && [ $m3 -eq 0 ] && [ "$(png_size "$T/sal.png")" = 144x86 ] \
   && [ "$(png_size "$T/occ.png")" = 144x86 ] && [ "$(png_size "$T/cam.png")" = 144x86 ] \
   && [ "$(grep -c '^Grad-CAM: test image' "$T/cam.out")" = 5 ] && ! cmp -s "$T/cam.png" "$T/occ.png" \
   && [ "$(grep -c '^saliency: test image' "$T/sal.out")" = 5 ] && [ "$(grep -c '^occlusion: test image' "$T/occ.out")" = 5 ] \
   && ! cmp -s "$T/sal.png" "$T/occ.png"; then
  echo "dlnc explain --map saliency, occlusion and gradcam: 5 images, 144x86 each: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc explain --map ($m1 $m2 $m3, $(png_size "$T/sal.png") $(png_size "$T/occ.png")):"; cat "$T/sal.out" "$T/occ.out" "$T/cam.out"; fail=$((fail+1))
fi
dx explain.dln --checkpoint ex.st > "$T/xb1" 2>&1; c1=$?
dx explain.dln --checkpoint ex.st --attack cw > "$T/xb2" 2>&1; c2=$?
dx explain.dln --checkpoint ex.st --attack fgsm --eps 0.1,2 > "$T/xb3" 2>&1; c3=$?
dx explain.dln --checkpoint ex.st --attack fgsm --eps 0.1 --curve c.svg > "$T/xb4" 2>&1; c4=$?
dx "$(pwd)/tests/e2e/vae_small.dln" --model vae --checkpoint ex.st --attack fgsm > "$T/xb5" 2>&1; c5=$?
dx explain.dln --checkpoint ex.st --map saliency > "$T/xb6" 2>&1; c6=$?
dx explain.dln --checkpoint ex.st --map gradcam --layer nope --grid bad.png > "$T/xb7" 2>&1; c7=$?
dx explain.dln --attack fgsm > "$T/xb8" 2>&1; c8=$?
if [ $c1 -eq 2 ] && grep -q "needs an attack or a map: --attack fgsm|pgd or --map saliency|occlusion" "$T/xb1" \
   && [ $c2 -eq 2 ] && grep -q "attack takes fgsm or pgd, not 'cw'" "$T/xb2" \
   && [ $c3 -eq 2 ] && grep -q "eps takes 1 to 32 numbers in \[0, 1\]" "$T/xb3" \
   && [ $c4 -eq 2 ] && grep -q "give --eps a list" "$T/xb4" \
   && [ $c5 -eq 1 ] && grep -q "dlnc explain needs a classifier: model 'vae'" "$T/xb5" && [ ! -e "$T/c.svg" ] \
   && [ $c6 -eq 2 ] && grep -q "give the picture's path with --grid" "$T/xb6" \
   && [ $c7 -eq 1 ] && grep -q "explain.dln:2:7: error: --layer nope: model 'cnn' assigns no value 'nope'" "$T/xb7" \
   && [ $c8 -eq 2 ] && grep -q "dlnc explain needs the trained model: --checkpoint FILE" "$T/xb8"; then
  echo "dlnc explain: no attack, unknown attack, bad eps, a curve of one point, a non-classifier, a map without --grid, an unknown --layer, no checkpoint refused: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc explain refusals ($c1 $c2 $c3 $c4 $c5 $c6 $c7 $c8):"; cat "$T/xb1" "$T/xb2" "$T/xb3" "$T/xb4" "$T/xb5" "$T/xb6" "$T/xb7" "$T/xb8"; fail=$((fail+1))
fi
fi
