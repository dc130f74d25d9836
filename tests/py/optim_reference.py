#!/usr/bin/python3
"""optim_reference.py — dl_optim_update against torch.optim, 100 steps.

Loads libdlnrt.so through ctypes, runs each optimizer configuration for 100
steps on 1000 parameters with the same random gradients as torch.optim (a
fresh torch.randn gradient per step, plus a weight-dependent term so weight
decay and momentum matter), and compares the parameters after every step.

    /usr/bin/python3 tests/py/optim_reference.py [build/libdlnrt.so]

Prints one line per configuration; exits 1 if any differs by more than the
tolerance (relative to the parameter scale).
"""
import ctypes
import sys

import torch

LIB = sys.argv[1] if len(sys.argv) > 1 else "build/libdlnrt.so"
SGD, ADAGRAD, RMSPROP, ADAM, ADAMW = range(5)


class OptimConfig(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("lr", ctypes.c_float), ("momentum", ctypes.c_float),
                ("dampening", ctypes.c_float), ("nesterov", ctypes.c_int), ("beta1", ctypes.c_float),
                ("beta2", ctypes.c_float), ("alpha", ctypes.c_float), ("eps", ctypes.c_float),
                ("weight_decay", ctypes.c_float), ("lr_decay", ctypes.c_float),
                ("initial_accumulator", ctypes.c_float), ("clip_norm", ctypes.c_float)]


def fptr(t):
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_float))


CASES = [
    ("sgd", dict(kind=SGD, lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    ("sgd momentum dampening", dict(kind=SGD, lr=0.05, momentum=0.9, dampening=0.3),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3)),
    ("sgd nesterov wd", dict(kind=SGD, lr=0.05, momentum=0.9, nesterov=1, weight_decay=5e-4),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    ("adagrad", dict(kind=ADAGRAD, lr=0.1, lr_decay=0.01, initial_accumulator=0.1, eps=1e-10, weight_decay=1e-3),
     lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-10,
                                   weight_decay=1e-3)),
    ("rmsprop", dict(kind=RMSPROP, lr=0.01, alpha=0.99, eps=1e-8),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8)),
    ("rmsprop momentum wd", dict(kind=RMSPROP, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=1e-2),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=1e-2)),
    ("adam", dict(kind=ADAM, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8),
     lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)),
    ("adam l2", dict(kind=ADAM, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1),
     lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adamw", dict(kind=ADAMW, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01),
     lambda p: torch.optim.AdamW(p, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)),
]


def main():
    lib = ctypes.CDLL(LIB)
    lib.dl_optim_update.argtypes = [ctypes.POINTER(OptimConfig), ctypes.c_float, ctypes.c_int64] + \
        [ctypes.POINTER(ctypes.c_float)] * 4 + [ctypes.c_int64]
    lib.dl_optim_update.restype = None
    n, steps, tol, failed = 1000, 100, 1e-5, 0
    for name, fields, make in CASES:
        torch.manual_seed(0)
        w0 = torch.randn(n)
        grads = [torch.randn(n) for _ in range(steps)]
        p = torch.nn.Parameter(w0.clone())
        opt = make([p])
        cfg = OptimConfig(**fields)
        w, m1, m2 = w0.clone(), torch.zeros(n), torch.zeros(n)
        worst = 0.0
        for t in range(steps):
            g = grads[t] + 0.1 * p.detach()          # depends on the trajectory
            p.grad = g.clone()
            opt.step()
            g_ours = (grads[t] + 0.1 * w).contiguous()
            lib.dl_optim_update(ctypes.byref(cfg), cfg.lr, t + 1, fptr(w), fptr(g_ours), fptr(m1), fptr(m2), n)
            worst = max(worst, (w - p.detach()).abs().max().item())
        scale = p.detach().abs().max().item()
        ok = worst <= tol * max(scale, 1.0)
        failed += not ok
        print(f"{name:24s} max|diff| over {steps} steps {worst:.2e}  {'ok' if ok else 'FAIL'}")
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
