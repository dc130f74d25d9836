# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): transfer learning from
# the train section. A 3-class model is trained and saved; a 2-class model
# with the same trunk takes it with init_from, its new head left out by
# init_skip, the trunk frozen and the middle layer at lr x 0.1. Checked: the
# report lines, the frozen tensors byte-identical to the pretrained file after
# training (and no optimizer state saved for them), the others changed; a
# head of another shape without init_skip is an error with a hint. ~2 s.
awk 'BEGIN { print "a,b,label"; for (i = 0; i < 200; i++) { x = (i * 37 % 100) / 50 - 1; y = (i * 61 % 97) / 48.5 - 1;
             printf "%.4f,%.4f,%d\n", x, y, (x + y > 0.3) + (x - y > 0.5) } }' > "$T/tl3.csv"
awk -F, 'NR == 1 { print; next } { print $1 "," $2 "," ($3 > 0) }' "$T/tl3.csv" > "$T/tl2.csv"
tl_model() {  # name, classes
  printf 'model %s(x: f32[N, 2]) -> f32[N, %s] {\n' "$1" "$2"
  printf '    h = dense(x, 16, name = "trunk") |> relu |> dense(16, name = "mid") |> relu\n'
  printf '    return dense(h, %s, name = "head")\n}\n' "$2"
}
{ tl_model pre 3; printf 'train pre {\n    data = csv("tl3.csv", batch = 16, val_split = 0.25)\n'
  printf '    loss = cross_entropy(output, label)\n    epochs = 2\n    checkpoint = "pre.st"\n}\n'; } > "$T/tl_pre.dln"
{ tl_model fine 2; printf 'train fine {\n    data = csv("tl2.csv", batch = 16, val_split = 0.25)\n'
  printf '    loss = cross_entropy(output, label)\n    epochs = 2\n    checkpoint = "fine.st"\n'
  printf '    init_from = "pre.st"\n    init_skip = ["head."]\n    freeze = ["trunk."]\n'
  printf '    lr_scale = [("mid.", 0.1)]\n}\n'; } > "$T/tl_fine.dln"
grep -v init_skip "$T/tl_fine.dln" > "$T/tl_noskip.dln"
# The bytes of one tensor of a safetensors file, as a checksum (the JSON
# header gives its data_offsets after the 8-byte header length).
st_sum() {
  len=$(od -An -tu8 -N8 "$1" | tr -d ' ')
  offs=$(head -c $((8 + len)) "$1" | tail -c "$len" | sed "s/.*\"$2\":{[^}]*\"data_offsets\":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/")
  set -- "$1" $offs
  tail -c +$((8 + len + $2 + 1)) "$1" | head -c $(($3 - $2)) | cksum
}
TD=$(cd "$B" && pwd)/dlnc
tl() { (cd "$T" && DLNC_CACHE="$T/cache" "$TD" run --quiet "$@"); }
tl tl_pre.dln > "$T/tl_pre.out" 2>&1; rtl1=$?
tl tl_fine.dln > "$T/tl_fine.out" 2>&1; rtl2=$?
tl tl_noskip.dln > "$T/tl_noskip.out" 2>&1; rtl3=$?
if [ $rtl1 -eq 0 ] && [ $rtl2 -eq 0 ] \
   && grep -q "^init_from pre.st: 4 tensors loaded, 2 in the file skipped (head.weight, head.bias), 2 newly initialized by init_skip (head.weight, head.bias)$" "$T/tl_fine.out" \
   && grep -q "^freeze trunk.: 2 tensors (48 parameters) not trained; lr x 0.1 for mid. (2 tensors)$" "$T/tl_fine.out" \
   && [ "$(st_sum "$T/pre.st" trunk.weight)" = "$(st_sum "$T/fine.st" trunk.weight)" ] \
   && [ "$(st_sum "$T/pre.st" trunk.bias)" = "$(st_sum "$T/fine.st" trunk.bias)" ] \
   && [ "$(st_sum "$T/pre.st" mid.weight)" != "$(st_sum "$T/fine.st" mid.weight)" ] \
   && [ "$(st_sum "$T/pre.st" mid.bias)" != "$(st_sum "$T/fine.st" mid.bias)" ] \
   && ! grep -q '"@m1.trunk' "$T/fine.st" && grep -q '"@m1.mid.weight' "$T/fine.st" \
   && [ $rtl3 -eq 1 ] && grep -q "tensor 'head.weight' has shape \[3,16\] in the file, the model expects \[2,16\]" "$T/tl_noskip.out" \
   && grep -q "^hint: a layer the model replaces (a new head) is left out of the load with init_skip" "$T/tl_noskip.out"; then
  echo "transfer: init_from + init_skip report, frozen trunk byte-identical, lr_scale'd layer trained: ok"; pass=$((pass+1))
else
  echo "FAIL transfer ($rtl1 $rtl2 $rtl3):"; cat "$T/tl_pre.out" "$T/tl_fine.out" "$T/tl_noskip.out"; fail=$((fail+1))
fi
