# Sourced by tests/e2e/run.sh (uses $B, $T, pass, fail): the thread team
# (runtime/team.c). 40 steps of LeNet-5 with the count switched every 2 steps
# (DLNC_THREADS_CYCLE: 1, 2, 3, 1, ...; also 1, 2 under OMP_PROC_BIND) and with the team choosing, all save
# the checkpoint of a run pinned at 1 thread, byte for byte; --threads is
# honoured and reported by -v; --threads 0 is refused. ~5 s.
D=$(cd "$B" && pwd)/dlnc
if [ -d /usr/share/datasets/fashion-mnist ]; then
  tr_run() { DLNC_CACHE="$T/cache" "$D" run samples/lenet5.dln --max-steps 40 --seed 7 --quiet "$@"; }
  OMP_NUM_THREADS=3 tr_run --threads 1 --checkpoint "$T/team1.st" -v >"$T/team1.out" 2>&1
  OMP_NUM_THREADS=3 DLNC_THREADS_CYCLE=2 tr_run --checkpoint "$T/teamc.st" >"$T/teamc.out" 2>&1
  OMP_NUM_THREADS=2 tr_run --checkpoint "$T/teama.st" >"$T/teama.out" 2>&1
  # the team's choice needs 0.1 s of steps to read the machine, then its trials:
  # more than 40 fast steps on a quiet machine
  OMP_NUM_THREADS=2 tr_run --max-steps 400 -v >"$T/teamv.out" 2>&1
  # bound: at each switch to 1 thread the master is released, at 2 bound back
  OMP_PROC_BIND=true OMP_NUM_THREADS=2 DLNC_THREADS_CYCLE=2 tr_run --checkpoint "$T/teamb.st" >"$T/teamb.out" 2>&1
  if cmp -s "$T/team1.st" "$T/teamc.st" && cmp -s "$T/team1.st" "$T/teama.st" && cmp -s "$T/team1.st" "$T/teamb.st" \
     && grep -q "^dlnc: threads: 1 (--threads)$" "$T/team1.out" \
     && grep -Eq "^dlnc: step [0-9]+: threads: ([12] of at most 2 after timing the step at 2 \(.*\), 1 \(.*\)|1 of at most 2: other processes left 1 core free, nothing to time)$" "$T/teamv.out"; then
    echo "thread team: switching counts every 2 steps, or choosing, trains to the bits of 1 thread: ok"; pass=$((pass+1))
  else
    echo "FAIL thread team:"; cat "$T/team1.out" "$T/teamc.out" "$T/teama.out" "$T/teamb.out" "$T/teamv.out"; fail=$((fail+1))
  fi
fi
"$D" run samples/lenet5.dln --threads 0 >"$T/team0.out" 2>&1; rc0=$?
if [ $rc0 -eq 2 ] && grep -q "^dlnc: error: --threads needs a count from 1 to 256, got 0$" "$T/team0.out"; then
  echo "--threads 0 refused: ok"; pass=$((pass+1))
else
  echo "FAIL --threads 0 ($rc0):"; cat "$T/team0.out"; fail=$((fail+1))
fi
# The wait policy (dl_team_wait_policy): with none of OMP_WAIT_POLICY,
# GOMP_SPINCOUNT, KMP_BLOCKTIME set, a program re-executes itself once with a
# brief spin (GOMP_SPINCOUNT=20000, KMP_BLOCKTIME=1); any one of them set by
# the user is kept, and nothing is added.
cat >"$T/waitp.c" <<'CEOF'
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include "dlnrt.h"
static const char *env(const char *k) { const char *v = getenv(k); return v ? v : "-"; }
int main(int argc, char **argv)
{
    (void)argc;
    const char *n = getenv("WAITP_RUNS"); /* counted in the environment, which exec keeps */
    const int runs = (n ? atoi(n) : 0) + 1;
    char buf[16];
    snprintf(buf, sizeof buf, "%d", runs);
    setenv("WAITP_RUNS", buf, 1);
    dl_team_wait_policy(argv);
    printf("runs=%d spin=%s block=%s policy=%s\n", runs, env("GOMP_SPINCOUNT"), env("KMP_BLOCKTIME"),
           env("OMP_WAIT_POLICY"));
    return 0;
}
CEOF
if cc $CFLAGS "$T/waitp.c" "$B/libdlnrt.a" -o "$T/waitp" -lpng -lz -lm 2>"$T/waitp.err" \
   && [ "$(env -u GOMP_SPINCOUNT -u KMP_BLOCKTIME -u OMP_WAIT_POLICY "$T/waitp")" = "runs=2 spin=20000 block=1 policy=-" ] \
   && [ "$(env -u GOMP_SPINCOUNT -u KMP_BLOCKTIME OMP_WAIT_POLICY=passive "$T/waitp")" = "runs=1 spin=- block=- policy=passive" ] \
   && [ "$(env -u KMP_BLOCKTIME -u OMP_WAIT_POLICY GOMP_SPINCOUNT=5 "$T/waitp")" = "runs=1 spin=5 block=- policy=-" ] \
   && [ "$(env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY KMP_BLOCKTIME=0 "$T/waitp")" = "runs=1 spin=- block=0 policy=-" ]; then
  echo "wait policy: a brief spin unless the user chose one, one re-execution: ok"; pass=$((pass+1))
else
  echo "FAIL wait policy:"; cat "$T/waitp.err"; "$T/waitp"; fail=$((fail+1))
fi
