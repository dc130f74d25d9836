"""stranger12.py — the twelfth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger10.py's rows. Efficient vision: a MobileNetV3
block (h-swish written `x * hard_sigmoid(x)`, squeeze-and-excitation gated by a hard sigmoid —
`squeeze_excite(..., gate = "hard_sigmoid")`, added this round: the gate was a fixed sigmoid), a
GhostNet module and a RepVGG block in its training form (3x3, 1x1 and identity branches, each
with batch norm); EfficientDet's BiFPN fast normalized fusion (ReLU weights over their sum +
eps). Detection: SSD's multibox loss (`anchor_grid`, `ssd_match`, hard negatives at 3:1, smooth
L1 on the positives' encoded offsets — the stdlib blocks had no parity row before this round), a
Faster R-CNN RPN loss (objectness BCE on the sampled anchors, smooth L1 with beta 1/9 on box
deltas encoded by `ssd_encode(..., v1 = 1.0, v2 = 1.0)`, torchvision's BoxCoder(1, 1, 1, 1)) with an
RoI Align box head. Generative: PixelCNN++'s discretized logistic mixture likelihood (one
channel, masked convolutions), a conditional VAE (labels one-hot concatenated), the IWAE bound
(logsumexp over k = 4 samples), flow matching (x_t = (1 - t) x0 + t x1, velocity target x1 - x0,
`timestep_embedding` of a continuous t: `f32[N]`, refused before this round), NCSN's denoising score matching over a geometric
table of 10 noise levels (`linspace`, added this round), sigma per sample. Explainability as a training penalty: integrated
gradients (8 Riemann steps on a straight path from 0, `grad` of a batch of interpolated inputs, and again
as a `repeat` whose copies share the network by its name)
and SmoothGrad (4 noisy copies), second order. Graphs: APPNP (K = 4 steps of personalized
PageRank) with an SGC branch (K = 2), ChebNet (K = 3, lambda_max = 2), a graph transformer layer
with edge features (PyG's TransformerConv with edge_dim)."""
import math

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from cases import _tv_roi_align
from stranger6 import _bn, _check, _t
from stranger8 import _gather_nodes, _lin, _scatter_nodes

D = torch.float64

EFFNET_DLN = """
block hswish(x: f32) -> f32 {
    return x * hard_sigmoid(x)
}
block mbv3_block(x: f32[N, C, H, W], exp: int) -> f32[N, C, H, W] {
    h = hswish(batch_norm(conv2d(x, exp, kernel = 1, use_bias = false, name = "expand"), name = "bn1"))
    h = hswish(batch_norm(conv2d(h, exp, kernel = 3, pad = 1, groups = exp, use_bias = false, name = "dw"), name = "bn2"))
    h = squeeze_excite(h, squeeze = 8, gate = "hard_sigmoid", name = "se")
    h = batch_norm(conv2d(h, C, kernel = 1, use_bias = false, name = "project"), name = "bn3")
    return x + h
}
block ghost(x: f32[N, C, H, W], out: int) -> f32 {
    p = relu(batch_norm(conv2d(x, out / 2, kernel = 1, use_bias = false, name = "primary"), name = "bn1"))
    c = relu(batch_norm(conv2d(p, out / 2, kernel = 3, pad = 1, groups = out / 2, use_bias = false, name = "cheap"), name = "bn2"))
    return concat([p, c], axis = 1)
}
block repvgg(x: f32[N, C, H, W]) -> f32[N, C, H, W] {
    a = batch_norm(conv2d(x, C, kernel = 3, pad = 1, use_bias = false, name = "conv3"), name = "bn3")
    b = batch_norm(conv2d(x, C, kernel = 1, use_bias = false, name = "conv1"), name = "bn1")
    return relu(a + b + batch_norm(x, name = "bnid"))
}
model effnet(image: f32[N, 8, 6, 6]) -> f32[N, 3] {
    h = mbv3_block(image, 16, name = "mb")
    h = ghost(h, 8, name = "ghost")
    h = repvgg(h, name = "rep")
    return dense(mean(h, axis = [2, 3]), 3, name = "fc")
}
train effnet {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


BIFPN_DLN = """
block fuse(a: f32[N, C, H, W], b: f32[N, C, H, W], c: f32[N, C, H, W]) -> f32[N, C, H, W] {
    param w: f32[3] = ones
    r = relu(w)
    s = sum(r) + 1e-4
    return silu((r[0] * a + r[1] * b + r[2] * c) / s)
}
model bifpn(image: f32[N, 4, 8, 8]) -> f32[N, 3] {
    p3 = conv2d(image, 4, kernel = 3, pad = 1, name = "c3")                  # 8x8
    p4 = conv2d(p3, 4, kernel = 3, stride = 2, pad = 1, name = "c4")         # 4x4
    p4td = conv2d(p4 + max_pool2d(p3, 2), 4, kernel = 3, pad = 1, name = "td")
    p3out = fuse(p3, upsample(p4td), upsample(p4), name = "f3")
    p4out = fuse(p4, p4td, max_pool2d(p3out, 2), name = "f4")
    return dense(mean(p3out, axis = [2, 3]) + mean(p4out, axis = [2, 3]), 3, name = "fc")
}
train bifpn {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


FLOWMATCH_DLN = """
model fm(features: f32[N, 17]) -> f32[N, 8] {
    x0 = features[:, 0:8]
    x1 = features[:, 8:16]
    t = features[:, 16]
    xt = (1.0 - unsqueeze(t, 1)) * x0 + unsqueeze(t, 1) * x1
    e = silu(dense(timestep_embedding(t * 100.0, 8), 16, name = "temb"))   # a continuous t: f32[N]
    h = silu(dense(xt, 16, name = "in") + e)
    h = silu(dense(h, 16, name = "mid"))
    v = dense(h, 8, name = "out")
    return v - (x1 - x0)
}
train fm {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(sum(output ** 2, axis = 1))
    optim = sgd(lr = 0.1)
}
"""


NCSN_DLN = """
model ncsn(features: f32[N, 17]) -> f32[N, 8] {
    x = features[:, 0:8]
    z = features[:, 8:16]
    idx = cast_i32(features[:, 16])
    sigmas = exp(linspace(log(1.0), log(0.01), 10))                       # geometric, 1 to 0.01
    sigma = unsqueeze(take(sigmas, idx), 1)
    xn = x + sigma * z
    h = softplus(dense(xn, 32, name = "l1"))
    h = softplus(dense(h, 32, name = "l2"))
    score = dense(h, 8, name = "l3") / sigma
    return score * sigma + z                                              # lambda(sigma) = sigma^2 weighting
}
train ncsn {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(0.5 * sum(output ** 2, axis = 1))
    optim = sgd(lr = 0.1)
}
"""


CVAE_DLN = """
model cvae(features: f32[N, 12], label: i32[N]) -> f32[N] {
    x = features[:, 0:8]
    eps = features[:, 8:12]
    y = one_hot(label, 3)
    h = relu(dense(concat([x, y], axis = 1), 16, name = "enc"))
    mu = dense(h, 4, name = "mu")
    logvar = dense(h, 4, name = "logvar")
    z = mu + exp(0.5 * logvar) * eps
    logits = dense(relu(dense(concat([z, y], axis = 1), 16, name = "dec")), 8, name = "out")
    t = sigmoid(x)                                                       # targets in (0, 1)
    rec = sum(softplus(logits) - logits * t, axis = 1)                   # BCE with logits, summed
    kl = -0.5 * sum(1.0 + logvar - mu ** 2 - exp(logvar), axis = 1)
    return rec + kl
}
train cvae {
    data  = csv("unused.csv", batch = 8)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


IWAE_DLN = """
model iwae(features: f32[N, 24]) -> f32[N] {
    x = features[:, 0:8]
    eps = reshape(features[:, 8:24], [N, 4, 4])                         # K = 4 samples of z (dim 4)
    h = tanh(dense(x, 16, name = "enc"))
    mu = unsqueeze(dense(h, 4, name = "mu"), 1)
    logstd = unsqueeze(dense(h, 4, name = "logstd"), 1)
    z = mu + exp(logstd) * eps                                           # f32[N, 4, 4]
    xm = dense(tanh(dense(z, 16, name = "dec")), 8, name = "out")       # f32[N, 4, 8]: Gaussian mean, unit variance
    c = 0.5 * log(2.0 * 3.141592653589793)
    logpx = sum(-0.5 * (unsqueeze(x, 1) - xm) ** 2 - c, axis = 2)
    logpz = sum(-0.5 * z ** 2 - c, axis = 2)
    logqz = sum(-0.5 * eps ** 2 - logstd - c, axis = 2)
    logw = logpx + logpz - logqz                                         # f32[N, 4]
    return logsumexp(logw, axis = 1) - log(4.0)
}
train iwae {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = -mean(output)
    optim = sgd(lr = 0.1)
}
"""


PIXELCNNPP_DLN = """
block dlml_loss(x: f32[N, 1, H, W], params: f32[N, P, H, W], K: int) -> f32[N] {
    xs = transpose(x, [0, 2, 3, 1])                                     # f32[N, H, W, 1]
    p = transpose(params, [0, 2, 3, 1])                                 # f32[N, H, W, 3K]
    logit_probs = p[:, :, :, 0:K]
    means = p[:, :, :, K:2 * K]
    log_scales = maximum(p[:, :, :, 2 * K:3 * K], -7.0)
    centered = xs - means
    inv_s = exp(-log_scales)
    plus_in = inv_s * (centered + 1.0 / 255.0)
    min_in = inv_s * (centered - 1.0 / 255.0)
    cdf_plus = sigmoid(plus_in)
    cdf_min = sigmoid(min_in)
    log_cdf_plus = plus_in - softplus(plus_in)
    log_one_minus_cdf_min = -softplus(min_in)
    cdf_delta = cdf_plus - cdf_min
    mid_in = inv_s * centered
    log_pdf_mid = mid_in - log_scales - 2.0 * softplus(mid_in)
    inner = where(cdf_delta > 1e-5, log(maximum(cdf_delta, 1e-12)), log_pdf_mid - log(127.5))
    log_probs = where(xs < -0.999, log_cdf_plus, where(xs > 0.999, log_one_minus_cdf_min, inner))
    lp = logsumexp(log_probs + log_softmax(logit_probs, axis = 3), axis = 3)     # f32[N, H, W]
    return -sum(lp, axis = [1, 2])
}
model pxpp(image: f32[N, 1, 4, 4]) -> f32[N] {
    x = image
    h = relu(masked_conv2d(x, 8, kernel = 3, mask_type = "A", name = "c1"))
    h = relu(masked_conv2d(h, 8, kernel = 3, mask_type = "B", name = "c2"))
    out = conv2d(h, 9, kernel = 1, name = "out")                         # 3 logistics: logits, means, log scales
    return dlml_loss(x, out, 3)
}
train pxpp {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output) / 16.0
    optim = sgd(lr = 0.1)
}
"""


_NET = """
block net(x: f32) -> f32 {
    return dense(tanh(dense(x, 16, name = "fc1")), 3, name = "fc2")
}
"""


def _attr_train(name, penalty):
    """The attribution models' train section: cross entropy plus 0.1 x the penalty on the attributions."""
    return (f'train {name} {{\n    data  = csv("unused.csv", batch = 8)\n'
            f'    loss  = cross_entropy(logits, label) + 0.1 * {penalty}\n    optim = sgd(lr = 0.1)\n}}\n')


IG_DLN = _NET + """
model ig(features: f32[N, 6], label: i32[N]) -> (logits: f32[N, 3], attr: f32[N, 6]) {
    x = features
    logits = net(x, name = "net")
    alphas = (arange(8) + 1.0) / 8.0                                     # 8 Riemann steps, baseline 0
    path = unsqueeze(x, 1) * reshape(alphas, [1, 8, 1])                  # f32[N, 8, 6]
    score = sum(net(path, name = "net") * unsqueeze(one_hot(label, 3), 1))
    ig = x * mean(grad(score, path), axis = 1)
    return logits, ig
}
""" + _attr_train("ig", "mean(attr ** 2)")


IG_REPEAT_DLN = _NET + """
model igr(features: f32[N, 6], label: i32[N]) -> (logits: f32[N, 3], attr: f32[N, 6]) {
    x = features
    logits = net(x, name = "net")
    acc = zeros_like(x)
    repeat i in 8 {                                                      # one copy per step; "net" names one set of weights
        xi = x * ((i + 1) / 8.0)
        score = sum(net(xi, name = "net") * one_hot(label, 3))
        acc = acc + grad(score, xi)
    }
    return logits, x * acc / 8.0
}
""" + _attr_train("igr", "mean(attr ** 2)")


SMOOTHGRAD_DLN = _NET + """
model sg(features: f32[N, 30], label: i32[N]) -> (logits: f32[N, 3], sal: f32[N, 6]) {
    x = features[:, 0:6]
    noise = reshape(features[:, 6:30], [N, 4, 6])                        # 4 draws of N(0, 1)
    logits = net(x, name = "net")
    xs = unsqueeze(x, 1) + 0.15 * noise
    score = sum(net(xs, name = "net") * unsqueeze(one_hot(label, 3), 1))
    return logits, mean(grad(score, xs), axis = 1)
}
""" + _attr_train("sg", "mean(abs(sal))")


APPNP_DLN = """
block gcn_norm_prop(h: f32[N, V, F], src: i32[N, E], dst: i32[N, E]) -> f32[N, V, F] {
    d = unsqueeze(in_degree(dst, V) + 1.0, 2)                          # with the self-loop
    dinv = 1.0 / sqrt(d)
    m = gather_nodes(h * dinv, src)
    return dinv * (scatter_nodes(m, dst, V) + h * dinv)
}
model appnp(features: f32[N, 46]) -> f32[N, 6, 3] {
    x = reshape(features[:, 0:30], [N, 6, 5])
    src = cast_i32(features[:, 30:38])
    dst = cast_i32(features[:, 38:46])
    h = dense(relu(dense(x, 16, name = "lin1")), 3, name = "lin2")
    z = h
    repeat 4 {
        z = 0.9 * gcn_norm_prop(z, src, dst) + 0.1 * h
    }
    s = x
    repeat 2 {
        s = gcn_norm_prop(s, src, dst)
    }
    return z + dense(s, 3, name = "sgc")
}
train appnp {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


CHEB_DLN = """
block cheb_conv(x: f32[N, V, F], src: i32[N, E], dst: i32[N, E], out: int) -> f32[N, V, out] {
    dinv = unsqueeze(1.0 / sqrt(maximum(in_degree(dst, V), 1.0)), 2)
    # scaled Laplacian with lambda_max = 2: L~ = L - I = -D^-1/2 A D^-1/2
    t0 = x
    t1 = -dinv * scatter_nodes(gather_nodes(x * dinv, src), dst, V)
    t2 = 2.0 * (-dinv * scatter_nodes(gather_nodes(t1 * dinv, src), dst, V)) - t0
    return dense(t0, out, name = "lin0") + dense(t1, out, use_bias = false, name = "lin1") + dense(t2, out, use_bias = false, name = "lin2")
}
model cheb(features: f32[N, 46]) -> f32[N, 6, 3] {
    x = reshape(features[:, 0:30], [N, 6, 5])
    src = cast_i32(features[:, 30:38])
    dst = cast_i32(features[:, 38:46])
    h = relu(cheb_conv(x, src, dst, 8, name = "conv1"))
    return cheb_conv(h, src, dst, 3, name = "conv2")
}
train cheb {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


GRAPH_TRANSFORMER_DLN = """
block transformer_conv(x: f32[N, V, F], src: i32[N, E], dst: i32[N, E], ea: f32[N, E, Fe], out: int) -> f32[N, V, out] {
    q = gather_nodes(dense(x, out, name = "lin_query"), dst)
    e = dense(ea, out, use_bias = false, name = "lin_edge")
    k = gather_nodes(dense(x, out, name = "lin_key"), src) + e
    v = gather_nodes(dense(x, out, name = "lin_value"), src) + e
    a = edge_softmax(sum(q * k, axis = 2) / sqrt(out * 1.0), dst, V)
    return scatter_nodes(unsqueeze(a, 2) * v, dst, V) + dense(x, out, name = "lin_skip")
}
model gt(features: f32[N, 62]) -> f32[N, 6, 3] {
    x = reshape(features[:, 0:30], [N, 6, 5])
    src = cast_i32(features[:, 30:38])
    dst = cast_i32(features[:, 38:46])
    ea = reshape(features[:, 46:62], [N, 8, 2])
    h = transformer_conv(x, src, dst, ea, 8, name = "conv1")
    h = layer_norm(relu(h) + dense(x, 8, name = "res"), 8, name = "norm")
    return transformer_conv(h, src, dst, ea, 3, name = "conv2")
}
train gt {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


RPN_DLN = """
block rpn_anchors() -> f32[32, 4] {
    return reshape(stack([anchor_grid(4, 8.0, 3.0, 3.0), anchor_grid(4, 8.0, 4.0, 2.0)], axis = 2), [32, 4])
}
model rpn(features: f32[N, 234]) -> f32[N] {
    image = reshape(features[:, 0:64], [N, 1, 8, 8])
    lab = features[:, 64:96]                                             # 1 positive, 0 negative, -1 not sampled
    gt = reshape(features[:, 96:224], [N, 32, 4])                        # each anchor's matched box
    rois = reshape(features[:, 224:232], [N, 2, 4])
    roi_label = cast_i32(features[:, 232:234])
    h = relu(conv2d(image, 8, kernel = 3, pad = 1, name = "trunk"))                 # [N, 8, 8, 8]
    h = max_pool2d(h, 2)                                                             # [N, 8, 4, 4], stride 2
    t = relu(conv2d(h, 8, kernel = 3, pad = 1, name = "rpn_conv"))
    obj = reshape(transpose(conv2d(t, 2, kernel = 1, name = "cls_logits"), [0, 2, 3, 1]), [N, 32])
    deltas = reshape(transpose(conv2d(t, 8, kernel = 1, name = "bbox_pred"), [0, 2, 3, 1]), [N, 32, 4])
    sampled = cast_f32(lab >= 0.0)
    pos = cast_f32(lab > 0.0)
    target = ssd_encode(gt, rpn_anchors(), v1 = 1.0, v2 = 1.0)             # Faster R-CNN's BoxCoder (1, 1, 1, 1)
    bce = softplus(obj) - obj * pos
    l_obj = sum(sampled * bce, axis = 1) / sum(sampled, axis = 1)
    l_box = sum(unsqueeze(pos, 2) * smooth_l1(deltas, target, beta = 1.0 / 9.0, reduction = "none"), axis = [1, 2]) / sum(sampled, axis = 1)
    r = roi_align(h, rois, 2, spatial_scale = 0.5, sampling_ratio = 2, aligned = true)   # [N, 2, 8, 2, 2]
    roi_logits = dense(relu(dense(reshape(r, [N, 2, 32]), 16, name = "fc6")), 3, name = "cls_score")
    l_roi = -mean(pick(log_softmax(roi_logits), roi_label), axis = 1)
    return l_obj + l_box + l_roi
}
train rpn {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


SSD_DLN = """
block anchors() -> f32[32, 4] {
    return reshape(stack([anchor_grid(4, 16.0, 6.0, 6.0), anchor_grid(4, 16.0, 10.0, 5.0)], axis = 2), [32, 4])
}
block multibox(off: f32[N, A, 4], logits: f32[N, A, 4], boxes: f32[N, M, 4], classes: i32[N, M], box_mask: f32[N, M]) -> f32 {
    a = anchors()
    pos, label, gt = ssd_match(a, boxes, classes, box_mask, iou = 0.5)
    ce = -pick(log_softmax(logits), label)
    neg = hard_negatives(ce, pos, ratio = 3.0)
    n = maximum(sum(pos), 1.0)
    return sum(ce * (pos + neg)) / n + sum(unsqueeze(pos, 2) * smooth_l1(off, ssd_encode(gt, a), reduction = "none")) / n
}
model ssd(features: f32[N, 268]) -> f32[N] {
    image = reshape(features[:, 0:256], [N, 1, 16, 16])
    boxes = reshape(features[:, 256:264], [N, 2, 4])
    classes = cast_i32(features[:, 264:266])
    box_mask = features[:, 266:268]
    h = relu(conv2d(image, 8, kernel = 3, pad = 1, name = "c1")) |> max_pool2d(2)
    h = relu(conv2d(h, 8, kernel = 3, pad = 1, name = "c2")) |> max_pool2d(2)        # 4 x 4
    p = reshape(transpose(conv2d(h, 16, kernel = 3, pad = 1, name = "head"), [0, 2, 3, 1]), [N, 32, 8])
    off, logits = split(p, [4, 4], axis = -1)
    return zeros(N) + multibox(off, logits, boxes, classes, box_mask)
}
train ssd {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _conv(p, v, k, **kw):
    return F.conv2d(v, p[k + ".weight"], p.get(k + ".bias"), **kw)


def effnet_loss(p, x, y):
    c = lambda v, k, **kw: _conv(p, v, k, **kw)                                       # noqa: E731
    h = F.hardswish(_bn(c(x, "mb.expand"), p, "mb.bn1"))                              # torchvision's InvertedResidual
    h = F.hardswish(_bn(c(h, "mb.dw", padding=1, groups=16), p, "mb.bn2"))
    s = F.hardsigmoid(_lin(F.relu(_lin(h.mean((2, 3)), p, "mb.se.dense0")), p, "mb.se.dense1"))
    h = x + _bn(c(h * s[:, :, None, None], "mb.project"), p, "mb.bn3")
    g = F.relu(_bn(c(h, "ghost.primary"), p, "ghost.bn1"))                            # GhostModule, ratio 2
    h = torch.cat([g, F.relu(_bn(c(g, "ghost.cheap", padding=1, groups=4), p, "ghost.bn2"))], 1)
    h = F.relu(_bn(c(h, "rep.conv3", padding=1), p, "rep.bn3") + _bn(c(h, "rep.conv1"), p, "rep.bn1")
               + _bn(h, p, "rep.bnid"))                                               # RepVGGBlock, training form
    return F.cross_entropy(_lin(h.mean((2, 3)), p, "fc"), y)


def bifpn_loss(p, x, y):
    def fuse(k, *xs):                                                                 # EfficientDet's fast fusion
        w = F.relu(p[k + ".w"])
        return F.silu(sum(w[i] * v for i, v in enumerate(xs)) / (w.sum() + 1e-4))
    up = lambda v: F.interpolate(v, scale_factor=2, mode="nearest")                  # noqa: E731
    p3 = _conv(p, x, "c3", padding=1)
    p4 = _conv(p, p3, "c4", stride=2, padding=1)
    p4td = _conv(p, p4 + F.max_pool2d(p3, 2), "td", padding=1)
    p3o = fuse("f3", p3, up(p4td), up(p4))
    p4o = fuse("f4", p4, p4td, F.max_pool2d(p3o, 2))
    return F.cross_entropy(_lin(p3o.mean((2, 3)) + p4o.mean((2, 3)), p, "fc"), y)


def _fm_batch():
    rng = np.random.default_rng(180)
    f = np.concatenate([rng.standard_normal((8, 16)), rng.random((8, 1))], 1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x0, x1, t = ft[:, :8], ft[:, 8:16], ft[:, 16]
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        a = (t * 100)[:, None] * torch.exp(-math.log(10000.0) * torch.arange(4, dtype=D) / 3)   # get_timestep_embedding
        e = F.silu(_lin(torch.cat([a.sin(), a.cos()], 1), p, "temb"))
        h = F.silu(_lin(F.silu(_lin(xt, p, "in") + e), p, "mid"))
        return ((_lin(h, p, "out") - (x1 - x0)) ** 2).sum(1).mean()
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _ncsn_batch():
    rng = np.random.default_rng(181)
    f = np.concatenate([rng.standard_normal((8, 16)), rng.integers(0, 10, (8, 1))], 1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x, z = ft[:, :8], ft[:, 8:16]
        sigmas = torch.exp(torch.linspace(math.log(1.0), math.log(0.01), 10, dtype=D))   # NCSN: geometric
        sigma = sigmas[torch.from_numpy(f[:, 16]).long()][:, None]
        h = F.softplus(_lin(F.softplus(_lin(x + sigma * z, p, "l1")), p, "l2"))
        score = _lin(h, p, "l3") / sigma
        return (0.5 * ((score * sigma + z) ** 2).sum(1)).mean()                     # anneal_dsm_score_estimation
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _cvae_batch():
    rng = np.random.default_rng(182)
    f = rng.standard_normal((8, 12)).astype(np.float32)
    y = rng.integers(0, 3, 8).astype(np.int32)

    def loss(p):
        ft = _t(f)
        x, eps, oh = ft[:, :8], ft[:, 8:], F.one_hot(torch.from_numpy(y).long(), 3).to(D)
        h = F.relu(_lin(torch.cat([x, oh], 1), p, "enc"))
        mu, logvar = _lin(h, p, "mu"), _lin(h, p, "logvar")
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = _lin(F.relu(_lin(torch.cat([z, oh], 1), p, "dec")), p, "out")
        rec = F.binary_cross_entropy_with_logits(logits, torch.sigmoid(x), reduction="none").sum(1)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
        return (rec + kl).mean()
    return [f, y], 8, (), loss


def _iwae_batch():
    f = np.random.default_rng(183).standard_normal((8, 24)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x, eps = ft[:, :8], ft[:, 8:].reshape(8, 4, 4)
        h = torch.tanh(_lin(x, p, "enc"))
        mu, logstd = _lin(h, p, "mu")[:, None], _lin(h, p, "logstd")[:, None]
        z = mu + logstd.exp() * eps
        n01 = torch.distributions.Normal(0.0, 1.0)
        logpx = torch.distributions.Normal(_lin(torch.tanh(_lin(z, p, "dec")), p, "out"), 1.0).log_prob(x[:, None]).sum(2)
        logw = logpx + n01.log_prob(z).sum(2) - torch.distributions.Normal(mu, logstd.exp()).log_prob(z).sum(2)
        return -(torch.logsumexp(logw, 1) - math.log(4)).mean()
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _masked(w, kind):
    m = torch.ones_like(w)
    k = w.shape[2] // 2
    m[:, :, k, k + (kind == "B"):] = 0
    m[:, :, k + 1:] = 0
    return w * m


def _dlml_batch():
    x = (np.random.default_rng(184).integers(0, 256, (8, 1, 4, 4)) / 127.5 - 1).astype(np.float32)
    x[0, 0, 0, 0], x[1, 0, 2, 1], x[2, 0, 3, 3] = 1.0, -1.0, 1.0                   # both edge bins

    def loss(p):
        xt = _t(x)
        h = F.relu(F.conv2d(xt, _masked(p["c1.weight"], "A"), p["c1.bias"], padding=1))
        h = F.relu(F.conv2d(h, _masked(p["c2.weight"], "B"), p["c2.bias"], padding=1))
        l = _conv(p, h, "out").permute(0, 2, 3, 1)                                   # pixel-cnn-pp's loss, 1 channel
        xs = xt.permute(0, 2, 3, 1)
        logit_probs, means, log_scales = l[..., :3], l[..., 3:6], l[..., 6:].clamp(min=-7.0)
        centered, inv_s = xs - means, torch.exp(-log_scales)
        plus_in, min_in = inv_s * (centered + 1 / 255), inv_s * (centered - 1 / 255)
        cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
        mid_in = inv_s * centered
        log_pdf_mid = mid_in - log_scales - 2 * F.softplus(mid_in)
        inner = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp(min=1e-12)), log_pdf_mid - math.log(127.5))
        lp = torch.where(xs < -0.999, plus_in - F.softplus(plus_in),
                         torch.where(xs > 0.999, -F.softplus(min_in), inner))
        return -torch.logsumexp(lp + F.log_softmax(logit_probs, -1), -1).sum((1, 2)).mean() / 16
    return [x, np.zeros((8,), np.float32)], 8, (), loss


def _net(p, v):
    return _lin(torch.tanh(_lin(v, p, "net.fc1")), p, "net.fc2")


def ig_loss(p, xt, yt):
    path = (xt[:, None] * ((torch.arange(8, dtype=D) + 1) / 8)[None, :, None]).requires_grad_()   # Captum's riemann_right
    score = (_net(p, path) * F.one_hot(yt, 3)[:, None]).sum()
    ig = xt * torch.autograd.grad(score, path, create_graph=True)[0].mean(1)
    return F.cross_entropy(_net(p, xt), yt) + 0.1 * (ig ** 2).mean()


def _smoothgrad_batch():
    rng = np.random.default_rng(186)
    f = rng.standard_normal((8, 30)).astype(np.float32)
    y = rng.integers(0, 3, 8).astype(np.int32)

    def loss(p):
        ft, yt = _t(f), torch.from_numpy(y).long()
        x = ft[:, :6]
        xs = (x[:, None] + 0.15 * ft[:, 6:].reshape(8, 4, 6)).requires_grad_()
        score = (_net(p, xs) * F.one_hot(yt, 3)[:, None]).sum()
        sal = torch.autograd.grad(score, xs, create_graph=True)[0].mean(1)
        return F.cross_entropy(_net(p, x), yt) + 0.1 * sal.abs().mean()
    return [f, y], 8, (), loss


def _undirected(seed, extra=0):
    """4 graphs of 6 nodes, 4 undirected edges each given both ways (E = 8, no self-loops), node
    features and `extra` more columns of floats (edge features): f32[4, 46 + extra]."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, (4, 4))
    b = (a + rng.integers(1, 6, (4, 4))) % 6
    src = np.stack([a, b], 2).reshape(4, 8)
    dst = np.stack([b, a], 2).reshape(4, 8)
    f = np.concatenate([rng.standard_normal((4, 30)), src, dst, rng.standard_normal((4, extra))], 1)
    return rng, f.astype(np.float32), torch.from_numpy(src), torch.from_numpy(dst)


def _gcn_prop(h, src, dst):
    """PyG's gcn_norm with self-loops: sum_{j->i} h_j / sqrt(d_i d_j) + h_i / d_i."""
    dinv = (torch.zeros(h.shape[:2], dtype=D).scatter_add(1, dst, torch.ones(dst.shape, dtype=D)) + 1).rsqrt()[..., None]
    return dinv * (_scatter_nodes(_gather_nodes(h * dinv, src), dst, 6) + h * dinv)


def _appnp_batch():
    rng, f, src, dst = _undirected(187)
    t = rng.standard_normal((4, 6, 3)).astype(np.float32)

    def loss(p):
        x = _t(f)[:, :30].reshape(4, 6, 5)
        h = _lin(F.relu(_lin(x, p, "lin1")), p, "lin2")
        z = h
        for _ in range(4):                                               # PyG's APPNP(K=4, alpha=0.1)
            z = 0.9 * _gcn_prop(z, src, dst) + 0.1 * h
        s = _gcn_prop(_gcn_prop(x, src, dst), src, dst)                  # SGConv(K=2)'s propagation
        return F.mse_loss(z + _lin(s, p, "sgc"), _t(t))
    return [f, t], 4, (), loss


def _cheb_batch():
    rng, f, src, dst = _undirected(188)
    t = rng.standard_normal((4, 6, 3)).astype(np.float32)

    def loss(p):
        h = _t(f)[:, :30].reshape(4, 6, 5)
        deg = torch.zeros(4, 6, dtype=D).scatter_add(1, dst, torch.ones(4, 8, dtype=D))
        dinv = torch.where(deg > 0, deg.clamp(min=1).rsqrt(), torch.zeros_like(deg))[..., None]
        lap = lambda v: -dinv * _scatter_nodes(_gather_nodes(v * dinv, src), dst, 6)   # noqa: E731  L - I
        for k, act in (("conv1", F.relu), ("conv2", lambda v: v)):      # PyG's ChebConv(K=3, normalization="sym")
            t1 = lap(h)
            t2 = 2 * lap(t1) - h
            h = act(_lin(h, p, k + ".lin0") + _lin(t1, p, k + ".lin1", False) + _lin(t2, p, k + ".lin2", False))
        return F.mse_loss(h, _t(t))
    return [f, t], 4, (), loss


def _tconv(p, k, x, src, dst, ea):
    """PyG's TransformerConv(heads=1, edge_dim=2, root_weight=True)."""
    e = _lin(ea, p, k + ".lin_edge", False)
    q = _gather_nodes(_lin(x, p, k + ".lin_query"), dst)
    kk = _gather_nodes(_lin(x, p, k + ".lin_key"), src) + e
    v = _gather_nodes(_lin(x, p, k + ".lin_value"), src) + e
    ex = torch.exp((q * kk).sum(2) / math.sqrt(q.shape[2]))
    a = ex / _scatter_nodes(ex[..., None], dst, 6)[..., 0].gather(1, dst)
    return _scatter_nodes(a[..., None] * v, dst, 6) + _lin(x, p, k + ".lin_skip")


def _gt_batch():
    rng, f, src, dst = _undirected(189, 16)
    t = rng.standard_normal((4, 6, 3)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x, ea = ft[:, :30].reshape(4, 6, 5), ft[:, 46:].reshape(4, 8, 2)
        h = F.relu(_tconv(p, "conv1", x, src, dst, ea)) + _lin(x, p, "res")
        h = F.layer_norm(h, (8,), p["norm.weight"], p["norm.bias"])
        return F.mse_loss(_tconv(p, "conv2", h, src, dst, ea), _t(t))
    return [f, t], 4, (), loss


def _anchors(g, canvas, sizes):
    c = (torch.arange(g, dtype=D) + 0.5) * canvas / g
    cy, cx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1) for w, h in sizes], 2).reshape(-1, 4)


def _encode(b, a, wts):
    """torchvision's BoxCoder(wts).encode_single."""
    aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    bw, bh = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    return torch.stack([wts[0] * (b[..., 0] + 0.5 * bw - a[:, 0] - 0.5 * aw) / aw,
                        wts[1] * (b[..., 1] + 0.5 * bh - a[:, 1] - 0.5 * ah) / ah,
                        wts[2] * torch.log(bw / aw), wts[3] * torch.log(bh / ah)], -1)


def _rand_boxes(rng, shape, canvas, lo, hi):
    xy = rng.uniform(0, canvas - hi, shape + (2,))
    return np.concatenate([xy, xy + rng.uniform(lo, hi, shape + (2,))], -1)


def _rpn_batch():
    rng = np.random.default_rng(190)
    lab = np.full((4, 32), -1.0)
    for n in range(4):                                                   # 12 sampled anchors per image, 1 to 4 positive
        i = rng.permutation(32)[:12]
        lab[n, i] = 0
        lab[n, i[:1 + n]] = 1
    gt = _rand_boxes(rng, (4, 32), 8, 1.5, 5.0)
    rois = _rand_boxes(rng, (4, 2), 8, 2.0, 6.0)
    f = np.concatenate([rng.standard_normal((4, 64)), lab, gt.reshape(4, 128), rois.reshape(4, 8),
                        rng.integers(0, 3, (4, 2))], 1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        h = F.max_pool2d(F.relu(_conv(p, ft[:, :64].reshape(4, 1, 8, 8), "trunk", padding=1)), 2)
        t = F.relu(_conv(p, h, "rpn_conv", padding=1))
        obj = _conv(p, t, "cls_logits").permute(0, 2, 3, 1).reshape(4, 32)
        deltas = _conv(p, t, "bbox_pred").permute(0, 2, 3, 1).reshape(4, 32, 4)
        lb = ft[:, 64:96]
        s, pos = lb >= 0, lb > 0                                         # torchvision's RegionProposalNetwork.compute_loss
        target = _encode(ft[:, 96:224].reshape(4, 32, 4), _anchors(4, 8.0, [(3, 3), (4, 2)]), (1, 1, 1, 1))
        l_box = F.smooth_l1_loss(deltas[pos], target[pos], beta=1 / 9, reduction="sum") / s.sum()
        l_obj = F.binary_cross_entropy_with_logits(obj[s], pos[s].to(D))
        r = _tv_roi_align(h, ft[:, 224:232].reshape(4, 2, 4), (2, 2), 0.5, 2, True)
        roi = _lin(F.relu(_lin(r.reshape(4, 2, 32), p, "fc6")), p, "cls_score")
        return l_obj + l_box + F.cross_entropy(roi.reshape(8, 3), torch.from_numpy(f[:, 232:]).long().reshape(8))
    return [f, np.zeros((4,), np.float32)], 4, (), loss


def _iou(a, b):
    lt, rb = torch.maximum(a[:, None, :2], b[None, :, :2]), torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    area = lambda v: (v[:, 2] - v[:, 0]) * (v[:, 3] - v[:, 1])          # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


def _ssd_batch():
    rng = np.random.default_rng(191)
    boxes = _rand_boxes(rng, (4, 2), 16, 4.0, 10.0)
    mask = np.ones((4, 2))
    mask[1, 1] = 0
    boxes[1, 1] = 0
    f = np.concatenate([rng.standard_normal((4, 256)), boxes.reshape(4, 8), rng.integers(0, 3, (4, 2)), mask],
                       1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        h = F.max_pool2d(F.relu(_conv(p, ft[:, :256].reshape(4, 1, 16, 16), "c1", padding=1)), 2)
        h = F.max_pool2d(F.relu(_conv(p, h, "c2", padding=1)), 2)
        o = _conv(p, h, "head", padding=1).permute(0, 2, 3, 1).reshape(4, 32, 8)
        off, logits = o[..., :4], o[..., 4:]
        anchors = _anchors(4, 16.0, [(6, 6), (10, 5)])
        l_cls = l_loc = n_pos = 0
        for n in range(4):                                               # the docs' SSD.compute_loss
            keep = torch.from_numpy(f[n, 266:] > 0)
            bx, cl = ft[n, 256:264].reshape(2, 4)[keep], torch.from_numpy(f[n, 264:266]).long()[keep]
            iou = _iou(anchors, bx)
            best_iou, best_box = iou.max(1)
            best_box[iou.argmax(0)] = torch.arange(iou.shape[1])
            best_iou[iou.argmax(0)] = 2
            pos = best_iou >= 0.5
            label = torch.where(pos, cl[best_box] + 1, 0)
            t = _encode(bx[best_box], anchors, (10, 10, 5, 5))
            ce = F.cross_entropy(logits[n], label, reduction="none")
            neg_ce = ce.clone().detach()
            neg_ce[pos] = -1
            rank = neg_ce.sort(descending=True, stable=True)[1].sort()[1]
            neg = (rank < 3 * pos.sum()) & ~pos
            l_cls = l_cls + ce[pos | neg].sum()
            l_loc = l_loc + F.smooth_l1_loss(off[n][pos], t[pos], reduction="sum")
            n_pos = n_pos + pos.sum()
        return (l_cls + l_loc) / max(int(n_pos), 1)
    return [f, np.zeros((4,), np.float32)], 4, (), loss


FNS12_DLN = """
model fns12(features: f32[N, 12]) -> f32[N] {
    h = dense(features, 12, name = "lin")
    x = h[:, 0:6]
    y = h[:, 6:12]
    p = sigmoid(x)
    lerp = x + 0.3 * (y - x)                                                 # torch.lerp(x, y, 0.3)
    lae = maximum(x, y) + log1p(exp(-abs(x - y)))                            # torch.logaddexp(x, y)
    lgt = log(p / (1.0 - p))                                                 # torch.logit(p)
    em1 = exp(x) - 1.0                                                       # torch.expm1(x)
    d = sqrt(sum((unsqueeze(reshape(x, [N, 2, 3]), 2) - unsqueeze(reshape(y, [N, 2, 3]), 1)) ** 2, axis = 3))
    w = linspace(-1.0, 2.0, 6) + exp(linspace(log(1.0), log(0.01), 6)) + 10.0 ** linspace(0.0, -2.0, 6)
    ends = linspace(0.5, 0.5, 1) + linspace(3.0, -1.0, 7)[6]
    return sum((lerp + lae + lgt + em1 + clamp(x, min = -0.5, max = 0.5)) * w, axis = 1) + sum(d, axis = [1, 2])
           + smooth_l1(x, y, beta = 0.5, reduction = "none")[:, 0] + ends[0]
}
train fns12 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _fns12_batch():
    f = np.random.default_rng(192).standard_normal((8, 12)).astype(np.float32)

    def loss(p):
        h = _lin(_t(f), p, "lin")
        x, y = h[:, :6], h[:, 6:]
        w = torch.linspace(-1, 2, 6, dtype=D) + torch.exp(torch.linspace(math.log(1.0), math.log(0.01), 6, dtype=D)) \
            + torch.logspace(0, -2, 6, dtype=D)
        ends = torch.linspace(0.5, 0.5, 1, dtype=D) + torch.linspace(3, -1, 7, dtype=D)[6]
        d = torch.cdist(x.reshape(-1, 2, 3), y.reshape(-1, 2, 3))
        out = ((torch.lerp(x, y, 0.3) + torch.logaddexp(x, y) + torch.logit(torch.sigmoid(x)) + torch.expm1(x)
                + torch.clip(x, -0.5, 0.5)) * w).sum(1) + d.sum((1, 2)) \
            + F.smooth_l1_loss(x, y, beta=0.5, reduction="none")[:, 0] + ends[0]
        return out.mean()
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def run(build):
    cls = lambda seed, shape, k, fn: lambda: S.classes_batch(seed, shape, k, fn)          # noqa: E731
    return [_check(build, "effnet", EFFNET_DLN, 200, cls(210, (8, 8, 6, 6), 3, effnet_loss)),
            _check(build, "bifpn", BIFPN_DLN, 201, cls(211, (8, 4, 8, 8), 3, bifpn_loss)),
            _check(build, "ssd", SSD_DLN, 202, _ssd_batch),
            _check(build, "rpn", RPN_DLN, 203, _rpn_batch),
            _check(build, "pxpp", PIXELCNNPP_DLN, 204, _dlml_batch),
            _check(build, "cvae", CVAE_DLN, 205, _cvae_batch),
            _check(build, "iwae", IWAE_DLN, 206, _iwae_batch),
            _check(build, "fm", FLOWMATCH_DLN, 207, _fm_batch),
            _check(build, "ncsn", NCSN_DLN, 208, _ncsn_batch),
            _check(build, "ig", IG_DLN, 209, cls(185, (8, 6), 3, ig_loss)),
            _check(build, "igr", IG_REPEAT_DLN, 209, cls(185, (8, 6), 3, ig_loss)),
            _check(build, "sg", SMOOTHGRAD_DLN, 212, _smoothgrad_batch),
            _check(build, "appnp", APPNP_DLN, 213, _appnp_batch),
            _check(build, "cheb", CHEB_DLN, 214, _cheb_batch),
            _check(build, "gt", GRAPH_TRANSFORMER_DLN, 215, _gt_batch),
            _check(build, "fns12", FNS12_DLN, 216, _fns12_batch)]


if __name__ == "__main__":
    import sys
    from harness import Build
    b = Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    for r in run(b):
        print("ok  " if r["ok"] else "FAIL", r["case"].describe(), r["fwd"], r["grad"], r.get("detail") or "")
