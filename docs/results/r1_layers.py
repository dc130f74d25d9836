"""Per-kernel time of ResNet-20's batch-1 forward, two profiled binaries alternating.

Usage: r1_layers.py OLD NEW ROUNDS. Each binary is bench_main built from `dlnc --profile` C with
-DDL_PROFILE and r1_b1.sh's destructor that prints "K kernel calls ns flops" per kernel site.
Prints a markdown table of the medians (microseconds per forward) per convolution kernel."""
import collections
import os
import statistics
import subprocess
import sys

old, new, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, OMP_NUM_THREADS="1")
res = {old: collections.defaultdict(list), new: collections.defaultdict(list)}
order = []
for _ in range(rounds):
    for exe in (old, new):
        out = subprocess.run([exe, "--batch", "1", "--reps", "3", "--min-time", "0.4", "--only", "infer"],
                             env=env, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("K "):
                _, k, calls, ns, _ = line.split()
                if k not in order:
                    order.append(k)
                res[exe][k].append(int(ns) / int(calls) / 1000)


def med(exe, k):
    return statistics.median(res[exe][k]) if res[exe][k] else 0.0


tot = {old: 0.0, new: 0.0}
conv = {old: 0.0, new: 0.0}
print("| kernel (layer) | before us | after us | after/before |")
print("|---|---|---|---|")
for k in order:
    o, n = med(old, k), med(new, k)
    for exe, x in ((old, o), (new, n)):
        tot[exe] += x
        if "conv2d" in k:
            conv[exe] += x
    if "conv2d" in k:
        print(f"| {k.replace('resnet20_fwd_', '')} | {o:.1f} | {n:.1f} | {n / o:.2f} |")
print(f"| all convolutions (with their epilogues) | {conv[old]:.1f} | {conv[new]:.1f} | {conv[new] / conv[old]:.2f} |")
rest_o, rest_n = tot[old] - conv[old], tot[new] - conv[new]
print(f"| everything else (BN constants, residual adds, pool, dense) | {rest_o:.1f} | {rest_n:.1f} | |")
print(f"| sum of kernels | {tot[old]:.1f} | {tot[new]:.1f} | {tot[new] / tot[old]:.2f} |")
