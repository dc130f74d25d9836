"""lookahead.py — optim = lookahead(inner, k, alpha) through `dlnc run` against a
torch twin of Lookahead (Zhang et al. 2019; timm's Lookahead with its slow weights
taken at the start, as the paper's algorithm: timm copies them lazily at the first
sync, which makes its first sync a no-op). stranger3's model, CSV and float64 torch
loop: 6 epochs of 2 batches = 12 steps, k = 5, so the weights sync after steps 5 and
10 and the last two steps are fast ones. A third row stops after 3 epochs and goes on
with --resume: the slow weights come back from the checkpoint ("@slow.<name>") and
the run ends where the uninterrupted one does."""
import numpy as np
import torch

import stranger3 as S3
from harness import Desc

EPOCHS = 6
O = torch.optim
# (dln optim setting, torch inner optimizer, k, alpha)
CASES = [
    ("lookahead(adam(lr = 0.05), k = 5, alpha = 0.5)", lambda q: O.Adam(q, lr=0.05), 5, 0.5),
    ("lookahead(sgd(lr = 0.1, momentum = 0.9), k = 5, alpha = 0.8)", lambda q: O.SGD(q, lr=0.1, momentum=0.9), 5, 0.8),
]


class Lookahead:
    """The torch twin: after every k-th inner step, slow += alpha * (fast - slow); fast = slow."""

    def __init__(self, params, k, alpha):
        self.params, self.k, self.alpha, self.steps = params, k, alpha, 0
        self.slow = [p.detach().clone() for p in params]

    def after_step(self):
        self.steps += 1
        if self.steps % self.k:
            return
        with torch.no_grad():
            for p, s in zip(self.params, self.slow):
                s.add_(p - s, alpha=self.alpha)
                p.copy_(s)


def _reference(p0, x, y, make, k, alpha):
    box = {}

    def make_opt(q):
        box["la"] = Lookahead(q, k, alpha)
        return make(q)
    return S3._torch_run(p0, x, y, make_opt, epochs=EPOCHS, after_step=lambda: box["la"].after_step())[0]


def _compare(what, ours, ref, inner_only):
    e = max(S3._rel(ours[k], ref[k]) for k in ref)
    apart = max(S3._rel(inner_only[k], ref[k]) for k in ref)   # the inner optimizer alone ends elsewhere
    ok = e <= S3.W_TOL and apart > 10 * S3.W_TOL
    return dict(case=Desc(what), fwd=e, grad=None, ok=ok,
                detail=None if ok else f"max rel err {e:.3g} (lookahead vs inner alone {apart:.3g})")


def _row(build, i, setting, make, k, alpha, resume=False):
    p0 = S3._params(90 + i)
    tag = f"la{i}{'r' if resume else ''}"
    if resume:
        ours, _, err, x, y = S3._run_dlnc(build, tag, setting, None, p0, epochs=EPOCHS, args=("--epochs", "3"))
        if err is None:
            ours, _, err, x, y = S3._run_dlnc(build, tag, setting, None, p0, epochs=EPOCHS, args=("--resume",))
    else:
        ours, _, err, x, y = S3._run_dlnc(build, tag, setting, None, p0, epochs=EPOCHS)
    what = f"optim = {setting}: weights after {EPOCHS * S3.SPE} steps of dlnc run" + \
        (", 3 epochs then --resume" if resume else "")
    if ours is None:
        return dict(case=Desc(what), fwd=float("nan"), grad=None, ok=False, detail=err)
    ref = _reference(p0, x, y, make, k, alpha)
    inner_only = S3._torch_run(p0, x, y, make, epochs=EPOCHS)[0]
    return _compare(what, ours, ref, inner_only)


def run(build):
    rows = [_row(build, i, *c) for i, c in enumerate(CASES)]
    rows.append(_row(build, 0, *CASES[0], resume=True))
    return [("lookahead vs a torch twin", rows)]
