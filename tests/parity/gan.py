"""gan.py — a train section over two models against PyTorch: one
discriminator step, then one generator step, of a small GAN
(docs/language.md "Several models and steps"). Each step's loss, the
stepped model's every gradient and its Adam update must match torch in
float64, and the other model's parameters must keep their bytes. The
generator's "noise" is a fixed function of the batch so both sides see the
same values (dlnc's and torch's random streams differ)."""
import ctypes

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness import ParamInfo, load_lib, rel_err

FWD_TOL, GRAD_TOL = 1e-5, 1e-4
F32P = ctypes.POINTER(ctypes.c_float)

DLN = """
model gen(z: f32[N, 8]) -> f32[N, 8] {
    return dense(z, 16) |> tanh |> dense(8)
}

model disc(x: f32[N, 8]) -> f32[N, 1] {
    return dense(x, 16) |> leaky_relu |> dense(1)
}

train gan {
    models = [gen, disc]
    data   = csv("unused.csv", batch = 8)
    step disc {
        loss  = bce_with_logits(disc(features), ones(N, 1))
              + bce_with_logits(disc(stop_grad(gen(features * 0.5))), zeros(N, 1))
        optim = adam(lr = 0.01, betas = (0.5, 0.999))
    }
    step gen {
        loss  = bce_with_logits(disc(gen(features * 0.5)), ones(N, 1))
        optim = adam(lr = 0.02, betas = (0.5, 0.999))
    }
}
"""


class Two(nn.Module):
    def __init__(self, a, b, c, act):
        super().__init__()
        self.dense0, self.dense1, self.act = nn.Linear(a, b), nn.Linear(b, c), act

    def forward(self, x):
        return self.dense1(self.act(self.dense0(x)))


class Step:
    """A step module (<section>_<step>) through its C functions."""

    def __init__(self, lib, name, batch):
        def fn(suffix, res, args):
            f = getattr(lib, f"{name}_{suffix}")
            f.restype, f.argtypes = res, args
            return f
        self.train_ = fn("train_step", ctypes.c_float, [ctypes.c_void_p, F32P, ctypes.c_int64])
        self.param_ = fn("param", F32P, [ctypes.c_void_p, ctypes.c_char_p])
        self.grad_ = fn("grad", F32P, [ctypes.c_void_p, ctypes.c_char_p])
        info = fn("param_info", ctypes.POINTER(ParamInfo), [ctypes.c_int])
        self.free_ = fn("free", None, [ctypes.c_void_p])
        self.m = fn("create", ctypes.c_void_p, [ctypes.c_int64])(batch)
        self.shapes = {}
        i = 0
        while info(i):
            p = info(i).contents
            self.shapes[p.name.decode()] = tuple(p.shape[k] for k in range(p.rank))
            i += 1

    def get(self, name, grad=False):
        p = (self.grad_ if grad else self.param_)(self.m, name.encode())
        if not p:
            return None
        shape = self.shapes[name]
        return np.ctypeslib.as_array(p, shape=(int(np.prod(shape)),)).copy().reshape(shape)

    def set(self, name, value):
        a = np.ascontiguousarray(np.asarray(value, dtype=np.float32).reshape(self.shapes[name]))
        ctypes.memmove(self.param_(self.m, name.encode()), a.ctypes.data, a.nbytes)

    def train(self, x):
        return self.train_(self.m, x.ctypes.data_as(F32P), x.shape[0])


class _Desc:
    def __init__(self, text):
        self.text, self.fwd_tol, self.grad_tol = text, FWD_TOL, GRAD_TOL

    def describe(self):
        return self.text


def _row(text, fwd, grad, ok, detail=None):
    return dict(case=_Desc(text), fwd=fwd, grad=grad, ok=ok, detail=detail)


def _step(m, ref_step, stepped, other, x, T, opt, loss_fn, tag):
    """One step on both sides: rows for the loss, the stepped model's
    gradients and updated parameters, and the other model's bytes."""
    other_before = {k: m.get(k) for k in m.shapes if k.startswith(other + ".")}
    loss = m.train(x)
    opt.zero_grad()
    lt = loss_fn()
    lt.backward()
    rows = [_row(f"gan: {tag} step loss", rel_err(np.float64(loss), lt.item()), None,
                 rel_err(np.float64(loss), lt.item()) <= FWD_TOL)]
    worst_g = max(rel_err(m.get(f"{stepped}.{k}", grad=True), p.grad.numpy()) for k, p in ref_step.named_parameters())
    opt.step()
    worst_p = max(rel_err(m.get(f"{stepped}.{k}"), p.detach().numpy()) for k, p in ref_step.named_parameters())
    same = all(np.array_equal(v, m.get(k)) for k, v in other_before.items())
    rows.append(_row(f"gan: {tag} step, every gradient of {stepped}.*", None, worst_g, worst_g <= GRAD_TOL))
    rows.append(_row(f"gan: {tag} step, {stepped}.* after Adam", worst_p, None, worst_p <= FWD_TOL))
    rows.append(_row(f"gan: {tag} step leaves {other}.* unchanged", None, None, same))
    return rows


def run(build):
    so, err = build.compile_dln(DLN, "gan")
    if so is None:
        return [("gan steps", [_row("gan: compile", float("nan"), float("nan"), False, err)])]
    lib = load_lib(so)
    batch = 8
    torch.manual_seed(0)
    G = Two(8, 16, 8, torch.tanh).double()
    D = Two(8, 16, 1, F.leaky_relu).double()
    steps = {"disc": Step(lib, "gan_disc", batch), "gen": Step(lib, "gan_gen", batch)}
    for s in steps.values():
        for prefix, mod in (("gen", G), ("disc", D)):
            for k, v in mod.state_dict().items():
                s.set(f"{prefix}.{k}", v.numpy())
    x = np.random.default_rng(0).standard_normal((batch, 8)).astype(np.float32)
    T = torch.tensor(x, dtype=torch.float64)
    ones, zeros = torch.ones(batch, 1, dtype=torch.float64), torch.zeros(batch, 1, dtype=torch.float64)
    opt_d = torch.optim.Adam(D.parameters(), lr=0.01, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=0.02, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits
    rows = _step(steps["disc"], D, "disc", "gen", x, T, opt_d,
                 lambda: bce(D(T), ones) + bce(D(G(T * 0.5).detach()), zeros), "disc")
    # what dlnc run does between steps: the trained discriminator into the generator's step
    for k in steps["disc"].shapes:
        if k.startswith("disc."):
            steps["gen"].set(k, steps["disc"].get(k))
    rows += _step(steps["gen"], G, "gen", "disc", x, T, opt_g, lambda: bce(D(G(T * 0.5)), ones), "gen")
    for s in steps.values():
        s.free_(s.m)
    return [("gan steps", rows)]
