# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): a CSV's named columns
# as model inputs, csv(columns = [...]) (tests/e2e/csv_columns.dln). Trains on
# 200 generated rows (rooms, age, city, price) to >= 90% validation accuracy;
# the columns are found by name, so a test file with the columns in another
# order gives each input the same values (a one-batch model whose loss is
# mean(age) + 1e3 mean(city) + 1e6 mean(rooms): test_loss = the train loss =
# the means computed from the file, within float rounding);
# and damaged files stop the run with exit 1 and file:line: a missing column,
# no header, a fractional city for the i32 input, a named column that is the
# label, a short row. ~3 s.
awk 'BEGIN { print "rooms,age,city,price"; for (i = 0; i < 200; i++) { r = 1 + i * 7 % 6; a = (i * 37 % 100) / 2; c = i * 13 % 4;
             printf "%d,%.1f,%d,%d\n", r, a, c, (r * 10 + c * 5 - a * 0.3 > 25) } }' > "$T/houses.csv"
awk -F, '{ print $3 "," $2 "," $1 "," $4 }' "$T/houses.csv" > "$T/reordered.csv"
cp tests/e2e/csv_columns.dln "$T/csv_columns.dln"
cat > "$T/csv_order.dln" <<'DLN'
model m(age: f32[N], city: i32[N], rooms: f32[N]) -> f32[N, 2] {
    return zeros(N, 2) + 0.0 * unsqueeze(age + cast_f32(city) + rooms, 1)
}
train m {
    data  = csv("houses.csv", batch = 200, test = "reordered.csv", shuffle = false, columns = ["age", "city", "rooms"])
    loss  = mean(age) + 1e3 * mean(cast_f32(city)) + 1e6 * mean(rooms) + 0.0 * cross_entropy(output, label)
    optim = sgd(lr = 1e-12)
    epochs = 1
}
DLN
DC=$(cd "$B" && pwd)/dlnc
cc_run() { (cd "$T" && DLNC_CACHE="$T/cache" "$DC" run "$@"); }
cc_run csv_columns.dln --quiet > "$T/cols.out" 2>&1; rc1=$?
cc_run csv_order.dln > "$T/order.out" 2>&1; rc2=$?
want=$(awk -F, 'NR > 1 { a += $2; c += $3; r += $1; n++ } END { printf "%.2f", a / n + 1e3 * c / n + 1e6 * r / n }' "$T/houses.csv")
acc=$(sed -n 's/^done: .*val_acc \([0-9.]*\)%.*/\1/p' "$T/cols.out")
got=$(sed -n 's/^epoch  1\/1  loss \([0-9.]*\)  test_loss \([0-9.]*\) .*/\1 \2/p' "$T/order.out")
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && awk -v a="$acc" 'BEGIN { exit !(a >= 90) }' \
   && echo "$got" | awk -v w="$want" '{ d = $1 - w; exit !($1 == $2 && d < 0.5 && d > -0.5) }'; then
  echo "csv columns as model inputs (val_acc $acc%, by name in either order): ok"; pass=$((pass+1))
else
  echo "FAIL csv columns ($rc1 $rc2, acc '$acc', losses '$got' want '$want'):"; cat "$T/cols.out" "$T/order.out"; fail=$((fail+1))
fi
# damaged files: each a message naming the file and line, exit 1
bad() {  # name csv-text expected-message
  printf "$2" > "$T/houses.csv"
  cc_run csv_columns.dln --quiet > "$T/bad.out" 2>&1; rc=$?
  if [ $rc -eq 1 ] && grep -qF "$3" "$T/bad.out"; then pass=$((pass+1)); else
    echo "FAIL csv columns, $1 (exit $rc):"; cat "$T/bad.out"; fail=$((fail+1)); fi
}
bad "missing column" 'rooms,years,city,price\n1,2,3,0\n' "houses.csv:1: no column 'age' in the header (it has: rooms, years, city, price)"
bad "no header" '1,2,3,0\n2,3,1,1\n' "houses.csv:1: csv(columns = [...]) finds the columns by name, but the first line is not a header"
bad "fractional id" 'rooms,age,city,price\n1,2,3,0\n2,3,1.5,1\n' "houses.csv:3: column 3 ('city'): '1.5' is not an integer in [-2^24, 2^24], and an i32[N] input reads it"
bad "label named" 'rooms,age,price,city\n1,2,0,3\n' "houses.csv:1: column 'city' is the label column, not a feature"
bad "short row" 'rooms,age,city,price\n1,2,3,0\n2,3\n' "houses.csv:3: expected 4 fields, got 2"
echo "csv columns: damaged files checked"
