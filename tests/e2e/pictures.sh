# tests/e2e/pictures.sh — the pictures of a run (issue 16 item 3):
#   - `dlnc run --history` on a small classifier with a validation split
#     writes the per-step losses, the curves and the confusion matrix (PNG of
#     the stated size, well-formed SVG) and prints the matrix labelled val;
#   - `dlnc plot` redraws the very same bytes from the CSVs; -o picks the
#     format by extension;
#   - a damaged history is exit 1 with file:line, and leaves no picture;
#   - `dlnc plot` usage errors are exit 2, and `dlnc --help` lists every
#     subcommand;
#   - `dlnc --emit=dot` of every sample is read by Graphviz's dot.
# Needs xmllint (libxml2-utils) and dot (graphviz), as .ci/run installs.
# Sourced by run.sh after the run driver's checks (uses $D, the absolute
# dlnc, $DLNC, $T with two.dln and two.csv, $pass, $fail).

pic_ok() { echo "pictures: $1: ok"; pass=$((pass+1)); }
pic_fail() { echo "FAIL pictures: $1"; [ -f "$2" ] && tail -5 "$2"; fail=$((fail+1)); }
# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk, after checking the signature.
png_size() {
  [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "not-a-png"; return; }
  od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d", (($1*256+$2)*256+$3)*256+$4, (($5*256+$6)*256+$7)*256+$8 }'
}
need() { command -v "$1" >/dev/null 2>&1 || { pic_fail "'$1' is not installed (apt-get install $2)"; return 1; }; }

mkdir -p "$T/pic"
cp "$T/two.csv" "$T/pic/"
(cd "$T/pic" && DLNC_CACHE="$T/cache" "$D" run --model a --history h.csv ../two.dln) > "$T/pic.out" 2>&1; rc=$?
steps=$(sed -n 's/^done: 2 epochs, \([0-9]*\) steps.*/\1/p' "$T/pic.out")
if [ $rc -eq 0 ] && grep -q "^confusion matrix (val; rows: true class, columns: predicted class):$" "$T/pic.out" \
   && [ -n "$steps" ] && [ "$(wc -l < "$T/pic/h.steps.csv")" -eq $((steps + 1)) ] \
   && head -1 "$T/pic/h.csv" | grep -q "^epoch,train_loss,val_loss,val_acc,seconds$" \
   && [ "$(png_size "$T/pic/h.png")" = 800x712 ] && [ "$(png_size "$T/pic/h.confusion.png")" != not-a-png ] \
   && head -1 "$T/pic/h.confusion.csv" | grep -q "^true_class,pred_0,pred_1$"; then
  pic_ok "dlnc run --history: per-step losses, curves, confusion matrix"
else pic_fail "dlnc run --history (exit $rc)" "$T/pic.out"; ls -l "$T/pic"; fi

if need xmllint libxml2-utils; then
  if xmllint --noout "$T/pic/h.svg" "$T/pic/h.confusion.svg" 2>"$T/pic.xml"; then pic_ok "the SVGs are well-formed XML"
  else pic_fail "SVG not well-formed" "$T/pic.xml"; fi
fi

# Redrawing gives the same bytes: the run drew its pictures from the same CSVs.
for f in h.png h.svg h.confusion.png h.confusion.svg; do cp "$T/pic/$f" "$T/pic/run-$f"; rm "$T/pic/$f"; done
if "$D" plot "$T/pic/h.csv" && "$D" plot "$T/pic/h.confusion.csv" \
   && cmp -s "$T/pic/h.png" "$T/pic/run-h.png" && cmp -s "$T/pic/h.svg" "$T/pic/run-h.svg" \
   && cmp -s "$T/pic/h.confusion.png" "$T/pic/run-h.confusion.png" \
   && cmp -s "$T/pic/h.confusion.svg" "$T/pic/run-h.confusion.svg"; then
  pic_ok "dlnc plot redraws the run's pictures byte for byte"
else pic_fail "dlnc plot redraw differs"; fi
"$D" plot -o "$T/pic/x.svg" "$T/pic/h.csv" && "$D" plot "$T/pic/h.csv" -o "$T/pic/x.png"; rc=$?
"$D" plot "$T/pic/h.csv" -o "$T/pic/x.gif" 2>"$T/pic.gif"; rc2=$?
if [ $rc -eq 0 ] && [ "$(png_size "$T/pic/x.png")" = 800x712 ] && grep -q "^<svg " "$T/pic/x.svg" \
   && [ $rc2 -eq 1 ] && grep -q "x.gif: a picture is written as .png or .svg" "$T/pic.gif" && [ ! -e "$T/pic/x.gif" ]; then
  pic_ok "dlnc plot -o: .png, .svg, anything else refused"
else pic_fail "dlnc plot -o ($rc $rc2)" "$T/pic.gif"; fi

# Damaged histories: a field that is not a number, a run cut mid-line.
sed '3s/,[^,]*$/,oops/' "$T/pic/h.csv" > "$T/pic/bad.csv"
"$D" plot "$T/pic/bad.csv" 2>"$T/pic.bad"; rc=$?
{ head -2 "$T/pic/h.csv"; printf '2,0.5,0.4'; } > "$T/pic/cut.csv"
"$D" plot "$T/pic/cut.csv" 2>"$T/pic.cut"; rc2=$?
if [ $rc -eq 1 ] && grep -q "^dlnc: error: $T/pic/bad.csv:3: column 5 (seconds): 'oops' is not a number$" "$T/pic.bad" \
   && [ $rc2 -eq 1 ] && grep -q "^dlnc: error: $T/pic/cut.csv:3: 3 fields, but the header names 5 columns$" "$T/pic.cut" \
   && [ ! -e "$T/pic/bad.png" ] && [ ! -e "$T/pic/cut.png" ]; then
  pic_ok "a damaged history: exit 1, file:line, no picture"
else pic_fail "damaged history ($rc $rc2)" "$T/pic.bad"; cat "$T/pic.cut"; fi

"$D" plot >/dev/null 2>&1; rc=$?
"$D" plot --bogus "$T/pic/h.csv" >/dev/null 2>&1; rc2=$?
"$D" plot -h > "$T/pic.help"; rc3=$?
"$D" --help > "$T/dlnc.help"; rc4=$?
if [ $rc -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 0 ] && grep -q "^usage: dlnc plot" "$T/pic.help" && [ $rc4 -eq 0 ] \
   && grep -q "^usage: dlnc \[options\] model.dln" "$T/dlnc.help" && grep -q "^ *dlnc run \[options\]" "$T/dlnc.help" \
   && grep -q "^ *dlnc plot " "$T/dlnc.help" && grep -q "emit=ast|ir|c|dot" "$T/dlnc.help"; then
  pic_ok "dlnc plot usage errors exit 2; dlnc --help lists dlnc, dlnc run, dlnc plot"
else pic_fail "usage ($rc $rc2 $rc3 $rc4)" "$T/dlnc.help"; fi

# The model graph of every sample, through Graphviz.
if need dot graphviz && need xmllint libxml2-utils; then
  bad=""
  for f in samples/*.dln; do
    $DLNC --emit=dot "$f" > "$T/g.dot" && dot -Tsvg "$T/g.dot" > "$T/g.svg" 2>"$T/g.err" && [ ! -s "$T/g.err" ] \
      && xmllint --noout "$T/g.svg" || bad="$bad $f"
  done
  if [ -z "$bad" ] && [ "$($DLNC --emit=dot samples/lenet5.dln | grep -c -- ' -> ')" -ge 8 ]; then
    pic_ok "dlnc --emit=dot: Graphviz reads every sample's graph"
  else pic_fail "dlnc --emit=dot:$bad" "$T/g.err"; fi
fi
