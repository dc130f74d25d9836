#!/usr/bin/env python3
"""docs/results/dist_projection.py — data-parallel step time on 8..64 nodes,
on paper (docs/performance.md, "Data-parallel training").

Gradient sizes: the trainable parameters `dlnc --summary` counts in the bench
workloads (4 bytes each). Compute per step: 1 / (steps/s at 1 thread) from
docs/performance.md's `make bench` table (2026-12-06; ResNet-20 batch 64,
char-LSTM batch 32, GPT batch 16), taken as one node's step at that batch
(weak scaling: every node keeps the batch, the global batch is P times it).
Network: a ring allreduce (what MPI libraries use for large buffers) moves
2(P-1)/P of the buffer through each node's link and makes 2(P-1) steps:
    t = 2(P-1) * alpha + 2(P-1)/P * bytes / beta
after the backward pass (no overlap: dlnc sums after the whole backward).
    python3 docs/results/dist_projection.py build/dlnc > docs/results/dist_projection.log
"""
import re
import subprocess
import sys

DLNC = sys.argv[1] if len(sys.argv) > 1 else "build/dlnc"
WORKLOADS = [  # name, file, steps/s at 1 thread (docs/performance.md), batch
    ("ResNet-20", "bench/workloads/resnet20.dln", 7.2, 64),
    ("char-LSTM", "bench/workloads/char_lstm.dln", 9.0, 32),
    ("GPT", "bench/workloads/gpt.dln", 30.3, 16),
]
NETWORKS = [  # name, latency alpha (s), bandwidth beta (bytes/s)
    ("10 Gb/s Ethernet (alpha 25 us, beta 1.1 GB/s)", 25e-6, 1.1e9),
    ("100 Gb/s InfiniBand (alpha 2 us, beta 11 GB/s)", 2e-6, 11e9),
]


def params(path):
    out = subprocess.run([DLNC, "--summary", path], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Trainable params: ([\d,]+)", out).group(1).replace(",", ""))


# speed 1: a node computes as one thread of this machine; 8: a node 8 times
# faster (a multi-core node), so the same allreduce is a larger share
for speed in (1, 8):
  print("\nnode = %dx one thread of this machine" % speed)
  print("model | gradient | compute/step | network | P | allreduce | step | efficiency | samples/s")
  for name, path, sps, batch in WORKLOADS:
    n = params(path)
    nbytes = 4 * n
    tc = 1.0 / sps / speed
    for net, alpha, beta in NETWORKS:
        for p in (8, 16, 32, 64):
            tar = 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / beta
            step = tc + tar
            print("%s | %d floats = %.2f MB | %.1f ms | %s | %d | %.2f ms | %.1f ms | %.1f%% | %.0f" %
                  (name, n, nbytes / 1e6, 1e3 * tc, net, p, 1e3 * tar, 1e3 * step, 100 * tc / step,
                   p * batch / step))
