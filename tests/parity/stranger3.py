"""stranger3.py — the third round written from docs/language.md alone: every
optimizer and schedule the `optim` and `sched` settings list, end to end. Each row
writes a `.dln` with a train section, a CSV of 16 rows and a safetensors file of
torch's initial weights, runs `dlnc run` (init_from, shuffle = false, 3 epochs of
2 batches, log_every = 1) and compares with a torch.optim / lr_scheduler twin on the
same batches in float64: the final weights of the `checkpoint` (optimizers) and the
rate printed at every step (schedules). optim.py checks the runtime's update
functions through ctypes; these rows check what the docs promise of the settings
(names, defaults, betas, clip_norm, warm-up) through the compiler and the driver."""
import ctypes
import json
import os
import re
import struct
import subprocess
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from harness import Desc, load_lib, rel_err

STEPS_PER_EPOCH, EPOCHS, BATCH = 2, 3, 8
W_TOL, LR_TOL = 2e-5, 1e-4      # float32 weights after 6 steps; rates printed with %g-like precision

MODEL = """
model opt(features: f32[N, 4]) -> f32[N, 3] {
    return dense(tanh(dense(features, 5)), 3)
}
"""


def write_safetensors(path, tensors):
    """The minimal safetensors writer (F32 tensors): header length, JSON header, data."""
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype=np.float32).tobytes()
        header[k] = dict(dtype="F32", shape=list(v.shape), data_offsets=[off, off + len(b)])
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"])
    return out


def _data(work):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    for name in ("train.csv", "test.csv"):
        with open(os.path.join(work, name), "w") as f:
            for row, c in zip(x, y):
                f.write(",".join(f"{v:.9g}" for v in row) + f",{c}\n")
    return np.array([[float(f"{v:.9g}") for v in row] for row in x]), y


def _params(seed):
    g = torch.Generator().manual_seed(seed)
    return {"dense0.weight": torch.randn(5, 4, generator=g) * 0.5, "dense0.bias": torch.randn(5, generator=g) * 0.1,
            "dense1.weight": torch.randn(3, 5, generator=g) * 0.5, "dense1.bias": torch.randn(3, generator=g) * 0.1}


def _loss(p, x, y):
    h = torch.tanh(F.linear(x, p["dense0.weight"], p["dense0.bias"]))
    return F.cross_entropy(F.linear(h, p["dense1.weight"], p["dense1.bias"]), y)


def _run_dlnc(build, tag, optim, sched, p0, model=MODEL, data=_data, batch=BATCH, epochs=EPOCHS, extra="", args=()):
    """dlnc run of MODEL with this optim/sched: (final weights, [lr per step], error text).
    accumulate.py and lookahead.py run their own model, data, settings (extra) and
    command-line arguments (args) through it."""
    work = os.path.join(build.work, "s3_" + tag)
    os.makedirs(work, exist_ok=True)
    x, y = data(work)
    write_safetensors(os.path.join(work, "init.st"), {k: v.numpy() for k, v in p0.items()})
    src = model + f"""
train opt {{
    data       = csv("{work}/train.csv", test = "{work}/test.csv", batch = {batch}, shuffle = false, val_split = 0)
    loss       = cross_entropy(output, label)
    optim      = {optim}
    {"sched      = " + sched if sched else ""}
    {extra}
    epochs     = {epochs}
    init_from  = "{work}/init.st"
    checkpoint = "{work}/out.st"
    log_every  = 1
}}
"""
    with open(os.path.join(work, "m.dln"), "w") as f:
        f.write(src)
    r = subprocess.run([build.dlnc, "run", os.path.join(work, "m.dln"), *args], capture_output=True, text=True,
                       cwd=work, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if r.returncode != 0:
        return None, None, (r.stderr or r.stdout).strip()[-600:], x, y
    lrs = [float(m.group(1)) for m in re.finditer(r"^\s*step \d+ .*\blr ([0-9.eE+-]+)", r.stdout + r.stderr, re.M)]
    return read_safetensors(os.path.join(work, "out.st")), lrs, None, x, y


def _torch_run(p0, x, y, make_opt, make_sched=None, clip=None, epochs=EPOCHS, after_step=None):
    p = {k: v.double().clone().requires_grad_(True) for k, v in p0.items()}
    opt = make_opt(list(p.values()))
    with warnings.catch_warnings():                  # SequentialLR's own use of a deprecated argument
        warnings.simplefilter("ignore")
        sch = make_sched(opt) if make_sched else None
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.from_numpy(np.asarray(y)).long()
    lrs = []
    for _ in range(epochs):
        for b in range(STEPS_PER_EPOCH):
            lrs.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            _loss(p, xt[b * BATCH:(b + 1) * BATCH], yt[b * BATCH:(b + 1) * BATCH]).backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(list(p.values()), clip)
            opt.step()
            if after_step:
                after_step()
            if sch:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sch.step()
    return {k: v.detach().numpy() for k, v in p.items()}, lrs


O = torch.optim
# (dln optim setting, torch optimizer of the params, clip_norm)
OPTIMS = [
    ("sgd(lr = 0.1)", lambda q: O.SGD(q, lr=0.1), None),
    ("sgd()", lambda q: O.SGD(q, lr=0.01), None),
    ("sgd(lr = 0.1, momentum = 0.9, dampening = 0.1, weight_decay = 0.01)",
     lambda q: O.SGD(q, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), None),
    ("sgd(lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.001)",
     lambda q: O.SGD(q, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.001), None),
    ("momentum(lr = 0.1)", lambda q: O.SGD(q, lr=0.1, momentum=0.9), None),
    ("nesterov(lr = 0.1, momentum = 0.8)", lambda q: O.SGD(q, lr=0.1, momentum=0.8, nesterov=True), None),
    ("adam()", lambda q: O.Adam(q, lr=1e-3), None),
    ("adam(lr = 0.05, betas = (0.8, 0.9), eps = 1e-6, weight_decay = 0.01)",
     lambda q: O.Adam(q, lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.01), None),
    ("adamw(lr = 0.05)", lambda q: O.AdamW(q, lr=0.05), None),
    ("adamw(lr = 0.05, betas = (0.5, 0.99), weight_decay = 0.1)",
     lambda q: O.AdamW(q, lr=0.05, betas=(0.5, 0.99), weight_decay=0.1), None),
    ("rmsprop()", lambda q: O.RMSprop(q, lr=0.01, alpha=0.99, eps=1e-8), None),
    ("rmsprop(lr = 0.02, alpha = 0.9, momentum = 0.5, weight_decay = 0.01)",
     lambda q: O.RMSprop(q, lr=0.02, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=0.01), None),
    ("adagrad()", lambda q: O.Adagrad(q, lr=0.01, eps=1e-10), None),
    ("adagrad(lr = 0.1, lr_decay = 0.05, initial_accumulator = 0.1, weight_decay = 0.01)",
     lambda q: O.Adagrad(q, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1, weight_decay=0.01, eps=1e-10), None),
    ("sgd(lr = 0.5, momentum = 0.9, clip_norm = 0.1)", lambda q: O.SGD(q, lr=0.5, momentum=0.9), 0.1),
    ("adam(lr = 0.05, clip_norm = 0.2)", lambda q: O.Adam(q, lr=0.05), 0.2),
]

LS = O.lr_scheduler
SPE = STEPS_PER_EPOCH
# (dln sched setting, torch scheduler of the optimizer at lr 0.1)
SCHEDS = [
    ("constant()", None),
    ("step(step_size = 1, gamma = 0.5)", lambda o: LS.StepLR(o, step_size=1 * SPE, gamma=0.5)),
    ("step(2)", lambda o: LS.StepLR(o, step_size=2 * SPE, gamma=0.1)),
    ("exponential(gamma = 0.5)", lambda o: LS.ExponentialLR(o, gamma=0.5 ** (1 / SPE))),
    ("cosine()", lambda o: LS.CosineAnnealingLR(o, T_max=EPOCHS * SPE)),
    ("cosine(min_lr = 0.01)", lambda o: LS.CosineAnnealingLR(o, T_max=EPOCHS * SPE, eta_min=0.01)),
    ("poly(power = 2.0)", lambda o: LS.PolynomialLR(o, total_iters=EPOCHS * SPE, power=2.0)),
    ("cosine(warmup = 1)", lambda o: LS.SequentialLR(o, [LS.LinearLR(o, start_factor=0.1, total_iters=SPE),
                                                        LS.CosineAnnealingLR(o, T_max=(EPOCHS - 1) * SPE)], [SPE])),
    ("step(step_size = 1, gamma = 0.5, warmup = 1, warmup_start = 0.25)",
     lambda o: LS.SequentialLR(o, [LS.LinearLR(o, start_factor=0.25, total_iters=SPE),
                                   LS.StepLR(o, step_size=SPE, gamma=0.5)], [SPE])),
]


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def _compiled(build, src, name):
    """dlnc + cc of src: (the loaded library, None) or (None, the failing row)."""
    so, err = build.compile_dln(src, name)
    if so is None:
        return None, dict(case=Desc(f"{name}: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    return load_lib(so), None


def _general(build, src, name, seed):
    """A compiled model of the general form with S.draw_params' weights: (model, params, None) or (None, None, row)."""
    lib, bad = _compiled(build, src, name)
    if lib is None:
        return None, None, bad
    m = S.General(lib, name, (8,))
    return m, S.draw_params(m, seed), None


def _optim_row(build, i, setting, make, clip):
    p0 = _params(40 + i)
    ours, _, err, x, y = _run_dlnc(build, f"o{i}", setting, None, p0)
    if ours is None:
        return dict(case=Desc(f"optim = {setting}: dlnc run"), fwd=float("nan"), grad=None, ok=False, detail=err)
    ref, _ = _torch_run(p0, x, y, make, clip=clip)
    e = max(_rel(ours[k], ref[k]) for k in ref)
    moved = max(_rel(ref[k], p0[k].numpy().astype(np.float64)) for k in ref)
    ok = e <= W_TOL and moved > 10 * W_TOL
    return dict(case=Desc(f"optim = {setting}: weights after {EPOCHS * SPE} steps of dlnc run"), fwd=e, grad=None,
                ok=ok, detail=None if ok else f"max rel err {e:.3g} (weights moved {moved:.3g})")


def _sched_row(build, i, setting, make):
    p0 = _params(70 + i)
    _, lrs, err, x, y = _run_dlnc(build, f"s{i}", "sgd(lr = 0.1)", setting, p0)
    if lrs is None:
        return dict(case=Desc(f"sched = {setting}: dlnc run"), fwd=float("nan"), grad=None, ok=False, detail=err)
    _, want = _torch_run(p0, x, y, lambda q: O.SGD(q, lr=0.1), make)
    if len(lrs) != len(want):
        return dict(case=Desc(f"sched = {setting}: lr per step"), fwd=float("nan"), grad=None, ok=False,
                    detail=f"{len(lrs)} step lines, want {len(want)}")
    e = max(abs(a - b) / max(abs(b), 1e-3) for a, b in zip(lrs, want))
    ok = e <= LR_TOL
    return dict(case=Desc(f"sched = {setting}: the lr of each of {len(want)} steps"), fwd=e, grad=None, ok=ok,
                detail=None if ok else f"dlnc {lrs} vs torch {[round(v, 6) for v in want]}")


def run(build):
    rows = [] if os.environ.get("S3_SKIP") else [_optim_row(build, i, *o) for i, o in enumerate(OPTIMS)]
    rows += [] if os.environ.get("S3_SKIP") else [_sched_row(build, i, *s) for i, s in enumerate(SCHEDS)]
    rows += [_rnn_row(build, *r) for r in RNNS] + [_tbptt_row(build)] + _gen_rows(build) + [_px_row(build)]
    return rows + _acts_rows(build) + _losses_rows(build) + [_transfer_row(build)]


# ---- activations: values and gradients at edge values, through the general forward ----
EDGE = np.array([0.0, -0.0, 1e-4, -1e-4, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 6.5, 20.0, -20.0,
                 88.0, -88.0, 100.0, -100.0, 1e4, -1e4, 0.25, 2.9999, 3.0001], dtype=np.float32)
ACTS = [  # (dln expression of x, torch function)
    ("relu(x)", torch.relu), ("sigmoid(x)", torch.sigmoid), ("tanh(x)", torch.tanh), ("gelu(x)", F.gelu),
    ("leaky_relu(x)", F.leaky_relu), ("leaky_relu(x, slope = 0.2)", lambda t: F.leaky_relu(t, 0.2)),
    ("elu(x)", F.elu), ("elu(x, alpha = 0.5)", lambda t: F.elu(t, 0.5)), ("selu(x)", F.selu),
    ("silu(x)", F.silu), ("swish(x)", F.silu), ("softplus(x)", F.softplus), ("relu6(x)", F.relu6),
    ("hard_sigmoid(x)", F.hardsigmoid), ("softmax(x)", lambda t: torch.softmax(t, -1)),
    ("log_softmax(x)", lambda t: torch.log_softmax(t, -1)), ("softmax(x, axis = 0)", lambda t: torch.softmax(t, 0)),
]
# the formulas dlnc's error hints give for PyTorch activations without a builtin (compiler/elab_torch_acts.c)
RECIPES = [
    # hardswish's gradient at exactly x = ±3 is left out below: PyTorch's own kernels disagree there
    # (1.5 at 3 from the scalar loop, 1.0 from the vectorized one; -0.5 at -3, x * hard_sigmoid(x) gives 0)
    ("x * tanh(softplus(x))", F.mish), ("x * hard_sigmoid(x)", F.hardswish),
    ("where(abs(x) < 1.0, x, sign(x))", F.hardtanh), ("-softplus(-x)", F.logsigmoid),
    ("x / (1.0 + abs(x))", F.softsign), ("x - tanh(x)", F.tanhshrink),
    ("0.5 * elu(x / 0.5)", lambda t: F.celu(t, 0.5)),
    ("where(x > 0.0, x, 0.25 * x)", lambda t: F.prelu(t, torch.tensor([0.25], dtype=t.dtype))),
    ("softmax(-x, axis = 1)", lambda t: F.softmin(t, 1)),
]


def _acts_source():
    k, n = EDGE.size, len(ACTS + RECIPES)
    body = "\n".join(f"    y{i} = {e}\n    g{i} = grad(sum(y{i} * c), x)" for i, (e, _) in enumerate(ACTS + RECIPES))
    ys, gs = ", ".join(f"y{i}" for i in range(n)), ", ".join(f"g{i}" for i in range(n))
    return (f"model acts(x: f32[N, {k}], c: f32[N, {k}]) -> (y: f32[N, {n}, {k}], g: f32[N, {n}, {k}]) {{\n{body}\n"
            f"    return stack([{ys}], axis = 1), stack([{gs}], axis = 1)\n}}\n")


def _acts_rows(build):
    lib, bad = _compiled(build, _acts_source(), "acts")
    if lib is None:
        return [bad]
    n, k = 2, EDGE.size
    lib.acts_create.restype, lib.acts_create.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.acts_forward.restype = None
    lib.acts_forward.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int64]
    m = lib.acts_create(n)
    x = np.stack([EDGE, -EDGE[::-1] * 0.37]).astype(np.float32)
    c = np.random.default_rng(9).standard_normal((n, k)).astype(np.float32)
    ys, gs = np.zeros((n, len(ACTS + RECIPES), k), np.float32), np.zeros((n, len(ACTS + RECIPES), k), np.float32)
    lib.acts_forward(m, x.ctypes.data, c.ctypes.data, ys.ctypes.data, gs.ctypes.data, n)
    outs = [a for i in range(len(ACTS + RECIPES)) for a in (ys[:, i], gs[:, i])]
    xn = np.full((n, k), np.nan, np.float32)                           # NaN in: what the docs say comes out
    yn, gn = np.zeros((n, len(ACTS + RECIPES), k), np.float32), np.zeros((n, len(ACTS + RECIPES), k), np.float32)
    lib.acts_forward(m, xn.ctypes.data, c.ctypes.data, yn.ctypes.data, gn.ctypes.data, n)
    lib.acts_free.argtypes = [ctypes.c_void_p]
    lib.acts_free(m)
    zero = {"relu(x)", "relu6(x)", "hard_sigmoid(x)"}                   # documented: 0 for a NaN (PyTorch NaN)
    wrong = [e for i, (e, _) in enumerate(ACTS) if not (np.all(yn[:, i] == 0) if e in zero else np.all(np.isnan(yn[:, i])))]
    rows = [dict(case=Desc("a NaN through every activation: 0 for relu, relu6, hard_sigmoid (as documented), NaN for "
                           "the others (as PyTorch)"), fwd=float(len(wrong)), grad=None, ok=not wrong,
                 detail=None if not wrong else f"not as documented: {wrong}")]
    for i, (e, f) in enumerate(ACTS + RECIPES):
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        y = f(xt)
        g, = torch.autograd.grad((y * torch.tensor(c, dtype=torch.float64)).sum(), xt)
        ey = float(np.max(np.abs(outs[2 * i] - y.detach().numpy()) / np.maximum(np.abs(y.detach().numpy()), 1.0)))
        kink = np.abs(x) == 3.0 if e == "x * hard_sigmoid(x)" else np.zeros(x.shape, bool)
        eg = float(np.max(np.where(kink, 0.0, np.abs(outs[2 * i + 1] - g.numpy()) / np.maximum(np.abs(g.numpy()), 1.0))))
        ok = ey <= 1e-5 and eg <= 1e-5
        bad = "" if ok else f" worst value at x = {x.flat[int(np.argmax(np.abs(outs[2 * i] - y.detach().numpy())))]}, " \
                            f"worst gradient at x = {x.flat[int(np.argmax(np.abs(outs[2 * i + 1] - g.numpy())))]}"
        rows.append(dict(case=Desc(f"{e}: values and gradients at 0, ±1e-4, ±6, ±88, ±1e4 ..."), fwd=ey, grad=eg,
                         ok=ok, detail=None if ok else bad))
    return rows


# ---- transfer learning: a new head on a saved trunk, the frozen layers bit-identical ----
PRE = """
model pre(features: f32[N, 4]) -> f32[N, 3] {
    h = dense(features, 6, name = "trunk1") |> tanh
    h = dense(h, 6, name = "trunk2") |> relu
    return dense(h, 3, name = "head")
}
"""
FINE = """
model fine(features: f32[N, 4]) -> f32[N, 2] {
    h = dense(features, 6, name = "trunk1") |> tanh
    h = dense(h, 6, name = "trunk2") |> relu
    return dense(h, 2, name = "head")
}
"""


def _transfer_row(build):
    work = os.path.join(build.work, "s3_transfer")
    os.makedirs(work, exist_ok=True)
    _data(work)

    def run(src, name, extra, ckpt):
        text = src + f"""
train {name} {{
    data       = csv("{work}/train.csv", test = "{work}/test.csv", batch = 8, val_split = 0)
    loss       = cross_entropy(output, label)
    optim      = adamw(lr = 0.05, weight_decay = 0.5)
    epochs     = 2
    checkpoint = "{work}/{ckpt}"
{extra}}}
"""
        with open(os.path.join(work, name + ".dln"), "w") as f:
            f.write(text)
        r = subprocess.run([build.dlnc, "run", os.path.join(work, name + ".dln")], capture_output=True, text=True,
                           cwd=work, env=dict(os.environ, OMP_NUM_THREADS="1"))
        return r
    r1 = run(PRE, "pre", "", "pre.st")
    # the 2-class head needs labels < 2: the fine-tuning CSVs keep the features, labels mod 2
    for name in ("train.csv", "test.csv"):
        rows = open(os.path.join(work, name)).read().split("\n")
        with open(os.path.join(work, name), "w") as f:
            f.write("\n".join(r[:r.rfind(",") + 1] + str(int(r[r.rfind(",") + 1:]) % 2) for r in rows if r) + "\n")
    r2 = run(FINE, "fine", f'    init_from  = "{work}/pre.st"\n    init_skip  = ["head."]\n    freeze     = ["trunk1."]\n',
             "fine.st")
    if r1.returncode or r2.returncode:
        return dict(case=Desc("transfer: pretrain, new head, freeze"), fwd=float("nan"), grad=None, ok=False,
                    detail=(r1.stderr + r2.stderr)[-600:])
    a, b = read_safetensors(os.path.join(work, "pre.st")), read_safetensors(os.path.join(work, "fine.st"))
    frozen = all(np.array_equal(a[k].view(np.uint32), b[k].view(np.uint32)) for k in ("trunk1.weight", "trunk1.bias"))
    trained = not np.array_equal(a["trunk2.weight"], b["trunk2.weight"])
    said = "newly initialized by init_skip (head.weight, head.bias)" in r2.stdout + r2.stderr
    ok = frozen and trained and said and b["head.weight"].shape == (2, 6)
    return dict(case=Desc("transfer: pretrain, init_from + init_skip a 2-class head, freeze trunk1 under adamw "
                          "weight decay: trunk1 bit-identical, trunk2 trained"), fwd=float(not ok), grad=None, ok=ok,
                detail=None if ok else f"frozen {frozen} trained {trained} reported {said}: {r2.stdout[-400:]}")


# ---- losses: values and gradients with respect to the prediction, edge values included ----
LOSSES = [  # (dln expression of y (logits or predictions), t (f32 targets), p (probabilities), lab (i32)), torch)
    ("cross_entropy(y, lab)", lambda y, t, p, lab: F.cross_entropy(y, lab)),
    ("cross_entropy(y, lab, ignore_index = 2)", lambda y, t, p, lab: F.cross_entropy(y, lab, ignore_index=2)),
    ("cross_entropy(y, lab, label_smoothing = 0.2)", lambda y, t, p, lab: F.cross_entropy(y, lab, label_smoothing=0.2)),
    ("soft_cross_entropy(y, p)", lambda y, t, p, lab: F.cross_entropy(y, p)),
    ("nll(log_softmax(y), lab)", lambda y, t, p, lab: F.nll_loss(F.log_softmax(y, -1), lab)),
    ("mse(y, t)", lambda y, t, p, lab: F.mse_loss(y, t)),
    ("l1(y, t)", lambda y, t, p, lab: F.l1_loss(y, t)),
    ("mae(y, t)", lambda y, t, p, lab: F.l1_loss(y, t)),
    ("huber(y, t)", lambda y, t, p, lab: F.huber_loss(y, t)),
    ("huber(y, t, delta = 0.5)", lambda y, t, p, lab: F.huber_loss(y, t, delta=0.5)),
    ("msle(y * y, p)", lambda y, t, p, lab: ((torch.log1p(y * y) - torch.log1p(p)) ** 2).mean()),
    ("bce(sigmoid(y), p)", lambda y, t, p, lab: F.binary_cross_entropy(torch.sigmoid(y), p)),
    ("bce_with_logits(y, p)", lambda y, t, p, lab: F.binary_cross_entropy_with_logits(y, p)),
    ("smooth_l1(y, t, beta = 0.5)", lambda y, t, p, lab: F.smooth_l1_loss(y, t, beta=0.5)),
    # beta = 0 is documented as the L1 loss: torch 1.13's smooth_l1 gives -1/n at d = 0 there, F.l1_loss 0
    ("smooth_l1(y, t, beta = 0.0)", lambda y, t, p, lab: F.l1_loss(y, t)),
    ("smooth_l1(y, t, reduction = \"sum\")", lambda y, t, p, lab: F.smooth_l1_loss(y, t, reduction="sum")),
]


def _focal(y, p, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss's code (torchvision is not installed here)."""
    q = torch.sigmoid(y)
    ce = F.binary_cross_entropy_with_logits(y, p, reduction="none")
    p_t = q * p + (1 - q) * (1 - p)
    return (ce * (1 - p_t) ** gamma * (alpha * p + (1 - alpha) * (1 - p))).mean()


def _worst(v, want, y, g, gw):
    k = np.unravel_index(int(np.nanargmax(np.where(np.isnan(g), np.inf, np.abs(g - gw)))), g.shape)
    return f"loss {v} vs torch {want}; gradient at y{list(k)} = {y[k]}: {g[k]} vs torch {gw[k]}"


def _losses_rows(build):
    cases = LOSSES + [("focal_loss(y, p)", lambda y, t, p, lab: _focal(y, p))]
    ls = "\n".join(f"    l{i} = {e}" for i, (e, _) in enumerate(cases))
    src = (f"model losses(y: f32[N, 5], t: f32[N, 5], p: f32[N, 5], lab: i32[N]) -> (v: f32[N, {len(cases)}], "
           f"g: f32[N, {len(cases)}, 5]) {{\n{ls}\n"
           f"    v = sum(y * 0.0, axis = 1, keepdims = true) + stack([{', '.join(f'l{i}' for i in range(len(cases)))}])\n"
           f"    return v, stack([{', '.join(f'grad(l{i}, y)' for i in range(len(cases)))}], axis = 1)\n}}\n")
    lib, bad = _compiled(build, src, "losses")
    if lib is None:
        return [bad]
    n, L = 6, len(cases)
    lib.losses_create.restype, lib.losses_create.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.losses_forward.restype = None
    lib.losses_forward.argtypes = [ctypes.c_void_p] * 7 + [ctypes.c_int64]
    lib.losses_free.argtypes = [ctypes.c_void_p]
    m = lib.losses_create(n)
    rng = np.random.default_rng(17)
    y = rng.standard_normal((n, 5)).astype(np.float32) * 2
    y[0] = [0.0, 0.0, 0.0, 0.0, 0.0]                                   # ties, d = 0 against t below
    y[1] = [30.0, -30.0, 0.0, 100.0, -100.0]                           # saturated logits
    y[2, :3] = [0.5, -0.5, 1.0]                                         # |d| = beta, delta, 1 against t = 0
    t = rng.standard_normal((n, 5)).astype(np.float32)
    t[0], t[2, :3] = 0.0, 0.0
    p = rng.random((n, 5)).astype(np.float32)
    p[1] = [1.0, 0.0, 0.5, 0.0, 1.0]                                    # hard targets where the logits saturate
    lab = np.array([0, 3, 2, 4, 2, 1], dtype=np.int32)
    v, g = np.zeros((n, L), np.float32), np.zeros((n, L, 5), np.float32)
    lib.losses_forward(m, y.ctypes.data, t.ctypes.data, p.ctypes.data, lab.ctypes.data, v.ctypes.data, g.ctypes.data, n)
    lib.losses_free(m)
    rows = []
    D = lambda a: torch.tensor(a, dtype=torch.float64)
    for i, (e, f) in enumerate(cases):
        yt = D(y).requires_grad_(True)
        ref = f(yt, D(t), D(p), torch.from_numpy(lab).long())
        gr, = torch.autograd.grad(ref, yt)
        ev = abs(float(v[0, i]) - ref.item()) / max(abs(ref.item()), 1.0)
        eg = float(np.max(np.abs(g[:, i] - gr.numpy())) / max(np.max(np.abs(gr.numpy())), 1e-6))
        ok = ev <= 1e-5 and eg <= 1e-5
        rows.append(dict(case=Desc(f"{e}: value and gradient, zero and saturated logits, |d| at beta/delta"), fwd=ev,
                         grad=eg, ok=ok, detail=None if ok else _worst(v[0, i], ref.item(), y, g[:, i], gr.numpy())))
    return rows


# ---- recurrent layers: bidirectional, padded (packed) sequences, carried state (truncated BPTT) ----
RNN_DLN = """
model {name}(features: f32[N, 5, 3]) -> f32[N, 3] {{
    m = sum(abs(features), axis = 2) != 0.0                   # f32[N, 5]: 1 at real steps, 0 at the padding
    h = {call}                                                 # f32[N, 5, 2 * 6]
    s = sum(h * unsqueeze(m, 2), axis = 1)
    return dense(s, 3)
}}
train {name} {{
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}}
"""
RNNS = [  # (name, dln call, torch module)
    ("bigru", "gru(features, 6, bidirectional = true, mask = m)",
     lambda: torch.nn.GRU(3, 6, bidirectional=True, batch_first=True)),
    ("bilstm2", "lstm(features, 6, layers = 2, bidirectional = true, mask = m)",
     lambda: torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, batch_first=True)),
    ("birelu", "rnn(features, 6, bidirectional = true, mask = m, nonlinearity = \"relu\")",
     lambda: torch.nn.RNN(3, 6, bidirectional=True, batch_first=True, nonlinearity="relu")),
]


def _rnn_row(build, name, call, module):
    m, p, bad = _general(build, RNN_DLN.format(name=name, call=call), name, 5)
    if m is None:
        return bad
    rng = np.random.default_rng(6)
    lengths = np.array([5, 1, 3, 5, 2, 4, 3, 5])
    x = rng.standard_normal((8, 5, 3)).astype(np.float32)
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0                                                # padding at the end, as pack_padded_sequence
    y = rng.integers(0, 3, size=8).astype(np.int32)
    ours = m.train_step([x, y], 8)
    rnn = module().double()
    pre = _rnn_prefix(call)
    with torch.no_grad():                            # functional_call misses an RNN's cached flat weights
        for k, v in rnn.named_parameters():
            v.copy_(p[pre + k])
    xt = torch.tensor(x, dtype=torch.float64)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=True,
                                                     enforce_sorted=False)
    h, _ = torch.nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=5)
    ref = F.cross_entropy(F.linear(h.sum(1), p["dense0.weight"], p["dense0.bias"]), torch.from_numpy(y).long())
    mods = dict(rnn.named_parameters())
    keys = list(p)
    grads = torch.autograd.grad(ref, [mods[k[len(pre):]] if k.startswith(pre) else p[k] for k in keys])
    e_loss = rel_err(np.float64(ours), ref.item())
    e_grad = max(rel_err(m.grad(k), (g if g is not None else torch.zeros_like(p[k])).numpy()) for k, g in zip(p, grads))
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    return dict(case=Desc(f"{call}: lengths 1..5 against pack_padded_sequence, one step's loss and every gradient"),
                fwd=e_loss, grad=e_grad, ok=ok, detail=None if ok else f"loss {ours} vs torch {ref.item()}")


def _rnn_prefix(call):
    return call[:call.index("(")] + "0."


TBPTT_DLN = """
model tb(features: f32[N, 4, 3]) -> f32[N, 3] {
    buffer h: f32[N, 6] = zeros              # the state one batch leaves to the next
    buffer c: f32[N, 6] = zeros
    param w_ih: f32[24, 3] = uniform(low = -0.4, high = 0.4)
    param w_hh: f32[24, 6] = uniform(low = -0.4, high = 0.4)
    param b_ih: f32[24] = zeros
    param b_hh: f32[24] = zeros
    ys, h2, c2 = lstm_scan(features, w_ih, w_hh, b_ih, b_hh, h0 = h, c0 = c)
    update(h, stop_grad(h2))                 # carried on, no gradient across batches
    update(c, stop_grad(c2))
    return dense(ys[:, 3], 3)
}
train tb {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.5)
}
"""


def _tbptt_row(build):
    """Two training steps: the second starts from the first's final (h, c), with the first's updated weights."""
    m, p, bad = _general(build, TBPTT_DLN, "tb", 8)
    if m is None:
        return bad
    rng = np.random.default_rng(10)
    xs = [rng.standard_normal((8, 4, 3)).astype(np.float32) for _ in range(2)]
    ys = [rng.integers(0, 3, size=8).astype(np.int32) for _ in range(2)]
    m.train_step([xs[0], ys[0]], 8)

    def param(k):
        ptr = m.lib.tb_param(m.m, k.encode())
        shape = m.params[k][0]
        return torch.tensor(np.ctypeslib.as_array(ptr, shape=(int(np.prod(shape)),)).reshape(shape), dtype=torch.float64)
    p1 = {k: param(k).requires_grad_(True) for k in p}
    ours = m.train_step([xs[1], ys[1]], 8)
    grads_ours = {k: m.grad(k) for k in p}
    m.close()

    def forward(q, x, h, c):
        for t in range(4):
            g = x[:, t] @ q["w_ih"].T + q["b_ih"] + h @ q["w_hh"].T + q["b_hh"]
            i, f, gg, o = g.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
        return F.linear(h, q["dense0.weight"], q["dense0.bias"]), h, c
    X = [torch.tensor(x, dtype=torch.float64) for x in xs]
    zero = torch.zeros(8, 6, dtype=torch.float64)
    with torch.no_grad():
        _, h, c = forward(p, X[0], zero, zero)
    ref = F.cross_entropy(forward(p1, X[1], h, c)[0], torch.from_numpy(ys[1]).long())
    grads = torch.autograd.grad(ref, list(p1.values()))
    e_loss = rel_err(np.float64(ours), ref.item())
    e_grad = max(rel_err(grads_ours[k], g.numpy()) for k, g in zip(p1, grads))
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    return dict(case=Desc("truncated BPTT: lstm_scan with h0, c0 from N-row buffers, the second step's loss and "
                          "gradients from the first step's state and weights"), fwd=e_loss, grad=e_grad, ok=ok,
                detail=None if ok else f"loss {ours} vs torch {ref.item()}")



# ---- DDPM's schedule, q_sample and time embedding; PixelCNN's masks; Grad-CAM, FGSM and PGD in the language ----
GEN_DLN = """block cnn(x: f32[N, 1, 6, 6]) -> (f32, f32) {
    a = conv2d(x, 4, pad = 1) |> relu
    return dense(flatten(maxpool(a, 2)), 3), a
}

model gen(x: f32[N, 1, 6, 6], t: i32[N], noise: f32[N, 1, 6, 6], lab: i32[N])
        -> (sched: f32[N, 3], xt: f32[N, 1, 6, 6], temb: f32[N, 9], pix: f32[N, 3, 6, 6], cam: f32[N, 6, 6],
            fgsm: f32[N, 1, 6, 6], pgd: f32[N, 1, 6, 6]) {
    betas, alphas, abar = ddpm_schedule(1000)
    sched = stack([take(betas, t), take(alphas, t), take(abar, t)], axis = 1)
    xt = q_sample(x, t, noise, abar)
    temb = timestep_embedding(t, 9)
    pa = masked_conv2d(x, 2, kernel = 5, mask_type = "A")
    pix = masked_conv2d(relu(pa), 3, kernel = 3, mask_type = "B")
    logits, a = cnn(x, name = "net")
    w = mean(grad(sum(pick(logits, lab)), a), axis = [2, 3], keepdims = true)    # Grad-CAM's channel weights
    cam = relu(sum(w * a, axis = 1))
    fgsm = clamp(x + 0.1 * sign(grad(cross_entropy(logits, lab), x)), min = 0.0, max = 1.0)
    l1, a1 = cnn(x, name = "net")
    x1 = x
    repeat 2 {                                    # PGD: eps 0.1, alpha 0.04, no random start
        l1, a1 = cnn(x1, name = "net")
        x1 = x1 + 0.04 * sign(grad(cross_entropy(l1, lab), x1))
        x1 = clamp(minimum(maximum(x1, x - 0.1), x + 0.1), min = 0.0, max = 1.0)
    }
    return sched, xt, temb, pix, cam, fgsm, x1
}
"""


def _mask(k, kind):
    m = torch.ones(k, k, dtype=torch.float64)
    m[k // 2, k // 2 + (kind == "B"):] = 0
    m[k // 2 + 1:] = 0
    return m


def _gen_rows(build):
    """One forward of GEN_DLN against its torch twin; each output a row."""
    lib, bad = _compiled(build, GEN_DLN, "gen")
    if lib is None:
        return [bad]
    m = S.General(lib, "gen", (8,))
    rng = np.random.default_rng(12)
    p = {}
    for k, (shape, _) in m.params.items():                          # masked positions random too: the mask must act
        p[k] = rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)
        m.set_param(k, p[k])
    n = 8
    x = rng.random((n, 1, 6, 6)).astype(np.float32)
    t = np.array([0, 1, 2, 499, 500, 998, 999, 137], dtype=np.int32)
    noise = rng.standard_normal((n, 1, 6, 6)).astype(np.float32)
    lab = rng.integers(0, 3, size=n).astype(np.int32)
    shapes = {"sched": (n, 3), "xt": (n, 1, 6, 6), "temb": (n, 9), "pix": (n, 3, 6, 6), "cam": (n, 6, 6),
              "fgsm": (n, 1, 6, 6), "pgd": (n, 1, 6, 6)}
    outs = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
    lib.gen_forward.restype = None
    lib.gen_forward.argtypes = [ctypes.c_void_p] * 12 + [ctypes.c_int64]
    lib.gen_forward(m.m, x.ctypes.data, t.ctypes.data, noise.ctypes.data, lab.ctypes.data,
                    *[outs[k].ctypes.data for k in shapes], n)
    m.close()
    D = lambda a: torch.tensor(a, dtype=torch.float64)
    P = {k: D(v) for k, v in p.items()}
    X, T, L = D(x), torch.from_numpy(t).long(), torch.from_numpy(lab).long()
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)
    want = {"sched": torch.stack([betas[T], 1 - betas[T], abar[T]], 1)}
    a = abar[T].view(-1, 1, 1, 1)
    want["xt"] = a.sqrt() * X + (1 - a).sqrt() * D(noise)
    half = 4                                                        # the DDPM code's get_timestep_embedding
    f = torch.exp(-np.log(10000.0) * torch.arange(half, dtype=torch.float64) / (half - 1))
    e = T.double()[:, None] * f[None]
    want["temb"] = F.pad(torch.cat([torch.sin(e), torch.cos(e)], 1), (0, 1))
    pa = F.conv2d(X, P["masked_conv2d0.weight"] * _mask(5, "A"), P["masked_conv2d0.bias"], padding=2)
    want["pix"] = F.conv2d(F.relu(pa), P["masked_conv2d1.weight"] * _mask(3, "B"), P["masked_conv2d1.bias"], padding=1)

    def cnn(z):
        act = F.relu(F.conv2d(z, P["net.conv2d0.weight"], P["net.conv2d0.bias"], padding=1))
        return F.linear(F.max_pool2d(act, 2).flatten(1), P["net.dense0.weight"], P["net.dense0.bias"]), act
    xg = X.clone().requires_grad_(True)
    logits, act = cnn(xg)
    dA, = torch.autograd.grad(logits.gather(1, L[:, None]).sum(), act, retain_graph=True)
    want["cam"] = F.relu((dA.mean((2, 3), keepdim=True) * act).sum(1))
    gx, = torch.autograd.grad(F.cross_entropy(logits, L), xg)
    want["fgsm"] = (X + 0.1 * gx.sign()).clamp(0, 1)
    x1 = X
    for _ in range(2):
        x1 = x1.clone().requires_grad_(True)
        g, = torch.autograd.grad(F.cross_entropy(cnn(x1)[0], L), x1)
        x1 = torch.min(torch.max(x1.detach() + 0.04 * g.sign(), X - 0.1), X + 0.1).clamp(0, 1)
    want["pgd"] = x1
    what = {"sched": "ddpm_schedule(1000)'s betas, alphas, alphas_cumprod at t = 0, 1, 499, 999 ...",
            "xt": "q_sample(x, t, noise, alphas_cumprod)", "temb": "timestep_embedding(t, 9) (odd: a zero column)",
            "pix": "masked_conv2d type A (kernel 5) then B (kernel 3), every weight random (the masks must act)",
            "cam": "Grad-CAM written in the language: grad of the label's logit w.r.t. an activation",
            "fgsm": "FGSM in the language: clamp(x + 0.1 sign(grad(cross_entropy, x)), 0, 1)",
            "pgd": "PGD in the language: 2 steps of 0.04, projected on the 0.1-ball and [0, 1]"}
    rows = []
    for k in shapes:
        w = want[k].detach().numpy()
        err = float(np.max(np.abs(outs[k] - w)) / max(np.max(np.abs(w)), 1e-6))
        ok = err <= 1e-5
        rows.append(dict(case=Desc(what[k]), fwd=err, grad=None, ok=ok,
                         detail=None if ok else f"worst at {np.unravel_index(np.argmax(np.abs(outs[k] - w)), w.shape)}"))
    return rows


PX_DLN = """
model px(features: f32[N, 1, 6, 6]) -> f32[N, 1, 6, 6] {
    h = masked_conv2d(features, 4, kernel = 5, mask_type = "A") |> relu
    return masked_conv2d(h, 1, kernel = 3, mask_type = "B")
}
train px {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


def _px_row(build):
    """One training step of a PixelCNN pair: the gradient of every weight, masked places exactly 0."""
    m, p, bad = _general(build, PX_DLN, "px", 14)
    if m is None:
        return bad
    rng = np.random.default_rng(15)
    x, y = rng.random((8, 1, 6, 6)).astype(np.float32), rng.random((8, 1, 6, 6)).astype(np.float32)
    ours = m.train_step([x, y], 8)
    X = torch.tensor(x, dtype=torch.float64)
    h = F.relu(F.conv2d(X, p["masked_conv2d0.weight"] * _mask(5, "A"), p["masked_conv2d0.bias"], padding=2))
    o = F.conv2d(h, p["masked_conv2d1.weight"] * _mask(3, "B"), p["masked_conv2d1.bias"], padding=1)
    ref = F.mse_loss(o, torch.tensor(y, dtype=torch.float64))
    grads = dict(zip(p, torch.autograd.grad(ref, list(p.values()))))
    e_loss = rel_err(np.float64(ours), ref.item())
    e_grad = max(rel_err(m.grad(k), g.numpy()) for k, g in grads.items())
    masked = [np.abs(m.grad(f"masked_conv2d{i}.weight")[..., (_mask(k, t) == 0).numpy()]).max()
              for i, k, t in ((0, 5, "A"), (1, 3, "B"))]
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL and max(masked) == 0.0
    return dict(case=Desc("masked_conv2d A then B, one training step: loss, gradients, masked places' gradient "
                          "exactly 0"), fwd=e_loss, grad=e_grad, ok=ok,
                detail=None if ok else f"loss {ours} vs {ref.item()}, largest masked gradient {max(masked)}")

if __name__ == "__main__":                    # python3 tests/parity/stranger3.py build: these rows alone
    import sys
    from harness import Build
    for r in run(Build(sys.argv[1] if len(sys.argv) > 1 else "build")):
        print("ok  " if r["ok"] else "FAIL", r["case"].describe(), r["fwd"], r["grad"], r.get("detail") or "")




