"""advtrain.py — `adversarial = fgsm(...)` and `pgd(...)` in a train section
against the same adversarial training step written out in PyTorch
(docs/language.md "Adversarial training"). A small batch-norm classifier
takes one SGD step on a batch of 8; the trained loss, every parameter after
the step and the running statistics (the model runs on the clean batch, on
each attack step's batch but the first, and on the attacked batch, in that
order) must match torch in float64 to 1e-6. FGSM with mix 0.5 and PGD (3
steps, no random start: dlnc's uniform draws are not torch's) with mix 1.
The attack's gradient signs are compared too: a sign that differs would be
a gradient within rounding of zero, which the batch is drawn to avoid."""
import numpy as np
import torch
import torch.nn.functional as F

from gan import BnDisc, _row
from harness import Model, load_lib, rel_err

TOL = 1e-6


def dln(attack):
    return f"""
model advnet(x: f32[N, 8]) -> f32[N, 3] {{
    return dense(x, 16, use_bias = false) |> batch_norm1d |> tanh |> dense(3)
}}

train advnet {{
    data        = csv("unused.csv", batch = 8)
    loss        = cross_entropy(output, label)
    optim       = sgd(lr = 0.5)
    adversarial = {attack}
}}
"""


def attacked_loss(model, x, y, eps, alpha, steps, mix, pgd, signs):
    """The trained loss of docs/language.md's PyTorch equivalent: the clean
    call gives the first step's gradient; each later step calls the model on
    the batch so far; every step's batch is detached (stop_grad)."""
    xr = x.clone().requires_grad_(True)
    clean = F.cross_entropy(model(xr), y)
    g, = torch.autograd.grad(clean, xr, retain_graph=True)
    xa = x
    for k in range(steps):
        if k > 0:
            xr = xa.clone().requires_grad_(True)
            g, = torch.autograd.grad(F.cross_entropy(model(xr), y), xr)
        signs.append(g.abs().min().item())
        nxt = xa + alpha * g.sign()
        if pgd:
            nxt = torch.min(torch.max(nxt, x - eps), x + eps)
        xa = nxt.clamp(0.0, 1.0).detach()
    attacked = F.cross_entropy(model(xa), y)
    return attacked if mix == 1.0 else (1 - mix) * clean + mix * attacked


def one_case(build, tag, attack, eps, alpha, steps, mix, pgd):
    so, err = build.compile_dln(dln(attack), "advtrain")
    if so is None:
        return [_row(f"advtrain: {tag}: compile", float("nan"), float("nan"), False, err)]
    m = Model(load_lib(so), "advnet", 8, class_labels=True)
    torch.manual_seed(3)
    ref = BnDisc(3, torch.tanh).double()   # dense -> batch_norm1d -> tanh -> dense
    with torch.no_grad():   # non-trivial statistics and affine, so each call's update shows
        ref.batch_norm1d0.weight.uniform_(0.5, 1.5)
        ref.batch_norm1d0.bias.uniform_(-0.2, 0.2)
    ref.train()
    for k, v in ref.state_dict().items():
        if k in m.params:
            m.set_param(k, v.numpy())
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8).astype(np.int32)
    loss = m.train_step(x, y)
    signs = []
    opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    opt.zero_grad()
    lt = attacked_loss(ref, torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.int64), eps, alpha,
                       steps, mix, pgd, signs)
    lt.backward()
    opt.step()
    sd = ref.state_dict()
    worst_p = max(rel_err(m.get(k), sd[k].numpy()) for k, _ in ref.named_parameters())
    worst_b = max(rel_err(m.get(k), sd[k].numpy()) for k in sd if ".running_" in k)
    el = rel_err(np.float64(loss), lt.item())
    m.close()
    far = min(signs) > 1e-6   # no input gradient within rounding of zero: the signs are the same on both sides
    return [_row(f"advtrain: {tag}: trained loss", el, None, el <= TOL),
            _row(f"advtrain: {tag}: every parameter after one SGD step", worst_p, None, worst_p <= TOL and far,
                 None if far else f"an input gradient of {min(signs):.1e}: its sign is rounding"),
            _row(f"advtrain: {tag}: running statistics ({steps + 1} calls)", worst_b, None, worst_b <= TOL)]


def run(build):
    rows = one_case(build, "fgsm(eps = 0.1, mix = 0.5)", "fgsm(eps = 0.1, mix = 0.5)", 0.1, 0.1, 1, 0.5, False)
    rows += one_case(build, "pgd(eps = 0.1, alpha = 0.04, steps = 3, random_start = false)",
                     "pgd(eps = 0.1, alpha = 0.04, steps = 3, random_start = false)", 0.1, 0.04, 3, 1.0, True)
    return [("adversarial training", rows)]
