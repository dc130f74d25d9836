#!/usr/bin/python3
"""The PyTorch twin of samples/simclr.dln's contrastive training, for its
loss side by side with dlnc's.

Same model (two 3x3 convolutions to 16 and 32 channels with ReLU and 2x2 max
pooling, a 64-unit dense layer with ReLU: the encoder; a 64-64-32 projection
head), same initializers (He-uniform weights, bound sqrt(6 / fan_in); zero
biases), same augmentations in the same order, each view drawn on its own
(random_resized_crop(scale = (0.3, 1.0)) as torchvision's get_params draws
it, resized bilinearly without antialiasing; hflip 0.5; brightness then
contrast factors U[0.6, 1.4], clamped to [0, 1]; Gaussian noise 0.05), the
same loss (NT-Xent written out: F.normalize, the full similarity matrix, the
diagonal masked to -inf, t = 0.5), Adam lr 1e-3, batch 256, shuffled. The
random draws are PyTorch's, not dlnc's, so the losses agree only as
statistics. `--max-steps` stops early, as `dlnc run --max-steps`.

    /usr/bin/python3 bench/simclr_torch.py [--max-steps S] [--threads 1]
Prints "torch: S steps in T s, mean training loss L".
"""
import argparse, math, os, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_torch import load_idx  # noqa: E402


def he_init(m):
    if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
        fan_in = m.weight[0].numel()
        bound = math.sqrt(6.0 / fan_in)
        torch.nn.init.uniform_(m.weight, -bound, bound)
        torch.nn.init.zeros_(m.bias)


class SimCLR(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.fc = torch.nn.Linear(32 * 7 * 7, 64)
        self.proj1 = torch.nn.Linear(64, 64)
        self.proj2 = torch.nn.Linear(64, 32)
        self.apply(he_init)

    def encoder(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x):
        return self.proj2(F.relu(self.proj1(self.encoder(x))))


def nt_xent(z1, z2, t):
    z = F.normalize(torch.cat([z1, z2], 0), dim=1)
    s = (z @ z.T / t).masked_fill(torch.eye(z.shape[0], dtype=torch.bool), float("-inf"))
    b = z1.shape[0]
    return F.cross_entropy(s, torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]))


def resized_crop_box(h, w, scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop.get_params."""
    area = h * w
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
        aspect = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            i = torch.randint(0, h - ch + 1, size=(1,)).item()
            j = torch.randint(0, w - cw + 1, size=(1,)).item()
            return i, j, ch, cw
    in_ratio = w / h
    if in_ratio < min(ratio):
        cw, ch = w, int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        ch, cw = h, int(round(h * max(ratio)))
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def view(x):
    """One augmented view of one image [1, 28, 28]."""
    i, j, ch, cw = resized_crop_box(28, 28)
    x = F.interpolate(x[None, :, i:i + ch, j:j + cw], size=(28, 28), mode="bilinear", align_corners=False,
                      antialias=False)[0]
    if torch.rand(1).item() < 0.5:
        x = x.flip(-1)
    x = (x * torch.empty(1).uniform_(0.6, 1.4).item()).clamp(0, 1)
    m = x.mean()
    x = (m + torch.empty(1).uniform_(0.6, 1.4).item() * (x - m)).clamp(0, 1)
    return x + 0.05 * torch.randn_like(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    xtr = torch.tensor(load_idx(f"{a.data}/train-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28),
                       dtype=torch.float32) / 255
    model = SimCLR()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch, steps, total = 256, 0, 0.0
    t0 = time.time()
    while steps < a.max_steps:
        perm = torch.randperm(len(xtr))
        for k in range(0, len(xtr), batch):
            if steps >= a.max_steps:
                break
            xb = xtr[perm[k:k + batch]]
            x1 = torch.stack([view(x) for x in xb])
            x2 = torch.stack([view(x) for x in xb])
            loss = nt_xent(model(x1), model(x2), 0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
    print(f"torch: {steps} steps in {time.time() - t0:.1f} s, mean training loss {total / steps:.4f}")


if __name__ == "__main__":
    main()
