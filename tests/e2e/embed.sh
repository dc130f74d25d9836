# Sourced by tests/e2e/run.sh after search.sh (uses $B, $T, pass, fail and
# search.sh's $T/lin.dln): `dlnc sample --pca`, a picture of a model output's
# two principal components over the evaluation images, coloured by class.
# A 50-step checkpoint, then the PNG and the SVG (well-formed, a disc per
# image plus the legend's ten), t-SNE of 100 points twice to the same SVG,
# and an unknown --output refused. ~4 s.
if [ -d /usr/share/datasets/fashion-mnist ]; then
  D=$(cd "$B" && pwd)/dlnc
  (cd "$T" && DLNC_CACHE="$T/cache" OMP_NUM_THREADS=1 "$D" run lin.dln --max-steps 50 --quiet --checkpoint lin.st \
     && DLNC_CACHE="$T/cache" "$D" sample lin.dln --checkpoint lin.st --pca lin_pca.png --count 300 \
     && DLNC_CACHE="$T/cache" "$D" sample lin.dln --checkpoint lin.st --pca lin_pca.svg --count 300 --output output) \
    > "$T/pca.out" 2>&1; rce1=$?
  (cd "$T" && DLNC_CACHE="$T/cache" "$D" sample lin.dln --checkpoint lin.st --pca x.png --output emb) > "$T/pca2.out" 2>&1; rce2=$?
  (cd "$T" && for k in 1 2; do DLNC_CACHE="$T/cache" "$D" sample lin.dln --checkpoint lin.st --tsne t$k.svg --count 100 \
     --seed 3 || exit 1; done) > "$T/tsne.out" 2>&1; rce3=$?
  discs=$(grep -c "<circle" "$T/lin_pca.svg" 2>/dev/null)
  if [ $rce1 -eq 0 ] && [ "$(grep -c "^PCA of 'output' (10 values) over 300 validation images: PC1 [0-9.]*%, PC2 [0-9.]*% of the variance; wrote lin_pca\.\(png\|svg\)$" "$T/pca.out")" = 2 ] \
     && [ "$(head -c 8 "$T/lin_pca.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
     && xmllint --noout "$T/lin_pca.svg" && [ "$discs" = 310 ] \
     && [ $rce2 -eq 1 ] && grep -q "^dlnc: error: --output emb: model 'lin' has no such output (its outputs: 'output')$" "$T/pca2.out" \
     && [ ! -e "$T/x.png" ] && [ $rce3 -eq 0 ] && cmp -s "$T/t1.svg" "$T/t2.svg" && xmllint --noout "$T/t1.svg" \
     && grep -q "^t-SNE of 'output' (10 values) over 100 validation images, perplexity 30, 1000 iterations, seed 3; wrote t2.svg$" "$T/tsne.out"; then
    echo "dlnc sample --pca, --tsne: PNG and SVG of 300 points and a legend, t-SNE twice the same; an unknown output refused: ok"; pass=$((pass+1))
  else
    echo "FAIL dlnc sample --pca/--tsne ($rce1 $rce2 $rce3, $discs discs):"; cat "$T/pca.out" "$T/pca2.out" "$T/tsne.out"; fail=$((fail+1))
  fi
fi
