#!/usr/bin/python3
"""The PyTorch twin of samples/gcn_karate.dln and samples/gcn_sbm.dln.

Same model (two GCN layers, ReLU and dropout 0.5 between), same layer (plain
torch: index_add_ over the edge list, self-loops, symmetric normalization;
no torch_geometric), same initializers (Glorot-uniform lin.weight, zero
bias), same optimizer (Adam, lr 0.01, weight_decay 5e-4), same full-batch
steps, the same graph files: the karate club as shipped, and the SBM written
by bench/graph_dump.c from dlnc's own generator (so both train on exactly
the same graph). Validation accuracy per epoch, test accuracy at the end.

    /usr/bin/python3 bench/gcn_torch.py karate [--seeds 10]
    /usr/bin/python3 bench/gcn_torch.py sbm [--seeds 10]
Prints one line per seed and "torch: test_acc mean ± std over N seeds".
"""
import argparse, os, statistics, subprocess, tempfile, time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# samples/gcn_sbm.dln's sbm(...) arguments
SBM = dict(nodes=2000, classes=5, p_in=0.01, p_out=0.002, features=32, noise=3.0, train_per_class=20, val=500,
           test=1000, seed=1)


def load(d):
    nodes = np.loadtxt(os.path.join(d, "nodes.csv"), delimiter=",", skiprows=1, ndmin=2)
    edges = np.loadtxt(os.path.join(d, "edges.csv"), delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    label, split = torch.tensor(nodes[:, 0], dtype=torch.long), torch.tensor(nodes[:, 1], dtype=torch.long)
    x = torch.tensor(nodes[:, 2:], dtype=torch.float32) if nodes.shape[1] > 2 else torch.eye(len(label))
    e = torch.tensor(edges)
    src, dst = torch.cat([e[:, 0:1], e[:, 1:2]], 1).reshape(-1), torch.cat([e[:, 1:2], e[:, 0:1]], 1).reshape(-1)
    return x, src, dst, label, split


def sbm_dir(tmp):
    exe = os.path.join(tmp, "graph_dump")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(ROOT, "runtime"), os.path.join(ROOT, "bench/graph_dump.c"),
                    os.path.join(ROOT, "build/libdlnrt.a"), "-lpng", "-lz", "-lm", "-fopenmp", "-o", exe], check=True)
    a = SBM
    subprocess.run([exe, tmp] + [str(a[k]) for k in ("nodes", "classes", "p_in", "p_out", "features", "noise",
                                                     "train_per_class", "val", "test", "seed")], check=True)
    return tmp


class GCNConv(torch.nn.Module):
    def __init__(self, fin, fout):
        super().__init__()
        self.lin = torch.nn.Linear(fin, fout, bias=False)
        self.bias = torch.nn.Parameter(torch.zeros(fout))
        torch.nn.init.xavier_uniform_(self.lin.weight)

    def forward(self, x, src, dst):
        V = x.shape[0]
        deg = torch.zeros(V).index_add_(0, dst, torch.ones(dst.shape[0])) + 1
        dis = deg.pow(-0.5)
        h = self.lin(x)
        msg = h[src] * (dis[src] * dis[dst])[:, None]
        return torch.zeros_like(h).index_add_(0, dst, msg) + h * (dis * dis)[:, None] + self.bias


class GCN(torch.nn.Module):
    def __init__(self, fin, hidden, classes):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(fin, hidden), GCNConv(hidden, classes)

    def forward(self, x, src, dst):
        h = F.dropout(F.relu(self.conv1(x, src, dst)), 0.5, self.training)
        return self.conv2(h, src, dst)


def run(g, hidden, epochs, seed):
    x, src, dst, label, split = g
    torch.manual_seed(seed)
    model = GCN(x.shape[1], hidden, int(label.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    train, val, test = split == 1, split == 2, split == 3
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x, src, dst)[train], label[train]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(x, src, dst).argmax(1)
    acc = lambda m: (pred[m] == label[m]).double().mean().item()
    return acc(val), acc(test)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("graph", choices=["karate", "sbm"])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        g = load(os.path.join(ROOT, "samples/data/karate") if a.graph == "karate" else sbm_dir(tmp))
    hidden, epochs = (16, 100) if a.graph == "karate" else (32, 200)
    tests = []
    for s in range(1, a.seeds + 1):
        t0 = time.time()
        va, te = run(g, hidden, epochs, s)
        tests.append(100 * te)
        print(f"seed {s}: val_acc {100 * va:.2f}%, test_acc {100 * te:.2f}% ({epochs} steps in {time.time() - t0:.2f} s)")
    sd = statistics.stdev(tests) if len(tests) > 1 else 0.0
    print(f"torch: test_acc {statistics.mean(tests):.2f}% ± {sd:.2f} over {len(tests)} seeds")


if __name__ == "__main__":
    main()
