# Sourced by tests/e2e/run.sh (needs B, T, pass, fail), or run alone:
#   sh tests/e2e/damaged_readers.sh [BUILD_DIR] [READER ...]
# Damaged files at every file reader of dlnc and libdlnrt, through the real
# commands: tests/e2e/damage.py makes ~20-30 variants of one valid file
# (truncations, bit flips in the magic and the body, size fields made huge and
# 0, NaN/inf/huge text fields, a 1 MB line, invalid UTF-8, a NUL byte, zero
# length, a directory, /dev/null, /dev/zero, a FIFO with no writer, a dangling
# symlink, a missing file, a symlink to the valid file) from the tiny inputs
# of tests/e2e/damage_fixtures.py, and checks each command: status 1 naming
# the file (0 allowed only where the variant may still be valid), no hang, no
# sanitizer report, no output file left. With BUILD_DIR=build-asan every
# reader runs under ASan + UBSan (docs/testing.md, "Damaged and hostile files"). --resume
# without a checkpoint file starts afresh (docs/language.md), so a missing or
# dangling one may pass; an image folder holds only its regular *.png files, so
# a PNG replaced by anything else is skipped, not an error; a damaged build cache
# entry (jit_so, jit_record) is rebuilt, so there every variant must pass. Sourced
# by run.sh (make test) it throws one variant of each kind at 34 readers
# (damage.py --quick); alone, or with DMG_FULL=1, all of them (836 runs, 2-3 min).
if [ -z "${pass+x}" ]; then   # run alone
  B=${1:-build}; [ $# -gt 0 ] && shift
  T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
  pass=0; fail=0; DMG_ALONE=1
fi
DMG_READERS="source idx_images idx_labels cifar csv csv_test csv_columns png text text_dir tokens graph_nodes graph_edges graph_eattr gset_graphs gset_nodes gset_edges gset_eattr seg_image seg_mask resume history init_from from_file explain export calibrate sample sample_text plot plot_steps plot_confusion jit_so jit_record"
[ -n "$DMG_ALONE" ] && [ $# -gt 0 ] && DMG_READERS="$*"
DMG_DL=$(cd "$B" && pwd)/dlnc
DMG=$T/dmg_fx
rm -rf "$DMG" && /usr/bin/python3 tests/e2e/damage_fixtures.py "$DMG"
export DLNC_CACHE="$T/dmg_cache"
# ASan: no leak reports (the driver reads only what it owns), and a bound on
# any single allocation so an unbounded read fails fast instead of eating memory.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=4096"
# A checkpoint, a history and an autoencoder checkpoint for the readers that take them.
(cd "$DMG/idx" && "$DMG_DL" run m.dln --max-steps 2 --quiet --checkpoint ck.st --history hist.csv > run.out 2>&1) \
  || { echo "FAIL damaged readers: the valid run failed"; cat "$DMG/idx/run.out"; }
sed 's|    epochs = 1|    epochs = 1\n    init_from = "ck.st"|' "$DMG/idx/m.dln" > "$DMG/idx/m_init.dln"
cat > "$DMG/idx/m_ff.dln" <<'DLN'
model f(image: f32[N, 1, 28, 28]) -> f32[N, 10] {
    param b: f32[10] = from_file("ck.st", "dense0.bias")
    return dense(flatten(image), 10) + b
}
DLN
cat > "$DMG/idx/ae.dln" <<'DLN'
model ae(image: f32[N, 1, 28, 28]) -> f32[N, 1, 28, 28] {
    return flatten(image) |> dense(16) |> relu |> dense(784) |> sigmoid |> reshape([-1, 1, 28, 28])
}
train ae {
    data   = fashion_mnist("fm", batch = 8)
    loss   = mse(output, image)
    epochs = 1
}
DLN
(cd "$DMG/idx" && "$DMG_DL" run ae.dln --max-steps 1 --quiet --checkpoint ae.st > ae.out 2>&1) \
  || { echo "FAIL damaged readers: the autoencoder run failed"; cat "$DMG/idx/ae.out"; }
rm -f "$DMG/idx/run.out" "$DMG/idx/ae.out"
# A confusion matrix (a classifier measuring accuracy writes one beside its history).
sed 's|    epochs = 1|    epochs = 1\n    metrics = [accuracy]|' "$DMG/idx/m.dln" > "$DMG/idx/m_acc.dln"
(cd "$DMG/idx" && "$DMG_DL" run m_acc.dln --quiet --history cm.csv > cm.out 2>&1 && rm -f cm.out cm.png cm.svg cm.confusion.png cm.confusion.svg) \
  || { echo "FAIL damaged readers: the accuracy run failed"; cat "$DMG/idx/cm.out"; }
# csv(columns = [...]): the columns a and id (integers, read by an i32 input) as fields of their own.
awk -F, 'NR == 1 { print "a,b,id,label"; next } { printf "%s,%s,%d,%s\n", $1, $2, NR % 5, $4 }' "$DMG/csv/c.csv" > "$DMG/csv/cc.csv"
cat > "$DMG/csv/m_cols.dln" <<'DLN'
model mc(a: f32[N], id: i32[N]) -> f32[N, 3] {
    return concat([unsqueeze(a, 1), embedding(id, 5, 2)], axis = 1) |> dense(3)
}
train mc {
    data   = csv("cc.csv", batch = 4, val_split = 0.25, columns = ["a", "id"])
    loss   = cross_entropy(output, label)
    epochs = 1
}
DLN
# A csv source's test = file; a text source that is a directory of files.
cp "$DMG/csv/c.csv" "$DMG/csv/t.csv"
sed 's|csv("c.csv", batch = 4, val_split = 0.25)|csv("c.csv", test = "t.csv", batch = 4)|' "$DMG/csv/m.dln" > "$DMG/csv/m_test.dln"
mkdir -p "$DMG/text/docs" && head -c 900 "$DMG/text/corpus.txt" > "$DMG/text/docs/a.txt" \
  && tail -c 900 "$DMG/text/corpus.txt" > "$DMG/text/docs/b.txt"
sed 's|text("corpus.txt"|text("docs"|' "$DMG/text/m.dln" > "$DMG/text/m_dir.dln"
# A build cache entry of dlnc run's own (model.so and model.so.sha256), made at -O0 to rebuild fast.
mkdir -p "$DMG/jit" && cp "$DMG/idx/m.dln" "$DMG/jit/" && ln -s "$DMG/idx/fm" "$DMG/jit/fm"
(cd "$DMG/jit" && DLNC_CACHE="$DMG/jit/jc" DLNC_CFLAGS=-O0 "$DMG_DL" run m.dln --max-steps 1 --quiet > jit.out 2>&1 && rm -f jit.out) \
  || { echo "FAIL damaged readers: the build cache run failed"; cat "$DMG/jit/jit.out"; }
DMG_JIT=$(cd "$DMG/jit" && ls -d jc/*/ | head -n 1)
# A character model's checkpoint, whose vocabulary dlnc sample reads back.
(cd "$DMG/text" && "$DMG_DL" run m.dln --max-steps 1 --quiet --checkpoint lm.st > lm.out 2>&1 && rm -f lm.out) \
  || { echo "FAIL damaged readers: the text model run failed"; cat "$DMG/text/lm.out"; }
# Outside ASan the commands get 4 GB of address space: an endless read fails there.
case "$B" in *asan*) DMG_LIMIT= ;; *) DMG_LIMIT="--mem-limit-mb 4096" ;; esac
DMG_LIMIT="$DMG_LIMIT --jobs 2"
[ -z "$DMG_ALONE" ] && [ -z "$DMG_FULL" ] && DMG_LIMIT="$DMG_LIMIT --quick"
# DMG_RANDOM=N: instead of the fixed variants, N random cuts and bit flips of
# each binary file per seed of DMG_SEEDS (default 1 to 5), e.g. every
# checkpoint reader: DMG_RANDOM=40 sh tests/e2e/damaged_readers.sh build resume init_from ...
dmg_run() {   # dmg_run READER DIR TARGET KIND [damage.py options] -- COMMAND...
  dmg_name=$1 dmg_dir=$2 dmg_target=$3 dmg_kind=$4; shift 4
  case " $DMG_READERS " in *" $dmg_name "*) ;; *) return 0 ;; esac
  dmg_seeds=-
  if [ -n "$DMG_RANDOM" ]; then
    [ "$dmg_kind" = binary ] || return 0
    dmg_seeds=${DMG_SEEDS:-1 2 3 4 5}
  fi
  for dmg_seed in $dmg_seeds; do
    dmg_opt=; [ "$dmg_seed" = - ] || dmg_opt="--random $DMG_RANDOM --seed $dmg_seed"
    # shellcheck disable=SC2086 # the options are words
    if /usr/bin/python3 tests/e2e/damage.py --quiet $DMG_LIMIT $dmg_opt --dir "$DMG/$dmg_dir" --target "$dmg_target" \
         --kind "$dmg_kind" "$@" > "$T/dmg_$dmg_name.out" 2>&1; then
      echo "damaged $dmg_name${dmg_opt:+ (seed $dmg_seed)}: $(tail -1 "$T/dmg_$dmg_name.out" | sed 's/^damage //'): ok"; pass=$((pass+1))
    else
      echo "FAIL damaged $dmg_name${dmg_opt:+ (seed $dmg_seed)}:"; cat "$T/dmg_$dmg_name.out"; fail=$((fail+1))
    fi
  done
}
RUN="$DMG_DL run m.dln --max-steps 2 --quiet --checkpoint out.st"
dmg_run source      csv   m.dln                          text   --output out.c -- $DMG_DL m.dln -o out.c
dmg_run idx_images  idx   fm/train-images-idx3-ubyte.gz  gzip   --output out.st --also-names "fm: " -- $RUN
dmg_run idx_labels  idx   fm/t10k-labels-idx1-ubyte.gz   gzip   --output out.st --also-names "fm: " -- $RUN
# CIFAR-10 has no header: its first bytes are a label and pixels, so flips and
# words written there may be valid data (a label > 9 is not), and a cut at a
# record boundary (here a quarter and half of 4 records) is a smaller valid file
dmg_run cifar       cifar cb/data_batch_1.bin            binary --output out.st --may-pass \
  flip-byte1,flip-byte3,u64le-0-zero,u32be-4-huge,u32be-4-zero,u32be-8-huge,truncated-quarter,truncated-half -- $RUN
dmg_run csv         csv   c.csv                          text   --output out.st -- $RUN
dmg_run csv_columns csv   cc.csv                         text   --output out.st -- $DMG_DL run m_cols.dln --max-steps 2 --quiet --checkpoint out.st
dmg_run png         img   png/a/1.png                    binary --output out.st --may-pass directory,fifo,dangling-symlink,missing,dev-null,dev-zero -- $RUN
dmg_run text        text  corpus.txt                     text   --output out.st -- $RUN
dmg_run tokens      tok   ids.txt                        text   --output out.st -- $RUN
dmg_run graph_nodes graph g/nodes.csv                    text   --output out.st -- $RUN
dmg_run graph_edges graph g/edges.csv                    text   --output out.st -- $RUN
dmg_run gset_graphs gset  gs/graphs.csv                  text   --output out.st -- $RUN
dmg_run gset_nodes  gset  gs/nodes.csv                   text   --output out.st -- $RUN
dmg_run gset_edges  gset  gs/edges.csv                   text   --output out.st -- $RUN
# edge features: edges.csv's columns after source,target, read as edge_attr
dmg_run graph_eattr graph ge/edges.csv                   text   --output out.st -- $DMG_DL run m_ea.dln --max-steps 2 --quiet --checkpoint out.st
# segmentation pairs: an image folder holds its regular *.png (a replaced image is skipped, as for
# image_folder); a mask is looked up by its image's name, so every damaged mask is an error
dmg_run seg_image   seg   img/1.png                      binary --output out.st --may-pass directory,fifo,dangling-symlink,missing,dev-null,dev-zero -- $RUN
dmg_run seg_mask    seg   mask/1.png                     binary --output out.st -- $RUN
dmg_run gset_eattr  gset  ge/edges.csv                   text   --output out.st -- $DMG_DL run m_ea.dln --max-steps 2 --quiet --checkpoint out.st
dmg_run resume      idx   ck.st                          binary --may-pass missing,dangling-symlink -- $DMG_DL run m.dln --max-steps 3 --quiet --checkpoint ck.st --resume
# --history of a resumed run is appended to (a fresh run's is rewritten): an output, but named by the
# user, so a FIFO nobody reads must not block, a directory is refused; /dev/null, a missing file may take it
dmg_run history     idx   hist.csv                       text   --may-pass zero-length,missing,dangling-symlink,dev-null,dev-zero \
  -- $DMG_DL run m.dln --max-steps 3 --quiet --checkpoint ck.st --resume --history hist.csv
dmg_run init_from   idx   ck.st                          binary --output out.st -- $DMG_DL run m_init.dln --max-steps 1 --quiet --checkpoint out.st
dmg_run from_file   idx   ck.st                          binary --output out.c -- $DMG_DL m_ff.dln -o out.c
dmg_run explain     idx   ck.st                          binary -- $DMG_DL explain m.dln --checkpoint ck.st --attack fgsm --eps 0.1
dmg_run export      idx   ck.st                          binary --output out.c -- $DMG_DL export m.dln --checkpoint ck.st -o out.c
dmg_run sample      idx   ae.st                          binary --output g.png -- $DMG_DL sample ae.dln --checkpoint ae.st --grid g.png --count 4
dmg_run plot        idx   hist.csv                       text   --output h.png -- $DMG_DL plot hist.csv -o h.png
# the per-step losses beside a history are optional: missing, it draws without them
dmg_run plot_steps  idx   hist.steps.csv                 text   --output h.png --may-pass missing,dangling-symlink -- $DMG_DL plot hist.csv -o h.png
dmg_run plot_confusion idx cm.confusion.csv              text   --output c.png -- $DMG_DL plot cm.confusion.csv -o c.png
dmg_run csv_test    csv   t.csv                          text   --output out.st -- $DMG_DL run m_test.dln --max-steps 2 --quiet --checkpoint out.st
# a text directory holds its regular files: a FIFO or directory in it is skipped, not read
dmg_run text_dir    text  docs/b.txt                     text   --output out.st --also-names "docs" \
  --may-pass directory,fifo,dangling-symlink,missing,dev-null,dev-zero,zero-length -- $DMG_DL run m_dir.dln --max-steps 2 --quiet --checkpoint out.st
dmg_run sample_text text  lm.st                          binary -- $DMG_DL sample m.dln --checkpoint lm.st --length 8 --prompt "the "
# a damaged cache entry is rebuilt (status 0, a warning), never loaded: every variant must pass
# but a directory in its place, which the rename of the new one cannot replace (status 1, named)
DMG_JRUN="env DLNC_CACHE={}/jc DLNC_CFLAGS=-O0 $DMG_DL run m.dln --max-steps 1 --quiet"
dmg_run jit_so      jit   "${DMG_JIT}model.so"           binary --rebuilds --may-pass directory -- $DMG_JRUN
dmg_run jit_record  jit   "${DMG_JIT}model.so.sha256"    text   --rebuilds --may-pass directory -- $DMG_JRUN
# export --int8 --calibrate reads training images through the data reader
dmg_run calibrate   idx   fm/train-images-idx3-ubyte.gz  gzip   --output out.c --also-names "fm: " -- $DMG_DL export m.dln --checkpoint ck.st -o out.c --int8 --calibrate 8
unset DLNC_CACHE ASAN_OPTIONS
if [ -n "$DMG_ALONE" ]; then echo "damaged readers: $pass passed, $fail failed"; [ $fail -eq 0 ]; fi
