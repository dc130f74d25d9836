# gpt_pairs.sh — sourced by the GPT batch-1 scripts (gpt1_batch1.sh, gpa_batch1.sh): builds the
# base commit and both sides' benchmark binaries, and runs old/new binaries alternating.
# Needs X (the work directory) set; NICE (e.g. "nice -n 5") optional.

# gpt_build BASE: BASE's dlnc and runtime in $X/old (kept when already built from BASE), then
# bench_main and forward_cpu binaries of gpt and gpt_composed in $X/{old,new}.
gpt_build() {
  mkdir -p $X/old $X/new
  if [ ! -x $X/old/build/dlnc ] || [ "$(cat $X/old/.base 2>/dev/null)" != "$1" ]; then
    rm -rf $X/old; mkdir -p $X/old
    git archive "$1" | tar -x -C $X/old
    (cd $X/old && $NICE make -j2 build/dlnc build/libdlnrt.a >/dev/null 2>&1)
    echo "$1" > $X/old/.base
  fi
  for W in gpt gpt_composed; do
    for side in old new; do
      R=$X/old; [ $side = new ] && R=.
      "$R/build/dlnc" bench/workloads/$W.dln -o $X/$side/$W.c
      cc -std=c11 -O3 -march=native -fopenmp -I$R/runtime -I$X/$side $R/bench/bench_main.c $X/$side/$W.c \
         $R/build/libdlnrt.a -o $X/$side/$W -lpng -lz -lm
      cc -std=c11 -O3 -march=native -fopenmp -I$R/runtime -Ibench -I$X/$side bench/forward_cpu.c $X/$side/$W.c \
         $R/build/libdlnrt.a -o $X/$side/${W}_cpu -lpng -lz -lm
    done
  done
}

# pairs WHAT ROUNDS THREADS BINARY-SUFFIX ARGS...: $X/{old,new}/$W$suffix alternating, ROUNDS times.
pairs() {
  what=$1; rounds=$2; threads=$3; suffix=$4; shift 4
  echo "## $what: OMP_NUM_THREADS=$threads {old,new}/W$suffix $*  ($(date -u +%T), uptime:$(uptime))"
  i=1
  while [ $i -le $rounds ]; do
    for side in old new; do
      printf '%s round %d %s: %s\n' "$what" $i $side "$(OMP_NUM_THREADS=$threads $NICE $X/$side/$W$suffix "$@")"
    done
    i=$((i+1))
  done
}
