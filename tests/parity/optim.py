"""optim.py — the runtime's optimizers and LR schedules against torch.optim and
torch.optim.lr_scheduler.

Optimizers: dl_optim_update (libdlnrt.so, through ctypes) and torch.optim
start from the same parameters and see the same gradients for 100 steps; the
gradient depends on the current weights (g = noise + 0.1 w), so a drift in
either trajectory shows. Error = max |w_ours - w_torch| / max |w_torch| after
every step; tolerance 1e-6.

Schedules: dlnc's schedule is a function of the fractional epoch
(epoch + batch / batches), set every step by the driver; PyTorch's schedulers
are stepped. We map each to a per-step torch scheduler with S steps per epoch
(StepLR(step_size * S), ExponentialLR(gamma ** (1 / S)), CosineAnnealingLR(T_max =
epochs * S), warm-up as LinearLR + SequentialLR with the milestone at
warmup * S) and compare the rate at every step. Error = |ours - torch| /
max(|torch|, 1e-3 * base): the floor keeps the last steps of a cosine to 0
(where torch's recursive formula leaves ~1e-17 and ours an exact 0) from
counting as infinite relative error. Tolerance 1e-6 (our rates are float32:
~6e-8). One more case drives Adam with a warm-up + cosine schedule end to end.
"""
import ctypes

import numpy as np
import torch

from harness import load_lib

SGD, ADAGRAD, RMSPROP, ADAM, ADAMW, LAMB = range(6)
CONSTANT, STEP, EXPONENTIAL, COSINE, POLY, PLATEAU = range(6)
TOL = 1e-6


class OptimConfig(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("lr", ctypes.c_float), ("momentum", ctypes.c_float),
                ("dampening", ctypes.c_float), ("nesterov", ctypes.c_int), ("beta1", ctypes.c_float),
                ("beta2", ctypes.c_float), ("alpha", ctypes.c_float), ("eps", ctypes.c_float),
                ("weight_decay", ctypes.c_float), ("lr_decay", ctypes.c_float),
                ("initial_accumulator", ctypes.c_float), ("clip_norm", ctypes.c_float)]


class SchedConfig(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("step_size", ctypes.c_int), ("gamma", ctypes.c_float),
                ("min_lr", ctypes.c_float), ("warmup", ctypes.c_int), ("warmup_start", ctypes.c_float),
                ("power", ctypes.c_float), ("factor", ctypes.c_float), ("patience", ctypes.c_int),
                ("threshold", ctypes.c_float)]


class Plateau(ctypes.Structure):
    _fields_ = [("best", ctypes.c_double), ("bad_epochs", ctypes.c_int), ("reductions", ctypes.c_int),
                ("scale", ctypes.c_float)]


class _Lamb(torch.optim.Optimizer):
    """timm.optim.Lamb's step (timm 0.9, its defaults: bias_correction, grad_averaging,
    trust_clip False, always_adapt False) without its global clipping (max_grad_norm=None;
    dlnc's clip_norm is torch's clip_grad_norm_): torch.optim has no LAMB."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            (b1, b2), wd = group["betas"], group["weight_decay"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["step"], st["exp_avg"], st["exp_avg_sq"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                st["step"] += 1
                st["exp_avg"].mul_(b1).add_(p.grad, alpha=1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (st["exp_avg_sq"].sqrt() / (1 - b2 ** st["step"]) ** 0.5).add_(group["eps"])
                update = (st["exp_avg"] / (1 - b1 ** st["step"])).div_(denom)
                if wd != 0:
                    update.add_(p, alpha=wd)
                    w_norm, g_norm = p.norm(2.0), update.norm(2.0)
                    ratio = torch.where(w_norm > 0, torch.where(g_norm > 0, w_norm / g_norm, 1.0), 1.0)
                    update.mul_(ratio)
                p.add_(update, alpha=-group["lr"])


O = torch.optim
# (name, dl_optim_config fields, torch constructor)
OPTIMIZERS = [
    ("sgd", dict(kind=SGD, lr=0.05), lambda p: O.SGD(p, lr=0.05)),
    ("sgd", dict(kind=SGD, lr=0.05, weight_decay=1e-2), lambda p: O.SGD(p, lr=0.05, weight_decay=1e-2)),
    ("sgd momentum", dict(kind=SGD, lr=0.05, momentum=0.9), lambda p: O.SGD(p, lr=0.05, momentum=0.9)),
    ("sgd momentum", dict(kind=SGD, lr=0.02, momentum=0.8, dampening=0.3, weight_decay=5e-3),
     lambda p: O.SGD(p, lr=0.02, momentum=0.8, dampening=0.3, weight_decay=5e-3)),
    ("sgd nesterov", dict(kind=SGD, lr=0.05, momentum=0.9, nesterov=1),
     lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd nesterov", dict(kind=SGD, lr=0.05, momentum=0.9, nesterov=1, weight_decay=5e-4),
     lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    ("adagrad", dict(kind=ADAGRAD, lr=0.1, eps=1e-10), lambda p: O.Adagrad(p, lr=0.1, eps=1e-10)),
    ("adagrad", dict(kind=ADAGRAD, lr=0.1, lr_decay=0.01, initial_accumulator=0.1, eps=1e-10, weight_decay=1e-3),
     lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-10, weight_decay=1e-3)),
    ("rmsprop", dict(kind=RMSPROP, lr=0.01, alpha=0.99, eps=1e-8), lambda p: O.RMSprop(p, lr=0.01, alpha=0.99)),
    ("rmsprop", dict(kind=RMSPROP, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=1e-2),
     lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=1e-2)),
    ("adam", dict(kind=ADAM, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8), lambda p: O.Adam(p, lr=1e-3)),
    ("adam", dict(kind=ADAM, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1),
     lambda p: O.Adam(p, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adamw", dict(kind=ADAMW, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01),
     lambda p: O.AdamW(p, lr=1e-2, weight_decay=0.01)),
    ("adamw", dict(kind=ADAMW, lr=3e-3, beta1=0.85, beta2=0.98, eps=1e-7, weight_decay=0.3),
     lambda p: O.AdamW(p, lr=3e-3, betas=(0.85, 0.98), eps=1e-7, weight_decay=0.3)),
    ("lamb", dict(kind=LAMB, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.01), lambda p: _Lamb(p, lr=1e-2)),
    ("lamb", dict(kind=LAMB, lr=3e-3, beta1=0.85, beta2=0.98, eps=1e-7, weight_decay=0.1),
     lambda p: _Lamb(p, lr=3e-3, betas=(0.85, 0.98), eps=1e-7, weight_decay=0.1)),
    ("lamb", dict(kind=LAMB, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0),   # no decay: no ratio
     lambda p: _Lamb(p, lr=1e-2, weight_decay=0.0)),
]

S = 7          # steps per epoch for the schedule comparison
EPOCHS = 12
LS = torch.optim.lr_scheduler


def _torch_sched(kind, cfg, opt):
    """The per-step torch scheduler equivalent to a dlnc schedule config."""
    w = cfg.get("warmup", 0)
    main_epochs = EPOCHS - w
    if kind == CONSTANT:
        main = LS.LambdaLR(opt, lambda i: 1.0)
    elif kind == STEP:
        main = LS.StepLR(opt, step_size=cfg["step_size"] * S, gamma=cfg["gamma"])
    elif kind == EXPONENTIAL:
        main = LS.ExponentialLR(opt, gamma=cfg["gamma"] ** (1.0 / S))
    elif kind == POLY:
        main = LS.PolynomialLR(opt, total_iters=main_epochs * S, power=cfg.get("power", 1.0))
    else:
        main = LS.CosineAnnealingLR(opt, T_max=main_epochs * S, eta_min=cfg.get("min_lr", 0.0))
    if not w:
        return main
    for g in opt.param_groups:  # SequentialLR's schedulers each reset the rate; start from base
        g["lr"] = g["initial_lr"]
    warm = LS.LinearLR(opt, start_factor=cfg.get("warmup_start", 0.1) or 0.1, end_factor=1.0, total_iters=w * S)
    return LS.SequentialLR(opt, [warm, main], milestones=[w * S])


SCHEDULES = [
    ("constant", CONSTANT, {}),
    ("step", STEP, dict(step_size=3, gamma=0.5)),
    ("step", STEP, dict(step_size=1, gamma=0.9)),
    ("exponential", EXPONENTIAL, dict(gamma=0.8)),
    ("cosine", COSINE, {}),
    ("cosine", COSINE, dict(min_lr=1e-4)),
    ("warmup+cosine", COSINE, dict(warmup=2, warmup_start=0.1)),
    ("warmup+step", STEP, dict(warmup=1, warmup_start=0.25, step_size=2, gamma=0.5)),
    ("warmup+constant", CONSTANT, dict(warmup=3, warmup_start=0.5)),
    ("poly", POLY, dict(power=1.0)),
    ("poly", POLY, dict(power=2.0)),
    ("poly", POLY, dict(power=0.5)),
    ("warmup+poly", POLY, dict(warmup=2, warmup_start=0.2, power=0.9)),
]

# plateau: validation losses fed to ReduceLROnPlateau and to dl_plateau_step,
# the rate after each epoch compared (a wandering loss: improvements, ties,
# small relative gains below the threshold, long plateaus)
PLATEAU_LOSSES = [1.0, 0.9, 0.9, 0.9, 0.89995, 0.7, 0.71, 0.72, 0.70, 0.69999, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49,
                  0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAUS = [
    dict(factor=0.1, patience=10, threshold=1e-4, min_lr=0.0),
    dict(factor=0.5, patience=1, threshold=1e-4, min_lr=0.0),
    dict(factor=0.5, patience=0, threshold=0.05, min_lr=0.02),
    dict(factor=0.3, patience=2, threshold=0.0, min_lr=1e-3),
]


class _Desc:
    def __init__(self, text):
        self.text = text

    def describe(self):
        return self.text


def _bind(lib):
    lib.dl_optim_update.argtypes = [ctypes.POINTER(OptimConfig), ctypes.c_float, ctypes.c_int64] + \
        [ctypes.POINTER(ctypes.c_float)] * 4 + [ctypes.c_int64]
    lib.dl_optim_update.restype = None
    lib.dl_sched_lr.argtypes = [ctypes.POINTER(SchedConfig), ctypes.c_float, ctypes.c_int, ctypes.c_double]
    lib.dl_sched_lr.restype = ctypes.c_float
    lib.dl_plateau_init.argtypes = [ctypes.POINTER(Plateau)]
    lib.dl_plateau_init.restype = None
    lib.dl_plateau_step.argtypes = [ctypes.POINTER(Plateau), ctypes.POINTER(SchedConfig), ctypes.c_float,
                                    ctypes.c_double]
    lib.dl_plateau_step.restype = ctypes.c_int


def fptr(t):
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_float))


def run_optimizer(lib, fields, make, lr_at=None, steps=100, n=1000, seed=0):
    """Max relative parameter error over the trajectory. lr_at(step) -> (ours, torch scheduler or None)."""
    torch.manual_seed(seed)
    w0 = torch.randn(n)
    noise = [torch.randn(n) for _ in range(steps)]
    p = torch.nn.Parameter(w0.clone())
    opt = make([p])
    sched = lr_at(opt) if lr_at else None
    cfg = OptimConfig(**fields)
    w, m1, m2 = w0.clone(), torch.zeros(n), torch.zeros(n)
    worst = 0.0
    for t in range(steps):
        lr = cfg.lr if sched is None else sched[0](t)
        p.grad = noise[t] + 0.1 * p.detach()
        opt.step()
        if sched is not None:
            sched[1].step()
        g = (noise[t] + 0.1 * w).contiguous()
        lib.dl_optim_update(ctypes.byref(cfg), lr, t + 1, fptr(w), fptr(g), fptr(m1), fptr(m2), n)
        ref = p.detach()
        worst = max(worst, (w - ref).abs().max().item() / max(ref.abs().max().item(), 1e-30))
    return worst


def run_plateau(lib, cfg, base=0.1):
    """Max relative difference of the rate after each epoch's validation loss."""
    sc = SchedConfig(kind=PLATEAU, factor=cfg["factor"], patience=cfg["patience"], threshold=cfg["threshold"],
                     min_lr=cfg["min_lr"])
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    ts = LS.ReduceLROnPlateau(opt, mode="min", factor=cfg["factor"], patience=cfg["patience"],
                              threshold=cfg["threshold"], threshold_mode="rel", cooldown=0, min_lr=cfg["min_lr"])
    st = Plateau()
    lib.dl_plateau_init(ctypes.byref(st))
    worst, drops = 0.0, 0
    for v in PLATEAU_LOSSES:
        ts.step(v)
        lib.dl_plateau_step(ctypes.byref(st), ctypes.byref(sc), base, v)
        ours = lib.dl_sched_lr(ctypes.byref(sc), base, EPOCHS, 0.0) * st.scale
        ref = opt.param_groups[0]["lr"]
        worst = max(worst, abs(ours - ref) / max(abs(ref), 1e-3 * base))
        drops = st.reductions
    return worst, drops


def run_schedule(lib, kind, cfg, base=0.1):
    sc = SchedConfig(kind=kind, step_size=cfg.get("step_size", 0), gamma=cfg.get("gamma", 0.1),
                     min_lr=cfg.get("min_lr", 0.0), warmup=cfg.get("warmup", 0),
                     warmup_start=cfg.get("warmup_start", 0.0), power=cfg.get("power", 1.0))
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    ts = _torch_sched(kind, cfg, opt)
    worst = 0.0
    for i in range(EPOCHS * S):
        ref = opt.param_groups[0]["lr"]
        ours = lib.dl_sched_lr(ctypes.byref(sc), base, EPOCHS, i / S)
        worst = max(worst, abs(ours - ref) / max(abs(ref), 1e-3 * base))
        opt.step()
        ts.step()
    return worst, sc


def run(build):
    import warnings
    warnings.filterwarnings("ignore", category=UserWarning)  # SequentialLR's deprecation chatter
    lib = load_lib(build.rt_shared)
    _bind(lib)
    groups = {}
    for name, fields, make in OPTIMIZERS:
        try:
            err = run_optimizer(lib, fields, make)
            detail = None
        except Exception as e:
            err, detail = float("nan"), f"{type(e).__name__}: {e}"
        desc = _Desc(f"optimizer {name}: dl_optim_config {fields}, 100 steps, 1000 parameters, seed 0")
        groups.setdefault("optim " + name, []).append(
            dict(case=desc, fwd=err, grad=None, ok=err <= TOL, detail=detail))
    for name, kind, cfg in SCHEDULES:
        try:
            err, _ = run_schedule(lib, kind, cfg)
            detail = None
        except Exception as e:
            err, detail = float("nan"), f"{type(e).__name__}: {e}"
        desc = _Desc(f"schedule {name}: {cfg}, {EPOCHS} epochs x {S} steps, base lr 0.1")
        groups.setdefault("sched " + name, []).append(dict(case=desc, fwd=err, grad=None, ok=err <= TOL,
                                                           detail=detail))
    for cfg in PLATEAUS:
        try:
            err, drops = run_plateau(lib, cfg)
            detail = None
        except Exception as e:
            err, drops, detail = float("nan"), 0, f"{type(e).__name__}: {e}"
        desc = _Desc(f"schedule plateau: {cfg}, {len(PLATEAU_LOSSES)} validation losses, {drops} drops, base lr 0.1")
        groups.setdefault("sched plateau", []).append(dict(case=desc, fwd=err, grad=None, ok=err <= TOL,
                                                           detail=detail))
    # Adam driven by warm-up + cosine, rates from dl_sched_lr, 100 steps = 10 epochs of 10 steps.
    sc = SchedConfig(kind=COSINE, warmup=2, warmup_start=0.1)

    def lr_at(opt):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        warm = LS.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=20)
        main = LS.CosineAnnealingLR(opt, T_max=80)
        seq = LS.SequentialLR(opt, [warm, main], milestones=[20])
        return (lambda t: lib.dl_sched_lr(ctypes.byref(sc), 1e-2, 10, t / 10.0)), seq
    try:
        err = run_optimizer(lib, dict(kind=ADAM, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8),
                            lambda p: O.Adam(p, lr=1e-2), lr_at=lr_at)
        detail = None
    except Exception as e:
        err, detail = float("nan"), f"{type(e).__name__}: {e}"
    groups.setdefault("adam+warmup+cosine", []).append(
        dict(case=_Desc("adam lr 1e-2 with cosine(warmup = 2), 10 epochs x 10 steps"), fwd=err, grad=None,
             ok=err <= TOL, detail=detail))
    import param_groups
    groups["param groups"] = param_groups.rows(build)
    return list(groups.items())
