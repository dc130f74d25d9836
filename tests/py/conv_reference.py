#!/usr/bin/python3
"""conv_reference.py — runtime/conv.c against torch.nn.functional.

Loads libdlnrt.so through ctypes and compares every convolution and pooling
function with PyTorch on random inputs: conv2d (stride, asymmetric padding,
dilation, groups, 1x1), its data gradient (= conv_transpose2d, with output
padding) and weight gradient (via autograd), max pooling with indices (ties
and -inf padding), the unpooling pair, avg pooling with and without
count_include_pad, adaptive average pooling (shrinking and growing) and all
backward functions. The runtime is in turn checked against the compiler's
reference interpreter by tests/unit/test_conv.c, so this pins the semantics
of the whole chain to PyTorch's.

    /usr/bin/python3 tests/py/conv_reference.py [build/libdlnrt.so]

Prints one line per case; exits 1 if any differs by more than 1e-4
(relative to the magnitude of the values).
"""
import ctypes
import sys

import torch
import torch.nn.functional as F

LIB = sys.argv[1] if len(sys.argv) > 1 else "build/libdlnrt.so"
I64 = ctypes.c_int64


class Geom(ctypes.Structure):
    _fields_ = [(n, I64) for n in ("n", "c", "h", "w", "oc", "oh", "ow", "kh", "kw", "sh", "sw",
                                    "pt", "pb", "pl", "pr", "dh", "dw", "groups")] + [("count_include_pad", ctypes.c_int)]


def fp(t):
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_float))


def ip(t):
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_int32))


lib = ctypes.CDLL(LIB)
failures = 0


def check(name, got, want):
    global failures
    err = (got.double() - want.double()).abs().max().item() / max(1.0, want.abs().max().item())
    ok = err <= 1e-4 and got.shape == want.shape
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name:60s} max error {err:.2e}")


def conv_case(name, n, c, h, w, o, kh, kw, s=(1, 1), pad=(0, 0, 0, 0), d=(1, 1), groups=1):
    torch.manual_seed(hash(name) % 1000)
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = torch.randn(o, c // groups, kh, kw, requires_grad=True)
    xp = F.pad(x, (pad[2], pad[3], pad[0], pad[1]))  # asymmetric padding as torch spells it
    y = F.conv2d(xp, wt, stride=s, dilation=d, groups=groups)
    gy = torch.randn_like(y)
    y.backward(gy)
    g = Geom(n, c, h, w, o, y.shape[2], y.shape[3], kh, kw, s[0], s[1], *pad, d[0], d[1], groups, 0)
    out = torch.zeros_like(y)
    assert lib.dl_conv2d(ctypes.byref(g), fp(x.detach()), fp(wt.detach()), fp(out)) == 0
    check(name + ": forward", out, y.detach())
    gx = torch.zeros(n, c, h, w)
    assert lib.dl_conv2d_bwd_data(ctypes.byref(g), fp(gy), fp(wt.detach()), fp(gx)) == 0
    check(name + ": dx", gx, x.grad)
    gw = torch.zeros_like(wt)
    assert lib.dl_conv2d_bwd_weight(ctypes.byref(g), fp(x.detach()), fp(gy), fp(gw)) == 0
    check(name + ": dw", gw, wt.grad)


def transpose_case(name, n, c, h, w, o, k, s, p, op, d=1, groups=1):
    """conv_transpose2d(x, w) = dl_conv2d_bwd_data with the geometry of the conv y -> x."""
    torch.manual_seed(hash(name) % 1000)
    x = torch.randn(n, c, h, w)
    wt = torch.randn(c, o // groups, k, k)
    y = F.conv_transpose2d(x, wt, stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
    g = Geom(n, o, y.shape[2], y.shape[3], c, h, w, k, k, s, s, p, p, p, p, d, d, groups, 0)
    out = torch.zeros_like(y)
    assert lib.dl_conv2d_bwd_data(ctypes.byref(g), fp(x), fp(wt), fp(out)) == 0
    check(name, out, y)


def pool_geom(x, y, k, s, p, d=1, include=1):
    n, c, h, w = x.shape
    return Geom(n, c, h, w, c, y.shape[2], y.shape[3], k, k, s, s, p, p, p, p, d, d, 1, include)


def max_pool_case(name, x, k, s, p, d=1):
    x = x.clone().requires_grad_(True)
    y, idx = F.max_pool2d(x, k, s, p, d, return_indices=True)
    gy = torch.randn_like(y)
    y.backward(gy)
    g = pool_geom(x, y, k, s, p, d)
    out, oidx = torch.zeros_like(y), torch.zeros(y.shape, dtype=torch.int32)
    lib.dl_max_pool2d(ctypes.byref(g), fp(x.detach()), fp(out), ip(oidx))
    check(name + ": forward", out, y.detach())
    check(name + ": indices", oidx, idx.int())
    gx = torch.zeros_like(x)
    assert lib.dl_max_pool2d_bwd(ctypes.byref(g), fp(gy), ip(oidx), fp(gx)) == 0
    check(name + ": dx", gx, x.grad)
    if k <= s:  # unpooling is well defined for non-overlapping windows
        v = y.detach().clone().requires_grad_(True)
        u = F.max_unpool2d(v, idx, k, s, p, output_size=x.shape[2:])
        gu = torch.randn_like(u)
        u.backward(gu)
        uo = torch.zeros_like(u)
        assert lib.dl_max_unpool2d(ctypes.byref(g), fp(v.detach()), ip(oidx), fp(uo)) == 0
        check(name + ": unpool", uo, u.detach())
        gv = torch.zeros_like(v)
        assert lib.dl_max_unpool2d_bwd(ctypes.byref(g), fp(gu), ip(oidx), fp(gv)) == 0
        check(name + ": unpool dx", gv, v.grad)


def avg_pool_case(name, shape, k, s, p, include):
    torch.manual_seed(hash(name) % 1000)
    x = torch.randn(*shape, requires_grad=True)
    y = F.avg_pool2d(x, k, s, p, count_include_pad=bool(include))
    gy = torch.randn_like(y)
    y.backward(gy)
    g = pool_geom(x, y, k, s, p, 1, include)
    out, gx = torch.zeros_like(y), torch.zeros_like(x)
    lib.dl_avg_pool2d(ctypes.byref(g), fp(x.detach()), fp(out))
    lib.dl_avg_pool2d_bwd(ctypes.byref(g), fp(gy), fp(gx))
    check(name + ": forward", out, y.detach())
    check(name + ": dx", gx, x.grad)


def adaptive_case(name, shape, size):
    torch.manual_seed(hash(name) % 1000)
    x = torch.randn(*shape, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, size)
    gy = torch.randn_like(y)
    y.backward(gy)
    g = pool_geom(x, y, 1, 1, 0)
    out, gx = torch.zeros_like(y), torch.zeros_like(x)
    lib.dl_adaptive_avg_pool2d(ctypes.byref(g), fp(x.detach()), fp(out))
    lib.dl_adaptive_avg_pool2d_bwd(ctypes.byref(g), fp(gy), fp(gx))
    check(name + ": forward", out, y.detach())
    check(name + ": dx", gx, x.grad)


conv_case("conv 3x3", 2, 3, 8, 8, 4, 3, 3)
conv_case("conv 5x5 pad 2 (LeNet)", 4, 1, 12, 12, 6, 5, 5, pad=(2, 2, 2, 2))
conv_case("conv stride 2 skipping a row", 3, 2, 9, 8, 5, 3, 3, s=(2, 2))
conv_case("conv stride (2,1) asymmetric pad", 2, 3, 7, 6, 4, 3, 2, s=(2, 1), pad=(1, 0, 0, 1))
conv_case("conv dilation 2 groups 2", 2, 4, 9, 9, 6, 3, 3, pad=(2, 2, 2, 2), d=(2, 2), groups=2)
conv_case("depthwise stride 2", 5, 8, 11, 11, 8, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), groups=8)
conv_case("1x1 pointwise", 3, 16, 7, 7, 24, 1, 1)
conv_case("1x1 grouped", 2, 8, 5, 5, 12, 1, 1, groups=4)
conv_case("1x1 stride 2 (ResNet shortcut)", 2, 8, 8, 8, 16, 1, 1, s=(2, 2))
conv_case("large image (serial images)", 2, 16, 24, 24, 32, 3, 3, pad=(1, 1, 1, 1))
conv_case("'same' even kernel", 2, 2, 6, 6, 3, 4, 4, pad=(1, 2, 1, 2))
transpose_case("conv_transpose stride 2 pad 1 out_pad 1", 2, 4, 5, 5, 3, 3, 2, 1, 1)
transpose_case("conv_transpose 2x2 stride 2 (U-Net)", 3, 6, 4, 4, 4, 2, 2, 0, 0)
transpose_case("conv_transpose dilation 2 groups 2", 2, 4, 4, 3, 6, 3, 1, 1, 0, d=2, groups=2)
torch.manual_seed(5)
max_pool_case("max_pool 2x2", torch.randn(2, 3, 8, 8), 2, 2, 0)
max_pool_case("max_pool 2x2 odd size", torch.randn(2, 3, 7, 9), 2, 2, 0)
max_pool_case("max_pool 3x3 stride 2 pad 1", torch.randn(2, 2, 9, 9), 3, 2, 1)
max_pool_case("max_pool dilation 2", torch.randn(1, 2, 10, 10), 3, 1, 1, 2)
max_pool_case("max_pool ties (first max wins)", torch.randint(-1, 2, (2, 2, 8, 8)).float(), 2, 2, 0)
max_pool_case("max_pool ties, overlapping windows", torch.randint(0, 2, (2, 2, 7, 7)).float(), 3, 2, 1)
max_pool_case("max_pool all negative with padding", -torch.rand(1, 2, 6, 6) - 1, 3, 3, 1)
avg_pool_case("avg_pool 2x2", (2, 3, 8, 8), 2, 2, 0, 1)
avg_pool_case("avg_pool 3x3 s2 p1 count_include_pad", (2, 2, 9, 7), 3, 2, 1, 1)
avg_pool_case("avg_pool 3x3 s2 p1 exclude pad", (2, 2, 9, 7), 3, 2, 1, 0)
avg_pool_case("avg_pool 3x3 s1 p1 exclude pad", (1, 2, 5, 5), 3, 1, 1, 0)
adaptive_case("adaptive 7x7 -> 3x3", (2, 3, 7, 7), (3, 3))
adaptive_case("adaptive 10x6 -> 4x5", (2, 2, 10, 6), (4, 5))
adaptive_case("adaptive global 1x1", (2, 4, 5, 3), 1)
adaptive_case("adaptive growing 3x2 -> 5x4", (1, 2, 3, 2), (5, 4))

# An index outside its plane is an error, not a write out of bounds.
g = Geom(1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0)
v, big, bad = torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 2, 2), torch.full((1, 1, 1, 1), 4, dtype=torch.int32)
rc = lib.dl_max_unpool2d(ctypes.byref(g), fp(v), ip(bad), fp(big))
lib.dl_last_error.restype = ctypes.c_char_p
print(f"{'ok  ' if rc == -1 else 'FAIL'} bad index rejected: {lib.dl_last_error().decode()}")
failures += rc != -1

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
