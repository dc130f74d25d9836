#!/usr/bin/env python3
"""bench/jit_startup.py — `dlnc run` with the system cc against the in-process
LLVM JIT (docs/performance.md, "JIT start-up"), on one dlnc built with
`make LLVM=1` so that everything but the JIT is the same binary.

  usage: bench/jit_startup.py DLNC [SAMPLE...]   (default: mlp resnet20 lstm_rows)
  env:   ROUNDS=2   STEPS=30

For each sample and round, alternating the two JITs so that the machine's
load falls on both alike:
  start-up  from the command to the line "dlnc: model ready" that `dlnc run -v`
            prints when the compiled model is in memory; training (data
            loading, then the first step) begins right after, the same code
            in both. The cc runs use an empty DLNC_CACHE each time (cold).
  CPU       of the compile alone, as `-v` prints it: the cc child's rusage
            (cc1, as, ld included), dlnc's own CPU time for LLVM. Wall times
            swing with the machine's load; this one much less.
  warm      the same, run again on the cache the cold run left (cc: dlopen of
            the cached model.so; LLVM: linking the cached object), stopped
            once the model is ready.
  speed     samples/s of the first epoch's STEPS training steps (the epoch
            line of `--max-steps STEPS`), JITed code against `cc -O3` code.
Prints one table row per sample (medians) after the raw runs; OMP_NUM_THREADS=1.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def warm_ready(dlnc, sample, jit, env):
    t0 = time.monotonic()
    p = subprocess.Popen([dlnc, "run", f"samples/{sample}.dln", f"--jit={jit}", "-v", "--max-steps", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    ready, cached = None, False
    for line in p.stdout:
        cached |= line.startswith("dlnc: using cached")
        if line.startswith("dlnc: model ready"):
            ready = time.monotonic() - t0
            break
    p.kill()
    p.wait()
    if ready is None or not cached:
        sys.exit(f"jit_startup: {sample} --jit={jit}: the second run did not use the cache")
    return ready


def run_once(dlnc, sample, jit, steps):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as cache:
        env["DLNC_CACHE"] = cache
        t0 = time.monotonic()
        p = subprocess.Popen([dlnc, "run", f"samples/{sample}.dln", f"--jit={jit}", "-v", "--max-steps", str(steps)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        ready, speed, cpu, out = None, None, None, []
        for line in p.stdout:
            out.append(line)
            if ready is None and line.startswith("dlnc: model ready"):
                ready = time.monotonic() - t0
            m = re.search(r"^dlnc: (cc|LLVM JIT): .*CPU ([0-9.]+) s", line)
            if m:
                cpu = float(m.group(2))
            m = re.search(r"([0-9.]+) samples/s", line)
            if m and speed is None:
                speed = float(m.group(1))
        if p.wait() != 0 or ready is None or speed is None or cpu is None:
            sys.exit(f"jit_startup: {sample} --jit={jit} failed:\n" + "".join(out[-20:]))
        warm = warm_ready(dlnc, sample, jit, env)
    return ready, cpu, speed, warm


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    dlnc = sys.argv[1]
    samples = sys.argv[2:] or ["mlp", "resnet20", "lstm_rows"]
    rounds, steps = int(os.environ.get("ROUNDS", "2")), int(os.environ.get("STEPS", "30"))
    print("load before:", os.getloadavg())
    rows = []
    for s in samples:
        res = {"cc": [], "llvm": []}
        for r in range(rounds):
            for jit in ("cc", "llvm") if r % 2 == 0 else ("llvm", "cc"):
                ready, cpu, speed, warm = run_once(dlnc, s, jit, steps)
                res[jit].append((ready, cpu, speed, warm))
                print(f"{s:10s} round {r} {jit:4s}  ready {ready:7.2f} s  compile CPU {cpu:6.2f} s  {speed:9.0f} samples/s"
                      f"  warm ready {warm:6.2f} s  load {os.getloadavg()[0]:.2f}", flush=True)
        med = {j: tuple(statistics.median(x[i] for x in v) for i in range(4)) for j, v in res.items()}
        rows.append((s, med))
    print("load after:", os.getloadavg())
    print()
    print("| sample | start-up, cc (cold cache) | start-up, LLVM | cc / LLVM | compile CPU, cc | compile CPU, LLVM | cc / LLVM"
          " | warm start-up, cc | warm, LLVM | samples/s, cc -O3 | samples/s, LLVM | LLVM / cc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s, m in rows:
        (rc, cc, vc, wc), (rl, cl, vl, wl) = m["cc"], m["llvm"]
        print(f"| {s} | {rc:.2f} s | {rl:.2f} s | {rc / rl:.2f} | {cc:.2f} s | {cl:.2f} s | {cc / cl:.2f}"
              f" | {wc:.2f} s | {wl:.2f} s | {vc:.0f} | {vl:.0f} | {vl / vc:.2f} |")


if __name__ == "__main__":
    main()
