#!/usr/bin/python3
"""Beside bench/busy_core.py's spinner: lenet5 1 thread (unbound, as make bench), team bound (make bench's
row), team unbound (dlnc run's default); each run's wall and CPU time and, sampled every 5 ms from /proc,
how often its running thread and the spinner were on the same CPU.
usage: thr2-coloc.py BIN ROUNDS [extra bench_main args]"""
import os, sys, time, subprocess, statistics
sys.path.insert(0, "/work/wt-thr2/bench")
import run as R
from busy_core import busy_core
binp, rounds, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def stat(pid, tid=None):
    try:
        s = open(f"/proc/{pid}/task/{tid or pid}/stat").read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return f[0], int(f[36])  # state, processor
V = [("1 thread", 1, False, []), ("team bound", 2, True, ["--team"]), ("team unbound", 2, False, ["--team"])]
res = {}
for rnd in range(rounds):
    for label, t, bind, ex in V:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t), **R.SPIN_ENV)
        env.pop("OMP_PROC_BIND", None)
        if bind: env["OMP_PROC_BIND"] = "true"
        with busy_core(limit=300) as sp:
            time.sleep(0.05)
            r0 = os.times(); t0 = time.monotonic()
            p = subprocess.Popen([binp, "--batch", "64", "--reps", "5", "--min-time", "0.2", "--only", "train"] + ex + extra,
                                 env=env, stdout=subprocess.PIPE, text=True)
            same = both = n = 0
            while p.poll() is None:
                a, b = stat(p.pid), stat(sp.pid)
                if a and b:
                    n += 1
                    if a[0] == "R" and b[0] == "R":
                        both += 1; same += a[1] == b[1]
                time.sleep(0.005)
            out = p.stdout.read(); wall = time.monotonic() - t0; r1 = os.times()
            cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
        kv = R.parse_kv(out)
        res.setdefault(label, []).append((kv["train_ms"], cpu / wall, same / max(both, 1)))
        print(f"round {rnd+1} {label}: train_ms={kv['train_ms']:.3f} team={kv.get('team_threads','-')} cpu/wall={cpu/wall:.2f} "
              f"both_running={both}/{n} same_cpu={same} load={os.getloadavg()[0]:.2f}", flush=True)
for label, *_ in V:
    v = res[label]
    print(f"median {label}: {statistics.median(x[0] for x in v):.3f} ms, cpu/wall {statistics.median(x[1] for x in v):.2f}, "
          f"same-cpu share {statistics.median(x[2] for x in v):.2f}")
