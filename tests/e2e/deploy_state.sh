# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): `dlnc export` of a model with carried state
# (streaming). tests/e2e/tbptt.dln (a character LSTM whose h and c buffers carry the state from one
# batch to the next) trained 3 steps on a small corpus, exported at --max-batch 4 --seq-len 8: the
# header's state macros and functions, the export compiled with -std=c99 -pedantic -Wall -Wextra
# -Werror (and -ffreestanding, and -fopenmp) and linked without libdlnrt (only its driver links it,
# for the training build beside it); tests/e2e/deploy_state_main.c feeds 3 rows of 4 chunks of 8 ids
# through one lms_ctx: every chunk within 4e-6 of the training build's forward over the 32 ids at once
# and over the chunk alone from the export's state; reset (all rows, one row), a saved and restored
# state, two streams in two threads at once, and a wrong batch, row or id refused. A [N, ...] buffer the forward never updates: refused.
mkdir -p "$T/dep_state"
awk 'BEGIN { srand(7); for (i = 0; i < 200; i++) { n = int(rand() * 4);
  printf "%s %s the %s.\n", n == 0 ? "A cat" : n == 1 ? "The dog" : n == 2 ? "My bird" : "Your fish",
         i % 2 ? "sees" : "likes", i % 3 ? "sun" : "moon" } }' > "$T/dep_state/corpus.txt"
cp tests/e2e/tbptt.dln "$T/dep_state/"
DS="$T/dep_state" STRICT_S="-std=c99 -pedantic -Wall -Wextra -Werror -O2"
if (cd "$DS" && DLNC_CACHE="$T/cache" "$OLDPWD/$B/dlnc" run --quiet --max-steps 3 --checkpoint ck.st tbptt.dln) >"$DS.out" 2>&1 \
   && "$DLNC" "$DS/tbptt.dln" -o "$DS/model.c" >>"$DS.out" 2>&1 \
   && "$DLNC" export "$DS/tbptt.dln" --checkpoint "$DS/ck.st" -o "$DS/model_infer.c" --max-batch 4 --seq-len 8 >>"$DS.out" 2>&1 \
   && grep -q "^#define LMS_STATE_FLOATS 64 " "$DS/model_infer.h" && grep -q "^#define LMS_SEQ_LEN 8 " "$DS/model_infer.h" \
   && grep -q "^int lms_infer(lms_ctx \*ctx, const float \*weights, void \*arena, const int32_t \*x, float \*out, int n);$" "$DS/model_infer.h" \
   && grep -q "^int lms_ctx_reset(lms_ctx \*ctx, int row);$" "$DS/model_infer.h" \
   && cc $STRICT_S -c "$DS/model_infer.c" -o "$DS/infer.o" 2>>"$DS.out" \
   && cc $STRICT_S -ffreestanding -c "$DS/model_infer.c" -o "$DS/free.o" 2>>"$DS.out" \
   && cc $STRICT_S -fopenmp -c "$DS/model_infer.c" -o "$DS/omp.o" 2>>"$DS.out" \
   && ! nm "$DS/infer.o" | grep -q -i " U dl" \
   && cc -std=c11 -O2 -fopenmp -Iruntime -I"$DS" tests/e2e/deploy_state_main.c "$DS/omp.o" "$B/libdlnrt.a" \
         -lpng -lz -lm -o "$DS/equiv" 2>>"$DS.out" \
   && OMP_NUM_THREADS=2 "$DS/equiv" "$DS/ck.st" 4 4e-6 >"$DS.eq" 2>&1; then
  echo "dlnc export with carried state: $(cat "$DS.eq"): ok"; pass=$((pass+1))
else
  echo "FAIL dlnc export with carried state"; cat "$DS.out" "$DS.eq" 2>/dev/null | tail -20; fail=$((fail+1))
fi
# a [N, ...] buffer that the forward reads but never updates (only in training): nothing to carry, refused
sed 's/    update(h, stop_grad(h2)) .*/    if training { update(h, stop_grad(h2)) }/' tests/e2e/tbptt.dln > "$DS/frozen.dln"
"$DLNC" export "$DS/frozen.dln" --checkpoint "$DS/ck.st" -o "$DS/bad.c" >"$DS.bad" 2>&1; rb=$?
if [ $rb -eq 1 ] && [ ! -e "$DS/bad.c" ] && grep -q "^dlnc: error: lms: the carried state 'h' is never given a new value by update() in the forward pass, so an export cannot carry it$" "$DS.bad"; then
  echo "dlnc export: a carried buffer the forward never updates refused: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc export of a never-updated carried buffer ($rb)"; cat "$DS.bad"; fail=$((fail+1))
fi
