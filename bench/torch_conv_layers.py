#!/usr/bin/python3
"""PyTorch's time for each convolution layer bench/conv_layers.c timed.

    /usr/bin/python3 bench/torch_conv_layers.py LAYERS.txt --threads T [--reps R] [--min-time S]

LAYERS.txt holds conv_layers' output lines (layer=i n=.. c=.. ... fwd_count=..),
so both sides time the same geometries, and the same passes: a pass with
count 0 (the first layer's data gradient) is skipped here too. For each, in
NCHW and in channels_last (every operand converted and checked):
  fwd        torch.nn.functional.conv2d under torch.no_grad()
  data       the input gradient, weight   the weight gradient: each through
             aten.convolution_backward, the function autograd's
             ConvolutionBackward0 calls, with the output mask asking for that
             gradient alone (checked once per layer against torch.autograd.grad)
Prints one line per layer: layer=i fwd_ms=.. fwd_cl_ms=.. data_ms=.. ... in ms,
the median over repetitions (torch_bench.py's budget rules). A layer with
asymmetric padding, which conv2d cannot express, gets no figures.
"""
import argparse
import re
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_bench import median_of_reps  # noqa: E402

PASSES = ("fwd", "data", "weight")


def layers(path):
    for line in open(path):
        kv = {k: float(v) for k, v in re.findall(r"(\w+)=([-0-9.]+)", line)}
        if "layer" in kv:
            yield {k: int(v) if k != "gflop" and not k.endswith("_ms") else v for k, v in kv.items()}


def tensors(g, layout):
    gen = torch.Generator().manual_seed(g["layer"])
    x = torch.rand(g["n"], g["c"], g["h"], g["w"], generator=gen) - 0.5
    w = torch.rand(g["oc"], g["c"] // g["groups"], g["kh"], g["kw"], generator=gen) - 0.5
    gy = torch.rand(g["n"], g["oc"], g["oh"], g["ow"], generator=gen) - 0.5
    if layout == "cl":
        x, w, gy = (t.contiguous(memory_format=torch.channels_last) for t in (x, w, gy))
        assert all(t.is_contiguous(memory_format=torch.channels_last) for t in (x, w, gy))
    return x, w, gy


def passes(g, x, w, gy):
    """{pass: a call timing it}, after checking each gradient against autograd."""
    conv = dict(stride=(g["sh"], g["sw"]), padding=(g["pt"], g["pl"]), dilation=(g["dh"], g["dw"]), groups=g["groups"])

    def bwd(mask):
        return torch.ops.aten.convolution_backward(gy, x, w, None, conv["stride"], conv["padding"], conv["dilation"],
                                                   False, (0, 0), g["groups"], mask)

    xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
    gx_ref, gw_ref = torch.autograd.grad(F.conv2d(xr, wr, None, **conv), (xr, wr), gy)
    gx, gw = bwd((True, False, False))[0], bwd((False, True, False))[1]
    if not (torch.allclose(gx, gx_ref, rtol=1e-4, atol=1e-3) and torch.allclose(gw, gw_ref, rtol=1e-4, atol=1e-2)):
        sys.exit(f"torch_conv_layers: layer {g['layer']}: aten.convolution_backward differs from autograd")

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, None, **conv)

    return {"fwd": fwd, "data": lambda: bwd((True, False, False)), "weight": lambda: bwd((False, True, False))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("layers")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.05)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for g in layers(a.layers):
        cells = []
        if g["pt"] == g["pb"] and g["pl"] == g["pr"]:
            for layout, suffix in (("nchw", ""), ("cl", "_cl")):
                calls = passes(g, *tensors(g, layout))
                for p in PASSES:
                    if g[p + "_count"] > 0:
                        cells.append(f"{p}{suffix}_ms={1e3 * median_of_reps(calls[p], a.reps, a.min_time):.4f}")
        else:
            print(f"torch_conv_layers: layer {g['layer']}: asymmetric padding, not timed", file=sys.stderr)
        print(" ".join([f"layer={g['layer']}"] + cells), flush=True)


if __name__ == "__main__":
    main()
