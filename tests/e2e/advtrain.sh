# Sourced by tests/e2e/run.sh (needs B, T, CFLAGS, pass, fail): the train-section
# option `adversarial` (tests/e2e/advtrain.dln). One step of a batch-norm CNN
# plainly, with FGSM and with PGD (3 steps, no random start), all at mix 1
# from the same initialization: each first loss is finite and the attacked
# ones are above the plain one (FGSM's below PGD's is not required); a
# one-model section with dropout trains 10 steps on PGD from a random start
# to a finite loss and test figures; the file compiles to -Werror-clean C.
# About 8 s of CPU (four JIT builds).
if [ -d /usr/share/datasets/fashion-mnist ]; then
DA=$(cd "$B" && pwd)/dlnc
cp tests/e2e/advtrain.dln "$T/advtrain.dln"
at() { (cd "$T" && DLNC_CACHE="$T/cache" "$DA" run advtrain.dln "$@"); }
first_loss() { sed -n 's/^epoch 1\/1  loss_cnn \([0-9.]*\) .*/\1/p' "$1"; }
at --model plain --max-steps 1 > "$T/at_plain.out" 2>&1; a1=$?
at --model fgsm --max-steps 1 > "$T/at_fgsm.out" 2>&1; a2=$?
at --model pgd --max-steps 1 > "$T/at_pgd.out" 2>&1; a3=$?
at --model net --max-steps 10 > "$T/at_net.out" 2>&1; a4=$?
lp=$(first_loss "$T/at_plain.out"); lf=$(first_loss "$T/at_fgsm.out"); lg=$(first_loss "$T/at_pgd.out")
above=$(awk -v p="$lp" -v f="$lf" -v g="$lg" 'BEGIN { print (p > 0 && f > p && g > p) ? 1 : 0 }')
"$DA" "$T/advtrain.dln" -o "$T/advtrain.c" 2> "$T/advtrain.err" \
  && cc $CFLAGS -I"$T" -c "$T/advtrain.c" -o "$T/advtrain.o" 2>> "$T/advtrain.err"; ac=$?
if [ $a1 -eq 0 ] && [ $a2 -eq 0 ] && [ $a3 -eq 0 ] && [ $a4 -eq 0 ] && [ "$above" = 1 ] && [ $ac -eq 0 ] \
   && grep -Eq "^done: 1 epoch, 10 steps .*test_acc [0-9]+\.[0-9]+%" "$T/at_net.out" \
   && grep -Eq "^  loss +[0-9]+\.[0-9]+ " "$T/at_net.out" && ! grep -qi "nan" "$T/at_net.out"; then
  echo "adversarial = fgsm(...) / pgd(...): first losses plain $lp < FGSM $lf, PGD $lg; a one-model PGD run; -Werror C: ok"
  pass=$((pass+1))
else
  echo "FAIL adversarial training option ($a1 $a2 $a3 $a4 $ac; plain $lp fgsm $lf pgd $lg):"
  cat "$T/at_plain.out" "$T/at_fgsm.out" "$T/at_pgd.out" "$T/at_net.out"; head -20 "$T/advtrain.err"; fail=$((fail+1))
fi
fi
