"""gan.py — train sections over two models against PyTorch: one
discriminator (critic) step, then one generator step (docs/language.md
"Several models and steps"), for three GANs: a plain one; WGAN-GP, whose
critic loss holds the gradient penalty at interpolates (second order, the
critic called three times inside a block of the loss); and one whose
discriminator has batch norm and is called on real and then fake rows, so
its running statistics update twice in the step, as PyTorch's two calls do.
Each step's loss, the stepped model's every gradient and its Adam update must
match torch in float64 (and the running statistics after the step), and the
other model's parameters must keep their bytes. The generator's "noise" and
WGAN-GP's interpolation weights are fixed functions of the batch so both
sides see the same values (dlnc's and torch's random streams differ)."""
import ctypes

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness import ParamInfo, load_lib, rel_err

FWD_TOL, GRAD_TOL = 1e-5, 1e-4
F32P = ctypes.POINTER(ctypes.c_float)

GEN = """
model gen(z: f32[N, 8]) -> f32[N, 8] {
    return dense(z, 16) |> tanh |> dense(8)
}
"""


def gan_dln(section, disc_body, optim_d, optim_g):
    """A GAN over csv features: the discriminator's body and each step's optimizer vary."""
    return GEN + f"""
model disc(x: f32[N, 8]) -> f32[N, 1] {{
    return {disc_body}
}}

train {section} {{
    models = [gen, disc]
    data   = csv("unused.csv", batch = 8)
    step disc {{
        loss  = bce_with_logits(disc(features), ones(N, 1))
              + bce_with_logits(disc(stop_grad(gen(features * 0.5))), zeros(N, 1))
        optim = {optim_d}
    }}
    step gen {{
        loss  = bce_with_logits(disc(gen(features * 0.5)), ones(N, 1))
        optim = {optim_g}
    }}
}}
"""


DLN = gan_dln("gan", "dense(x, 16) |> leaky_relu |> dense(1)", "adam(lr = 0.01, betas = (0.5, 0.999))",
              "adam(lr = 0.02, betas = (0.5, 0.999))")
BN_DLN = gan_dln("bngan", "dense(x, 16, use_bias = false) |> batch_norm1d |> leaky_relu |> dense(1)",
                 "sgd(lr = 0.01)", "sgd(lr = 0.02)")

WGAN_GP_DLN = GEN + """
model critic(x: f32[N, 8]) -> f32[N, 1] {
    return dense(x, 16) |> tanh |> dense(1)
}

block critic_loss(real: f32[N, 8], lam: float = 10.0) -> f32 {
    fake = stop_grad(gen(real * 0.5))
    eps = sigmoid(sum(real, axis = 1, keepdims = true))
    xhat = eps * real + (1.0 - eps) * fake
    g = grad(sum(critic(xhat)), xhat)
    penalty = mean((sqrt(sum(g ** 2, axis = 1)) - 1.0) ** 2)
    return mean(critic(fake)) - mean(critic(real)) + lam * penalty
}

train wgan {
    models = [gen, critic]
    data   = csv("unused.csv", batch = 8)
    step critic {
        loss  = critic_loss(features)
        optim = adam(lr = 0.01, betas = (0.0, 0.9))
    }
    step gen {
        loss  = -mean(critic(gen(features * 0.5)))
        optim = adam(lr = 0.02, betas = (0.0, 0.9))
    }
}
"""


class Two(nn.Module):
    def __init__(self, a, b, c, act):
        super().__init__()
        self.dense0, self.dense1, self.act = nn.Linear(a, b), nn.Linear(b, c), act

    def forward(self, x):
        return self.dense1(self.act(self.dense0(x)))


class BnDisc(nn.Module):
    """dense -> batch_norm1d -> act (leaky_relu) -> dense, named as dlnc names them
    (also advtrain.py's classifier)."""

    def __init__(self, out=1, act=F.leaky_relu):
        super().__init__()
        self.dense0, self.batch_norm1d0 = nn.Linear(8, 16, bias=False), nn.BatchNorm1d(16)
        self.dense1, self.act = nn.Linear(16, out), act

    def forward(self, x):
        return self.dense1(self.act(self.batch_norm1d0(self.dense0(x))))


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


def _step(m, ref_step, stepped, other, x, T, opt, loss_fn, tag, buffers=()):
    """One step on both sides: rows for the loss, the stepped model's
    gradients and updated parameters, and the other model's bytes."""
    # the other model's parameters (its running statistics move in any step that runs it in training mode)
    other_before = {k: m.get(k) for k in m.shapes if k.startswith(other + ".") and ".running_" not in k}
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
    if buffers:
        sd = ref_step.state_dict()
        worst_b = max(rel_err(m.get(f"{stepped}.{k}"), sd[k].numpy()) for k in buffers)
        rows.append(_row(f"gan: {tag} step, {stepped}.* running statistics (two calls)", worst_b, None,
                         worst_b <= FWD_TOL))
    return rows


def _two_steps(build, dln, section, G, D, d_name, d_loss, g_loss, betas, buffers=()):
    """The d_name step, then the generator's (both Adam with these betas, or
    SGD for None; lr 0.01 and 0.02), on both sides; rows for each."""
    so, err = build.compile_dln(dln, section)
    if so is None:
        return [_row(f"gan: {section}: compile", float("nan"), float("nan"), False, err)]
    lib = load_lib(so)
    batch = 8
    steps = {d_name: Step(lib, f"{section}_{d_name}", batch), "gen": Step(lib, f"{section}_gen", batch)}
    for s in steps.values():
        for prefix, mod in (("gen", G), (d_name, D)):
            for k, v in mod.state_dict().items():
                if f"{prefix}.{k}" in s.shapes:
                    s.set(f"{prefix}.{k}", v.numpy())
    x = np.random.default_rng(0).standard_normal((batch, 8)).astype(np.float32)
    T = torch.tensor(x, dtype=torch.float64)
    # SGD where batch norm makes a gradient exactly zero (the generator's output
    # bias): Adam would blow float32's rounding noise up to steps of lr / 2
    opt = (lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=betas)) if betas else torch.optim.SGD
    opt_d, opt_g = opt(D.parameters(), lr=0.01), opt(G.parameters(), lr=0.02)
    label = "" if section == "gan" else f"{section} "
    rows = _step(steps[d_name], D, d_name, "gen", x, T, opt_d, lambda: d_loss(G, D, T), f"{label}{d_name}",
                 buffers)
    # what dlnc run does between steps: the trained discriminator (and its statistics) into the generator's step
    for k in steps[d_name].shapes:
        if k.startswith(d_name + ".") and k in steps["gen"].shapes:
            steps["gen"].set(k, steps[d_name].get(k))
    rows += _step(steps["gen"], G, "gen", d_name, x, T, opt_g, lambda: g_loss(G, D, T), f"{label}gen")
    for s in steps.values():
        s.free_(s.m)
    return rows


def run(build):
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(8, 1, dtype=torch.float64), torch.zeros(8, 1, dtype=torch.float64)
    torch.manual_seed(0)
    G, D = Two(8, 16, 8, torch.tanh).double(), Two(8, 16, 1, F.leaky_relu).double()
    rows = _two_steps(build, DLN, "gan", G, D, "disc",
                      lambda G, D, T: bce(D(T), ones) + bce(D(G(T * 0.5).detach()), zeros),
                      lambda G, D, T: bce(D(G(T * 0.5)), ones), (0.5, 0.999))

    def critic_loss(G, C, T):
        fake = G(T * 0.5).detach()
        eps = torch.sigmoid(T.sum(dim=1, keepdim=True))
        xhat = (eps * T + (1 - eps) * fake).requires_grad_(True)
        g = torch.autograd.grad(C(xhat).sum(), xhat, create_graph=True)[0]
        penalty = ((g.square().sum(dim=1).sqrt() - 1) ** 2).mean()
        return C(fake).mean() - C(T).mean() + 10.0 * penalty

    torch.manual_seed(1)
    G, C = Two(8, 16, 8, torch.tanh).double(), Two(8, 16, 1, torch.tanh).double()
    rows += _two_steps(build, WGAN_GP_DLN, "wgan", G, C, "critic", critic_loss,
                       lambda G, C, T: -C(G(T * 0.5)).mean(), (0.0, 0.9))

    torch.manual_seed(2)
    G, D = Two(8, 16, 8, torch.tanh).double(), BnDisc().double()
    D.train()
    rows += _two_steps(build, BN_DLN, "bngan", G, D, "disc",
                       lambda G, D, T: bce(D(T), ones) + bce(D(G(T * 0.5).detach()), zeros),
                       lambda G, D, T: bce(D(G(T * 0.5)), ones), None,
                       buffers=("batch_norm1d0.running_mean", "batch_norm1d0.running_var"))
    return [("gan steps", rows)]
