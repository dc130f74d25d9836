#!/usr/bin/python3
"""The PyTorch twin of samples/mlp.dln, for time-per-epoch comparisons.

Same model (784-512-256-10, ReLU), same initializers (He-uniform weights,
zero biases), same optimizer (Adam, lr 1e-3), cosine schedule stepped per
batch, batch 128, same data (Fashion-MNIST, pixels / 255).

    /usr/bin/python3 bench/mlp_torch.py [--epochs 10] [--threads 1]
Prints one line per epoch and a final line "torch: ... s/epoch ... test_acc ...".
"""
import argparse, gzip, math, os, struct, time

import numpy as np
import torch


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def setup(epochs):
    """The twins' command line (--epochs, --threads, --data), threads and seed
    set, and Fashion-MNIST as (args, xtr, ytr, xte, yte): images [n, 784] / 255."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    d = a.data
    xtr = torch.tensor(load_idx(f"{d}/train-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
    ytr = torch.tensor(load_idx(f"{d}/train-labels-idx1-ubyte.gz"), dtype=torch.long)
    xte = torch.tensor(load_idx(f"{d}/t10k-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
    yte = torch.tensor(load_idx(f"{d}/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    return a, xtr, ytr, xte, yte


def main():
    a, xtr, ytr, xte, yte = setup(10)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    steps_per_epoch = math.ceil(len(xtr) / batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    lossf = torch.nn.CrossEntropyLoss()
    times = []
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(xtr))
        total = 0.0
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        times.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch + 1:2d}/{a.epochs}  loss {total / len(xtr):.4f}  test_acc {100 * acc:.2f}%  {times[-1]:.2f}s", flush=True)
    med = sorted(times)[len(times) // 2]
    print(f"torch: {med:.2f} s/epoch (median), threads {a.threads}, test_acc {100 * acc:.2f}%")


if __name__ == "__main__":
    main()
