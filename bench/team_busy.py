#!/usr/bin/python3
"""The thread team beside a busy core, as `make bench` runs it, builds side by side.

    /usr/bin/python3 bench/team_busy.py WORKLOAD ROUNDS NAME=BENCH_BINARY...
    e.g. bench/team_busy.py lenet5 3 old=/tmp/o/lenet5 new=/tmp/n/lenet5

Each round starts bench/busy_core.py's spinner (unpinned, as make bench), then
runs every binary at 1 thread, at 2 bound threads and with --team (limit 2),
bound (OMP_PROC_BIND=true, as make bench's team row) and unbound (as `dlnc
run` trains by default), with make bench's wait policy and bench_main options
(--reps 5 --min-time 0.2 --only train). Prints each run's line, then the
medians over rounds and each one's ratio to 1 thread of the same binary.
BENCH_QUIET=1 runs without the spinner (the quiet 2-thread scaling).
BENCH_TEAM_TRACE=1 also sums each team run's per-step trace: the steps it ran
at 2 threads and their share of all its steps' time (warm-up and the first
exploration included), the direct cost of exploring beside the spinner, and the
range of the other processes' cores the team read from /proc/stat."""
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from busy_core import busy_core  # noqa: E402
from run import SPIN_ENV, batch_of, parse_kv, trace_summary, HERE  # noqa: E402

VARIANTS = (("1 thread", 1, False, []), ("2 bound", 2, True, []),
            ("team bound", 2, True, ["--team"]), ("team unbound", 2, False, ["--team"]))


def one(binary, workload, threads, bind, extra):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **SPIN_ENV)
    env.pop("OMP_PROC_BIND", None)
    if bind:
        env["OMP_PROC_BIND"] = "true"
    batch = batch_of(os.path.join(HERE, "workloads", workload + ".dln"))
    cmd = [binary, "--batch", str(batch), "--reps", "5", "--min-time", "0.2", "--only", "train"] + extra
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return r.stdout.strip() + (trace_summary(r.stderr, batch) if extra and env.get("BENCH_TEAM_TRACE") else "")


def main():
    workload, rounds, builds = sys.argv[1], int(sys.argv[2]), [a.split("=", 1) for a in sys.argv[3:]]
    quiet = os.environ.get("BENCH_QUIET") == "1"
    print(f"team_busy: {workload}, {rounds} rounds, {'quiet' if quiet else 'spinner'}; load {os.getloadavg()}")
    ms = {}
    for rnd in range(rounds):
        for name, binary in builds:
            for label, threads, bind, extra in VARIANTS:
                if quiet:
                    line = one(binary, workload, threads, bind, extra)
                else:
                    with busy_core(limit=300):
                        line = one(binary, workload, threads, bind, extra)
                ms.setdefault((name, label), []).append(parse_kv(line))
                print(f"round {rnd + 1} {name} {label}: {line} load {os.getloadavg()[0]:.2f}", flush=True)
    for name, _ in builds:
        one_thread = statistics.median(r["train_ms"] for r in ms[(name, "1 thread")])
        for label, *_ in VARIANTS:
            runs = ms[(name, label)]
            m = statistics.median(r["train_ms"] for r in runs)
            chose = " chose " + ",".join(str(int(r["team_threads"])) for r in runs) if "team_threads" in runs[0] else ""
            print(f"median {name} {label}: {m:.3f} ms, {one_thread / m:.2f}x of 1 thread{chose}")
            if "at2" in runs[0]:
                share = statistics.median(r["at2_ms"] / r["all_ms"] for r in runs)
                print(f"median {name} {label}: {statistics.median(r['at2'] for r in runs):.0f} steps at 2 threads "
                      f"of {statistics.median(r['steps'] for r in runs):.0f}, {100 * share:.1f}% of the steps' time")
    print(f"team_busy: done; load {os.getloadavg()}")


if __name__ == "__main__":
    main()
