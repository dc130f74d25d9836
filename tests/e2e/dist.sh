# tests/e2e/dist.sh — data-parallel training under mpirun (issue 17):
#   - P = 1, 2 and 4 ranks train tests/e2e/dist_mlp.dln 30 steps from one
#     seed: `mpirun -np 1` saves the bytes of a plain run, P = 2 and 4 the
#     same loss at every step (relative 1e-4) and parameters within 1e-4;
#   - the four ranks of the P = 4 run build the model into one empty cache
#     at once (atomic renames): all load it, no rebuild warning;
#   - a rank whose data is missing (its own working directory) ends the job
#     with the reason on every rank and a non-zero exit;
#   - a NaN from the rows of one rank (its copy of a CSV overflows) stops
#     every rank at that step with that rank's message;
#   - ranks started with other options (--epochs) stop at the start, both
#     saying how they differ, instead of waiting for each other;
#   - a GAN section (steps) is refused on every rank;
#   - a training binary of one's own (dist_main.c) linked with
#     libdlnrt_mpi.a trains on 2 ranks;
#   - a rank killed mid-run ends the job (the others say so), the last
#     checkpoint loads, and --resume on two ranks continues from it.
# Sourced by run.sh (uses $DLNC, $T, $pass, $fail), or alone:
#   sh tests/e2e/dist.sh [BUILD_DIR]
if [ -z "$DLNC" ]; then
  DLNC=${1:-build}/dlnc; T=$(mktemp -d); trap 'rm -rf "$T"' EXIT; pass=0; fail=0; dist_alone=1
fi
# the processes whose parent is $1 (no pgrep: procps may be missing in CI)
dist_children() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '$4 == p { print $1 }'
}
dist_ok() { echo "dist: $1: ok"; pass=$((pass+1)); }
dist_fail() { echo "FAIL dist: $1"; [ -f "$2" ] && tail -20 "$2"; fail=$((fail+1)); }
FM=/usr/share/datasets/fashion-mnist
if ! command -v mpirun >/dev/null 2>&1; then
  echo "skip data-parallel training (no mpirun: apt-get install openmpi-bin libopenmpi-dev)"
elif [ ! -d "$FM" ]; then
  echo "skip data-parallel training (no Fashion-MNIST in $FM)"
else
  # only here: OpenMPI refuses root without them (CI runs as root)
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  dist_dl=$(cd "$(dirname "$DLNC")" && pwd)/dlnc; dist_m=$(pwd)/tests/e2e/dist_mlp.dln
  dist_w=$T/dist_w; mkdir -p "$dist_w/nodata"; ln -sfn "$FM" "$dist_w/fm"
  mrun() { (cd "$dist_w" && OMP_NUM_THREADS=1 DLNC_CACHE=${DCACHE:-$T/dist_cache} mpirun --oversubscribe -x DLNC_CACHE -x OMP_NUM_THREADS "$@"); }

  # P = 1 without and with mpirun, then 2 and 4 (4 into an empty cache)
  (cd "$dist_w" && OMP_NUM_THREADS=1 DLNC_CACHE=$T/dist_cache "$dist_dl" run "$dist_m" --max-steps 30 --checkpoint "$T/d0.st" \
     --history "$T/d0.csv") >"$T/d0.out" 2>&1
  dist_all=1
  for p in 1 2 4; do
    [ $p = 4 ] && DCACHE=$T/dist_cache4 || DCACHE=
    DCACHE=$DCACHE mrun -np $p "$dist_dl" run "$dist_m" --max-steps 30 --checkpoint "$T/d$p.st" --history "$T/d$p.csv" \
      >"$T/d$p.out" 2>&1 || { dist_all=0; dist_fail "P = $p run" "$T/d$p.out"; }
  done
  if [ $dist_all = 1 ] && cmp -s "$T/d0.st" "$T/d1.st" && cmp -s "$T/d0.steps.csv" "$T/d1.steps.csv"; then
    dist_ok "mpirun -np 1 trains to the bytes of a plain run"
  else dist_fail "mpirun -np 1 differs from a plain run" "$T/d1.out"; fi
  for p in 2 4; do
    # every step's loss within 1e-4 (relative) of P = 1's, and the parameters within 1e-4
    worst=$(awk -F, 'NR == FNR { if (FNR > 1) l[$1] = $3; next }
      FNR > 1 { d = $3 - l[$1]; if (d < 0) d = -d; r = d / (l[$1] > 0 ? l[$1] : 1); if (r > w) w = r; n++ }
      END { printf "%.3g %d", w, n }' "$T/d0.steps.csv" "$T/d$p.steps.csv" 2>/dev/null)
    if [ $dist_all = 1 ] && grep -q "data-parallel: $p ranks" "$T/d$p.out" && [ "${worst#* }" = 30 ] \
       && awk -v w="${worst% *}" 'BEGIN { exit !(w <= 1e-4) }' \
       && python3 tests/e2e/st_close.py "$T/d0.st" "$T/d$p.st" 1e-4 >"$T/d$p.cmp"; then
      dist_ok "P = $p agrees with P = 1 (30 steps: loss within ${worst% *} relative, parameters $(cat "$T/d$p.cmp"))"
    else dist_fail "P = $p disagrees with P = 1 (loss ${worst% *}, $(cat "$T/d$p.cmp" 2>/dev/null))" "$T/d$p.out"; fi
  done
  if [ $dist_all = 1 ] && ! grep -q '^dlnc: warning' "$T/d4.out" && [ "$(ls "$T/dist_cache4" | wc -l)" = 1 ]; then
    dist_ok "4 ranks build one model into an empty cache at once"
  else dist_fail "4 ranks building into one cache" "$T/d4.out"; fi

  # a training binary of one's own: the generated C, linked with libdlnrt_mpi.a
  B_DIR=$(dirname "$DLNC")
  if "$DLNC" "$dist_m" -o "$T/dist_m.c" \
     && cc -std=c11 -O2 -fopenmp -Wall -Wextra -Werror -Iruntime -I"$T" tests/e2e/dist_main.c "$T/dist_m.c" \
          -Wl,--whole-archive "$B_DIR/libdlnrt_mpi.a" -Wl,--no-whole-archive "$B_DIR/libdlnrt.a" \
          $(mpicc --showme:link) -lpng -lz -lm -o "$T/dist_main" >"$T/dmain.out" 2>&1 \
     && mrun -np 2 "$T/dist_main" >>"$T/dmain.out" 2>&1 && grep -q 'data-parallel: 2 ranks' "$T/dmain.out"; then
    dist_ok "a training binary linked with libdlnrt_mpi.a trains on 2 ranks"
  else dist_fail "a training binary on 2 ranks" "$T/dmain.out"; fi

  # a rank without its data: the reason on every rank, non-zero exit, no checkpoint
  mrun -np 1 "$dist_dl" run "$dist_m" --checkpoint "$T/miss.st" : -np 1 --wdir "$dist_w/nodata" "$dist_dl" run "$dist_m" \
    --checkpoint "$T/miss.st" >"$T/miss.out" 2>&1; rc=$?
  if [ $rc -ne 0 ] && [ "$(grep -c '^dlnc: error: rank 1 of 2: fm: no train-images' "$T/miss.out")" = 2 ] \
     && [ ! -f "$T/miss.st" ]; then
    dist_ok "a rank without its data file stops every rank (exit $rc)"
  else dist_fail "a rank without its data file (exit $rc)" "$T/miss.out"; fi

  # rank 1's copy of the data has a row of 3e38 in its half of the first batch: the
  # global loss is NaN on both ranks, both stop at that step naming rank 1, no checkpoint
  mkdir -p "$dist_w/c0" "$dist_w/c1"
  awk 'BEGIN { for (i = 0; i < 128; i++) printf "%g,%g,%g,%g,%d\n", i % 7 / 7, i % 5 / 5, i % 3 / 3, i % 11 / 11, i % 3 }' \
    >"$dist_w/c0/d.csv"
  awk -F, 'NR == 64 { $1 = $2 = $3 = $4 = "3e38" } { print }' OFS=, "$dist_w/c0/d.csv" >"$dist_w/c1/d.csv"
  dist_c=$(pwd)/tests/e2e/dist_csv.dln
  mrun -np 1 --wdir "$dist_w/c0" "$dist_dl" run "$dist_c" --checkpoint "$T/nan.st" \
    : -np 1 --wdir "$dist_w/c1" "$dist_dl" run "$dist_c" --checkpoint "$T/nan.st" >"$T/nan.out" 2>&1; rc=$?
  if [ $rc -ne 0 ] && [ ! -f "$T/nan.st" ] && [ "$(grep -c '^dlnc: error: rank 1 of 2: non-finite loss (nan) at epoch 1, step 1 (batch 1 of 2); no checkpoint was written$' "$T/nan.out")" = 2 ]; then
    dist_ok "a NaN from one rank's rows stops both at that step, naming the rank (exit $rc)"
  else dist_fail "a NaN from one rank's rows (exit $rc)" "$T/nan.out"; fi

  # ranks that disagree on the run (here the epochs) would wait for each other forever: refused on both
  mrun -np 1 "$dist_dl" run "$dist_m" --epochs 2 : -np 1 "$dist_dl" run "$dist_m" --epochs 3 >"$T/other.out" 2>&1; rc=$?
  if [ $rc -ne 0 ] && [ "$(grep -c '^dlnc: error: rank 1 of 2: epochs 3 there, 2 on rank 0' "$T/other.out")" = 2 ]; then
    dist_ok "ranks running different runs stop at the start (exit $rc)"
  else dist_fail "ranks running different runs (exit $rc)" "$T/other.out"; fi

  # what is not supported yet is refused on every rank: a section with steps (a GAN)
  mrun -np 2 "$dist_dl" run "$(pwd)/tests/e2e/gan.dln" --max-steps 2 >"$T/gan2.out" 2>&1; rc=$?
  if [ $rc -ne 0 ] && [ "$(grep -c '^dlnc: error: a train section with steps is not supported in a data-parallel run' "$T/gan2.out")" = 2 ]; then
    dist_ok "a GAN section on 2 ranks is refused on both (exit $rc)"
  else dist_fail "a GAN section on 2 ranks (exit $rc)" "$T/gan2.out"; fi

  # a rank killed after the first checkpoint: the job ends, the checkpoint stays valid, --resume continues
  mrun -np 2 "$dist_dl" run "$dist_m" --epochs 100 --checkpoint "$T/kill.st" >"$T/kill.out" 2>&1 &
  mp=$!
  i=0; while [ ! -f "$T/kill.st" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  # rank 1: the process below mpirun (below the subshells) that OpenMPI numbered 1
  victim=; ps=$mp
  for level in 1 2 3 4; do
    ps=$(for q in $ps; do dist_children "$q"; done)
    for c in $ps; do
      tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$c
    done
  done
  [ -n "$victim" ] && kill -9 "$victim"
  wait $mp; rc=$?
  # the epochs the checkpoint holds (rank 0's buffered output died with it)
  done_epochs=$(cd "$dist_w" && OMP_NUM_THREADS=1 DLNC_CACHE=$T/dist_cache "$dist_dl" run "$dist_m" --epochs 1 --resume \
    --checkpoint "$T/kill.st" 2>&1 | sed -n 's/^resuming from .*: \([0-9]*\) epochs\{0,1\},.*/\1/p')
  done_epochs=${done_epochs:-0}
  if [ -n "$victim" ] && [ $rc -ne 0 ] && grep -q 'rank 0 of 2: ended by mpirun' "$T/kill.out" \
     && mrun -np 2 "$dist_dl" run "$dist_m" --epochs $((done_epochs + 1)) --checkpoint "$T/kill.st" --resume >"$T/res.out" 2>&1 \
     && grep -q "resuming from $T/kill.st" "$T/res.out" && grep -q "done: $((done_epochs + 1)) epochs" "$T/res.out"; then
    dist_ok "a killed rank ends the job (exit $rc); --resume continues from epoch $done_epochs"
  else dist_fail "a killed rank (exit $rc, victim '$victim', epochs '$done_epochs')" "$T/kill.out"; tail -5 "$T/res.out" 2>/dev/null; fi
fi
[ -n "$dist_alone" ] && echo "dist: $pass passed, $fail failed" && [ $fail = 0 ]
