"""relu6_bn.py — MobileNetV2's conv -> batch norm -> relu6 (section `stranger`), whose ReLU6
backward the compiler reads inside batch norm's backward kernels (compiler/pass_bnorm_mask.c,
mask_hi = 6): one training step's loss and every gradient against a float64 PyTorch twin with the
same weights, as stranger12.py's rows. The batch norms' weights are set to 2.5-3.5 so a good share
of each ReLU6's inputs lie above 6 (clipped: no gradient, as F.relu6) as well as below 0, and the
block's two ReLU6s (after the expansion and the depthwise convolution) and the stem's each see
both ends; the stem's gradient is the sum of the block's two branches (the residual), the case
the pass leaves to the fused loop."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _bn
from stranger12 import _conv
from stranger8 import _lin

SRC = """
block inverted_residual(x: f32[N, C, H, W], exp: int) -> f32[N, C, H, W] {
    h = relu6(batch_norm(conv2d(x, exp, kernel = 1, use_bias = false, name = "expand"), name = "bn1"))
    h = relu6(batch_norm(conv2d(h, exp, kernel = 3, pad = 1, groups = exp, use_bias = false, name = "dw"), name = "bn2"))
    return x + batch_norm(conv2d(h, C, kernel = 1, use_bias = false, name = "project"), name = "bn3")
}
model r6bn(image: f32[N, 3, 6, 6]) -> f32[N, 3] {
    h = relu6(batch_norm(conv2d(image, 8, kernel = 3, pad = 1, use_bias = false, name = "stem"), name = "bn0"))
    h = inverted_residual(h, 24, name = "mb")
    h = relu6(batch_norm(conv2d(h, 16, kernel = 1, use_bias = false, name = "head"), name = "bnh"))
    return dense(mean(h, axis = [2, 3]), 3, name = "fc")
}
train r6bn {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

BNS = ("bn0", "mb.bn1", "mb.bn2", "mb.bn3", "bnh")


def r6bn_loss(p, x, y):
    c = lambda v, k, **kw: _conv(p, v, k, **kw)                                       # noqa: E731
    h = F.relu6(_bn(c(x, "stem", padding=1), p, "bn0"))
    r = F.relu6(_bn(c(h, "mb.expand"), p, "mb.bn1"))                                  # torchvision's InvertedResidual
    r = F.relu6(_bn(c(r, "mb.dw", padding=1, groups=24), p, "mb.bn2"))
    h = h + _bn(c(r, "mb.project"), p, "mb.bn3")
    h = F.relu6(_bn(c(h, "head"), p, "bnh"))
    return F.cross_entropy(_lin(h.mean((2, 3)), p, "fc"), y)


def _check(build):
    name = "r6bn"
    so, err = build.compile_dln(SRC, name)
    if so is None:
        return dict(case=S.Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    m = S.General(S.load_lib(so), name, (8,))
    p = S.draw_params(m, 230)
    g = torch.Generator().manual_seed(231)
    for k in BNS:                                        # large scales: ReLU6 inputs past 6 and below 0
        w = (2.5 + torch.rand(p[k + ".weight"].shape, generator=g, dtype=torch.float64)).float().double()
        with torch.no_grad():
            p[k + ".weight"].copy_(w)
        m.set_param(k + ".weight", w.numpy())
    arrays, n, syms, loss = S.classes_batch(232, (8, 3, 6, 6), 3, r6bn_loss)
    ours, ref, e_loss, e_grad = S.step_errors(m, p, arrays, n, syms, lambda _: loss(p))
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    return dict(case=S.Desc(f"{name}: conv -> batch norm -> relu6 (clipped at both ends), one training step's loss "
                            "and every gradient"), fwd=e_loss, grad=e_grad, ok=ok,
                detail=None if ok else f"loss {ours} vs torch {ref.item()}")


def run(build):
    return [_check(build)]


if __name__ == "__main__":
    import sys
    from harness import Build
    b = Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    for r in run(b):
        print("ok  " if r["ok"] else "FAIL", r["case"].describe(), r["fwd"], r["grad"], r.get("detail") or "")
