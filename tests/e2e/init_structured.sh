# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): a model whose weights
# start from the structured initializers (dirac, orthogonal, trunc_normal,
# eye, sparse; tests/e2e/init_structured.dln) compiles with -Werror and
# trains 3 steps on Fashion-MNIST to the same checkpoint bytes at 1 and 2
# threads. ~10 s.
IDC=$(cd "$B" && pwd)/dlnc
cp tests/e2e/init_structured.dln "$T/"
if "$IDC" "$T/init_structured.dln" -o "$T/init_structured.c" 2> "$T/init_structured.err" \
   && cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$T" -c "$T/init_structured.c" -o "$T/init_structured.o" \
        2> "$T/init_structured.cc"; then
  echo "init_structured: compiles with -Werror: ok"; pass=$((pass+1))
else
  echo "FAIL init_structured: does not compile"; cat "$T/init_structured.err"; head -20 "$T/init_structured.cc"; fail=$((fail+1))
fi
for t in 1 2; do
  (cd "$T" && OMP_NUM_THREADS=$t DLNC_CACHE="$T/cache" "$IDC" run init_structured.dln --max-steps 3 --quiet \
     --checkpoint "is$t.st") > "$T/is$t.out" 2>&1
  echo $? > "$T/is$t.rc"
done
if [ "$(cat "$T/is1.rc")" = 0 ] && [ "$(cat "$T/is2.rc")" = 0 ] && cmp -s "$T/is1.st" "$T/is2.st" \
   && grep -Eq "^done: 1 epoch, 3 steps in .*, val_acc [0-9.]+%" "$T/is1.out"; then
  echo "init_structured: trains 3 steps, the same bits at 1 and 2 threads: ok"; pass=$((pass+1))
else
  echo "FAIL init_structured training:"; cat "$T/is1.out" "$T/is2.out"; fail=$((fail+1))
fi
