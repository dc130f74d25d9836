#!/usr/bin/python3
"""Alternate dlnc-compiled models and their PyTorch twins; print and save the table.

Called by bench/run.sh with the directory holding the built binaries
(<workload>.bench, gemm_bench, fma_peak). For each thread count (1, 2) and each of
--rounds rounds, every workload runs once as ours (bench_main.c) and once as
PyTorch's (torch_bench.py), one after the other, so slow phases of a shared
machine hit both sides alike; each run reports a median over repetitions and
we take the median over rounds. The batch size comes from the workload's
.dln train section (`batch = B`), so the .dln file is the one source of truth.
PyTorch's side times each configuration a performance-minded user would try
(torch_bench.py) and the tables (report.py) take every ratio against the
fastest. The ceiling is the machine's FMA peak (fma_peak.c), beside dl_sgemm
and OpenBLAS with the kernel OpenBLAS chose. Workloads built with a
<workload>.layers binary (bench/conv_layers.c) get a per-layer convolution
profile beside PyTorch's time for each layer (torch_conv_layers.py). Then the
--busy workloads train again, at 1 and 2 threads, while busy_core.py keeps
one core busy.
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys

import report
from busy_core import busy_core

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = (1, 2)


def parse_kv(line):
    """The numeric key=value pairs of a line (others, like isa=avx512, are skipped)."""
    kv = {}
    for k, v in re.findall(r"(\w+)=(\S+)", line):
        try:
            kv[k] = float(v)
        except ValueError:
            pass
    return kv


WAIT_POLICY = os.environ.get("BENCH_WAIT_POLICY", "spin")
# "spin": what `dlnc run` sets by itself (runtime/team.c): a brief spin at a
# barrier, then sleep. PyTorch's libgomp reads the same variable.
SPIN_ENV = {"GOMP_SPINCOUNT": "20000", "KMP_BLOCKTIME": "1"}


def wait_policy_text():
    if WAIT_POLICY == "spin":
        return "GOMP_SPINCOUNT=20000 (a brief spin, then sleep, as `dlnc run` sets it)"
    if WAIT_POLICY == "default":
        return "the OpenMP library's default wait policy"
    return f"OMP_WAIT_POLICY={WAIT_POLICY}"


def run(cmd, threads, bind=True, trace_batch=0):
    """stdout of cmd at `threads`; trace_batch > 0: a `bench_main --team` run at that batch, its
    per-step trace (BENCH_TEAM_TRACE=1, on stderr) summed onto the line by trace_summary."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    # Both sides get the same OpenMP wait policy. GCC's default spins before
    # sleeping; on a machine with other busy processes a spinning thread
    # holds the core its partner needs and every barrier costs a scheduler
    # time slice (measured: MLP training step 165 ms at 2 threads instead
    # of 4.7 ms with "passive"); sleeping at once costs a futex wake-up at
    # each of a step's barriers instead ("spin", the default, between the two).
    # BENCH_WAIT_POLICY=passive|active sets OMP_WAIT_POLICY; =default leaves
    # everything unset.
    if WAIT_POLICY == "spin":
        env.update(SPIN_ENV)
    elif WAIT_POLICY != "default":
        env["OMP_WAIT_POLICY"] = WAIT_POLICY
    # Threads bound to cores, for both sides: unbound, Linux sometimes put
    # both of a 2-thread run's threads on one core while the other was busy,
    # and whole runs came out at 1-thread speed at random. Not for the GEMM
    # ceiling: OpenBLAS's own pthreads would inherit the binding of the
    # OpenMP master thread, all on one core.
    if threads > 1 and bind:
        env.setdefault("OMP_PROC_BIND", "true")
    if trace_batch:
        env["BENCH_TEAM_TRACE"] = "1"
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout.rstrip("\n") + trace_summary(r.stderr, trace_batch) + "\n" if trace_batch else r.stdout


def trace_summary(trace, batch):
    """' steps=N at2=K at2_ms=X all_ms=Y looks=L others_min=A others_max=B' from the thread team's trace
    (runtime/team.c: 'team: step S threads T M ms/sample ...' per step, 'team: others used X of N cores
    ...' per look at /proc/stat): its steps, those at 2 threads or more and their time, warm-up and first
    exploration included, and the range of the other processes' cores it read."""
    steps = at2 = 0
    ms2 = ms = 0.0
    others = []
    for line in trace.splitlines():
        f = line.split()
        if f[:3] == ["team:", "others", "used"]:
            others.append(float(f[3]))
        if len(f) >= 7 and f[:2] == ["team:", "step"] and f[6] == "ms/sample":
            step_ms = float(f[5]) * batch
            steps += 1
            ms += step_ms
            if f[4] != "1":
                at2 += 1
                ms2 += step_ms
    seen = f" others_min={min(others):.2f} others_max={max(others):.2f}" if others else ""
    return f" steps={steps} at2={at2} at2_ms={ms2:.1f} all_ms={ms:.1f} looks={len(others)}{seen}"


def batch_of(dln):
    m = re.search(r"\bbatch\s*=\s*(\d+)", open(dln).read())
    return int(m.group(1)) if m else 64


def gemm_ceiling(bin_dir, threads):
    """({n: (ours, openblas)} GFLOP/s from gemm_bench at this thread count,
    the kernel OpenBLAS chose).

    With several threads each library gets its better placement: unbound,
    short products often run both threads on one core (the woken thread lands
    beside its waker), and bound (OMP_PROC_BIND), OpenBLAS's pthreads inherit
    the OpenMP master's single core. So gemm_bench runs both ways, and each
    column keeps its best."""
    rows, core = {}, "?"
    for bind in ([False, True] if threads > 1 else [False]):
        out = run([os.path.join(bin_dir, "gemm_bench")], threads, bind=bind)
        for line in out.splitlines():
            f = line.split()
            m = re.match(r"openblas_core=(\S+) openblas_config=\"(.*)\"", line)
            if m:
                core = f"{m.group(1)} ({m.group(2).strip()})"
            elif len(f) >= 3 and f[0].isdigit():
                n, ours, blas = int(f[0]), float(f[1]), float(f[2])
                old = rows.get(n, (0.0, 0.0))
                rows[n] = (max(old[0], ours), max(old[1], blas))
    return rows, core


def fma_peak(bin_dir):
    """(peak GFLOP/s of one core, of all threads running together, ISA) from
    bench/fma_peak.c. main runs it at the start and the end and keeps the
    higher. fma_peak times each thread in its own CPU time, so other jobs
    taking the core do not lower it (in wall time, at load 6 on 2 cores, it
    came out 206-283 GFLOP/s per core, 191-244 for 2 threads, below what
    dl_sgemm reached). The ceiling at t threads is t times one core's (the
    issue's cores x FMA units x width x 2 x clock, the per-core part
    measured); all threads running together is printed beside it: a clock
    that drops with every core busy would show there."""
    line = run([os.path.join(bin_dir, "fma_peak"), "--seconds", "0.1", "--rounds", "20"], max(THREADS), bind=False)
    kv = parse_kv(line)
    return kv["gflops_1"], kv["gflops_all"], re.search(r"isa=(\w+)", line).group(1)


def layer_profile(bin_dir, w, t, batch):
    """bench/conv_layers.c's layers of workload w at t threads, each a dict of its
    keys plus PyTorch's times for the same layer (torch_<pass>[_cl]_ms), both sides
    timed one after the other in this call."""
    ours = run([os.path.join(bin_dir, w + ".layers"), "--batch", str(batch), "--reps", "3", "--min-time", "0.05"], t)
    path = os.path.join(bin_dir, f"{w}.layers.{t}.txt")
    with open(path, "w") as f:
        f.write(ours)
    theirs = run(["/usr/bin/python3", os.path.join(HERE, "torch_conv_layers.py"), path, "--threads", str(t),
                  "--reps", "3", "--min-time", "0.05"], t)
    rows = [{k: v if k == "gflop" or k.endswith("_ms") else int(v) for k, v in parse_kv(line).items()}
            for line in ours.splitlines() if line.startswith("layer=")]
    for line in theirs.splitlines():
        kv = parse_kv(line)
        if "layer" in kv:
            rows[int(kv["layer"])].update({"torch_" + k: v for k, v in kv.items() if k.endswith("_ms")})
    print(f"layers threads {t} {w}: {len(rows)} distinct convolutions", flush=True)
    return rows


def best_of(rows, new):
    """Each layer's times, the lower of the two rounds on each side: like the
    FMA peak, the moments a loaded machine left the cores free (both sides of
    a round run one after the other, not interleaved layer by layer)."""
    if not rows:
        return new
    for old, row in zip(rows, new):
        for k, v in row.items():
            old[k] = min(old[k], v) if k.endswith("_ms") and k in old else old.get(k, v)
    return rows


def previous_layer_tables(path, measured):
    """The per-layer tables ("### workload" blocks of the layers section) of
    workloads this run did not profile, kept as they were."""
    if path == "-" or not os.path.exists(path):
        return []
    text = open(path).read()
    i = text.find(f"\n## {report.LAYERS}")
    if i < 0:
        return []
    # The section ends at the next one, or at the "Not in this run" line printed after it.
    end = min([len(text)] + [k for k in (text.find("\n## ", i + 1), text.find("\nNot in this run", i)) if k >= 0])
    kept = []
    for block in re.split(r"\n(?=### )", text[i:end])[1:]:
        m = re.match(r"### (\w+)", block)
        if m and m.group(1) not in measured:
            kept.append(block.rstrip("\n") + "\n")
    return kept


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
    """The table rows and scaling lines of workloads this run did not measure,
    from the tables already in `path` ({section title: [lines]}; "scaling"
    for the scaling lines), and the date of each one's run ({workload: date}),
    so a BENCH_WORKLOADS subset updates its own rows without dropping the
    others. Rows of a section this version no longer prints (an older table
    layout) are dropped rather than mixed into a table of other columns."""
    if path == "-" or not os.path.exists(path):
        return {}, {}
    text = open(path).read()
    i = text.find("\n## Notes")
    text = text[:i] if i >= 0 else text
    m = re.search(r"Latest `make bench` run: ([^,(]+)", text)
    latest = m.group(1) if m else "an earlier run"
    dates = {}  # from the previous "Not in this run" line, else the previous run's date
    m = re.search(r"^Not in this run: (.*)$", text, re.M)
    for part in (m.group(1).rstrip(".").split("; ") if m else []):
        w, _, date = part.partition(" from ")
        dates[w] = date
    kept, kept_from, section = {}, {}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        tables = (report.TRAIN, report.INFER, report.BUSY)
        m = (re.match(r"\| (\w+)(?: \(batch \d+\))? \|", line) if section in tables else
             re.match(r"- (\w+): dlnc 2 threads vs 1: .* torch \(best configuration\)", line))
        if m and m.group(1) not in workloads and m.group(1) != "workload":
            kept.setdefault(section if line.startswith("|") else "scaling", []).append(line)
            kept_from[m.group(1)] = dates.get(m.group(1), latest)
    return kept, kept_from


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", default="docs/performance.md")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--cflags", default="-O3 -march=native")
    ap.add_argument("--busy", default="lenet5 resnet20",
                    help="workloads also timed with a busy core (training only); empty: none")
    a = ap.parse_args()
    workloads = sorted(f[:-6] for f in os.listdir(a.bin) if f.endswith(".bench"))
    if not workloads:
        sys.exit("bench: no workloads built")
    load_start = loadavg()
    started = datetime.datetime.now()
    common = ["--reps", str(a.reps), "--min-time", str(a.min_time)]

    core, together, isa = fma_peak(a.bin)
    gemm = {t: gemm_ceiling(a.bin, t) for t in THREADS}
    batch = {w: batch_of(os.path.join(HERE, "workloads", w + ".dln")) for w in workloads}

    def record(w, t, rnd, tag, side, line):
        samples.setdefault((w, side + tag, t), []).append(parse_kv(line))
        print(f"round {rnd + 1} threads {t} {w}{tag}: {side} {line.strip()}", flush=True)

    def ours(w, t, rnd, tag="", extra=()):
        record(w, t, rnd, tag, "dlnc", run([os.path.join(a.bin, w + ".bench"), "--batch", str(batch[w])] + common
                                            + list(extra), t))

    def theirs(w, t, rnd, tag="", extra=()):
        record(w, t, rnd, tag, "torch", run(["/usr/bin/python3", os.path.join(HERE, "torch_bench.py"), w, "--batch",
                                             str(batch[w]), "--threads", str(t)] + common + list(extra), t))

    def both(w, t, rnd, tag="", extra=()):
        """One run of each side, ours first; `tag` names the scenario in the samples."""
        ours(w, t, rnd, tag, extra)
        theirs(w, t, rnd, tag, extra)

    samples = {}  # (workload, side, threads) -> list of dicts
    for rnd in range(a.rounds):
        for t in THREADS:
            for w in workloads:
                both(w, t, rnd)
    profiled = [w for w in workloads if os.path.exists(os.path.join(a.bin, w + ".layers"))]
    prof = {w: {t: [] for t in THREADS} for w in profiled}
    for _ in range(min(a.rounds, 2)):
        for t in THREADS:
            for w in profiled:
                prof[w][t] = best_of(prof[w][t], layer_profile(a.bin, w, t, batch[w]))

    def team_busy(w, rnd):
        """As `dlnc run` trains: the thread team picks the count (limit 2), its trace summed on the line."""
        line = run([os.path.join(a.bin, w + ".bench"), "--batch", str(batch[w])] + common
                   + ["--only", "train", "--team"], 2, trace_batch=batch[w])
        samples.setdefault((w, "dlnc_busy_team", 2), []).append(parse_kv(line))
        print(f"round {rnd + 1} threads 2 {w}_busy: dlnc --team {line.strip()}", flush=True)

    busy = [w for w in workloads if w in a.busy.split()]
    for rnd in range(min(a.rounds, 2)):
        for w in busy:
            for t in THREADS:
                with busy_core(limit=900):
                    # dlnc's team row beside its 1-thread row, under the same spinner, in alternating
                    # order, both before PyTorch's run: it used to run last in the 2-thread block, ~10 s
                    # of PyTorch later (docs/performance.md, "branch thr2").
                    if t == 1 and rnd % 2:
                        team_busy(w, rnd)
                    ours(w, t, rnd, "_busy", ["--only", "train"])
                    if t == 1 and not rnd % 2:
                        team_busy(w, rnd)
                    theirs(w, t, rnd, "_busy", ["--only", "train"])
    med = report.Medians(samples)
    core2, together2, _ = fma_peak(a.bin)
    core, together = max(core, core2), max(together, together2)
    peak = {t: t * core for t in THREADS}

    kept, kept_from = previous_rows(a.out, workloads)
    kept_busy = kept.get(report.BUSY, [])
    lines = []
    out = lines.append
    out("# Performance\n")
    out(f"Latest `make bench` run: {started:%Y-%m-%d %H:%M}, {machine()}.  ")
    out(f"Command: `make bench` (bench/run.sh); model C compiled with `{a.cflags} -fopenmp`; "
        f"{a.rounds} alternating rounds, each a median of {a.reps} repetitions of >= {a.min_time} s; "
        f"median over rounds; {wait_policy_text()} and (2 threads) OMP_PROC_BIND=true for both sides' models. Load average (1 min) at start {load_start}, at end {loadavg()} "
        "(other jobs on this machine disturb the 2-thread numbers most).  ")
    out(f"Machine peak (bench/fma_peak.c, {isa}, best of 20 rounds of 0.1 s of CPU time, the higher of a run "
        f"at the start and one at the end): **{core:.0f} GFLOP/s per core**, so the ceiling is "
        + ", ".join(f"{peak[t]:.0f} GFLOP/s at {t} thread{'s' if t > 1 else ''}" for t in THREADS)
        + f" (all {max(THREADS)} threads running the loop together: {together:.0f}). "
        f"OpenBLAS kernel: {gemm[1][1]}.\n")
    lines.extend(report.training_table(med, workloads, batch, THREADS, peak))
    lines.extend(kept.get(report.TRAIN, []))
    out("")
    lines.extend(report.scaling_lines(med, workloads))
    lines.extend(kept.get("scaling", []))
    lines.extend(report.target3_line(med, workloads))
    out("")
    lines.extend(report.inference_table(med, workloads, THREADS))
    lines.extend(kept.get(report.INFER, []))
    if busy or kept_busy:
        out("")
        lines.extend(report.busy_table(med, busy, batch))
        lines.extend(kept_busy)
    kept_layers = previous_layer_tables(a.out, prof)
    if prof or kept_layers:
        out("")
        lines.extend(report.layers_intro(THREADS, min(a.rounds, 2)))
        for w in prof:
            lines.extend(report.layers_table(w, batch[w], prof[w], THREADS, peak,
                                             {t: med(w, "dlnc", t, "train_ms") for t in THREADS}))
        lines.extend(kept_layers)
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
    out("\n## Ceilings: the machine's FMA peak, dl_sgemm and OpenBLAS (square n, GFLOP/s, best of 5 in wall time; at 2 threads each library at its better thread placement, bound or not)\n")
    out(f"OpenBLAS chose the kernel {gemm[1][1]}; a kernel older than the CPU means its column "
        "is no ceiling. The peak is bench/fma_peak.c's.\n")
    out("| threads | n | dl_sgemm | OpenBLAS | dl/OpenBLAS | FMA peak | dl_sgemm % peak | OpenBLAS % peak |")
    out("|---|---|---|---|---|---|---|---|")
    for t in THREADS:
        for n, (ours, ob) in sorted(gemm[t][0].items()):
            out(f"| {t} | {n} | {ours:.1f} | {ob:.1f} | {100 * ours / ob:.0f}% | {peak[t]:.0f} "
                f"| {100 * ours / peak[t]:.0f}% | {100 * ob / peak[t]:.0f}% |")
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
