#!/usr/bin/python3
"""The PyTorch twin of samples/vae.dln: the same VAE trained the same way.

Same model (encoder 784-256 ReLU, then mu and logvar 256-16; decoder 16-256
ReLU-784 logits), same initializers (He-uniform weights, zero biases, as
dlnc's dense), same optimizer (Adam, lr 1e-3, no schedule), batch 128 with
the last partial batch, shuffled each epoch, 20 epochs, same data
(Fashion-MNIST, pixels / 255), same loss: the negative ELBO per image in nats,
BCE-with-logits summed over the 784 pixels plus KL(N(mu, e^logvar) || N(0, 1)),
averaged over the batch. The test figure uses z = mu, as dlnc's evaluation
(reparameterize returns mu there): the same quantity as dlnc's test_loss.

    /usr/bin/python3 bench/vae_torch.py [--epochs 20] [--threads 1]
Prints one line per epoch and a final line "torch: ... test_loss ...".
"""
import math, os, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_torch import setup  # noqa: E402


class VAE(torch.nn.Module):
    def __init__(self, latent=16, hidden=256):
        super().__init__()
        self.enc_fc = torch.nn.Linear(784, hidden)
        self.enc_mu = torch.nn.Linear(hidden, latent)
        self.enc_logvar = torch.nn.Linear(hidden, latent)
        self.dec_fc = torch.nn.Linear(latent, hidden)
        self.dec_out = torch.nn.Linear(hidden, 784)
        for m in self.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")   # dlnc's he_uniform()
                torch.nn.init.zeros_(m.bias)

    def forward(self, x):
        h = F.relu(self.enc_fc(x))
        mu, logvar = self.enc_mu(h), self.enc_logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        return self.dec_out(F.relu(self.dec_fc(z))), mu, logvar


def neg_elbo(x, logits, mu, logvar):
    """nats per image: the Bernoulli reconstruction term plus the KL, averaged over the batch."""
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="mean") * 784
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]
    return rec + kl


def main():
    a, xtr, _, xte, _ = setup(20)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch, t_start = 128, time.perf_counter()
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(xtr))
        total, steps = 0.0, 0
        for i in range(0, len(xtr), batch):
            x = xtr[perm[i:i + batch]]
            opt.zero_grad(set_to_none=True)
            loss = neg_elbo(x, *model(x))
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        model.eval()
        with torch.no_grad():
            test = neg_elbo(xte, *model(xte)).item()
        print(f"epoch {epoch + 1:3d}/{a.epochs}  loss {total / steps:.4f}  test_loss {test:.4f}  "
              f"{time.perf_counter() - t0:.1f}s", flush=True)
    print(f"torch: {a.epochs} epochs, {math.ceil(len(xtr) / batch) * a.epochs} steps in "
          f"{time.perf_counter() - t_start:.1f}s, test_loss {test:.4f} (negative ELBO, nats per image)")


if __name__ == "__main__":
    main()
