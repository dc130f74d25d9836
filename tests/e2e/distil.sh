# Sourced by tests/e2e/run.sh after transfer.sh (needs B, T, pass, fail, its tl3.csv, st_sum
# and tl): distillation from a teacher trained alone. A one-model section trains `teacher`
# (dense, batch_norm1d, dropout) and saves dense0.weight, ...; a section with steps loads that
# file into its `teacher.` tensors with init_from + init_into, and trains the student against
# teacher(features, training = false). Checked: the report line, every teacher tensor (running
# statistics included) byte-identical to the one-model file after training, the student
# trained; an init_into naming no tensor stops the run with a hint. ~2 s.
kd_teacher='model teacher(x: f32[N, 2]) -> f32[N, 3] {
    return dense(x, 16) |> batch_norm1d |> relu |> dropout(0.3) |> dense(3)
}
'
{ printf '%s' "$kd_teacher"; printf 'train teacher {\n    data = csv("tl3.csv", batch = 16, val_split = 0.25)\n'
  printf '    loss = cross_entropy(output, label)\n    epochs = 2\n    checkpoint = "tch.st"\n}\n'; } > "$T/kd_pre.dln"
{ printf '%s' "$kd_teacher"
  printf 'model student(x: f32[N, 2]) -> f32[N, 3] {\n    return dense(x, 8) |> relu |> dense(3)\n}\n'
  printf 'train kd {\n    models = [student, teacher]\n    data = csv("tl3.csv", batch = 16, val_split = 0.25)\n'
  printf '    step student {\n        loss = 0.7 * 16.0 * kl_div(log_softmax(student(features) / 4.0),\n'
  printf '                   softmax(teacher(features, training = false) / 4.0), reduction = "batchmean")\n'
  printf '             + 0.3 * cross_entropy(student(features), label)\n        optim = adam(lr = 1e-2)\n    }\n'
  printf '    epochs = 2\n    init_from = "tch.st"\n    init_into = "teacher."\n    checkpoint = "kd.st"\n}\n'; } > "$T/kd_kd.dln"
sed 's/init_into = "teacher."/init_into = "teach."/' "$T/kd_kd.dln" > "$T/kd_bad.dln"
tl kd_pre.dln > "$T/kd_pre.out" 2>&1; rkd1=$?
tl kd_kd.dln > "$T/kd_kd.out" 2>&1; rkd2=$?
tl kd_bad.dln > "$T/kd_bad.out" 2>&1; rkd3=$?
kd_same=1
for t in dense0.weight dense0.bias batch_norm1d0.weight batch_norm1d0.running_mean batch_norm1d0.running_var dense1.weight; do
  [ "$(st_sum "$T/tch.st" $t)" = "$(st_sum "$T/kd.st" teacher.$t)" ] || kd_same=0
done
if [ $rkd1 -eq 0 ] && [ $rkd2 -eq 0 ] && [ $kd_same -eq 1 ] \
   && grep -q "^init_from tch.st (into 'teacher.'): 8 tensors loaded, 4 outside 'teacher.' kept as initialized$" "$T/kd_kd.out" \
   && grep -q '"student.dense0.weight"' "$T/kd.st" && grep -q '"@student.m1.student.dense0.weight"' "$T/kd.st" \
   && [ $rkd3 -eq 1 ] && grep -q "init_into 'teach.' is the prefix of none of the model's tensors" "$T/kd_bad.out"; then
  echo "distil: a one-model teacher into teacher.* by init_into, called with training = false, byte-identical after: ok"
  pass=$((pass+1))
else
  echo "FAIL distil ($rkd1 $rkd2 $rkd3 same=$kd_same):"; cat "$T/kd_pre.out" "$T/kd_kd.out" "$T/kd_bad.out"; fail=$((fail+1))
fi
