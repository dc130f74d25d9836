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




# ---- swa = swa(start, lr) against torch.optim.swa_utils ------------------------------------------------------------
SWA_EPOCHS, SWA_START, SWA_LR = 4, 3, 0.05
# (no bias before the batch norm: its gradient is 0 up to rounding, which Adam would scale up to whole steps)
SWA_MODEL = """
model opt(features: f32[N, 4]) -> f32[N, 3] {
    return dense(tanh(batch_norm1d(dense(features, 5, use_bias = false))), 3)
}
"""
NAMES = {"0.weight": "dense0.weight", "1.weight": "batch_norm1d0.weight",
         "1.bias": "batch_norm1d0.bias", "1.running_mean": "batch_norm1d0.running_mean",
         "1.running_var": "batch_norm1d0.running_var", "3.weight": "dense1.weight", "3.bias": "dense1.bias"}


def _swa_net(seed):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5, bias=False), torch.nn.BatchNorm1d(5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.2, 0.2)
    return net.double()


def _swa_torch(net, x, y, make, anneal=None):
    """The recipe of torch.optim.swa_utils' docs: AveragedModel updated after every epoch from SWA_START
    (1-based) on at the constant rate SWA_LR, then update_bn over the training batches. anneal =
    (epochs, strategy): the rate reaches SWA_LR through SWALR, stepped before each SWA epoch."""
    from torch.optim.swa_utils import AveragedModel, SWALR, update_bn
    opt = make(list(net.parameters()))
    swa_model = AveragedModel(net)
    swalr = SWALR(opt, swa_lr=SWA_LR, anneal_epochs=anneal[0], anneal_strategy=anneal[1]) if anneal else None
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.from_numpy(np.asarray(y)).long()
    batches = [(xt[b * S3.BATCH:(b + 1) * S3.BATCH], yt[b * S3.BATCH:(b + 1) * S3.BATCH]) for b in range(S3.SPE)]
    net.train()
    for epoch in range(1, SWA_EPOCHS + 1):
        if epoch >= SWA_START and swalr:
            swalr.step()
        elif epoch >= SWA_START:
            for g in opt.param_groups:
                g["lr"] = SWA_LR
        for xb, yb in batches:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
        if epoch >= SWA_START:
            swa_model.update_parameters(net)
    update_bn([xb for xb, _ in batches], swa_model)
    return {NAMES[k]: v.detach().numpy() for k, v in swa_model.module.state_dict().items() if k in NAMES}


def _swa_row(build, i, setting, make, resume=False, anneal=None):
    net = _swa_net(120 + i)
    p0 = {NAMES[k]: v.float() for k, v in net.state_dict().items() if k in NAMES}
    more = f", anneal_epochs = {anneal[0]}, anneal = \"{anneal[1]}\"" if anneal else ""
    what = f"swa = swa(start = {SWA_START}, lr = {SWA_LR}{more}), optim = {setting}: weights and batch norm " \
        f"statistics after {SWA_EPOCHS} epochs vs AveragedModel{' + SWALR' if anneal else ''} + update_bn"
    extra = f"swa        = swa(start = {SWA_START}, lr = {SWA_LR}{more})"
    tag = f"swa{i}{'r' if resume else ''}{anneal[1][0] if anneal else ''}"
    runs = [("--epochs", "2"), ("--resume",)] if resume else [()]
    for args in runs:
        ours, _, err, x, y = S3._run_dlnc(build, tag, setting, None, p0, epochs=SWA_EPOCHS, extra=extra,
                                          model=SWA_MODEL, args=args)
        if ours is None:
            break
    what += ", 2 epochs then --resume" if resume else ""
    if ours is None:
        return dict(case=Desc(what), fwd=float("nan"), grad=None, ok=False, detail=err)
    ref = _swa_torch(net, x, y, make, anneal)
    e = max(S3._rel(ours[k], ref[k]) for k in ref)
    ok = e <= S3.W_TOL
    return dict(case=Desc(what), fwd=e, grad=None, ok=ok, detail=None if ok else f"max rel err {e:.3g}: " + ", ".join(
        f"{k} {S3._rel(ours[k], ref[k]):.2g}" for k in ref))


SWA_CASES = [
    ("sgd(lr = 0.1, momentum = 0.9)", lambda q: O.SGD(q, lr=0.1, momentum=0.9)),
    ("adam(lr = 0.05)", lambda q: O.Adam(q, lr=0.05)),
]


def run(build):
    rows = [_row(build, i, *c) for i, c in enumerate(CASES)]
    rows.append(_row(build, 0, *CASES[0], resume=True))
    swa = [_swa_row(build, i, *c) for i, c in enumerate(SWA_CASES)] + [_swa_row(build, 0, *SWA_CASES[0], resume=True)]
    # SWALR: 2 SWA epochs of 3 to anneal (t = 1/3, 2/3: the rate never reaches lr), cosine and linear; resumed between
    swa += [_swa_row(build, 0, *SWA_CASES[0], anneal=(3, "cos")), _swa_row(build, 1, *SWA_CASES[1], anneal=(3, "linear")),
            _swa_row(build, 1, *SWA_CASES[1], resume=True, anneal=(3, "cos"))]
    return [("lookahead vs a torch twin", rows), ("swa vs torch swa_utils", swa)]
