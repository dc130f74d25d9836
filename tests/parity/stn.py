"""stn.py — a Spatial Transformer Network (Jaderberg et al. 2015; the PyTorch tutorial's
model, scaled down) written from docs/language.md: a localization net whose last dense
layer starts at the identity transform (`init = zeros, bias_init = values([1, 0, 0, 0, 1,
0])`), affine_grid, grid_sample, then a small classifier. Checked (section `stranger`):
the identity start as created, and one training step's loss and every gradient — the
localization net's through the grid into theta — against a float64 PyTorch twin with the
same weights, for bilinear zeros padding and for bilinear border padding with
align_corners."""
import ctypes

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S

D = torch.float64

STN_DLN = """
block localization(x: f32[N, 1, 12, 12]) -> f32[N, 2, 3] {
    h = relu(max_pool2d(conv2d(x, 4, kernel = 3, name = "conv"), 2))             # f32[N, 4, 5, 5]
    h = relu(dense(reshape(h, [N, 100]), 16, name = "fc1"))
    theta = dense(h, 6, init = zeros, bias_init = values([1, 0, 0, 0, 1, 0]), name = "fc2")   # the identity
    return reshape(theta, [N, 2, 3])
}
model stn(image: f32[N, 1, 12, 12]) -> f32[N, 3] {
    theta = localization(image, name = "loc")
    x = grid_sample(image, affine_grid(theta, [N, 1, 12, 12], align_corners = {al}), padding_mode = "{pad}",
                    align_corners = {al})
    h = relu(max_pool2d(conv2d(x, 4, kernel = 3, name = "conv"), 2))             # f32[N, 4, 5, 5]
    return dense(reshape(h, [N, 100]), 3, name = "fc")
}
train stn {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def _lin(x, p, k):
    return F.linear(x, p[k + ".weight"], p[k + ".bias"])


def _features(x, p, k):
    return F.relu(F.max_pool2d(F.conv2d(x, p[k + ".weight"], p[k + ".bias"]), 2)).reshape(-1, 100)


def stn_loss(p, x, y, pad, al):
    theta = _lin(F.relu(_lin(_features(x, p, "loc.conv"), p, "loc.fc1")), p, "loc.fc2").reshape(-1, 2, 3)
    grid = F.affine_grid(theta, (x.shape[0], 1, 12, 12), align_corners=al)
    z = F.grid_sample(x, grid, mode="bilinear", padding_mode=pad, align_corners=al)
    return F.cross_entropy(_lin(_features(z, p, "conv"), p, "fc"), y)


def _row(build, seed, pad, al):
    name = f"stn_{pad}_{al}"
    src = STN_DLN.replace("{al}", "true" if al else "false").replace("{pad}", pad).replace("model stn", f"model {name}")
    src = src.replace("train stn", f"train {name}")
    so, err = build.compile_dln(src, name)
    if so is None:
        return [dict(case=S.Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)]
    lib = S.load_lib(so)
    m = S.General(lib, name, (8,))
    init = getattr(lib, f"{name}_init")
    init.restype, init.argtypes = None, [ctypes.c_void_p, ctypes.c_uint64]
    init(m.m, 1)                                                 # the initializers, as a run starts
    start = {k: np.ctypeslib.as_array(getattr(lib, f"{name}_param")(m.m, k.encode()), shape=m.params[k][0]).copy()
             for k in ("loc.fc2.weight", "loc.fc2.bias")}
    ident = not np.any(start["loc.fc2.weight"]) and start["loc.fc2.bias"].tolist() == [1, 0, 0, 0, 1, 0]
    rows = [dict(case=S.Desc(f"{name}: theta starts at the identity"), fwd=0.0 if ident else 1.0, grad=None, ok=ident,
                 detail=None if ident else f"{ {k: v.tolist() for k, v in start.items()} }")]
    p = S.draw_params(m, seed)
    arrays, n, syms, loss = S.classes_batch(seed + 10, (8, 1, 12, 12), 3, lambda q, x, y: stn_loss(q, x, y, pad, al))
    ours, ref, e_loss, e_grad = S.step_errors(m, p, arrays, n, syms, lambda _: loss(p))
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    rows.append(dict(case=S.Desc(f"{name}: one training step's loss and every gradient"), fwd=e_loss, grad=e_grad,
                     ok=ok, detail=None if ok else f"loss {ours} vs torch {ref.item()}"))
    return rows


def run(build):
    return _row(build, 180, "zeros", False) + _row(build, 181, "border", True)
