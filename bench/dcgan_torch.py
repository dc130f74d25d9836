#!/usr/bin/python3
"""dcgan_torch.py — samples/dcgan.dln's DCGAN in PyTorch (its default
initialization; the same layers, optimizer, batch, loss), for comparing its
sample grid with dlnc's after the same number of steps. Writes a PNG of 64
images in 8 columns with 1-pixel gaps, as `dlnc sample --grid` does.

    OMP_NUM_THREADS=1 bench/dcgan_torch.py STEPS OUT.png
"""
import gzip
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def write_grid(path, imgs, cols=8):
    n = imgs.shape[0]
    rows = (n + cols - 1) // cols
    w, h = cols * 29 - 1, rows * 29 - 1
    g = np.zeros((h, w), np.uint8)
    for s in range(n):
        y, x = (s // cols) * 29, (s % cols) * 29
        g[y:y + 28, x:x + 28] = (imgs[s, 0].clip(0, 1) * 255).round().astype(np.uint8)
    raw = b"".join(b"\0" + g[i].tobytes() for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    steps, out = int(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    torch.manual_seed(1)
    raw = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()
    x_all = torch.tensor(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
    G = nn.Sequential(nn.Linear(32, 64 * 49, bias=False), nn.Unflatten(1, (64, 7, 7)), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid())
    D = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                      nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Flatten(), nn.Linear(64 * 49, 1))
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits
    perm, t0 = torch.randperm(len(x_all)), time.time()
    for i in range(steps):
        at = (i * 64) % (len(x_all) - 64)
        x = x_all[perm[at:at + 64]]
        ones, zeros = torch.ones(len(x), 1), torch.zeros(len(x), 1)
        loss_d = bce(D(x), ones) + bce(D(G(torch.randn(len(x), 32)).detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(G(torch.randn(len(x), 32))), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    print(f"{steps} steps in {time.time() - t0:.1f} s, last loss_disc {loss_d.item():.4f} loss_gen {loss_g.item():.4f}")
    G.eval()
    with torch.no_grad():
        write_grid(out, G(torch.randn(64, 32)).numpy())


if __name__ == "__main__":
    main()
