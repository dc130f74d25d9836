# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): graph classification
# with graphs(dir), batches of many small graphs. The shipped dataset is what
# samples/data/make_cycles.py writes; samples/gin_cycles.dln (GIN layers, a
# sum readout per graph) learns trees from graphs with a cycle well above
# chance (50%) in 30 epochs; damaged files stop the run naming file:line; a
# model whose output has another number of graphs than `batch` is a compile
# error naming the field; a resumed run replays the shuffled order. ~7 s of CPU (several builds).
DL=$(cd "$B" && pwd)/dlnc
gbrun() { DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$DL" run "$@"; }
python3 samples/data/make_cycles.py "$T/cycles" && diff -r samples/data/cycles "$T/cycles" > /dev/null; rd=$?
gbrun samples/gin_cycles.dln > "$T/gin.out" 2>&1; rg=$?
gt=$(sed -n 's/.*test_acc \([0-9.]*\)%.*/\1/p' "$T/gin.out" | tail -1)
if [ $rd -eq 0 ] && [ $rg -eq 0 ] && grep -q "(100 test graphs)" "$T/gin.out" && awk "BEGIN { exit !(${gt:-0} >= 80) }"; then
  echo "graphs(dir): the shipped cycles set is the generator's, GIN test accuracy $gt% (chance 50%): ok"; pass=$((pass+1))
else
  echo "FAIL graphs(dir) training (generator $rd, run $rg, test $gt%):"; tail -3 "$T/gin.out"; fail=$((fail+1))
fi
# damaged: an edge across two graphs, a graph whose nodes are not contiguous, a graph label that is not an integer
gbbad() {   # gbbad NAME FILE LINE_NUMBER NEW_LINE: the cycles set with one line replaced, run
  mkdir -p "$T/gb_$1" && cp samples/data/cycles/*.csv "$T/gb_$1/"
  sed -i "$3s/.*/$4/" "$T/gb_$1/$2"
  sed "s|samples/data/cycles|$T/gb_$1|" samples/gin_cycles.dln > "$T/gb_$1.dln"
  gbrun "$T/gb_$1.dln" --max-steps 1 > "$T/gb_$1.out" 2>&1; echo $?
}
r1=$(gbbad cross edges.csv 2 "0,20")
r2=$(gbbad order nodes.csv 3 "5,0,1,0,0")
r3=$(gbbad label graphs.csv 4 "0.5,1")
sed 's/-> f32\[N, 32, 2\]/-> f32[N, 16, 2]/; s/, 32, axis = 1)/, 16, axis = 1)/' samples/gin_cycles.dln > "$T/gb_g16.dln"
gbrun "$T/gb_g16.dln" > "$T/gb_g16.out" 2>&1; r4=$?
if [ "$r1" = 1 ] && grep -q "gb_cross/edges.csv:2: the edge 0-20 joins graph 0 to graph 2; an edge must stay inside its graph" "$T/gb_cross.out" &&
   [ "$r2" = 1 ] && grep -q "gb_order/nodes.csv:3: node 1 is in graph 5 after a node of graph 0" "$T/gb_order.out" &&
   [ "$r3" = 1 ] && grep -q "gb_label/graphs.csv:4: the label must be an integer in \[0, 1000000), got 0.5" "$T/gb_label.out" &&
   [ $r4 -eq 1 ] && grep -q "gives one label per graph of a batch, i32\[N, 32\]: the output must be f32\[N, 32, classes\]" "$T/gb_g16.out"; then
  echo "graphs(dir): damaged files name file:line, a readout of another size than batch is a compile error: ok"; pass=$((pass+1))
else
  echo "FAIL graphs(dir) errors ($r1 $r2 $r3 $r4):"; cat "$T"/gb_*.out; fail=$((fail+1))
fi
# --resume replays the shuffled order: 2 epochs then --resume to 4 save the checkpoint of 4 straight
sed 's/epochs  = 30/epochs  = 4/' samples/gin_cycles.dln > "$T/gb_e4.dln"
sed 's/epochs  = 30/epochs  = 2/' samples/gin_cycles.dln > "$T/gb_e2.dln"
gbrun "$T/gb_e4.dln" --checkpoint "$T/gb_a.st" --quiet > "$T/gb_res.out" 2>&1 &&
  gbrun "$T/gb_e2.dln" --checkpoint "$T/gb_b.st" --quiet >> "$T/gb_res.out" 2>&1 &&
  gbrun "$T/gb_e4.dln" --checkpoint "$T/gb_b.st" --resume --quiet >> "$T/gb_res.out" 2>&1; rr=$?
if [ $rr -eq 0 ] && cmp -s "$T/gb_a.st" "$T/gb_b.st"; then
  echo "graphs(dir): 2 epochs then --resume to 4 give the checkpoint of 4 straight, byte for byte: ok"; pass=$((pass+1))
else
  echo "FAIL graphs(dir) resume ($rr):"; cat "$T/gb_res.out"; fail=$((fail+1))
fi
