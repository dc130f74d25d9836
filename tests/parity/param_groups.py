"""param_groups.py — a train section's `freeze` and `lr_scale` against
torch.optim param groups (called from optim.py, section "optim").

A three-layer MLP compiled with freeze = ["mid.bias"] and lr_scale =
[("trunk.", 0.1), ("head.weight", 3)] takes 5 training steps through its
generated train_step; PyTorch takes the same steps (float64) with three param
groups (lr x 0.1, lr x 3, lr) and mid.bias.requires_grad = False. Error = the
worst relative difference of any parameter after any step; tolerance 1e-5.
The frozen tensor must also have no gradient buffer and stay bit-identical.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from harness import Model, load_lib, rel_err, st_write

TOL = 1e-5
STEPS = 5
DLN = """model pg(x: f32[N, 6]) -> f32[N, 3] {
    h = dense(x, 8, name = "trunk") |> relu
    h = dense(h, 8, name = "mid") |> relu
    return dense(h, 3, name = "head")
}
train pg {
    data = csv("/dev/null", batch = 4, classify = true)
    loss = cross_entropy(output, label)
    optim = OPTIM
    epochs = 1
    freeze = ["mid.bias"]
    lr_scale = [("trunk.", 0.1), ("head.weight", 3)]
}
"""
# (dlnc optimizer, torch constructor taking param groups and the base lr)
CASES = [
    ("sgd(lr = 0.1, momentum = 0.9, weight_decay = 1e-2)",
     lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, weight_decay=1e-2)),
    ("adam(lr = 1e-2)", lambda g: torch.optim.Adam(g, lr=1e-2)),
    ("adamw(lr = 1e-2, weight_decay = 0.1)", lambda g: torch.optim.AdamW(g, lr=1e-2, weight_decay=0.1)),
]


class _Desc:
    def __init__(self, text):
        self.text = text

    def describe(self):
        return self.text


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk, self.mid, self.head = torch.nn.Linear(6, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.head(F.relu(self.mid(F.relu(self.trunk(x)))))


def run_case(build, k, optim, make):
    so, err = build.compile_dln(DLN.replace("OPTIM", optim), f"pg{k}")
    if so is None:
        raise RuntimeError(err)
    m = Model(load_lib(so), "pg", max_batch=4, class_labels=True)
    try:
        torch.manual_seed(k)
        ref = Net().double()
        path = os.path.join(build.work, f"pg{k}_init.safetensors")
        st_write(path, ref.state_dict())
        if m.load(path) != 0:
            raise RuntimeError("load failed")
        ref.mid.bias.requires_grad_(False)
        base = optim.split("lr = ")[1].split(",")[0].split(")")[0]
        lr = float(base)
        opt = make([{"params": [ref.trunk.weight, ref.trunk.bias], "lr": lr * 0.1},
                    {"params": [ref.head.weight], "lr": lr * 3},
                    {"params": [ref.mid.weight, ref.head.bias]}])
        frozen0 = m.get("mid.bias")
        if m.get("mid.bias", grad=True) is not None:
            raise RuntimeError("the frozen mid.bias has a gradient buffer")
        rng = np.random.default_rng(k)
        worst = 0.0
        for _ in range(STEPS):
            x = rng.standard_normal((4, 6)).astype(np.float32)
            y = rng.integers(0, 3, 4).astype(np.int32)
            m.train_step(x, y)
            opt.zero_grad()
            F.cross_entropy(ref(torch.from_numpy(x).double()), torch.from_numpy(y).long()).backward()
            opt.step()
            for name, v in ref.state_dict().items():
                worst = max(worst, rel_err(m.get(name), v.numpy()))
        if not np.array_equal(m.get("mid.bias"), frozen0):
            raise RuntimeError("the frozen mid.bias changed")
        return worst
    finally:
        m.close()


def rows(build):
    out = []
    for k, (optim, make) in enumerate(CASES):
        try:
            err, detail = run_case(build, k, optim, make), None
        except Exception as e:
            err, detail = float("nan"), f"{type(e).__name__}: {e}"
        out.append(dict(case=_Desc(f"param groups: {optim}, freeze mid.bias, lr x0.1 trunk.*, x3 head.weight, "
                                   f"{STEPS} steps vs torch param groups"), fwd=err, grad=None, ok=err <= TOL,
                        detail=detail))
    return out
