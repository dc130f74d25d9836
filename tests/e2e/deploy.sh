# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): `dlnc export`. The
# MLP, LeNet-5, a batch-norm CNN (tests/e2e/deploy_bn.dln), causal masked
# attention (tests/e2e/deploy_attn.dln), the ViT and an LSTM over image rows
# (a scan loop) are trained a few steps, exported, the export compiled with
# -std=c99 -pedantic -Wall -Wextra -Werror (and -ffreestanding, and -fopenmp), and its outputs on 512
# test images (the ViT 64, the LSTM 128) compared with the training build's forward (tests/e2e/deploy_main.c):
# max |difference| <= 1e-4, every argmax the same; the CNN's three batch norms
# that follow a conv or dense layer are folded (no running statistics left). The MLP also through
# --weights-file at batch 8, and LeNet-5 with --int8. The example program
# classifies a PGM; a damaged checkpoint and a length past the model's are clear errors.
# Token-id, two-input, i32-output and two-length (seq2seq) models: below. About 1 min of CPU.
if [ -d /usr/share/datasets/fashion-mnist ]; then
STRICT="-std=c99 -pedantic -Wall -Wextra -Werror -O2"
TD=$(cd "$B" && pwd)/dlnc
dep() {  # name (the model's), dln, max batch, [export options...]; STEPS training steps (30), DRIVER, DEFS
  n=$1 dln=$2 mb=$3; shift 3
  mkdir -p "$T/dep_$n"
  (cd "$T/dep_$n" && DLNC_CACHE="$T/cache" OMP_NUM_THREADS=2 "$TD" run --quiet --max-steps "${STEPS:-30}" --checkpoint ck.st "$OLDPWD/$dln") >"$T/dep_$n.out" 2>&1 \
  && "$DLNC" "$dln" -o "$T/dep_$n/model.c" \
  && "$DLNC" export "$dln" --checkpoint "$T/dep_$n/ck.st" -o "$T/dep_$n/model_infer.c" --max-batch "$mb" "$@" >>"$T/dep_$n.out" 2>&1 \
  && cc $STRICT -c "$T/dep_$n/model_infer.c" -o "$T/dep_$n/infer.o" 2>>"$T/dep_$n.out" \
  && cc $STRICT -ffreestanding -c "$T/dep_$n/model_infer.c" -o "$T/dep_$n/infer_free.o" 2>>"$T/dep_$n.out" \
  && cc $STRICT -fopenmp -c "$T/dep_$n/model_infer.c" -o "$T/dep_$n/infer_omp.o" 2>>"$T/dep_$n.out" \
  && ! nm "$T/dep_$n/infer.o" | grep -v " T ${n}_infer$" | grep -q " [TD] " \
  && cc -std=c11 -O2 -fopenmp -Iruntime -I"$T/dep_$n" -DM="$n" -DUM="$(echo "$n" | tr a-z A-Z)" $DEFS "${DRIVER:-tests/e2e/deploy_main.c}" \
        "$T/dep_$n/model.c" "$T/dep_$n/infer_omp.o" "$B/libdlnrt.a" -lpng -lz -lm -o "$T/dep_$n/equiv" 2>>"$T/dep_$n.out"
}
for spec in "mlp samples/mlp.dln 1 512 30" "lenet5 samples/lenet5.dln 4 512 30" "bncnn tests/e2e/deploy_bn.dln 8 512 30" \
            "attn tests/e2e/deploy_attn.dln 8 512 10" "vit samples/vit.dln 4 64 3" "lstm_rows samples/lstm_rows.dln 4 128 3"; do
  set -- $spec
  if STEPS=$5 dep "$1" "$2" "$3" && { [ "$1" != bncnn ] || { grep -q "^  3 batch norms folded" "$T/dep_$1.out" \
       && ! grep -q running_var "$T/dep_$1/model_infer.c"; }; } && OMP_NUM_THREADS=2 "$T/dep_$1/equiv" "$T/dep_$1/ck.st" "$4" 1e-4 >"$T/dep_$1.eq" 2>&1; then
    echo "dlnc export $1: $(cat "$T/dep_$1.eq"): ok"; pass=$((pass+1))
  else
    echo "FAIL dlnc export $1"; cat "$T/dep_$1.out" "$T/dep_$1.eq" 2>/dev/null | tail -20; fail=$((fail+1))
  fi
done
# Token ids (an i32 input) at the run-time T of the train section's seq_len (64): the character GPT
# (embedding, learned positions, causal attention) and the character LSTM (a scan loop over T, two
# layers), 8 samples of random ids each (tests/e2e/deploy_ids_main.c): max |difference| <= 1e-4, the
# same argmax at every position, and an id of 128 or -1 refused (-1, the output untouched).
if [ -d /usr/share/games/fortunes ]; then
  for n in gpt_char char_lstm; do
    UN=$(echo "$n" | tr a-z A-Z)
    if STEPS=3 DRIVER=tests/e2e/deploy_ids_main.c DEFS="-DSEQ=${UN}_SEQ_LEN" dep "$n" "samples/$n.dln" 4 \
       && grep -q "^#define ${UN}_SEQ_LEN 64 " "$T/dep_$n/model_infer.h" && grep -q "^int ${n}_infer(const float \*weights, void \*arena, const int32_t \*x, float \*out, int n);$" "$T/dep_$n/model_infer.h" \
       && OMP_NUM_THREADS=2 "$T/dep_$n/equiv" "$T/dep_$n/ck.st" 8 1e-4 128 >"$T/dep_$n.eq" 2>&1; then
      echo "dlnc export $n: $(cat "$T/dep_$n.eq"): ok"; pass=$((pass+1))
    else
      echo "FAIL dlnc export $n"; cat "$T/dep_$n.out" "$T/dep_$n.eq" 2>/dev/null | tail -20; fail=$((fail+1))
    fi
  done
fi
# dep_iface NAME DLN DRIVER COUNT [export options...]: in $T/dep_NAME (the .dln and its data copied there),
# trains STEPS steps (3; RUNOPT: e.g. --model), exports, checks each line of HDR (one regex a line) is in the
# header, builds it strictly and freestanding, and runs DRIVER (the training build against the export) on COUNT samples.
dep_iface() {
  n=$1 dln=$2 drv=$3 cnt=$4; shift 4
  (cd "$T/dep_$n" && DLNC_CACHE="$T/cache" "$TD" run --quiet $RUNOPT --max-steps "${STEPS:-3}" --checkpoint ck.st "$dln") >"$T/dep_$n.out" 2>&1 \
  && "$DLNC" "$T/dep_$n/$dln" -o "$T/dep_$n/model.c" \
  && "$DLNC" export "$T/dep_$n/$dln" $RUNOPT --checkpoint "$T/dep_$n/ck.st" -o "$T/dep_$n/model_infer.c" "$@" >>"$T/dep_$n.out" 2>&1 \
  && printf '%s\n' "$HDR" | while read -r re; do [ -z "$re" ] || grep -q "$re" "$T/dep_$n/model_infer.h" || exit 1; done \
  && cc $STRICT -c "$T/dep_$n/model_infer.c" -o "$T/dep_$n/infer.o" 2>>"$T/dep_$n.out" \
  && cc $STRICT -ffreestanding -c "$T/dep_$n/model_infer.c" -o "$T/dep_$n/free.o" 2>>"$T/dep_$n.out" \
  && cc -std=c11 -O2 -Iruntime -Itests/e2e -I"$T/dep_$n" "$drv" "$T/dep_$n/model.c" "$T/dep_$n/infer.o" \
        "$B/libdlnrt.a" -lpng -lz -lm -fopenmp -o "$T/dep_$n/equiv" 2>>"$T/dep_$n.out" \
  && OMP_NUM_THREADS=2 "$T/dep_$n/equiv" "$T/dep_$n/ck.st" "$cnt" 1e-4 >"$T/dep_$n.eq" 2>&1
}
dep_report() {  # label name status
  if [ "$3" -eq 0 ]; then echo "dlnc export $1: $(cat "$T/dep_$2.eq"): ok"; pass=$((pass+1))
  else echo "FAIL dlnc export $1"; cat "$T/dep_$2.out" "$T/dep_$2.eq" 2>/dev/null | tail -20; fail=$((fail+1)); fi
}
# Two inputs (one i32) and two outputs with a run-time T (tests/e2e/iface.dln's pair, on a CSV source):
# the header's per-input and per-output sizes and prototype, both outputs against the training build on
# 30 random samples at --seq-len 16 (tests/e2e/deploy_pair_main.c); the mean over T (a sum of ones(T)) is
# not fixed at export; a NULL input returns -1, the outputs untouched.
mkdir -p "$T/dep_pair" "$T/dep_arith" "$T/dep_s2s"
awk 'BEGIN { for (r = 0; r < 60; r++) { for (c = 0; c < 16; c++) printf "%d,", c < (r % 3 + 1) * 5; print r % 3 } }' > "$T/dep_pair/iface.csv"
cp tests/e2e/iface.dln "$T/dep_pair/iface.dln"
HDR='^int pair_infer(const float \*weights, void \*arena, const float \*in_features, const int32_t \*in_label, float \*out_logits, float \*out_scaled, int n);$
^#define PAIR_IN_LABEL_IDS 1 
^#define PAIR_OUT_SCALED_FLOATS 16 ' RUNOPT="--model pair" STEPS=5 dep_iface pair iface.dln tests/e2e/deploy_pair_main.c 30 --max-batch 4 --seq-len 16
dep_report pair pair $?
# An i32 output (argmax) and an id that reaches a table only through arithmetic (tests/e2e/deploy_arith.dln,
# on the pair's CSV): the header declares `int32_t *out_best`; three outputs against the training build on 30
# random samples (tests/e2e/deploy_arith_main.c); a valid label whose square is past the second table returns
# -1 with every output untouched (the forward writes into the arena, copied out only on success).
cp tests/e2e/deploy_arith.dln "$T/dep_pair/iface.csv" "$T/dep_arith/"
HDR='^int arith_infer(const float \*weights, void \*arena, const float \*in_features, const int32_t \*in_label, float \*out_logits, int32_t \*out_best, float \*out_sq, int n);$
^#define ARITH_OUT_BEST_IDS 1 ' RUNOPT= STEPS=3 dep_iface arith deploy_arith.dln tests/e2e/deploy_arith_main.c 30 --max-batch 4 --seq-len 16
dep_report arith arith $?
# Two run-time lengths besides the batch (tests/e2e/seq2seq_copy.dln's S and T, an LSTM encoder-decoder),
# exported with --seq-len S=6 --seq-len T=5: the header's COPY_SEQ_LEN_S and _T, strict builds, 20 samples of
# random ids against the training build at every position (tests/e2e/deploy_s2s_main.c), an id of 14 refused.
cp tests/e2e/seq2seq_copy.dln "$T/dep_s2s/"
HDR='^#define COPY_SEQ_LEN_S 6 
^#define COPY_SEQ_LEN_T 5 ' RUNOPT= STEPS=3 dep_iface s2s seq2seq_copy.dln tests/e2e/deploy_s2s_main.c 20 --max-batch 3 --seq-len S=6 --seq-len T=5
dep_report "seq2seq (S and T)" s2s $?
# The weights as a blob the caller passes: the same outputs, no weights in the object.
if "$DLNC" export samples/mlp.dln --checkpoint "$T/dep_mlp/ck.st" -o "$T/dep_mlp/model_infer.c" --max-batch 8 \
       --weights-file "$T/dep_mlp/w.bin" >"$T/dep_blob.out" 2>&1 \
   && cc $STRICT -c "$T/dep_mlp/model_infer.c" -o "$T/dep_mlp/infer.o" && [ "$(size -A "$T/dep_mlp/infer.o" | awk '$1 == ".rodata" { s += $2 } END { print s + 0 }')" -lt 4096 ] \
   && cc -std=c11 -O2 -Iruntime -I"$T/dep_mlp" -DM=mlp -DUM=MLP tests/e2e/deploy_main.c "$T/dep_mlp/model.c" "$T/dep_mlp/infer.o" \
         "$B/libdlnrt.a" -lpng -lz -lm -fopenmp -o "$T/dep_mlp/equiv_blob" \
   && "$T/dep_mlp/equiv_blob" "$T/dep_mlp/ck.st" 512 1e-4 "$T/dep_mlp/w.bin" >"$T/dep_blob.eq" 2>&1; then
  echo "dlnc export --weights-file: $(cat "$T/dep_blob.eq"): ok"; pass=$((pass+1))
else
  echo "FAIL dlnc export --weights-file"; cat "$T/dep_blob.out" "$T/dep_blob.eq" 2>/dev/null; fail=$((fail+1))
fi
# --int8: LeNet-5's five weights quantized (calibrated on 100 training images), the object
# under half the float one's size, strict builds, and on 512 test images the argmax of the
# training build's forward on at least 95% of them (99.5% over the test set after 10 epochs).
mkdir -p "$T/dep_q8"
if "$DLNC" export samples/lenet5.dln --checkpoint "$T/dep_lenet5/ck.st" -o "$T/dep_q8/model_infer.c" --int8 --calibrate 100 \
       >"$T/dep_q8.out" 2>&1 && grep -q "^  5 weights quantized to int8, inputs calibrated on 100 training images$" "$T/dep_q8.out" \
   && cc $STRICT -c "$T/dep_q8/model_infer.c" -o "$T/dep_q8/infer.o" && cc $STRICT -ffreestanding -c "$T/dep_q8/model_infer.c" -o "$T/dep_q8/f.o" \
   && cc $STRICT -fopenmp -c "$T/dep_q8/model_infer.c" -o "$T/dep_q8/omp.o" \
   && [ $(($(size "$T/dep_q8/infer.o" | awk 'NR == 2 { print $4 }') * 2)) -lt "$(size "$T/dep_lenet5/infer.o" | awk 'NR == 2 { print $4 }')" ] \
   && cc -std=c11 -O2 -fopenmp -Iruntime -I"$T/dep_q8" -I"$T/dep_lenet5" -DM=lenet5 -DUM=LENET5 tests/e2e/deploy_main.c "$T/dep_lenet5/model.c" \
         "$T/dep_q8/omp.o" "$B/libdlnrt.a" -lpng -lz -lm -o "$T/dep_q8/equiv" \
   && OMP_NUM_THREADS=2 "$T/dep_q8/equiv" "$T/dep_lenet5/ck.st" 512 1e9 - 95 >"$T/dep_q8.eq" 2>&1; then
  echo "dlnc export --int8: $(cat "$T/dep_q8.eq"): ok"; pass=$((pass+1))
else
  echo "FAIL dlnc export --int8"; cat "$T/dep_q8.out" "$T/dep_q8.eq" 2>/dev/null; fail=$((fail+1))
fi
# Damaged checkpoints: truncated, and a tensor of another model: errors naming the file, nothing
# written (also for a model with carried state, exported since deploy_state.sh); a --seq-len past
# learned_positions(64), and one unnamed --seq-len for a model with two lengths refused before any checkpoint is read.
head -c 3000 "$T/dep_lenet5/ck.st" > "$T/dep_trunc.st"
"$DLNC" export samples/lenet5.dln --checkpoint "$T/dep_trunc.st" -o "$T/dep_bad.c" >"$T/dep_bad1.out" 2>&1; r1=$?
"$DLNC" export samples/lenet5.dln --checkpoint "$T/dep_mlp/ck.st" -o "$T/dep_bad.c" >"$T/dep_bad2.out" 2>&1; r2=$?
"$DLNC" export samples/lenet5.dln -o "$T/dep_bad.c" >"$T/dep_bad3.out" 2>&1; r3=$?
"$DLNC" export tests/e2e/tbptt.dln --checkpoint "$T/dep_mlp/ck.st" -o "$T/dep_bad.c" >"$T/dep_bad4.out" 2>&1; r4=$?
"$DLNC" export samples/gpt_char.dln --checkpoint "$T/dep_mlp/ck.st" -o "$T/dep_bad.c" --seq-len 65 >"$T/dep_bad5.out" 2>&1; r5=$?
"$DLNC" export samples/mlp.dln --checkpoint "$T/dep_mlp/ck.st" -o "$T/dep_bad.c" --seq-len 5 >"$T/dep_bad6.out" 2>&1; r6=$?
"$DLNC" export tests/e2e/seq2seq_copy.dln --checkpoint "$T/dep_mlp/ck.st" -o "$T/dep_bad.c" --seq-len 5 >"$T/dep_bad7.out" 2>&1; r7=$?
if [ $r1 -eq 1 ] && [ $r2 -eq 1 ] && [ $r3 -eq 2 ] && [ $r4 -eq 1 ] && [ $r5 -eq 2 ] && [ $r6 -eq 2 ] && [ $r7 -eq 2 ] && [ ! -e "$T/dep_bad.c" ] && [ ! -e "$T/dep_bad.h" ] \
   && grep -q "^dlnc: error: lms: .*dep_mlp/ck.st" "$T/dep_bad4.out" \
   && grep -q "^samples/gpt_char.dln:9:9: error: gpt_char: --seq-len 65 is longer than the model takes: learned_positions0.weight has 64 rows, one per position, so T is at most 64$" "$T/dep_bad5.out" \
   && grep -q "^hint: export with --seq-len 64 or less$" "$T/dep_bad5.out" \
   && grep -q "^dlnc: error: copy: the model has 2 run-time lengths: give each as --seq-len NAME=VALUE (--seq-len S=5)$" "$T/dep_bad7.out" \
   && grep -q "error: .*dep_trunc.st" "$T/dep_bad1.out" && grep -q "error: .*dep_mlp/ck.st" "$T/dep_bad2.out" \
   && grep -q "error: dlnc export needs the trained weights" "$T/dep_bad3.out" \
   && grep -q "^dlnc: error: mlp: --seq-len is for a model with a run-time length besides the batch; mlp has none$" "$T/dep_bad6.out"; then
  echo "dlnc export: damaged or foreign checkpoint, none given, --seq-len past a position table, without T, unnamed for S and T: clear errors: ok"; pass=$((pass+1))
else
  echo "FAIL dlnc export bad input ($r1 $r2 $r3 $r4 $r5 $r6 $r7)"; cat "$T/dep_bad"[1-7].out; fail=$((fail+1))
fi
fi
# The README's example: examples/classify.c with the exported LeNet-5, built
# with the strict flags, on PGM files of the first 20 test images (the IDX
# file's 16-byte header, then 784 bytes per image): every answer a class
# name, at least 12 of the 20 right after 30 training steps (the
# export gets 15 of them today).
if [ -d /usr/share/datasets/fashion-mnist ]; then
mkdir -p "$T/ex"
FM=/usr/share/datasets/fashion-mnist
zcat $FM/t10k-images-idx3-ubyte.gz | head -c $((16 + 784 * 20)) | tail -c $((784 * 20)) > "$T/ex/img.raw"
zcat $FM/t10k-labels-idx1-ubyte.gz | head -c 28 | tail -c 20 | od -An -tu1 -v | tr -s ' ' '\n' | grep . > "$T/ex/labels"
right=0; k=0
if "$DLNC" export samples/lenet5.dln --checkpoint "$T/dep_lenet5/ck.st" -o "$T/ex/lenet5_infer.c" >/dev/null \
   && cc $STRICT -I"$T/ex" examples/classify.c "$T/ex/lenet5_infer.c" -lm -o "$T/ex/classify" 2>"$T/ex/cc.err"; then
  while read -r label; do
    { printf 'P5\n28 28\n255\n'; tail -c +$((1 + 784 * k)) "$T/ex/img.raw" | head -c 784; } > "$T/ex/$k.pgm"
    "$T/ex/classify" "$T/ex/$k.pgm" > "$T/ex/$k.out" || break
    grep -q "^$T/ex/$k.pgm: .* (class $label)$" "$T/ex/$k.out" && right=$((right+1))
    k=$((k+1))
  done < "$T/ex/labels"
fi
# PGM headers that multiply to 784 without being 28 x 28, and a 16-bit PGM (maxval
# 65535: two bytes a pixel), each refused with the usage (status 2)
lied=0
for hdr in '-28 -28 255' '1 784 255' '16 268435505 255' '28 28 65535'; do
  { printf 'P5\n%s\n' "$hdr"; head -c 1568 "$T/ex/img.raw"; } > "$T/ex/lie.pgm"
  "$T/ex/classify" "$T/ex/lie.pgm" > /dev/null 2>&1; [ $? -eq 2 ] && lied=$((lied+1))
done
if [ $k -eq 20 ] && [ $right -ge 12 ] && ! "$T/ex/classify" "$T/ex/labels" 2>/dev/null && [ $lied -eq 4 ]; then
  echo "examples/classify.c: $right of 20 test images right, a non-PGM and 4 lying headers refused: ok"; pass=$((pass+1))
else
  echo "FAIL examples/classify.c ($k images classified, $right right, $lied of 4 lying headers refused)"; cat "$T/ex/cc.err" 2>/dev/null; fail=$((fail+1))
fi
fi
