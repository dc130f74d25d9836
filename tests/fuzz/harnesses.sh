# tests/fuzz/harnesses.sh — the table of harnesses, sourced by run.sh and
# coverage.sh: a new harness tests/fuzz/fuzz_<name>.c gets its flags, seeds
# and measured sources here, and nowhere else.

# Every harness: tests/fuzz/fuzz_<name>.c.
harness_names() { for f in tests/fuzz/fuzz_*.c; do n=${f#tests/fuzz/fuzz_}; echo "${n%.c}"; done; }

# Seconds of fuzzing in make test, after the corpus replay: the compiler,
# with by far the most code, gets the most.
harness_test_seconds() { case $1 in compiler) echo 8 ;; *) echo 2 ;; esac; }

# libFuzzer flags: dictionaries, and input sizes that fit the format.
harness_flags() {
  case $1 in
    compiler) echo "-dict=tests/fuzz/dln.dict -max_len=8192" ;;
    safetensors) echo "-dict=tests/fuzz/safetensors.dict -max_len=2048" ;;
    png) echo "-dict=tests/fuzz/png.dict -max_len=2048" ;;
    segment) echo "-dict=tests/fuzz/png.dict -max_len=4096" ;;   # an image and its mask
    cifar) echo "-max_len=6200" ;;   # two 3073-byte records and a little
    *) echo "-max_len=2048" ;;
  esac
}

# harness_seeds NAME DIR: seeds besides tests/fuzz/corpus/NAME, copied into
# DIR (libFuzzer takes directories); prints DIR, or nothing if there are none.
# The compiler's are the .dln files already in the tree.
harness_seeds() {
  [ "$1" = compiler ] || return 0
  rm -rf "$2" && mkdir -p "$2"
  for f in samples/*.dln tests/golden/*.dln tests/fuzz/seeds/*.dln tests/fuzz/regress/*.dln; do
    cp "$f" "$2/$(echo "$f" | tr / _)"
  done
  echo "$2"
}

# The sources whose line coverage coverage.sh reports for the harness.
harness_sources() {
  case $1 in
    compiler) echo compiler/ ;;
    safetensors) echo runtime/safetensors.c runtime/json.c ;;
    idx) echo runtime/data_idx.c runtime/gzstream.c ;;
    csv | csv_columns) echo runtime/data_csv.c ;;
    cifar) echo runtime/data_cifar.c ;;
    png | segment) echo runtime/data_image.c ;;
    history) echo runtime/numtable.c runtime/pictures.c runtime/plot_history.c ;;
    graphset) echo runtime/graphset_read.c runtime/graph_read.c runtime/numtable.c ;;
    text) echo runtime/text_read.c runtime/text_corpus.c runtime/text_tokens.c runtime/text_vocab.c runtime/text_batch.c ;;
  esac
}
