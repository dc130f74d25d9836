# Sourced by tests/e2e/run.sh (needs B, T, CFLAGS, pass, fail): a train
# section over two models (tests/e2e/gan.dln): `dlnc run` prints both steps'
# losses, writes a history column per step and one checkpoint with both
# prefixes; through the generated C (gan_main.c) each step moves only its own
# model's parameters, and the generator loads alone by prefix; 1 and 2
# threads train to the same bits; `dlnc sample --model gen --grid` draws the
# generator alone from the checkpoint's gen.* tensors; --resume continues a
# run bit for bit (tests/e2e/gan_resume.dln); real and fake images joined into one
# 2*N batch of the discriminator (tests/e2e/gan_onebatch.dln). ~7 s.
cp tests/e2e/gan.dln "$T/gan.dln"
DG=$(cd "$B" && pwd)/dlnc
(cd "$T" && DLNC_CACHE="$T/cache" "$DG" run gan.dln --max-steps 30 --checkpoint gan.st --history gan.csv) > "$T/gan.out" 2>&1; rcg=$?
if [ $rcg -eq 0 ] && grep -Eq "^epoch 1/1  loss_disc [0-9]+\.[0-9]+  loss_gen [0-9]+\.[0-9]+ " "$T/gan.out" \
   && grep -q "^done: 1 epoch, 30 steps" "$T/gan.out" && grep -q '"gen.dense0.weight"' "$T/gan.st" \
   && grep -q '"disc.dense1.bias"' "$T/gan.st" && head -1 "$T/gan.csv" | grep -q "^epoch,loss_disc,loss_gen,seconds$" \
   && $DG "$T/gan.dln" -o "$T/gan.c" 2>"$T/gan.err" \
   && cc $CFLAGS -I"$T" tests/e2e/gan_main.c "$T/gan.c" "$B/libdlnrt.a" -lpng -lz -lm -o "$T/gan.test" 2>>"$T/gan.err" \
   && OMP_NUM_THREADS=2 "$T/gan.test" "$T/gan.st" > "$T/gan.test.out" 2>&1; then
  cat "$T/gan.test.out"; echo "dlnc run trains a GAN's two steps: ok"; pass=$((pass+1))
else
  echo "FAIL GAN steps ($rcg):"; cat "$T/gan.out"; head -20 "$T/gan.err" "$T/gan.test.out" 2>/dev/null; fail=$((fail+1))
fi
# the generator alone: `dlnc sample --model gen --grid` loads gen.* of the section's checkpoint;
# the same seed gives the same PNG (10 images: 4 columns, 3 rows of 28x28 with 1-pixel gaps)
gg() { (cd "$T" && DLNC_CACHE="$T/cache" "$DG" sample gan.dln --model gen "$@"); }
gg --checkpoint gan.st --grid gan_g1.png --count 10 --seed 3 > "$T/gang.err" 2>&1; g1=$?
gg --checkpoint gan.st --grid gan_g2.png --count 10 --seed 3 >> "$T/gang.err" 2>&1; g2=$?
gg --checkpoint gan.st > "$T/gang.bad1" 2>&1; gb1=$?
sed 's/"gen\./"gxn./g' "$T/gan.st" > "$T/gan_nogen.st"
gg --checkpoint gan_nogen.st --grid gan_bad.png > "$T/gang.bad2" 2>&1; gb2=$?
gsz=$(od -An -tu1 -j16 -N8 "$T/gan_g1.png" 2>/dev/null | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
if [ $g1 -eq 0 ] && [ $g2 -eq 0 ] && cmp -s "$T/gan_g1.png" "$T/gan_g2.png" && [ "$gsz" = 115x86 ] \
   && [ $gb1 -eq 1 ] && grep -q "model 'gen' is trained by the section 'dcgan'" "$T/gang.bad1" \
   && [ $gb2 -eq 1 ] && grep -q "no tensor of the file matches the model under the prefix 'gen.'" "$T/gang.bad2" \
   && [ ! -e "$T/gan_bad.png" ]; then
  echo "dlnc sample --model gen --grid draws a GAN's generator (115x86, the same bytes per seed): ok"; pass=$((pass+1))
else
  echo "FAIL GAN sample --model gen --grid ($g1 $g2 $gb1 $gb2, $gsz):"; cat "$T/gang.err" "$T/gang.bad1" "$T/gang.bad2"
  fail=$((fail+1))
fi
# --resume: 3 epochs straight, and 1 epoch (--max-steps 4) then --resume to 3, give the same
# checkpoint bytes (every model, each step's Adam slots and step count) and the same history;
# another seed is refused
cp tests/e2e/gan_resume.dln "$T/gan_resume.dln"
awk 'BEGIN{srand(7); for(i=0;i<64;i++){l=""; for(j=0;j<8;j++) l=l sprintf("%.4f,", rand()*2-1); print l (i%2)}}' > "$T/pts.csv"
gr() { (cd "$T" && DLNC_CACHE="$T/cache" "$DG" run gan_resume.dln "$@"); }
gr --checkpoint gr_a.st --history gr_a.csv > "$T/ganr.out" 2>&1; ra=$?
gr --checkpoint gr_b.st --history gr_b.csv --max-steps 4 >> "$T/ganr.out" 2>&1; rb=$?
gr --checkpoint gr_b.st --history gr_b.csv --resume >> "$T/ganr.out" 2>&1; rr=$?
gr --checkpoint gr_b.st --resume --seed 6 > "$T/ganr.bad" 2>&1; rs=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && [ $rr -eq 0 ] && grep -q "^resuming from gr_b.st: 1 epoch, 4 steps done" "$T/ganr.out" \
   && cmp -s "$T/gr_a.st" "$T/gr_b.st" && [ "$(cut -d, -f1-3 "$T/gr_a.csv")" = "$(cut -d, -f1-3 "$T/gr_b.csv")" ] \
   && grep -q '"@disc.m1.disc.dense0.weight"' "$T/gr_a.st" && grep -q '"dlnc.model_step.disc":"24"' "$T/gr_a.st" \
   && [ $rs -eq 1 ] && grep -q "the run was seeded with 5, this one with 6" "$T/ganr.bad"; then
  echo "--resume of a GAN continues bit for bit (3 epochs = 1 + resume to 3): ok"; pass=$((pass+1))
else
  echo "FAIL GAN --resume ($ra $rb $rr $rs):"; cat "$T/ganr.out" "$T/ganr.bad"; fail=$((fail+1))
fi
# the same bits at 1 and 2 threads
for t in 1 2; do
  (cd "$T" && OMP_NUM_THREADS=$t DLNC_CACHE="$T/cache" "$DG" run gan.dln --max-steps 20 --checkpoint gan_t$t.st) >/dev/null 2>&1
done
if cmp -s "$T/gan_t1.st" "$T/gan_t2.st"; then
  echo "a GAN trains to the same bits at 1 and 2 threads: ok"; pass=$((pass+1))
else
  echo "FAIL GAN: 1 and 2 threads train to different checkpoints"; fail=$((fail+1))
fi
# CycleGAN's two generators and two discriminators as two models of two outputs each
# (tests/e2e/cyclegan.dln): both steps train, the checkpoint holds all four networks.
cp tests/e2e/cyclegan.dln "$T/cyclegan.dln"
(cd "$T" && DLNC_CACHE="$T/cache" "$DG" run cyclegan.dln --max-steps 10 --checkpoint cyc.st) > "$T/cyc.out" 2>&1; rcc=$?
if [ $rcc -eq 0 ] && grep -Eq "^epoch 1/10  loss_gens [0-9]+\.[0-9]+  loss_discs [0-9]+\.[0-9]+ " "$T/cyc.out" &&
   grep -q '"gens.g_ab.conv2d0.weight"' "$T/cyc.st" && grep -q '"gens.g_ba.conv2d1.bias"' "$T/cyc.st" &&
   grep -q '"discs.d_a.conv2d0.weight"' "$T/cyc.st" && grep -q '"discs.d_b.conv2d1.bias"' "$T/cyc.st"; then
  echo "CycleGAN: two generators and two discriminators train in two steps: ok"; pass=$((pass+1))
else
  echo "FAIL CycleGAN steps ($rcc):"; cat "$T/cyc.out"; fail=$((fail+1))
fi
# real and generated images joined into one batch of 2*N for the discriminator
# (tests/e2e/gan_onebatch.dln, `concat` along the run-time batch axis): both steps train
cp tests/e2e/gan_onebatch.dln "$T/gan_onebatch.dln"
(cd "$T" && DLNC_CACHE="$T/cache" "$DG" run gan_onebatch.dln --max-steps 30 --checkpoint ob.st) > "$T/ob.out" 2>&1; rco=$?
if [ $rco -eq 0 ] && grep -Eq "^epoch 1/1  loss_disc [0-9]+\.[0-9]+  loss_gen [0-9]+\.[0-9]+ " "$T/ob.out" &&
   grep -q "^done: 1 epoch, 30 steps" "$T/ob.out" && grep -q '"disc.batch_norm1d0.running_mean"' "$T/ob.st"; then
  echo "GAN: real and fake images as one 2*N batch of the discriminator: ok"; pass=$((pass+1))
else
  echo "FAIL GAN one-batch discriminator step ($rco):"; cat "$T/ob.out"; fail=$((fail+1))
fi
