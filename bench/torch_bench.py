#!/usr/bin/python3
"""Time the PyTorch twin of one workload: the counterpart of bench_main.c.

    /usr/bin/python3 bench/torch_bench.py WORKLOAD --batch B --threads T [--reps R] [--min-time S] [--only train]

Run in its own process per thread setting (bench/run.sh sets OMP_NUM_THREADS
too, since PyTorch reads it at start-up). Training step = zero_grad, forward,
cross-entropy, backward, optimizer step — what dlnc's train_step does.
Inference = eval mode under torch.inference_mode(), batch 1. Each of R
repetitions runs until S seconds have passed (the same budget rules as
bench_main.c); the median is reported, in the same key=value format.

PyTorch at its best (issue 15, target 0): besides eager NCHW (train_ms,
infer_ms: the old columns) every configuration a performance-minded user
would try is timed on the same batch and the same optimizer step:
  train_cl_ms      training with model and batch in channels_last (conv models)
  infer_cl_ms      eager inference in channels_last (conv models)
  infer_jit_ms     torch.jit.trace + torch.jit.freeze + torch.jit.optimize_for_inference
  infer_jit_cl_ms  the same traced from the channels_last model and input
Each is checked to be what it claims (inputs and conv weights really in
channels_last, the frozen module's parameters folded into constants) and to
compute what eager NCHW computes; a configuration PyTorch cannot build for a
model (a trace that fails) is left out of the line, with a note on stderr.
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
    ap.add_argument("--only", choices=["train"], help="training configurations only (the busy-core scenario)")
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
    conv = len(in_shape) == 3 and any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    results = {}

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(xt), y)
        loss.backward()
        opt.step()
        return loss

    def timed(key, fn):
        time_one(fn, 0.05)
        results[key] = median_of_reps(fn, a.reps, a.min_time) * 1e3

    xt = x
    timed("train_ms", train_step)
    if conv:
        # Module.to converts the parameters in place (same Parameter objects), so
        # `opt` and its momentum buffers carry over: the same optimizer step.
        model.to(memory_format=torch.channels_last)
        xt = x.contiguous(memory_format=torch.channels_last)
        check_channels_last(model, xt)
        timed("train_cl_ms", train_step)
        model.to(memory_format=torch.contiguous_format)
        xt = x
    model.eval()
    with torch.inference_mode():
        ref = model(x1)
    formats = () if a.only else ("", "_cl") if conv else ("",)
    for fmt in formats:
        xi = x1.contiguous(memory_format=torch.channels_last) if fmt else x1
        if fmt:
            model.to(memory_format=torch.channels_last)
            check_channels_last(model, xi)

        def infer(m=model, xi=xi):
            with torch.inference_mode():
                return m(xi)

        check_same(ref, infer(), "eager" + fmt)
        timed(f"infer{fmt}_ms", infer)
        frozen = optimized_trace(model, xi, fmt)
        if frozen is not None:
            check_same(ref, infer(frozen), "jit" + fmt)
            timed(f"infer_jit{fmt}_ms", lambda f=frozen, xi=xi: infer(f, xi))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # train_sps is the eager NCHW one, as before (the old column).
    print(" ".join(f"{k}={v:.4f}" for k, v in results.items())
          + f" train_sps={1e3 / results['train_ms']:.2f} rss_mb={rss:.1f}")


def check_channels_last(model, x):
    """Refuse to time a channels_last configuration that is not one."""
    cl = torch.channels_last
    if not x.is_contiguous(memory_format=cl):
        sys.exit("torch_bench: the input is not channels_last")
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d) and not m.weight.is_contiguous(memory_format=cl):
            sys.exit(f"torch_bench: conv {name} weight is not channels_last")
    with torch.no_grad():
        first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        if not first(x).is_contiguous(memory_format=cl):
            sys.exit("torch_bench: the first conv's output is not channels_last")


def check_same(ref, out, what):
    if not torch.allclose(ref, out, rtol=1e-3, atol=1e-4):
        sys.exit(f"torch_bench: inference '{what}' differs from eager NCHW by {(ref - out).abs().max():.3g}")


def optimized_trace(model, x, fmt):
    """torch.jit.trace + freeze + optimize_for_inference (what PyTorch's docs advise
    for CPU inference), or None with a note when PyTorch cannot do it for this model."""
    try:
        with torch.no_grad():
            traced = torch.jit.trace(model, x)
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    except Exception as e:  # noqa: BLE001 - any failure means "not available", reported
        print(f"torch_bench: jit{fmt} not available: {type(e).__name__}: {str(e).splitlines()[0][:120]}",
              file=sys.stderr)
        return None
    if list(frozen.parameters()):
        sys.exit("torch_bench: the frozen module still has parameters (freeze did not fold them)")
    return frozen


if __name__ == "__main__":
    main()
