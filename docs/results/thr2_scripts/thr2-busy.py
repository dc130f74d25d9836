#!/usr/bin/python3
"""make bench's busy-core part exactly as bench/run.py runs it (its run(), both(), busy_core()),
for the workloads given, with BENCH_TEAM_TRACE=1 and each run's stderr, CPU time and load kept.
usage: thr2-busy.py BINDIR ROUNDS W... [--no-torch]"""
import os, sys, resource, time, statistics
sys.path.insert(0, "/work/wt-thr2/bench")
import run as R
from busy_core import busy_core

binr, rounds = sys.argv[1], int(sys.argv[2])
ws = [a for a in sys.argv[3:] if not a.startswith("--")]
notorch = "--no-torch" in sys.argv
os.environ["BENCH_TEAM_TRACE"] = "1"
last = {}
real_run = R.subprocess.run
class Shim:
    def __getattr__(self, k): return getattr(R.subprocess.__dict__["_real"], k)
def rec_run(cmd, **kw):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.monotonic()
    r = real_run(cmd, **kw)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    last.update(err=r.stderr, wall=time.monotonic() - t0, cpu=(r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return r
R.subprocess.run = rec_run
common = ["--reps", "5", "--min-time", "0.2"]
def summ(err, batch):
    steps = at2 = looks = 0; ot = []
    for line in err.splitlines():
        f = line.split()
        if f[:3] == ["team:", "others", "used"]: ot.append(float(f[3]))
        if len(f) >= 7 and f[:2] == ["team:", "step"]:
            steps += 1; at2 += f[4] != "1"
    return f" steps={steps} at2={at2} looks={len(ot)} others={min(ot) if ot else 0:.2f}-{max(ot) if ot else 0:.2f}"
res = {}
for rnd in range(rounds):
    for w in ws:
        batch = R.batch_of(os.path.join(R.HERE, "workloads", w + ".dln"))
        for t in (1, 2):
            with busy_core(limit=900):
                out = R.run([os.path.join(binr, w + ".bench"), "--batch", str(batch)] + common + ["--only", "train"], t)
                kv = R.parse_kv(out); res.setdefault((w, f"dlnc {t}"), []).append(kv["train_ms"])
                print(f"round {rnd+1} {w} t={t} dlnc: {out.strip()} wall={last['wall']:.2f} cpu={last['cpu']:.2f} load={os.getloadavg()[0]:.2f}", flush=True)
                if not notorch:
                    out = R.run(["/usr/bin/python3", os.path.join(R.HERE, "torch_bench.py"), w, "--batch", str(batch),
                                 "--threads", str(t)] + common + ["--only", "train"], t)
                    print(f"round {rnd+1} {w} t={t} torch: {out.strip()} wall={last['wall']:.2f} cpu={last['cpu']:.2f} load={os.getloadavg()[0]:.2f}", flush=True)
                if t > 1:
                    out = R.run([os.path.join(binr, w + ".bench"), "--batch", str(batch)] + common + ["--only", "train", "--team"], t)
                    kv = R.parse_kv(out); res.setdefault((w, "team"), []).append(kv["train_ms"])
                    print(f"round {rnd+1} {w} t={t} dlnc --team: {out.strip()} wall={last['wall']:.2f} cpu={last['cpu']:.2f} load={os.getloadavg()[0]:.2f}{summ(last['err'], batch)}", flush=True)
                    with open(f"/tmp/thr2-logs/trace_{w}_{rnd}_{os.getpid()}.txt", "w") as f: f.write(last["err"])
for (w, k), v in sorted(res.items()):
    print(f"median {w} {k}: {statistics.median(v):.3f} ms  runs {' '.join(f'{x:.2f}' for x in v)}")
one = {w: statistics.median(res[(w, 'dlnc 1')]) for w in ws}
for w in ws: print(f"{w}: team vs 1 {one[w]/statistics.median(res[(w,'team')]):.2f}x  2 vs 1 {one[w]/statistics.median(res[(w,'dlnc 2')]):.2f}x")
