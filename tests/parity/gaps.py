"""gaps.py — the language gaps closed by the gaps3 round, each one training step's loss and
every gradient against a float64 PyTorch twin with the same weights (stranger.py's `_check`):
`concat` along the run-time batch axis (a GAN discriminator scoring real and fake images as one
batch of 2·N, N + 2·N = 3·N) and `split`/`chunk`/`h[N:]` cutting it back, against torch.cat,
Tensor.split, Tensor.chunk and slicing; the stdlib's `actnorm` (Glow's data-dependent initialization)
against an ActNorm written as glow-pytorch's, over three SGD steps on three batches; a block
called as the EMA of another call's parameters (`ema_of`, `ema_decay`: BYOL's target network,
called twice) against a teacher copied from the student and averaged after each step."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S

D = torch.float64

BCAT_DLN = """
model bcat(x: f32[N, 6]) -> f32[N] {
    real = x[:, 0:4]
    fake = tanh(dense(x[:, 4:6], 4, name = "gen"))
    h = concat([real, fake], axis = 0)                                   # f32[2*N, 4]
    s = dense(leaky_relu(dense(h, 5, name = "d1"), slope = 0.2), 1, name = "d2")   # f32[2*N, 1]
    sr, sf = split(s, N, axis = 0)                                       # f32[N, 1] each
    t = concat([h, 2.0 * real], axis = 0)                                # f32[3*N, 4]
    a, b = split(t, [2 * N, N])
    u, v, w = chunk(t, 3)
    return softplus(-sum(sr, axis = 1)) + softplus(sum(sf, axis = 1)) + 0.1 * sum(v * w, axis = 1)
           + 0.05 * sum(b * chunk(a, 2)[1], axis = 1) + 0.02 * sum(h[N:] * t[2 * N:] - t[:N], axis = 1)
}
train bcat {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _lin(x, p, pre):
    return F.linear(x, p[pre + ".weight"], p[pre + ".bias"])


def _bcat_batch():
    x = np.random.default_rng(300).standard_normal((8, 6)).astype(np.float32)

    def loss(p):
        xt = torch.from_numpy(x).to(D)
        n = xt.shape[0]
        real = xt[:, 0:4]
        fake = torch.tanh(_lin(xt[:, 4:6], p, "gen"))
        h = torch.cat([real, fake], 0)
        s = _lin(F.leaky_relu(_lin(h, p, "d1"), 0.2), p, "d2")
        sr, sf = s.split(n, 0)
        t = torch.cat([h, 2.0 * real], 0)
        a, b = t.split([2 * n, n])
        u, v, w = t.chunk(3)
        out = F.softplus(-sr.sum(1)) + F.softplus(sf.sum(1)) + 0.1 * (v * w).sum(1) \
            + 0.05 * (b * a.chunk(2)[1]).sum(1) + 0.02 * (h[n:] * t[2 * n:] - t[:n]).sum(1)
        return out.mean()
    return [x, np.zeros(8, np.float32)], 8, (), loss


ACTNORM_DLN = """
model anet(x: f32[N, 3, 4, 4]) -> f32[N] {
    h, ld1 = actnorm(x)
    h2, ld2 = actnorm(conv2d(h, 3, kernel = 1, name = "c"))
    return 0.5 * sum(h2 ** 2, axis = [1, 2, 3]) - ld1 - ld2
}
train anet {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


class _ActNorm:
    """glow-pytorch's ActNorm (rosinality) with logdet: loc and scale set from the first
    batch under no_grad (minus the mean, 1 / (std + 1e-6), std unbiased), then learned."""

    def __init__(self):
        self.loc = self.scale = None

    def __call__(self, x):
        if self.loc is None:
            with torch.no_grad():
                flat = x.transpose(0, 1).reshape(x.shape[1], -1)
                self.loc = (-flat.mean(1)).view(1, -1, 1, 1).clone().requires_grad_(True)
                self.scale = (1 / (flat.std(1) + 1e-6)).view(1, -1, 1, 1).clone().requires_grad_(True)
        return self.scale * (x + self.loc), x.shape[2] * x.shape[3] * torch.log(self.scale.abs()).sum()


def _load(build, name, src):
    """(lib, model), or (None, the failed compile's row)."""
    so, err = build.compile_dln(src, name)
    if so is None:
        return None, dict(case=S.Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    lib = S.load_lib(so)
    return lib, S.General(lib, name, (8,))


def _read(lib, m, key, shape):
    """A model tensor (a buffer too) as float64."""
    return np.ctypeslib.as_array(getattr(lib, f"{m.name}_param")(m.m, key.encode()), shape=shape).astype(np.float64)


def _row(m, text, e_loss, e_grad, detail):
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    return dict(case=S.Desc(f"{m.name}: {text}"), fwd=e_loss, grad=e_grad, ok=ok, detail=None if ok else "; ".join(detail))


def _actnorm_row(build):
    """Three SGD steps on three batches (mean 3, std 2): each step's loss and every gradient,
    the first step's against torch's freshly initialized ActNorms, and the buffers after it."""
    lib, m = _load(build, "anet", ACTNORM_DLN)
    if lib is None:
        return m
    g = torch.Generator().manual_seed(301)
    w = ((torch.rand(3, 3, 1, 1, generator=g, dtype=D) * 2 - 1) / 3 ** 0.5).float().double()
    b = ((torch.rand(3, generator=g, dtype=D) * 2 - 1) / 3 ** 0.5).float().double()
    m.set_param("c.weight", w.numpy())
    m.set_param("c.bias", b.numpy())
    w.requires_grad_(True)
    b.requires_grad_(True)
    a1, a2 = _ActNorm(), _ActNorm()
    rng = np.random.default_rng(302)
    e_loss = e_grad = 0.0
    detail = []
    for step in range(3):
        x = (3.0 + 2.0 * rng.standard_normal((8, 3, 4, 4))).astype(np.float32)
        ours = m.train_step([x, np.zeros(8, np.float32)], 8, ())
        h, ld1 = a1(torch.from_numpy(x).to(D))
        h2, ld2 = a2(F.conv2d(h, w, b))
        ref = (0.5 * (h2 ** 2).sum((1, 2, 3)) - ld1 - ld2).mean()
        tp = {"actnorm0.loc": a1.loc, "actnorm0.scale": a1.scale, "actnorm1.loc": a2.loc, "actnorm1.scale": a2.scale,
              "c.weight": w, "c.bias": b}
        grads = torch.autograd.grad(ref, list(tp.values()))
        e_loss = max(e_loss, S.rel_err(np.float64(ours), ref.item()))
        e_grad = max(e_grad, max(S.rel_err(m.grad(k), gk.numpy()) for k, gk in zip(tp, grads)))
        if step == 0:                                # the first batch's statistics, kept in the buffers
            for pre, an in (("actnorm0", a1), ("actnorm1", a2)):
                for k, v in (("loc_init", an.loc), ("scale_init", an.scale)):
                    e_loss = max(e_loss, S.rel_err(_read(lib, m, f"{pre}.{k}", (1, 3, 1, 1)), v.detach().numpy()))
        detail.append(f"step {step + 1}: loss {ours} vs torch {ref.item()}")
        with torch.no_grad():
            for v, gk in zip(tp.values(), grads):
                v -= 0.1 * gk
    return _row(m, "actnorm's data-dependent init, 3 SGD steps' losses and gradients", e_loss, e_grad, detail)


EMA_DLN = """
block enc(x: f32[N, 6]) -> f32[N, 3] {
    return dense(relu(dense(x, 5)), 3)
}
model byol(x: f32[N, 6]) -> f32[N] {
    s = enc(x, name = "student")
    t = enc(x + 0.5, name = "teacher", ema_of = "student", ema_decay = 0.9)
    t2 = enc(x - 0.5, name = "teacher", ema_of = "student", ema_decay = 0.9)
    return sum((s - t) ** 2 + s * t2, axis = 1)
}
train byol {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _enc(x, p, pre):
    return _lin(F.relu(_lin(x, p, pre + ".dense0")), p, pre + ".dense1")


def _ema_row(build):
    """Three SGD steps: each step's loss and every gradient, then the teacher's tensors. The
    teacher starts as a copy of the student; after each step it is 0.9 * itself + 0.1 * the
    student as the step read it (dlnc's `update`: one step behind an average after opt.step())."""
    lib, m = _load(build, "byol", EMA_DLN)
    if lib is None:
        return m
    p = S.draw_params(m, 303)                        # the student's; the teacher's initial values go unused
    t = {k.replace("student.", "teacher."): v.detach().clone() for k, v in p.items()}
    rng = np.random.default_rng(304)
    e_loss = e_grad = 0.0
    detail = []
    for step in range(3):
        x = rng.standard_normal((8, 6)).astype(np.float32)
        xt = torch.from_numpy(x).to(D)

        def loss(q):
            s = _enc(xt, q, "student")
            return ((s - _enc(xt + 0.5, t, "teacher")) ** 2 + s * _enc(xt - 0.5, t, "teacher")).sum(1).mean()
        ours, ref, el, eg = S.step_errors(m, p, [x, np.zeros(8, np.float32)], 8, (), loss)
        e_loss, e_grad = max(e_loss, el), max(e_grad, eg)
        detail.append(f"step {step + 1}: loss {ours} vs torch {ref.item()}")
        grads = torch.autograd.grad(loss(p), list(p.values()))
        with torch.no_grad():
            for k, v in p.items():
                t[k.replace("student.", "teacher.")].mul_(0.9).add_(0.1 * v)
            for v, gk in zip(p.values(), grads):
                v -= 0.1 * gk
    for k, v in t.items():                           # the average after the third step
        e_loss = max(e_loss, S.rel_err(_read(lib, m, k, tuple(v.shape)), v.numpy()))
    return _row(m, "an EMA copy of a block (ema_of), 3 SGD steps and the average after", e_loss, e_grad, detail)


def run(build):
    return [S._check(build, "bcat", BCAT_DLN, (8,), 300, _bcat_batch), _actnorm_row(build), _ema_row(build)]


if __name__ == "__main__":                         # one file alone: python3 gaps.py BUILD
    import sys
    import harness
    b = harness.Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    torch.set_num_threads(2)
    for r in run(b):
        print(("ok  " if r["ok"] else "FAIL"), r["case"].text, r["fwd"], r["grad"], r["detail"] or "")
