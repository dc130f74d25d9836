"""course.py — the course's plain forms of docs/language.md as whole small
models against PyTorch: GoogLeNet's auxiliary loss (a model with two
outputs, `loss = cross_entropy(logits, label) + 0.3 * cross_entropy(aux,
label)`) and PSPNet's pyramid pooling module (adaptive average pooling to 1,
2, 3 and 6 bins, a 1x1 convolution, batch norm and ReLU per level, bilinear
upsampling back with align_corners, concatenated with the features) under a
per-pixel bce_with_logits. The same weights on both sides (drawn by torch,
set through <model>_param); one SGD step on a batch of 8: the training
loss, every parameter's gradient and every parameter after the step, and
the eval-mode outputs before it (both outputs of the two-output model,
through its general forward). Reference in float64; tolerance 1e-5 (loss,
outputs) and 1e-4 (gradients, parameters), as models.py."""
import ctypes

import numpy as np
import torch
import torch.nn.functional as F

from harness import Model, load_lib, rel_err

FWD_TOL, GRAD_TOL, LR = 1e-5, 1e-4, 0.1

AUX_DLN = """
model auxp(x: f32[N, 1, 8, 8]) -> (logits: f32[N, 10], aux: f32[N, 10]) {
    mid = conv2d(x, 4, kernel = 3, pad = 1) |> relu                  # [N, 4, 8, 8]
    aux = avgpool(mid, 4) |> flatten |> dense(10)                    # the auxiliary head
    h = conv2d(mid, 6, kernel = 3, pad = 1) |> relu |> maxpool(2)    # [N, 6, 4, 4]
    return dense(flatten(h), 10), aux
}

train auxp {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(logits, label) + 0.3 * cross_entropy(aux, label)
    optim = sgd(lr = 0.1)
}
"""

PSP_DLN = """
block psp_level(x: f32[N, C, H, W], bins: int, channels: int) -> f32[N, channels, H, W] {
    p = adaptive_avg_pool2d(x, bins) |> conv2d(channels, 1, use_bias = false) |> batch_norm |> relu
    return upsample(p, size = (H, W), mode = "bilinear", align_corners = true)
}

model pspp(x: f32[N, 1, 12, 12]) -> f32[N, 1, 12, 12] {
    f = conv2d(x, 4, kernel = 3, pad = 1) |> relu                    # [N, 4, 12, 12]
    h = concat([f, psp_level(f, 1, 2), psp_level(f, 2, 2), psp_level(f, 3, 2), psp_level(f, 6, 2)], axis = 1)
    return conv2d(h, 1, 1)                                           # per-pixel logits
}

train pspp {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = bce_with_logits(output, label)
    optim = sgd(lr = 0.1)
}
"""


def aux_ref(p, x):
    """GoogLeNet's two heads: (logits, aux)."""
    mid = F.relu(F.conv2d(x, p["conv2d0.weight"], p["conv2d0.bias"], padding=1))
    aux = F.linear(F.avg_pool2d(mid, 4).flatten(1), p["dense0.weight"], p["dense0.bias"])
    h = F.max_pool2d(F.relu(F.conv2d(mid, p["conv2d1.weight"], p["conv2d1.bias"], padding=1)), 2)
    return F.linear(h.flatten(1), p["dense1.weight"], p["dense1.bias"]), aux


def aux_loss(p, x, y, train):
    logits, aux = aux_ref(p, x)
    return F.cross_entropy(logits, y) + 0.3 * F.cross_entropy(aux, y)


def psp_ref(p, x, train):
    """PSPNet's pyramid pooling module; batch norm in training mode (batch
    statistics, running ones updated in place) or eval mode."""
    f = F.relu(F.conv2d(x, p["conv2d0.weight"], p["conv2d0.bias"], padding=1))
    levels = [f]
    for i, bins in enumerate((1, 2, 3, 6)):
        k = f"psp_level{i}."
        q = F.conv2d(F.adaptive_avg_pool2d(f, bins), p[k + "conv2d0.weight"])
        q = F.batch_norm(q, p[k + "batch_norm0.running_mean"], p[k + "batch_norm0.running_var"],
                         p[k + "batch_norm0.weight"], p[k + "batch_norm0.bias"], training=train, momentum=0.1, eps=1e-5)
        levels.append(F.interpolate(F.relu(q), size=f.shape[2:], mode="bilinear", align_corners=True))
    return F.conv2d(torch.cat(levels, 1), p["conv2d1.weight"], p["conv2d1.bias"])


def psp_loss(p, x, y, train):
    return F.binary_cross_entropy_with_logits(psp_ref(p, x, train), y)


def _row(text, fwd, grad, ok, detail=None):
    return dict(case=_Desc(text), fwd=fwd, grad=grad, ok=ok, detail=detail)


class _Desc:
    op = "course models"

    def __init__(self, text):
        self.text = text

    def describe(self):
        return self.text


def _forward(lib, m, name, x, shapes):
    """The general forward (one pointer per output): the outputs as arrays."""
    outs = [np.zeros(s, dtype=np.float32) for s in shapes]
    f = getattr(lib, f"{name}_forward")
    f.restype = None
    f.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * (1 + len(outs)) + [ctypes.c_int64]
    f(m.m, x.ctypes.data, *[o.ctypes.data for o in outs], x.shape[0])
    return outs


def one_model(build, name, src, loss_fn, eval_fn, out_shapes, in_shape, label):
    so, err = build.compile_dln(src, name)
    if so is None:
        return [_row(f"{name}: compile", float("nan"), float("nan"), False, err)]
    lib = load_lib(so)
    m = Model(lib, name, max_batch=8, class_labels=label == "class")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    p = {}
    for k, (shape, trainable) in m.params.items():
        if k.endswith("running_var"):
            v = torch.ones(shape, dtype=torch.float64)
        elif k.endswith("running_mean"):
            v = torch.zeros(shape, dtype=torch.float64)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 4
            v = (torch.rand(shape, dtype=torch.float64) * 2 - 1) / fan_in ** 0.5
            if k.endswith("batch_norm0.weight"):
                v = v + 1.0
        v = v.float().double()   # the same bits on both sides
        m.set_param(k, v.numpy())
        p[k] = v.requires_grad_(trainable)
    x = rng.standard_normal((8,) + in_shape).astype(np.float32)
    y = (rng.integers(0, 10, size=8).astype(np.int32) if label == "class"
         else (rng.random((8,) + out_shapes[0][1:]) > 0.5).astype(np.float32))
    xt = torch.tensor(x, dtype=torch.float64)
    yt = torch.tensor(y).long() if label == "class" else torch.tensor(y, dtype=torch.float64)
    rows = []
    with torch.no_grad():
        want = eval_fn(p, xt)
    got = _forward(lib, m, name, x, out_shapes)
    e_out = max(rel_err(g, w.numpy()) for g, w in zip(got, want))
    rows.append(_row(f"{name}: eval-mode outputs ({len(got)})", e_out, None, e_out <= FWD_TOL))
    loss = m.train_step(x, y)
    lt = loss_fn(p, xt, yt, True)
    grads = torch.autograd.grad(lt, [v for v in p.values() if v.requires_grad])
    names = [k for k, v in p.items() if v.requires_grad]
    e_loss = rel_err(np.float64(loss), lt.item())
    e_grad = max(rel_err(m.get(k, grad=True), g.numpy()) for k, g in zip(names, grads))
    e_par = max(rel_err(m.get(k), (p[k] - LR * g).detach().numpy()) for k, g in zip(names, grads))
    bufs = [k for k in p if ".running_" in k]
    e_buf = max((rel_err(m.get(k), p[k].detach().numpy()) for k in bufs), default=0.0)
    m.close()
    rows.append(_row(f"{name}: training loss and every gradient, one SGD step", e_loss, e_grad,
                     e_loss <= FWD_TOL and e_grad <= GRAD_TOL))
    rows.append(_row(f"{name}: every parameter after the step" + (", running statistics" if bufs else ""),
                     max(e_par, e_buf), None, max(e_par, e_buf) <= GRAD_TOL))
    return rows


def run(build):
    rows = one_model(build, "auxp", AUX_DLN, aux_loss, aux_ref, [(8, 10), (8, 10)], (1, 8, 8), "class")
    rows += one_model(build, "pspp", PSP_DLN, psp_loss, lambda p, x: (psp_ref(p, x, False),), [(8, 1, 12, 12)],
                      (1, 12, 12), "mask")
    return [("course models", rows)]
