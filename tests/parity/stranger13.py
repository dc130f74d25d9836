"""stranger13.py — the thirteenth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger12.py's rows. DeepDream (gradient ascent on an
activation's energy: the IMAGE is the only trainable parameter, the network frozen); SRGAN's
generator step (pixel shuffle, PReLU written from the hint, a frozen feature network applied to
the output and to the target by one name — the perceptual loss — and a frozen discriminator's
adversarial term); FiLM (per-channel gamma/beta from a conditioning vector) with BigGAN's
conditional batch norm (`batch_norm(h, affine = false)`, added this round: the parameterless
nn.BatchNorm2d(C, affine=False)); Deep SVDD (no biases, the centre c taken from the first step's
features into a buffer, nudged away from 0 by eps as the reference code); DETR's set loss for
a GIVEN matching (predictions gathered by the matched query index, the class cross-entropy with
a "no object" class weight — `cross_entropy(..., weight = w)`, added this round — L1 and GIoU
on boxes converted by `box_xyxy`, added this round); a mixture density network (logsumexp of
the components' log-probabilities, softmax mixing weights); a triplet loss with batch-hard
mining (pairwise distances, the hardest positive and negative per anchor from label masks);
a Pix2Pix U-Net generator with reflection padding (`conv2d(..., padding_mode = "reflect")`,
added this round, and `pad(..., mode = "reflect")`) under a frozen PatchGAN; dropout that is
told its mode (`dropout(x, p, training = false)` in a training step is the identity; MC
dropout's `training = true` drops in evaluation: checked by the forward, row `mcd`)."""
import ctypes
import math

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _bn, _check, _t
from stranger8 import P2P_DLN as _S8_P2P

D = torch.float64

DREAM_DLN = """
block features(x: f32[N, 3, H, W]) -> f32 {
    h = relu(conv2d(x, 8, kernel = 3, pad = 1, name = "conv1"))
    return relu(conv2d(h, 8, kernel = 3, pad = 1, name = "conv2"))
}
model dream(features: f32[N, 1]) -> f32[N, 8, 8, 8] {
    param image: f32[1, 3, 8, 8] = zeros
    return features(expand(image, [N, 3, 8, 8]), name = "net")   # a model's output is f32[N, ...]
}
train dream {
    data   = csv("unused.csv", batch = 1, classify = false)
    loss   = -mean(output ** 2)
    optim  = sgd(lr = 0.01)
    freeze = ["net."]
}
"""

SRGAN_DLN = """
block prelu(x: f32) -> f32 {
    param weight: f32[1] = constant(0.25)
    return where(x > 0.0, x, weight * x)
}
block vgg(x: f32[N, 3, H, W]) -> f32 {
    h = relu(conv2d(x, 8, kernel = 3, pad = 1, name = "conv1"))
    return relu(conv2d(h, 8, kernel = 3, pad = 1, name = "conv2"))
}
block gen(x: f32[N, 3, H, W]) -> f32 {
    h = prelu(conv2d(x, 8, kernel = 3, pad = 1, name = "head"), name = "act1")
    h = h + batch_norm(conv2d(h, 8, kernel = 3, pad = 1, name = "res"), name = "bn")
    h = prelu(pixel_shuffle(conv2d(h, 12, kernel = 3, pad = 1, name = "up"), 2), name = "act2")
    return conv2d(h, 3, kernel = 3, pad = 1, name = "tail")
}
block disc(x: f32[N, 3, H, W]) -> f32[N, 1] {
    h = leaky_relu(conv2d(x, 8, kernel = 3, stride = 2, pad = 1, name = "conv"), 0.2)
    return dense(flatten(h), 1, name = "fc")
}
model srgan(features: f32[N, 3, 8, 8]) -> f32[N] {
    hr = features
    lr = avg_pool2d(hr, 2)
    fake = gen(lr, name = "gen")
    content = mse(vgg(fake, name = "vgg"), vgg(hr, name = "vgg"))
    adv = bce_with_logits(disc(fake, name = "disc"), ones(N, 1))
    return zeros(N) + mse(fake, hr) + 0.006 * content + 1e-3 * adv
}
train srgan {
    data   = csv("unused.csv", batch = 4, classify = false)
    loss   = mean(output)
    optim  = adam(lr = 1e-4)
    freeze = ["vgg.", "disc."]
}
"""

FILM_DLN = """
model film(features: f32[N, 149]) -> f32[N, 3] {
    image = reshape(features[:, 0:144], [N, 4, 6, 6])
    cond = features[:, 144:149]
    h = conv2d(image, 8, kernel = 3, pad = 1, name = "conv1")
    gamma, beta = split(dense(cond, 16, name = "film"), 8, axis = 1)
    h = relu(h * reshape(gamma, [N, 8, 1, 1]) + reshape(beta, [N, 8, 1, 1]))
    h = batch_norm(conv2d(h, 8, kernel = 3, pad = 1, name = "conv2"), affine = false, name = "cbn")
    g = dense(cond, 8, name = "cbn_gamma")
    b = dense(cond, 8, name = "cbn_beta")
    h = relu(h * (1.0 + reshape(g, [N, 8, 1, 1])) + reshape(b, [N, 8, 1, 1]))
    return dense(mean(h, axis = [2, 3]), 3, name = "fc")
}
train film {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

SVDD_DLN = """
model svdd(features: f32[N, 6]) -> f32[N] {
    z = dense(leaky_relu(dense(features, 8, use_bias = false, name = "fc1")), 4, use_bias = false, name = "fc2")
    buffer c: f32[4] = zeros
    buffer ready: f32[1] = zeros
    first = stop_grad(mean(z, axis = 0))
    first = where(abs(first) < 0.1, 0.1 * sign(first), first)      # the reference code's eps = 0.1
    center = where(ready > 0.5, c, first)
    update(c, center)
    update(ready, ones(1))
    return sum((z - center) ** 2, axis = 1)
}
train svdd {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3, weight_decay = 1e-6)
}
"""

DETR_DLN = """
model detr(features: f32[N, 52]) -> f32[N] {
    feat = reshape(features[:, 0:40], [N, 5, 8])
    idx = cast_i32(features[:, 40:42])                              # the matcher's query per target
    cls = cast_i32(features[:, 42:44])
    boxes = reshape(features[:, 44:52], [N, 2, 4])
    h = relu(dense(feat, 16, name = "body"))
    logits = dense(h, 4, name = "class_embed")                     # 3 classes and "no object"
    pred = sigmoid(dense(h, 4, name = "bbox_embed"))                # cx, cy, w, h in [0, 1]
    target = cast_i32(3.0 + scatter_add(cast_f32(cls) - 3.0, idx, 5, axis = 1))
    ce = cross_entropy(logits, target, weight = concat([ones(3), full(1, value = 0.1)]))
    matched = gather(pred, expand(unsqueeze(idx, 2), N, 2, 4), axis = 1)
    nb = 2.0 * N
    l1 = sum(abs(matched - boxes)) / nb
    lg = sum(giou_loss(box_xyxy(matched), box_xyxy(boxes))) / nb
    return zeros(N) + ce + 5.0 * l1 + 2.0 * lg
}
train detr {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-4)
}
"""

MDN_DLN = """
model mdn(features: f32[N, 3]) -> f32[N] {
    x = features[:, 0:2]
    y = features[:, 2:3]
    h = tanh(dense(x, 16, name = "hidden"))
    logpi = log_softmax(dense(h, 4, name = "pi"), axis = 1)
    mu = dense(h, 4, name = "mu")
    log_sigma = dense(h, 4, name = "sigma")
    logp = logpi - log_sigma - 0.5 * log(2.0 * pi) - 0.5 * ((y - mu) / exp(log_sigma)) ** 2
    return -logsumexp(logp, axis = 1)
}
train mdn {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3)
}
"""

# batch-hard mining over a P x K batch: each sample is a group of K = 8 embeddings (ids in the last
# column), so the distance matrix is [N, 8, 8] (a tensor cannot be [N, N])
TRIP_DLN = """
block batch_hard_triplet(e: f32[N, K, D], y: f32[N, K], margin: float = 0.3) -> f32[N] {
    d = sqrt(maximum(sum((unsqueeze(e, 2) - unsqueeze(e, 1)) ** 2, axis = 3), 1e-12))
    same = unsqueeze(y, 2) == unsqueeze(y, 1)
    hardest_pos = max(d * (same - eye(K)), axis = 2)
    hardest_neg = min(d + 1e9 * same, axis = 2)
    return mean(relu(hardest_pos - hardest_neg + margin), axis = 1)
}
model trip(features: f32[N, 8, 7]) -> f32[N] {
    e = dense(relu(dense(features[:, :, 0:6], 16, name = "fc1")), 4, name = "fc2")
    return batch_hard_triplet(e, features[:, :, 6])
}
train trip {
    data  = csv("unused.csv", batch = 2, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

# the U-Net generator under stranger8's frozen PatchGAN, model and train section (its Pix2Pix row
# had a two-level generator with zero padding)
P2P_DLN = """
block down(x: f32[N, C, H, W], out: int) -> f32 {
    return leaky_relu(conv2d(x, out, kernel = 4, stride = 2, pad = 1), 0.2)
}
block unet(x: f32[N, 3, 8, 8]) -> f32[N, 3, 8, 8] {
    e0 = relu(conv2d(x, 8, kernel = 3, pad = 1, padding_mode = "reflect", name = "e0"))
    e1 = down(e0, 16, name = "e1")
    e2 = down(e1, 16, name = "e2")
    d1 = relu(batch_norm(conv_transpose2d(e2, 16, kernel = 4, stride = 2, pad = 1, name = "d1"), name = "bn1"))
    d0 = relu(batch_norm(conv_transpose2d(concat([d1, e1], axis = 1), 8, kernel = 4, stride = 2, pad = 1, name = "d0"), name = "bn0"))
    return tanh(conv2d(pad(concat([d0, e0], axis = 1), [1, 1, 1, 1], mode = "reflect"), 3, kernel = 3, name = "out"))
}
""" + _S8_P2P[_S8_P2P.index("block patch_d"):_S8_P2P.index("block gen")] \
    + _S8_P2P[_S8_P2P.index("model p2p"):].replace("fake = gen(src", "fake = unet(src")

# dropout told its mode: `training = false` never drops (so a training step is PyTorch's without
# dropout), `training = true` drops in evaluation too (MC dropout; _mc_dropout below)
NODROP_DLN = """
model nodrop(x: f32[N, 6]) -> f32[N, 3] {
    h = dropout(relu(dense(x, 16, name = "fc1")), 0.5, training = false)
    return dense(h, 3, name = "fc2")
}
train nodrop {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

MCD_DLN = """
model mcd(x: f32[N, 64]) -> f32[N, 4, 64] {
    return dropout(expand(unsqueeze(x, 1), [N, 4, 64]), 0.5, training = true)     # 4 passes as an axis
}
"""


_NO_LABEL = np.zeros(8, np.float32)       # the csv's label field, which these losses do not read

# the forms this round added or its hints give, against torch: cross_entropy's and nll's `weight`
# (with ignore_index and label smoothing), batch_norm1d(affine = false), box_xyxy, and the hints'
# pairwise_distance, triplet_margin_loss and scatter
FNS13_DLN = """
model fns13(features: f32[N, 31]) -> f32[N] {
    logits = dense(features[:, 0:6], 4, name = "fc")
    y = cast_i32(features[:, 6])
    w = arange(1, 5) * 0.5
    a = cross_entropy(logits, y, weight = w)
    b = cross_entropy(logits, y, weight = w, label_smoothing = 0.2, ignore_index = 2)
    c = nll(log_softmax(logits), y, weight = w, ignore_index = 2)
    bn = batch_norm1d(dense(features[:, 0:6], 4, name = "pre"), affine = false, name = "bn")
    e = dense(features[:, 7:13], 3, name = "emb")
    f = dense(features[:, 13:19], 3, name = "emb")
    g = dense(features[:, 19:25], 3, name = "emb")
    pd = sqrt(sum((e - f) ** 2, axis = 1))
    tl = mean(relu(sqrt(sum((e - f) ** 2, axis = 1)) - sqrt(sum((e - g) ** 2, axis = 1)) + 1.0))
    bx = box_xyxy(dense(features[:, 25:29], 4, name = "box"))
    idx = cast_i32(features[:, 29:31])
    x5 = dense(features[:, 0:6], 5, name = "sx")
    sc = x5 + scatter_add(logits[:, 0:2] - gather(x5, idx, 1), idx, numel(x5, axis = 1), axis = 1)
    return zeros(N) + a + b + c + mean(bn * arange(1, 5)) + mean(pd) + tl + mean(bx * arange(1, 5)) + mean(sc ** 2)
}
train fns13 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _conv(p, v, k, **kw):
    return F.conv2d(v, p[k + ".weight"], p.get(k + ".bias"), **kw)


def _dream_batch():
    def loss(q):
        h = F.relu(_conv(q, q["image"].expand(1, 3, 8, 8), "net.conv1", padding=1))
        return -(F.relu(_conv(q, h, "net.conv2", padding=1)) ** 2).mean()
    return [np.zeros((1, 1), np.float32), _NO_LABEL[:1]], 1, (), loss


def _prelu(v, a):
    return torch.where(v > 0, v, a * v)


def _srgan_batch():
    hr = np.random.default_rng(130).standard_normal((4, 3, 8, 8)).astype(np.float32)

    def loss(q):
        t = _t(hr)
        h = _prelu(_conv(q, F.avg_pool2d(t, 2), "gen.head", padding=1), q["gen.act1.weight"])
        h = h + _bn(_conv(q, h, "gen.res", padding=1), q, "gen.bn")
        h = _prelu(F.pixel_shuffle(_conv(q, h, "gen.up", padding=1), 2), q["gen.act2.weight"])
        fake = _conv(q, h, "gen.tail", padding=1)
        vgg = lambda v: F.relu(_conv(q, F.relu(_conv(q, v, "vgg.conv1", padding=1)), "vgg.conv2", padding=1))  # noqa: E731
        d = F.linear(F.leaky_relu(_conv(q, fake, "disc.conv", stride=2, padding=1), 0.2).flatten(1),
                     q["disc.fc.weight"], q["disc.fc.bias"])
        return (F.mse_loss(fake, t) + 0.006 * F.mse_loss(vgg(fake), vgg(t))
                + 1e-3 * F.binary_cross_entropy_with_logits(d, torch.ones_like(d)))
    return [hr, _NO_LABEL[:4]], 4, (), loss


def _film_batch():
    rng = np.random.default_rng(131)
    f = rng.standard_normal((8, 149)).astype(np.float32)
    x, c = f[:, :144].reshape(8, 4, 6, 6), f[:, 144:]
    y = rng.integers(0, 3, size=8).astype(np.int32)

    def loss(q):
        lin = lambda v, k: F.linear(v, q[k + ".weight"], q[k + ".bias"])                      # noqa: E731
        h = _conv(q, _t(x), "conv1", padding=1)
        gamma, beta = lin(_t(c), "film").split(8, 1)
        h = F.relu(h * gamma[:, :, None, None] + beta[:, :, None, None])
        h = F.batch_norm(_conv(q, h, "conv2", padding=1), None, None, training=True, eps=1e-5)   # affine=False
        h = F.relu(h * (1 + lin(_t(c), "cbn_gamma")[:, :, None, None]) + lin(_t(c), "cbn_beta")[:, :, None, None])
        return F.cross_entropy(lin(h.mean((2, 3)), "fc"), torch.from_numpy(y).long())
    return [f, y], 8, (), loss


def _svdd_batch():
    x = np.random.default_rng(132).standard_normal((8, 6)).astype(np.float32)

    def loss(q):
        net = lambda v: F.linear(F.leaky_relu(F.linear(v, q["fc1.weight"]), 0.01), q["fc2.weight"])  # noqa: E731
        with torch.no_grad():                                      # Deep-SVDD-PyTorch's init_center_c
            c = net(_t(x)).mean(0)
            c[(abs(c) < 0.1) & (c < 0)] = -0.1
            c[(abs(c) < 0.1) & (c > 0)] = 0.1
        return ((net(_t(x)) - c) ** 2).sum(1).mean()
    return [x, _NO_LABEL], 8, (), loss


def _box_xyxy(b):
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], -1)


def _giou_loss(a, b, eps=1e-7):
    """torchvision.ops.generalized_box_iou_loss(a, b, reduction="none", eps) written out."""
    ix1, iy1 = torch.max(a[..., 0], b[..., 0]), torch.max(a[..., 1], b[..., 1])
    ix2, iy2 = torch.min(a[..., 2], b[..., 2]), torch.min(a[..., 3], b[..., 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    area = lambda v: (v[..., 2] - v[..., 0]) * (v[..., 3] - v[..., 1])                        # noqa: E731
    union = area(a) + area(b) - inter
    iou = inter / (union + eps)
    cw = torch.max(a[..., 2], b[..., 2]) - torch.min(a[..., 0], b[..., 0])
    ch = torch.max(a[..., 3], b[..., 3]) - torch.min(a[..., 1], b[..., 1])
    enclose = cw * ch
    return 1 - (iou - (enclose - union) / (enclose + eps))


def _detr_batch():
    rng = np.random.default_rng(133)
    feat = rng.standard_normal((4, 5, 8)).astype(np.float32)
    idx = np.stack([rng.permutation(5)[:2] for _ in range(4)]).astype(np.int32)   # the matcher's query per target
    cls = rng.integers(0, 3, size=(4, 2)).astype(np.int32)
    ctr = rng.uniform(0.3, 0.7, size=(4, 2, 2))
    boxes = np.concatenate([ctr, rng.uniform(0.1, 0.4, size=(4, 2, 2))], -1).astype(np.float32)

    def loss(q):
        lin = lambda v, k: F.linear(v, q[k + ".weight"], q[k + ".bias"])                      # noqa: E731
        h = F.relu(lin(_t(feat), "body"))
        logits, pred = lin(h, "class_embed"), torch.sigmoid(lin(h, "bbox_embed"))
        bi = torch.arange(4)[:, None].expand(4, 2)
        src = torch.from_numpy(idx).long()
        target = torch.full((4, 5), 3, dtype=torch.long)
        target[bi, src] = torch.from_numpy(cls).long()
        w = torch.tensor([1.0, 1.0, 1.0, 0.1], dtype=D)
        ce = F.cross_entropy(logits.transpose(1, 2), target, weight=w)
        m, tb = pred[bi, src], _t(boxes)
        return ce + 5.0 * (m - tb).abs().sum() / 8 + 2.0 * _giou_loss(_box_xyxy(m), _box_xyxy(tb)).sum() / 8
    f = np.concatenate([feat.reshape(4, 40), idx, cls, boxes.reshape(4, 8)], 1).astype(np.float32)
    return [f, _NO_LABEL[:4]], 4, (), loss


def _mdn_batch():
    x = np.random.default_rng(134).standard_normal((8, 3)).astype(np.float32)

    def loss(q):
        lin = lambda v, k: F.linear(v, q[k + ".weight"], q[k + ".bias"])                      # noqa: E731
        t = _t(x)
        h = torch.tanh(lin(t[:, :2], "hidden"))
        mix = torch.distributions.Normal(lin(h, "mu"), lin(h, "sigma").exp())
        logp = F.log_softmax(lin(h, "pi"), 1) + mix.log_prob(t[:, 2:3])
        return -torch.logsumexp(logp, 1).mean()
    return [x, _NO_LABEL], 8, (), loss


def _trip_batch():
    rng = np.random.default_rng(135)
    f = rng.standard_normal((2, 8, 7)).astype(np.float32)
    f[:, :, 6] = np.repeat(np.arange(4), 2)                          # P = 4 identities x K = 2 images

    def loss(q):
        x, y = _t(f[:, :, :6]), _t(f[:, :, 6])
        e = F.linear(F.relu(F.linear(x, q["fc1.weight"], q["fc1.bias"])), q["fc2.weight"], q["fc2.bias"])
        d = torch.cdist(e, e)
        same = (y[:, :, None] == y[:, None, :]).double()
        hp = (d * (same - torch.eye(8, dtype=D))).max(2).values
        hn = (d + 1e9 * same).min(2).values
        return F.relu(hp - hn + 0.3).mean()
    return [f, _NO_LABEL[:2]], 2, (), loss


def _p2p_batch():
    f = np.random.default_rng(136).standard_normal((4, 6, 8, 8)).astype(np.float32)

    def loss(q):
        ft = _t(f)
        src = ft[:, :3]
        down = lambda v, k: F.leaky_relu(_conv(q, v, k, stride=2, padding=1), 0.2)          # noqa: E731
        e0 = F.relu(_conv(q, F.pad(src, (1, 1, 1, 1), mode="reflect"), "gen.e0"))
        e1 = down(e0, "gen.e1.conv2d0")
        e2 = down(e1, "gen.e2.conv2d0")
        tconv = lambda v, k: F.conv_transpose2d(v, q[k + ".weight"], q[k + ".bias"], stride=2, padding=1)  # noqa: E731
        d1 = F.relu(_bn(tconv(e2, "gen.d1"), q, "gen.bn1"))
        d0 = F.relu(_bn(tconv(torch.cat([d1, e1], 1), "gen.d0"), q, "gen.bn0"))
        fake = torch.tanh(_conv(q, F.pad(torch.cat([d0, e0], 1), (1, 1, 1, 1), mode="reflect"), "gen.out"))
        h = down(torch.cat([src, fake], 1), "disc.conv2d0")                 # stranger8's PatchGAN
        h = F.leaky_relu(_bn(F.conv2d(h, q["disc.conv2d1.weight"], stride=2, padding=1), q, "disc.batch_norm0"), 0.2)
        d = _conv(q, h, "disc.conv2d2", padding=1)
        return F.binary_cross_entropy_with_logits(d, torch.ones_like(d)) + 100.0 * (fake - ft[:, 3:]).abs().mean()
    return [f], 4, (), loss


def _nodrop_loss(q, x, y):
    h = F.relu(F.linear(x, q["fc1.weight"], q["fc1.bias"]))
    return F.cross_entropy(F.linear(h, q["fc2.weight"], q["fc2.bias"]), y)


def _fns13_batch():
    rng = np.random.default_rng(139)
    f = rng.standard_normal((8, 31)).astype(np.float32)
    f[:, 6] = [0, 1, 2, 3, 2, 1, 0, 3]
    f[:, 29:31] = np.stack([rng.permutation(5)[:2] for _ in range(8)])

    def loss(q):
        lin = lambda v, k: F.linear(v, q[k + ".weight"], q[k + ".bias"])                      # noqa: E731
        t = _t(f)
        logits, y, w = lin(t[:, :6], "fc"), torch.from_numpy(f[:, 6]).long(), torch.arange(1, 5, dtype=D) * 0.5
        a = F.cross_entropy(logits, y, weight=w)
        b = F.cross_entropy(logits, y, weight=w, label_smoothing=0.2, ignore_index=2)
        c = F.nll_loss(F.log_softmax(logits, 1), y, weight=w, ignore_index=2)
        bn = F.batch_norm(lin(t[:, :6], "pre"), None, None, training=True, eps=1e-5)
        e, p_, n_ = lin(t[:, 7:13], "emb"), lin(t[:, 13:19], "emb"), lin(t[:, 19:25], "emb")
        pd = F.pairwise_distance(e, p_)
        tl = F.triplet_margin_loss(e, p_, n_, margin=1.0)
        bx = _box_xyxy(lin(t[:, 25:29], "box"))
        sc = lin(t[:, :6], "sx").scatter(1, torch.from_numpy(f[:, 29:31]).long(), logits[:, :2])
        r = torch.arange(1, 5, dtype=D)
        return a + b + c + (bn * r).mean() + pd.mean() + tl + (bx * r).mean() + (sc ** 2).mean()
    return [f, _NO_LABEL], 8, (), loss


def _mc_dropout(build):
    """MC dropout: `dropout(..., 0.5, training = true)` in the general forward (evaluation) keeps each
    element scaled by 2 or zeroes it, about half each; the 4 passes, an axis of their own, draw
    different masks; a second call of the forward draws the same ones (random sources draw from
    (seed, step), and a forward takes no step), as docs/language.md says."""
    so, err = build.compile_dln(MCD_DLN, "mcd")
    if so is None:
        return dict(case=S.Desc("mcd: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    lib = S.load_lib(so)
    lib.mcd_create.restype, lib.mcd_create.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.mcd_forward.restype = None
    lib.mcd_forward.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int64]
    lib.mcd_free.argtypes = [ctypes.c_void_p]
    m = lib.mcd_create(8)
    x = np.random.default_rng(137).uniform(1.0, 2.0, size=(8, 64)).astype(np.float32)
    ys = []
    for _ in range(2):
        y = np.full((8, 4, 64), -1.0, np.float32)
        lib.mcd_forward(m, x.ctypes.data, y.ctypes.data, 8)
        ys.append(y)
    lib.mcd_free(m)
    kept = np.isclose(ys[0], 2 * x[:, None, :], rtol=1e-6)
    wellformed = bool(np.all(kept | (ys[0] == 0)))
    frac = float(np.mean(kept))
    passes_differ = all(not np.array_equal(kept[:, 0], kept[:, k]) for k in range(1, 4))
    same_calls = np.array_equal(ys[0], ys[1])
    ok = wellformed and 0.4 < frac < 0.6 and passes_differ and same_calls
    return dict(case=S.Desc("mcd: MC dropout (training = true) drops in the evaluation forward"), fwd=abs(frac - 0.5),
                grad=None, ok=ok, detail=None if ok else f"wellformed {wellformed}, kept {frac}, passes differ "
                                                        f"{passes_differ}, calls equal {same_calls}")


def run(build):
    cls = lambda seed, shape, k, fn: lambda: S.classes_batch(seed, shape, k, fn)          # noqa: E731
    return [_check(build, "dream", DREAM_DLN, 220, _dream_batch, frozen=True),
            _check(build, "srgan", SRGAN_DLN, 221, _srgan_batch, frozen=True),
            _check(build, "film", FILM_DLN, 222, _film_batch),
            _check(build, "svdd", SVDD_DLN, 223, _svdd_batch),
            _check(build, "detr", DETR_DLN, 224, _detr_batch),
            _check(build, "mdn", MDN_DLN, 225, _mdn_batch),
            _check(build, "trip", TRIP_DLN, 226, _trip_batch),
            _check(build, "p2p", P2P_DLN, 227, _p2p_batch, frozen=True),
            _check(build, "nodrop", NODROP_DLN, 228, cls(138, (8, 6), 3, _nodrop_loss)),
            _check(build, "fns13", FNS13_DLN, 229, _fns13_batch),
            _mc_dropout(build)]


if __name__ == "__main__":
    import sys
    from harness import Build
    b = Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    for r in run(b):
        print("ok  " if r["ok"] else "FAIL", r["case"].describe(), r["fwd"], r["grad"], r.get("detail") or "")
