# Sourced by tests/e2e/run.sh (needs B, T, pass, fail): graphs end to end.
# The karate club sample trains from its shipped files (4 labelled members)
# and reports validation accuracy per epoch and test accuracy at the end; on
# the stochastic block model the GCN beats the same training without the
# edges (samples/mlp_sbm.dln) by a wide margin after 100 full-batch steps; a
# damaged edge file stops the run with its file:line and status 1; a model
# whose edge list has the nodes' length V is a compile error naming the field.
DL=$(cd "$B" && pwd)/dlnc
grun() { DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$DL" run "$@"; }
acc() { sed -n "s/.*$1 \([0-9.]*\)%.*/\1/p" "$2" | tail -1; }
grun samples/gcn_karate.dln > "$T/karate.out" 2>&1; rk=$?
grun samples/gcn_sbm.dln --max-steps 100 > "$T/gsbm.out" 2>&1; rg=$?
grun samples/mlp_sbm.dln --max-steps 100 > "$T/msbm.out" 2>&1; rm_=$?
kt=$(acc test_acc "$T/karate.out"); gt=$(acc test_acc "$T/gsbm.out"); mt=$(acc test_acc "$T/msbm.out")
if [ $rk -eq 0 ] && [ $rg -eq 0 ] && [ $rm_ -eq 0 ] && grep -q "val_acc .*test_acc .*(24 test nodes)" "$T/karate.out" &&
   awk -v k="$kt" -v g="$gt" -v m="$mt" 'BEGIN { exit !(k >= 75 && g >= m + 10) }'; then
  echo "graphs: karate test $kt%, SBM GCN $gt% vs features alone $mt% after 100 steps: ok"; pass=$((pass+1))
else
  echo "FAIL graphs (karate $rk $kt, gcn $rg $gt, mlp $rm_ $mt):"; tail -3 "$T/karate.out" "$T/gsbm.out" "$T/msbm.out"; fail=$((fail+1))
fi
mkdir -p "$T/badgraph"
cp samples/data/karate/nodes.csv "$T/badgraph/"
printf 'source,target\n0,1\n1,34\n' > "$T/badgraph/edges.csv"
sed "s|samples/data/karate|$T/badgraph|" samples/gcn_karate.dln > "$T/badgraph.dln"
grun "$T/badgraph.dln" > "$T/badgraph.out" 2>&1; rb=$?
sed 's/src: i32\[N, E\], dst: i32\[N, E\]/src: i32[N, V], dst: i32[N, V]/' samples/gcn_karate.dln > "$T/vsrc.dln"
"$DL" "$T/vsrc.dln" -o "$T/vsrc.c" > "$T/vsrc.out" 2>&1; rf=$?
if [ $rb -eq 1 ] && grep -q "badgraph/edges.csv:3: the target node must be an integer in \[0, 34), got 34" "$T/badgraph.out" &&
   [ $rf -eq 1 ] && grep -q "vsrc.dln:5:.*error: model input 'src' is i32\[N, V\] but the data field 'src' it reads is i32\[N, E\], one node index per edge" "$T/vsrc.out"; then
  echo "graphs: a damaged edge file and an edge input of length V are clear errors: ok"; pass=$((pass+1))
else
  echo "FAIL graph errors ($rb, $rf):"; cat "$T/badgraph.out" "$T/vsrc.out"; fail=$((fail+1))
fi
# A link predictor on a graph source (tests/e2e/gae_sbm.dln: negatives from randint(src, V)) has no
# per-node classes: the run ends with the test loss, not a "test_acc nan%", and the loss falls.
grun tests/e2e/gae_sbm.dln --epochs 30 > "$T/gae.out" 2>&1; ra=$?
l1=$(sed -n 's/^epoch *1\/30  loss \([0-9.]*\).*/\1/p' "$T/gae.out"); l30=$(sed -n 's/.*val_loss \([0-9.]*\), test_loss.*/\1/p' "$T/gae.out")
if [ $ra -eq 0 ] && grep -q "test_loss [0-9.]* (20 test nodes)" "$T/gae.out" && ! grep -q "nan" "$T/gae.out" &&
   awk -v a="$l1" -v b="$l30" 'BEGIN { exit !(b < a - 0.05) }'; then
  echo "graphs: a graph autoencoder with randint(src, V) negatives trains ($l1 -> $l30), ends with its test loss: ok"; pass=$((pass+1))
else
  echo "FAIL graph autoencoder ($ra, $l1 -> $l30):"; tail -3 "$T/gae.out"; fail=$((fail+1))
fi
