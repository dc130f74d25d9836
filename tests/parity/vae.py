"""vae.py — a whole small VAE's training step against PyTorch: an encoder
with a hidden layer, the mu and logvar heads, the reparameterized sample, a
decoder with a hidden layer, and the negative ELBO (Bernoulli likelihood on
logits + kl_normal), as samples/vae.dln is built. Each of 5 Adam steps' loss,
every one of the 10 parameters' gradients at the first step, and every
parameter after the 5 steps must match torch in float64. The noise is a fixed
function of the batch (sin of the first pixels) so both sides draw the same
values (dlnc's and torch's random streams differ)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan import FWD_TOL, GRAD_TOL, Step, _row
from harness import load_lib, rel_err

DLN = """
model vae(image: f32[N, 1, 4, 4]) -> (recon: f32[N, 1, 4, 4], mu: f32[N, 3], logvar: f32[N, 3]) {
    x = flatten(image)
    h = dense(x, 8, name = "enc_fc") |> relu
    mu = dense(h, 3, name = "enc_mu")
    logvar = dense(h, 3, name = "enc_logvar")
    z = reparameterize(mu, logvar, noise = sin(13.0 * x[:, 0:3]))
    d = dense(z, 8, name = "dec_fc") |> relu |> dense(16, name = "dec_out")
    return reshape(d, [N, 1, 4, 4]), mu, logvar
}

train vae {
    data  = fashion_mnist("unused", batch = 8)
    loss  = bce_with_logits(recon, image) * 16 + kl_normal(mu, logvar)
    optim = adam(lr = 0.01)
    epochs = 1
}
"""


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_fc, self.enc_mu, self.enc_logvar = nn.Linear(16, 8), nn.Linear(8, 3), nn.Linear(8, 3)
        self.dec_fc, self.dec_out = nn.Linear(3, 8), nn.Linear(8, 16)

    def loss(self, image):
        x = image.flatten(1)
        h = F.relu(self.enc_fc(x))
        mu, logvar = self.enc_mu(h), self.enc_logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.sin(13.0 * x[:, 0:3])
        recon = self.dec_out(F.relu(self.dec_fc(z)))
        rec = F.binary_cross_entropy_with_logits(recon, x, reduction="mean") * 16
        return rec - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def run(build):
    so, err = build.compile_dln(DLN, "vae")
    if so is None:
        return [("vae step", [_row("vae: compile", float("nan"), float("nan"), False, err)])]
    batch = 8
    m = Step(load_lib(so), "vae", batch)
    torch.manual_seed(0)
    ref = VAE().double()
    for k, v in ref.state_dict().items():
        m.set(k, v.numpy())
    x = np.random.default_rng(0).uniform(0, 1, (batch, 1, 4, 4)).astype(np.float32)   # pixels in [0, 1]
    T = torch.tensor(x, dtype=torch.float64)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    rows, worst_l = [], 0.0
    for step in range(5):
        loss = m.train(x)
        opt.zero_grad()
        lt = ref.loss(T)
        lt.backward()
        worst_l = max(worst_l, rel_err(np.float64(loss), lt.item()))
        if step == 0:
            names = [k for k, _ in ref.named_parameters()]
            worst_g = max(rel_err(m.get(k, grad=True), p.grad.numpy()) for k, p in ref.named_parameters())
            rows.append(_row(f"vae: step 1, every gradient ({len(names)} tensors)", None, worst_g, worst_g <= GRAD_TOL))
        opt.step()
    worst_p = max(rel_err(m.get(k), p.detach().numpy()) for k, p in ref.named_parameters())
    rows.append(_row("vae: the loss (negative ELBO) of 5 Adam steps", worst_l, None, worst_l <= FWD_TOL))
    rows.append(_row("vae: every parameter after 5 Adam steps", worst_p, None, worst_p <= FWD_TOL))
    m.free_(m.m)
    return [("vae step", rows)]
