"""accumulate.py — gradient accumulation (`accumulate = k` in a train section) end to end.

Each row writes stranger3's small model, a CSV of 7 batches of 4 rows and a safetensors file of
torch's initial weights, runs `dlnc run` (init_from, shuffle = false, log_every = 1) and compares
with PyTorch's accumulation loop in float64 on the same batches:

    (loss / k).backward()
    if (i + 1) % k == 0 or i is the epoch's last batch: clip; opt.step(); sched.step(); opt.zero_grad()

k = 3 over 7 batches: two full groups and a short one of 1 batch that is stepped at the epoch's
end (PyTorch Lightning's accumulate_grad_batches; its sum divided by k as well). Compared: the
checkpoint's weights (the optimizer's step count drives Adam's bias correction), the rate printed at
each batch (the schedule moves once per optimizer step), and `accumulate = 1` bit-identical to a
section without the setting."""
import os

import numpy as np
import torch
import torch.nn.functional as F

from harness import Desc
from stranger3 import MODEL, _loss, _params, _rel, _run_dlnc

BATCH, BATCHES = 4, 7
W_TOL, LR_TOL = 2e-5, 1e-4
O, LS = torch.optim, torch.optim.lr_scheduler


def _data(work):
    rng = np.random.default_rng(37)
    x = rng.standard_normal((BATCH * BATCHES, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=BATCH * BATCHES)
    for name in ("train.csv", "test.csv"):
        with open(os.path.join(work, name), "w") as f:
            for row, c in zip(x, y):
                f.write(",".join(f"{v:.9g}" for v in row) + f",{c}\n")
    return np.array([[float(f"{v:.9g}") for v in row] for row in x]), y


BN_MODEL = """
model opt(features: f32[N, 4]) -> f32[N, 3] {
    return dense(relu(batch_norm1d(dense(features, 5), name = "bn")), 3)
}
"""


def _bn_params(seed):
    g = torch.Generator().manual_seed(seed)
    p = _params(seed)
    p.update({"bn.weight": 1 + 0.1 * torch.randn(5, generator=g), "bn.bias": 0.1 * torch.randn(5, generator=g),
              "bn.running_mean": torch.zeros(5), "bn.running_var": torch.ones(5)})
    return p


def _bn_loss(p, x, y):
    """BN_MODEL in training mode: the running statistics move at every batch, as nn.BatchNorm1d's."""
    h = F.linear(x, p["dense0.weight"], p["dense0.bias"])
    h = F.batch_norm(h, p["bn.running_mean"], p["bn.running_var"], p["bn.weight"], p["bn.bias"], training=True,
                     momentum=0.1, eps=1e-5)
    return F.cross_entropy(F.linear(torch.relu(h), p["dense1.weight"], p["dense1.bias"]), y)


def _run(build, tag, p0, optim, sched, epochs, accumulate, model=MODEL):
    return _run_dlnc(build, "acc_" + tag, optim, sched, p0, model, _data, BATCH, epochs,
                     f"accumulate = {accumulate}" if accumulate else "")


def _torch(p0, x, y, k, epochs, make_opt, make_sched=None, clip=None, loss=_loss):
    p = {n: v.double().clone().requires_grad_(not n.startswith("bn.running")) for n, v in p0.items()}
    opt = make_opt([v for v in p.values() if v.requires_grad])
    sch = make_sched(opt) if make_sched else None
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.from_numpy(np.asarray(y)).long()
    lrs = []
    for _ in range(epochs):
        opt.zero_grad()
        for i in range(BATCHES):
            lrs.append(opt.param_groups[0]["lr"])
            (loss(p, xt[i * BATCH:(i + 1) * BATCH], yt[i * BATCH:(i + 1) * BATCH]) / k).backward()
            if (i + 1) % k == 0 or i + 1 == BATCHES:
                if clip:
                    torch.nn.utils.clip_grad_norm_([v for v in p.values() if v.requires_grad], clip)
                opt.step()
                if sch:
                    sch.step()
                opt.zero_grad()
    return {n: v.detach().numpy() for n, v in p.items()}, lrs


def _row(build, i, optim, sched, epochs, k, make_opt, make_sched=None, clip=None, bn=False):
    p0 = _bn_params(120 + i) if bn else _params(120 + i)
    what = f"accumulate = {k}, optim = {optim}{', sched = ' + sched if sched else ''}, {epochs} x {BATCHES} batches"
    what += ", batch norm (weights and running statistics)" if bn else ""
    ours, lrs, err, x, y = _run(build, f"r{i}", p0, optim, sched, epochs, k, BN_MODEL if bn else MODEL)
    if ours is None:
        return dict(case=Desc(what + ": dlnc run"), fwd=float("nan"), grad=None, ok=False, detail=err)
    ref, want = _torch(p0, x, y, k, epochs, make_opt, make_sched, clip, _bn_loss if bn else _loss)
    e = max(_rel(ours[n], ref[n]) for n in ref)
    moved = max(_rel(ref[n], p0[n].numpy().astype(np.float64)) for n in ref)
    ok, detail = e <= W_TOL and moved > 10 * W_TOL, None
    if not ok:
        detail = f"max rel err {e:.3g} (weights moved {moved:.3g})"
    if sched:
        le = max(abs(a - b) / max(abs(b), 1e-3) for a, b in zip(lrs, want)) if len(lrs) == len(want) else float("inf")
        if le > LR_TOL:
            ok, detail = False, f"lr per batch: dlnc {lrs} vs torch {[round(v, 6) for v in want]}"
    return dict(case=Desc(what + ": weights" + (" and the lr of each batch" if sched else "")), fwd=e, grad=None,
                ok=ok, detail=detail)


def _same_row(build):
    """accumulate = 1 is the step of every batch: the weights bit for bit those of no setting."""
    p0 = _params(119)
    a, _, err_a, _, _ = _run(build, "k1", p0, "adam(lr = 0.05)", None, 2, 1)
    b, _, err_b, _, _ = _run(build, "k0", p0, "adam(lr = 0.05)", None, 2, None)
    ok = a is not None and b is not None and all(np.array_equal(a[n], b[n]) for n in b)
    return dict(case=Desc("accumulate = 1: weights bit-identical to no setting"), fwd=0.0 if ok else float("nan"),
                grad=None, ok=ok, detail=None if ok else (err_a or err_b or "the weights differ"))


def run(build):
    rows = [
        _row(build, 0, "sgd(lr = 0.1)", None, 1, 3, lambda q: O.SGD(q, lr=0.1)),
        _row(build, 1, "momentum(lr = 0.1)", None, 2, 3, lambda q: O.SGD(q, lr=0.1, momentum=0.9)),
        _row(build, 2, "adam(lr = 0.05, clip_norm = 0.2)", "step(step_size = 1, gamma = 0.5)", 2, 3,
             lambda q: O.Adam(q, lr=0.05), lambda o: LS.StepLR(o, step_size=3, gamma=0.5), 0.2),
        _row(build, 3, "adamw(lr = 0.05)", "cosine()", 2, 2,
             lambda q: O.AdamW(q, lr=0.05), lambda o: LS.CosineAnnealingLR(o, T_max=8)),
        _row(build, 4, "sgd(lr = 0.1, momentum = 0.9)", None, 2, 3, lambda q: O.SGD(q, lr=0.1, momentum=0.9), bn=True),
        _same_row(build),
    ]
    return [("accumulate", rows)]
