#!/usr/bin/python3
"""Time the PyTorch twin of one workload: the counterpart of bench_main.c.

    /usr/bin/python3 bench/torch_bench.py WORKLOAD --batch B --threads T [--reps R] [--min-time S]

Run in its own process per thread setting (bench/run.sh sets OMP_NUM_THREADS
too, since PyTorch reads it at start-up). Training step = zero_grad, forward,
cross-entropy, backward, optimizer step — what dlnc's train_step does.
Inference = eval mode under torch.inference_mode(), batch 1. Each of R
repetitions runs until S seconds have passed (the same budget rules as
bench_main.c); the median is reported, in the same key=value format.
"""
import argparse
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_models import WORKLOADS  # noqa: E402


def time_one(fn, min_time):
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        t = time.perf_counter() - t0
        if t >= min_time and (calls >= 3 or t >= 3 * min_time):
            return t / calls


def median_of_reps(fn, reps, min_time):
    """Median over up to `reps` repetitions, at least 2, stopping past 10 * min_time (as bench_main.c)."""
    samples, t0 = [], time.perf_counter()
    while len(samples) < reps and (len(samples) < 2 or time.perf_counter() - t0 < 10 * min_time):
        samples.append(time_one(fn, min_time))
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    model, in_shape, classes, make_opt = WORKLOADS[a.workload]()
    opt = make_opt(model.parameters())
    lossf = torch.nn.CrossEntropyLoss()
    if in_shape[0] == "tokens":
        # a language model: token ids in, next-token logits at every position out
        T = in_shape[1]
        x = torch.randint(0, classes, (a.batch, T))
        y = torch.randint(0, classes, (a.batch, T))

        def lossf(logits, target, ce=lossf):
            return ce(logits.reshape(-1, classes), target.reshape(-1))
    else:
        x = torch.rand(a.batch, *in_shape)
        y = torch.randint(0, classes, (a.batch,))
    x1 = x[:1].clone()
    for g in opt.param_groups:
        g["lr"] = 1e-5

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def infer():
        with torch.inference_mode():
            return model(x1)

    time_one(train_step, 0.05)
    tr = median_of_reps(train_step, a.reps, a.min_time)
    model.eval()
    time_one(infer, 0.05)
    inf = median_of_reps(infer, a.reps, a.min_time)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"train_ms={tr * 1e3:.4f} train_sps={1 / tr:.2f} infer_ms={inf * 1e3:.4f} rss_mb={rss:.1f}")


if __name__ == "__main__":
    main()
