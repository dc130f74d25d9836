# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): edge features end to end.
# tests/e2e/edge_attr_fixture.py writes tiny graphs whose classes only the
# edge columns tell; an MPNN reading edge_attr trains on graph(path) (node
# classes) and on graphs(path) (graph classes): the loss falls and the test
# accuracy is high. A word in an edge column stops the run at file:line;
# a model reading edge_attr from a graph without edge columns, or with
# another column count, is a run-time error naming the field.
DL=$(cd "$B" && pwd)/dlnc
earun() { DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$DL" run "$@"; }
/usr/bin/python3 tests/e2e/edge_attr_fixture.py "$T/ea"
sed "s|EA/|$T/ea/|" tests/e2e/edge_attr.dln > "$T/ea1.dln"
sed "s|EA/|$T/ea/|" tests/e2e/edge_attr_graphs.dln > "$T/ea2.dln"
earun "$T/ea1.dln" > "$T/ea1.out" 2>&1; r1=$?
earun "$T/ea2.dln" > "$T/ea2.out" 2>&1; r2=$?
l1=$(sed -n 's/^epoch *1\/60  loss \([0-9.]*\).*/\1/p' "$T/ea1.out"); l60=$(sed -n 's/^epoch *60\/60  loss \([0-9.]*\).*/\1/p' "$T/ea1.out")
a1=$(sed -n 's/.*test_acc \([0-9.]*\)%.*/\1/p' "$T/ea1.out"); a2=$(sed -n 's/.*test_acc \([0-9.]*\)%.*/\1/p' "$T/ea2.out")
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && awk -v a="$l1" -v b="$l60" -v x="$a1" -v y="$a2" 'BEGIN { exit !(b < a / 4 && x >= 90 && y >= 90) }'; then
  echo "edge_attr: an MPNN on edge features trains (graph loss $l1 -> $l60, test $a1%; graphs test $a2%): ok"; pass=$((pass+1))
else
  echo "FAIL edge_attr training ($r1 $l1 -> $l60 $a1, $r2 $a2):"; tail -3 "$T/ea1.out" "$T/ea2.out"; fail=$((fail+1))
fi
mkdir -p "$T/eabad"
cp "$T/ea/one/nodes.csv" "$T/eabad/"
sed '3s/,[^,]*$/,heavy/' "$T/ea/one/edges.csv" > "$T/eabad/edges.csv"
sed "s|$T/ea/one|$T/eabad|" "$T/ea1.dln" > "$T/eabad.dln"
earun "$T/eabad.dln" > "$T/eabad.out" 2>&1; rb=$?
sed "s|samples/data/karate|$(pwd)/samples/data/karate|; s/features: f32\[N, V, 1\]/features: f32[N, V, 34]/; s|$T/ea/one|$(pwd)/samples/data/karate|" "$T/ea1.dln" > "$T/eanone.dln"
earun "$T/eanone.dln" > "$T/eanone.out" 2>&1; rn=$?
sed 's/edge_attr: f32\[N, E, 2\]/edge_attr: f32[N, E, 3]/' "$T/ea1.dln" > "$T/ea3.dln"
earun "$T/ea3.dln" > "$T/ea3.out" 2>&1; r3=$?
if [ $rb -eq 1 ] && grep -q "eabad/edges.csv:3: column 4 (w): 'heavy' is not a number" "$T/eabad.out" &&
   [ $rn -eq 1 ] && grep -q "reads the field 'edge_attr' but the data gives only .*edges.csv after source,target; this graph has none" "$T/eanone.out" &&
   [ $r3 -eq 1 ] && grep -q "dimension 2 of the field 'edge_attr' is 2 but model 'mpnn' takes 3" "$T/ea3.out"; then
  echo "edge_attr: a word in an edge column, no edge columns and another column count are clear errors: ok"; pass=$((pass+1))
else
  echo "FAIL edge_attr errors ($rb, $rn, $r3):"; cat "$T/eabad.out" "$T/eanone.out" "$T/ea3.out"; fail=$((fail+1))
fi
