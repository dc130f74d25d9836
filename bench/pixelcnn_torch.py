#!/usr/bin/python3
"""The PyTorch twin of samples/pixelcnn.dln, for its bits per dimension side
by side with dlnc's.

Same model (a 7x7 mask-A MaskedConv2d to 32 channels, 4 residual 3x3 mask-B
blocks, 1x1 mask-B heads to 64 and to 4 logits), same initializers
(He-uniform weights, bound sqrt(6 / fan_in) over the whole kernel, masked
taps included, as dlnc's masked_conv2d; zero biases), same quantization
(level = min(floor(4 x), 3), the model reading level / 3), same loss
(per-pixel cross entropy in nats), Adam lr 1e-3 with a cosine schedule over
`--epochs` epochs stepped per batch, batch 64, shuffled. `--max-steps` stops
early, as `dlnc run --max-steps`; the test set is then scored whole.

    /usr/bin/python3 bench/pixelcnn_torch.py [--epochs 2] [--max-steps S] [--threads 1]
Prints "torch: S steps in T s, test_loss L nats, B bits per dimension".
"""
import argparse, math, os, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_torch import load_idx  # noqa: E402

K = 4


class MaskedConv2d(torch.nn.Conv2d):
    def __init__(self, cin, cout, k, mask_type):
        super().__init__(cin, cout, k, padding=k // 2)
        mask = torch.zeros(k, k)
        mask[:k // 2, :] = 1
        mask[k // 2, :k // 2 + (mask_type == "B")] = 1
        self.register_buffer("mask", mask.view(1, 1, k, k))
        bound = math.sqrt(6.0 / (cin * k * k))
        torch.nn.init.uniform_(self.weight, -bound, bound)
        torch.nn.init.zeros_(self.bias)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first = MaskedConv2d(1, 32, 7, "A")
        self.blocks = torch.nn.ModuleList(MaskedConv2d(32, 32, 3, "B") for _ in range(4))
        self.head = MaskedConv2d(32, 64, 1, "B")
        self.out = MaskedConv2d(64, K, 1, "B")

    def forward(self, image):
        x = torch.clamp(torch.floor(image * K), max=K - 1) / (K - 1)
        h = self.first(x)
        for b in self.blocks:
            h = h + b(F.relu(h))
        return self.out(F.relu(self.head(F.relu(h))))


def nll(model, image):
    target = torch.clamp(torch.floor(image * K), max=K - 1).long().squeeze(1)
    return F.cross_entropy(model(image), target)  # the mean over every pixel, in nats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    d = a.data
    xtr = torch.tensor(load_idx(f"{d}/train-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
    xte = torch.tensor(load_idx(f"{d}/t10k-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
    model = PixelCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 64
    steps_per_epoch = math.ceil(len(xtr) / batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    steps, t0 = 0, time.perf_counter()
    for epoch in range(a.epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), batch):
            if a.max_steps and steps >= a.max_steps:
                break
            opt.zero_grad(set_to_none=True)
            loss = nll(model, xtr[perm[i:i + batch]])
            loss.backward()
            opt.step()
            sched.step()
            steps += 1
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        test = sum(nll(model, xte[i:i + 500]).item() * len(xte[i:i + 500]) for i in range(0, len(xte), 500)) / len(xte)
    print(f"torch: {steps} steps in {train_s:.1f} s (training), test_loss {test:.4f} nats, "
          f"{test / math.log(2):.4f} bits per dimension", flush=True)


if __name__ == "__main__":
    main()
