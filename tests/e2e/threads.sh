# Sourced by tests/e2e/run.sh (uses $B, $T, pass, fail): the thread team
# (runtime/team.c). 30 steps of LeNet-5 with the count switched every 2 steps
# (DLNC_THREADS_CYCLE: 1, 2, 3, 1, ...) and with the team choosing, both save
# the checkpoint of a run pinned at 1 thread, byte for byte; --threads is
# honoured and reported by -v; --threads 0 is refused. ~5 s.
D=$(cd "$B" && pwd)/dlnc
if [ -d /usr/share/datasets/fashion-mnist ]; then
  tr_run() { DLNC_CACHE="$T/cache" "$D" run samples/lenet5.dln --max-steps 30 --seed 7 --quiet "$@"; }
  OMP_NUM_THREADS=3 tr_run --threads 1 --checkpoint "$T/team1.st" -v >"$T/team1.out" 2>&1
  OMP_NUM_THREADS=3 DLNC_THREADS_CYCLE=2 tr_run --checkpoint "$T/teamc.st" >"$T/teamc.out" 2>&1
  OMP_NUM_THREADS=2 tr_run --checkpoint "$T/teama.st" -v >"$T/teama.out" 2>&1
  if cmp -s "$T/team1.st" "$T/teamc.st" && cmp -s "$T/team1.st" "$T/teama.st" \
     && grep -q "^dlnc: threads: 1 (--threads)$" "$T/team1.out" \
     && grep -q "^dlnc: step 6: threads: [12] of at most 2 after timing the step at 2 (.*), 1 (.*)$" "$T/teama.out"; then
    echo "thread team: switching counts every 2 steps, or choosing, trains to the bits of 1 thread: ok"; pass=$((pass+1))
  else
    echo "FAIL thread team:"; cat "$T/team1.out" "$T/teamc.out" "$T/teama.out"; fail=$((fail+1))
  fi
fi
"$D" run samples/lenet5.dln --threads 0 >"$T/team0.out" 2>&1; rc0=$?
if [ $rc0 -eq 2 ] && grep -q "^dlnc: error: --threads needs a count from 1 to 256, got 0$" "$T/team0.out"; then
  echo "--threads 0 refused: ok"; pass=$((pass+1))
else
  echo "FAIL --threads 0 ($rc0):"; cat "$T/team0.out"; fail=$((fail+1))
fi
