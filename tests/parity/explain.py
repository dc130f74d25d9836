"""explain.py — `dlnc explain --attack` against the same attacks in PyTorch.
A small CNN (conv, batch norm in evaluation mode, ReLU, pooling, dense)
trained 150 Adam steps in torch gets its weights and running statistics
through a safetensors checkpoint; dlnc explain then attacks the 10000 Fashion-MNIST test
images with FGSM (two radii) and PGD (3 steps, no random start), and each
printed accuracy must be torch's over the same images and attack (x' =
clamp(x + eps sign(grad), 0, 1); PGD projects onto the eps-ball each step)
to within 5 images: float32 sums in another order can tip a pixel whose
gradient is about zero, or an image on the decision boundary."""
import os
import re
import subprocess

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan import _row
from harness import st_write

FMNIST = "/usr/share/datasets/fashion-mnist"
DLN = """
model tiny(image: f32[N, 1, 28, 28]) -> f32[N, 10] {
    h = conv2d(image, 4, 3, pad = 1, name = "conv") |> batch_norm(name = "bn") |> relu |> max_pool2d(2)
    return flatten(h) |> dense(10, name = "fc")
}
train tiny {
    data   = fashion_mnist("%s", batch = 64)
    loss   = cross_entropy(output, label)
    optim  = sgd(lr = 0.1)
    epochs = 1
}
""" % FMNIST
TOL_IMAGES = 5


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        return self.fc(F.max_pool2d(F.relu(self.bn(self.conv(x))), 2).flatten(1))


def load(split):
    import gzip
    with gzip.open(os.path.join(FMNIST, f"{split}-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    with gzip.open(os.path.join(FMNIST, f"{split}-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.tensor(x), torch.tensor(y)


def pretrain(model, steps=150):
    """A few Adam steps on the training set, so that the attacks move an
    accuracy worth measuring (an untrained model's is chance)."""
    x, y = load("train")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        i = torch.randint(0, len(x), (64,), generator=g)
        opt.zero_grad()
        F.cross_entropy(model(x[i]), y[i]).backward()
        opt.step()


def attack(model, x, y, eps, steps, alpha):
    adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        g, = torch.autograd.grad(F.cross_entropy(model(adv), y), adv)
        adv = adv.detach() + alpha * g.sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def accuracy(model, x, y, eps, steps, alpha):
    right = 0
    for at in range(0, len(x), 250):
        xb, yb = x[at:at + 250], y[at:at + 250]
        xa = xb if eps == 0 else attack(model, xb, yb, eps, steps, alpha)
        with torch.no_grad():
            right += (model(xa).argmax(1) == yb).sum().item()
    return right / len(x)


def run(build):
    if not os.path.exists(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")):
        return [("explain attacks", [_row("explain: no Fashion-MNIST", None, None, False, FMNIST + " missing")])]
    torch.manual_seed(0)
    ref = Tiny()
    pretrain(ref)
    ref.eval()
    dln, ck = os.path.join(build.work, "explain.dln"), os.path.join(build.work, "explain.st")
    with open(dln, "w") as f:
        f.write(DLN)
    st_write(ck, {k: v for k, v in ref.state_dict().items() if "num_batches" not in k})
    x, y = load("t10k")
    rows = []
    for kind, extra, eps_list, steps, alpha in (("fgsm", [], [0.0, 0.02, 0.1], 1, None),
                                                ("pgd", ["--steps", "3", "--alpha", "0.02"], [0.05], 3, 0.02)):
        cmd = [build.dlnc, "explain", dln, "--checkpoint", ck, "--attack", kind,
               "--eps", ",".join(str(e) for e in eps_list)] + extra
        r = subprocess.run(cmd, capture_output=True, text=True)
        got = [float(v) for v in re.findall(r"accuracy:? ([0-9.]+)", r.stdout)]
        if r.returncode != 0 or len(got) != len(eps_list) + 1:
            rows.append(_row(f"explain: {kind}", float("nan"), None, False, " ".join(cmd) + "\n" + r.stderr + r.stdout))
            continue
        want = [accuracy(ref, x, y, 0, 1, 0)] + [accuracy(ref, x, y, e, steps, alpha or e) for e in eps_list]
        err = max(abs(a - b) for a, b in zip(got, want))
        print(f"explain: {kind} eps {eps_list}: dlnc {got}, torch {[round(w, 4) for w in want]}")
        ok = err <= TOL_IMAGES / len(x)
        rows.append(_row(f"explain: {kind} accuracy, eps {eps_list}", err, None, ok,
                         f"dlnc {got} torch {want}\n" + " ".join(cmd)))
    return [("explain attacks", rows)]
