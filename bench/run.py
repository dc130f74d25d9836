#!/usr/bin/python3
"""Alternate dlnc-compiled models and their PyTorch twins; print and save the table.

Called by bench/run.sh with the directory holding the built binaries
(<workload>.bench, gemm_bench). For each thread count (1, 2) and each of
--rounds rounds, every workload runs once as ours (bench_main.c) and once as
PyTorch's (torch_bench.py), one after the other, so slow phases of a shared
machine hit both sides alike; each run reports a median over repetitions and
we take the median over rounds. The batch size comes from the workload's
.dln train section (`batch = B`), so the .dln file is the one source of truth.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = (1, 2)


def parse_kv(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-+0-9.eEinfa]+)", line)}


WAIT_POLICY = os.environ.get("BENCH_WAIT_POLICY", "passive")


def run(cmd, threads, bind=True):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    # Both sides get the same OpenMP wait policy. GCC's default spins before
    # sleeping; on a machine with other busy processes a spinning thread
    # holds the core its partner needs and every barrier costs a scheduler
    # time slice (measured: MLP training step 165 ms at 2 threads instead
    # of 4.7 ms with "passive"). BENCH_WAIT_POLICY=default leaves it unset.
    if WAIT_POLICY != "default":
        env["OMP_WAIT_POLICY"] = WAIT_POLICY
    # Threads bound to cores, for both sides: unbound, Linux sometimes put
    # both of a 2-thread run's threads on one core while the other was busy,
    # and whole runs came out at 1-thread speed at random. Not for the GEMM
    # ceiling: OpenBLAS's own pthreads would inherit the binding of the
    # OpenMP master thread, all on one core.
    if threads > 1 and bind:
        env.setdefault("OMP_PROC_BIND", "true")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def batch_of(dln):
    m = re.search(r"\bbatch\s*=\s*(\d+)", open(dln).read())
    return int(m.group(1)) if m else 64


def gemm_ceiling(bin_dir, threads):
    """{n: (ours, openblas)} GFLOP/s from gemm_bench at this thread count.

    With several threads each library gets its better placement: unbound,
    short products often run both threads on one core (the woken thread lands
    beside its waker), and bound (OMP_PROC_BIND), OpenBLAS's pthreads inherit
    the OpenMP master's single core. So gemm_bench runs both ways, and each
    column keeps its best."""
    rows = {}
    for bind in ([False, True] if threads > 1 else [False]):
        out = run([os.path.join(bin_dir, "gemm_bench")], threads, bind=bind)
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 3 and f[0].isdigit():
                n, ours, blas = int(f[0]), float(f[1]), float(f[2])
                old = rows.get(n, (0.0, 0.0))
                rows[n] = (max(old[0], ours), max(old[1], blas))
    return rows


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def previous_rows(path, workloads):
    """The training-table rows and scaling lines of workloads this run did not
    measure, from the table already in `path`, and the date of each one's run
    ({workload: date}), so a BENCH_WORKLOADS subset updates its own rows
    without dropping the others."""
    if path == "-" or not os.path.exists(path):
        return [], [], {}
    text = open(path).read()
    i = text.find("\n## Notes")
    text = text[:i] if i >= 0 else text
    m = re.search(r"Latest `make bench` run: ([^,]+)", text)
    latest = m.group(1) if m else "an earlier run"
    dates = {}  # from the previous "Not in this run" line, else the previous run's date
    m = re.search(r"^Not in this run: (.*)$", text, re.M)
    for part in (m.group(1).rstrip(".").split("; ") if m else []):
        w, _, date = part.partition(" from ")
        dates[w] = date
    rows, scaling, kept = [], [], {}
    for line in text.splitlines():
        m = re.match(r"\| (\w+) \(batch \d+\) \|", line) or re.match(r"- (\w+): dlnc 2 threads vs 1:", line)
        if m and m.group(1) not in workloads:
            (rows if line.startswith("|") else scaling).append(line)
            kept[m.group(1)] = dates.get(m.group(1), latest)
    return rows, scaling, kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", default="docs/performance.md")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--cflags", default="-O3 -march=native")
    a = ap.parse_args()
    workloads = sorted(f[:-6] for f in os.listdir(a.bin) if f.endswith(".bench"))
    if not workloads:
        sys.exit("bench: no workloads built")
    load_start = loadavg()
    started = datetime.datetime.now()
    common = ["--reps", str(a.reps), "--min-time", str(a.min_time)]

    gemm = {t: gemm_ceiling(a.bin, t) for t in THREADS}
    samples = {}  # (workload, side, threads) -> list of dicts
    for rnd in range(a.rounds):
        for t in THREADS:
            for w in workloads:
                b = batch_of(os.path.join(HERE, "workloads", w + ".dln"))
                ours = run([os.path.join(a.bin, w + ".bench"), "--batch", str(b)] + common, t)
                theirs = run(["/usr/bin/python3", os.path.join(HERE, "torch_bench.py"), w, "--batch", str(b),
                              "--threads", str(t)] + common, t)
                samples.setdefault((w, "dlnc", t), []).append(parse_kv(ours))
                samples.setdefault((w, "torch", t), []).append(parse_kv(theirs))
                print(f"round {rnd + 1}/{a.rounds} threads {t} {w}: dlnc {ours.strip()}", flush=True)
                print(f"round {rnd + 1}/{a.rounds} threads {t} {w}: torch {theirs.strip()}", flush=True)

    def med(w, side, t, key):
        return statistics.median(s[key] for s in samples[(w, side, t)])

    kept_rows, kept_scaling, kept_from = previous_rows(a.out, workloads)
    lines = []
    out = lines.append
    out("# Performance\n")
    out(f"Latest `make bench` run: {started:%Y-%m-%d %H:%M}, {machine()}.  ")
    out(f"Command: `make bench` (bench/run.sh); model C compiled with `{a.cflags} -fopenmp`; "
        f"{a.rounds} alternating rounds, each a median of {a.reps} repetitions of >= {a.min_time} s; "
        f"median over rounds; OMP_WAIT_POLICY={WAIT_POLICY} and (2 threads) OMP_PROC_BIND=true for both sides' models. Load average (1 min) at start {load_start}, at end {loadavg()} "
        "(other jobs on this machine disturb the 2-thread numbers most).\n")
    out("## Training step (steps/s, higher is better) and batch-1 inference latency (ms, lower is better)\n")
    out("PyTorch best = the faster of its 1- and 2-thread configurations. GFLOP/s = op-table FLOPs "
        "(`dlnc_flops`, the model's arithmetic without the optimizer) / time.\n")
    out("| workload | threads | dlnc steps/s | torch steps/s | ratio | vs torch best | dlnc GFLOP/s "
        "| dlnc infer ms | torch infer ms | ratio | dlnc RSS MB | torch RSS MB | arena MB |")
    out("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in workloads:
        torch_best_sps = max(med(w, "torch", t, "train_sps") for t in THREADS)
        torch_best_inf = min(med(w, "torch", t, "infer_ms") for t in THREADS)
        for t in THREADS:
            ds, ts = med(w, "dlnc", t, "train_sps"), med(w, "torch", t, "train_sps")
            di, ti = med(w, "dlnc", t, "infer_ms"), med(w, "torch", t, "infer_ms")
            out(f"| {w} (batch {batch_of(os.path.join(HERE, 'workloads', w + '.dln'))}) | {t} | {ds:.1f} | {ts:.1f} "
                f"| {ds / ts:.2f}x | {ds / torch_best_sps:.2f}x | {med(w, 'dlnc', t, 'train_gflops'):.1f} "
                f"| {di:.4f} | {ti:.4f} | {ti / di:.2f}x (best {torch_best_inf / di:.2f}x) "
                f"| {med(w, 'dlnc', t, 'rss_mb'):.0f} | {med(w, 'torch', t, 'rss_mb'):.0f} "
                f"| {med(w, 'dlnc', t, 'arena_mb'):.1f} |")
    lines.extend(kept_rows)
    out("")
    for w in workloads:
        s1, s2 = med(w, "dlnc", 1, "train_sps"), med(w, "dlnc", 2, "train_sps")
        out(f"- {w}: dlnc 2 threads vs 1: {s2 / s1:.2f}x; torch: "
            f"{med(w, 'torch', 2, 'train_sps') / med(w, 'torch', 1, 'train_sps'):.2f}x")
    lines.extend(kept_scaling)
    if kept_from:
        out("\nNot in this run: " + "; ".join(f"{w} from {d}" for w, d in sorted(kept_from.items())) + ".")
    dec = os.path.join(a.bin, "decode_latency")
    if os.path.exists(dec):
        kv = parse_kv(run([dec], 1))
        out(f"\n## Generation (batch 1, samples/gpt_char.dln untrained, 1 thread)\n")
        out(f"Per token, from a one-token prompt up to the context of {int(kv['context'])}: "
            f"**{kv['decode_ms']:.3f} ms with the key/value cache** (`gpt_char_decode`: the new position only), "
            f"{kv['recompute_ms']:.3f} ms recomputing the window (`--no-cache`), "
            f"{kv['recompute_ms'] / kv['decode_ms']:.1f}x (bench/decode_latency.c).")
    out("\n## GEMM ceiling: dl_sgemm vs OpenBLAS cblas_sgemm (square n, GFLOP/s, best of 5; at 2 threads each library at its better thread placement, bound or not)\n")
    out("| threads | n | dl_sgemm | OpenBLAS | dl/OpenBLAS |")
    out("|---|---|---|---|---|")
    for t in THREADS:
        for n, (ours, ob) in sorted(gemm[t].items()):
            out(f"| {t} | {n} | {ours:.1f} | {ob:.1f} | {100 * ours / ob:.0f}% |")
    out("")
    text = "\n".join(lines)
    print("\n" + text)
    if a.out != "-":
        notes = ""
        if os.path.exists(a.out):
            old = open(a.out).read()
            i = old.find("\n## Notes")
            notes = old[i:] if i >= 0 else ""
        with open(a.out, "w") as f:
            f.write(text + notes)
        print(f"bench: wrote {a.out}")


if __name__ == "__main__":
    main()
