"""gaps.py — the language gaps closed by the gaps3 round, each one training step's loss and
every gradient against a float64 PyTorch twin with the same weights (stranger.py's `_check`):
`concat` along the run-time batch axis (a GAN discriminator scoring real and fake images as one
batch of 2·N, N + 2·N = 3·N) and `split`/`chunk` cutting it back, against torch.cat,
Tensor.split and Tensor.chunk."""
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
           + 0.05 * sum(b * chunk(a, 2)[1], axis = 1)
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
            + 0.05 * (b * a.chunk(2)[1]).sum(1)
        return out.mean()
    return [x, np.zeros(8, np.float32)], 8, (), loss


def run(build):
    return [S._check(build, "bcat", BCAT_DLN, (8,), 300, _bcat_batch)]


if __name__ == "__main__":                         # one file alone: python3 gaps.py BUILD
    import sys
    import harness
    b = harness.Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    torch.set_num_threads(2)
    for r in run(b):
        print(("ok  " if r["ok"] else "FAIL"), r["case"].text, r["fwd"], r["grad"], r["detail"] or "")
