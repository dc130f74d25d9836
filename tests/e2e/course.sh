# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): the course's plain
# forms of docs/language.md trained a few steps on real Fashion-MNIST with
# dlnc run; each one's C also built with -Werror. roi_pool: a Fast R-CNN head
# (tests/e2e/course_roi.dln) trains to the same checkpoint bytes at 1 and 2
# threads. GoogLeNet's auxiliary loss (course_aux.dln): the same model with
# its two outputs swapped trains to the same bytes (the loss names them) but
# its val_acc is the auxiliary head's — accuracy reads the first output.
# PSPNet's pyramid pooling (course_psp.dln) on fashion_mnist_masks: a
# val_iou in [0, 1]. The spatial transformer network (course_stn.dln: affine_grid,
# grid_sample, whose x adjoint scatters) to the same checkpoint bytes at 1 and 2
# threads. ~12 s.
CDC=$(cd "$B" && pwd)/dlnc
cp tests/e2e/course_roi.dln tests/e2e/course_aux.dln tests/e2e/course_psp.dln tests/e2e/course_stn.dln "$T/"
crun() { (cd "$T" && DLNC_CACHE="$T/cache" "$CDC" run "$@" --quiet); }
for m in course_roi course_aux course_psp course_stn; do
  if "$CDC" "$T/$m.dln" -o "$T/$m.c" 2> "$T/$m.err" \
     && cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$T" -c "$T/$m.c" -o "$T/$m.o" 2> "$T/$m.cc"; then
    echo "course: $m.dln compiles with -Werror: ok"; pass=$((pass+1))
  else
    echo "FAIL course: $m.dln does not compile"; cat "$T/$m.err"; head -20 "$T/$m.cc"; fail=$((fail+1))
  fi
done
# same_bits MODEL STEPS WHAT: MODEL.dln trains STEPS steps to the same checkpoint bytes at 1 and 2 threads
same_bits() {
  OMP_NUM_THREADS=1 crun "$1.dln" --max-steps "$2" --checkpoint "${1}1.st" > "$T/${1}1.out" 2>&1; sb1=$?
  OMP_NUM_THREADS=2 crun "$1.dln" --max-steps "$2" --checkpoint "${1}2.st" > "$T/${1}2.out" 2>&1; sb2=$?
  if [ $sb1 -eq 0 ] && [ $sb2 -eq 0 ] && cmp -s "$T/${1}1.st" "$T/${1}2.st" \
     && grep -Eq "^done: 1 epoch, $2 steps in .*, val_acc [0-9.]+%" "$T/${1}1.out"; then
    echo "course: $3 trains, the same bits at 1 and 2 threads: ok"; pass=$((pass+1))
  else
    echo "FAIL course $3 ($sb1 $sb2):"; cat "$T/${1}1.out" "$T/${1}2.out"; fail=$((fail+1))
  fi
}
same_bits course_roi 12 "roi_pool head"
sed -e 's/(logits: f32\[N, 10\], aux: f32\[N, 10\])/(aux: f32[N, 10], logits: f32[N, 10])/' \
    -e 's/return dense(flatten(h), 10), aux/return aux, dense(flatten(h), 10)/' "$T/course_aux.dln" > "$T/course_aux2.dln"
crun course_aux.dln --max-steps 30 --checkpoint aux1.st > "$T/aux1.out" 2>&1; ra1=$?
crun course_aux2.dln --max-steps 30 --checkpoint aux2.st > "$T/aux2.out" 2>&1; ra2=$?
acc1=$(sed -n 's/^done: .*val_acc \([0-9.]*\)%.*/\1/p' "$T/aux1.out")
acc2=$(sed -n 's/^done: .*val_acc \([0-9.]*\)%.*/\1/p' "$T/aux2.out")
if [ $ra1 -eq 0 ] && [ $ra2 -eq 0 ] && grep -q "return aux, dense" "$T/course_aux2.dln" && cmp -s "$T/aux1.st" "$T/aux2.st" \
   && [ -n "$acc1" ] && [ -n "$acc2" ] && awk -v a="$acc1" -v b="$acc2" 'BEGIN { exit !(a > b) }'; then
  echo "course: auxiliary loss trains both heads; accuracy on the first output (main $acc1% > aux $acc2%): ok"; pass=$((pass+1))
else
  echo "FAIL course auxiliary loss ($ra1 $ra2 '$acc1' '$acc2'):"; cat "$T/aux1.out" "$T/aux2.out"; fail=$((fail+1))
fi
crun course_psp.dln --max-steps 6 > "$T/psp.out" 2>&1; rp=$?
iou=$(sed -n 's/^done: .*val_iou \([0-9.]*\).*/\1/p' "$T/psp.out")
if [ $rp -eq 0 ] && [ -n "$iou" ] && awk -v v="$iou" 'BEGIN { exit !(v >= 0 && v <= 1) }'; then
  echo "course: PSPNet's pyramid pooling trains on the masks (val_iou $iou): ok"; pass=$((pass+1))
else
  echo "FAIL course PSPNet ($rp):"; cat "$T/psp.out"; fail=$((fail+1))
fi
same_bits course_stn 20 "the spatial transformer"
