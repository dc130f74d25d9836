"""stranger2.py — the second round of course models written from docs/language.md
alone (section `stranger`), each against a PyTorch twin in float64 with the same
weights, one training step's loss and every gradient, as stranger.py's rows: a ViT
with a class token (`param cls` expanded to the batch and concatenated before the
patches, learned positions, a pre-norm encoder layer, the head on `h[:, 0]`,
`cross_entropy(..., label_smoothing = 0.1)`); an MLP-Mixer block (token mixing
through `transpose` and `dense` over the patch axis, channel mixing, GELU, layer
norms); a RealNVP flow of two affine couplings from `split`, `exp` and `concat`
whose loss is the negative log-likelihood with the log-determinant as a second
output; a triplet margin loss from primitives (`F.triplet_margin_loss`) plus
`focal_loss` of one-hot labels; a two-level U-Net of `unet_down`/`unet_up` with
batch norm in training mode and `bce_with_logits` of a mask."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S


VIT_DLN = """
model vit(image: f32[N, 1, 8, 8]) -> f32[N, 5] {
    param cls: f32[1, 1, 32] = zeros
    p = conv2d(image, 32, kernel = 4, stride = 4)                  # [N, 32, 2, 2]
    t = transpose(reshape(p, [N, 32, 4]))                          # [N, 4, 32]: 4 patches
    h = concat([expand(cls, [N, 1, 32]), t], axis = 1) |> learned_positions(5)
    h = transformer_encoder_layer(h, 4, ff = 64, dropout = 0.0, activation = "gelu", norm_first = true)
    return dense(layer_norm(h[:, 0], 32), 5)
}
train vit {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label, label_smoothing = 0.1)
    optim = sgd(lr = 0.1)
}
"""


def vit_loss(p, x, y):
    z = F.conv2d(x, p["conv2d0.weight"], p["conv2d0.bias"], stride=4).reshape(-1, 32, 4).transpose(1, 2)
    h = torch.cat([p["cls"].expand(z.shape[0], 1, 32), z], 1) + p["learned_positions0.weight"][:5]
    h = S._encoder_layer(h, p, "transformer_encoder_layer0.", None)
    o = F.linear(F.layer_norm(h[:, 0], (32,), p["layer_norm0.weight"], p["layer_norm0.bias"]), p["dense0.weight"], p["dense0.bias"])
    return F.cross_entropy(o, y, label_smoothing=0.1)


def _vit_batch():
    return S.classes_batch(6, (8, 1, 8, 8), 5, vit_loss)


MIXER_DLN = """
model mixer(image: f32[N, 1, 8, 8]) -> f32[N, 3] {
    p = conv2d(image, 16, kernel = 2, stride = 2, name = "stem")   # [N, 16, 4, 4]
    h = transpose(reshape(p, [N, 16, 16]))                        # [N, 16 patches, 16 channels]
    u = transpose(layer_norm(h, 16, name = "norm1"))              # [N, channels, patches]
    h = h + transpose(dense(gelu(dense(u, 32, name = "tok1")), 16, name = "tok2"))
    v = layer_norm(h, 16, name = "norm2")
    h = h + dense(gelu(dense(v, 32, name = "ch1")), 16, name = "ch2")
    return dense(mean(layer_norm(h, 16, name = "norm3"), axis = 1), 3, name = "head")
}
train mixer {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def mixer_loss(p, x, y):
    L = lambda k, a: F.linear(a, p[k + ".weight"], p[k + ".bias"])
    N = lambda k, a: F.layer_norm(a, (16,), p[k + ".weight"], p[k + ".bias"])
    h = F.conv2d(x, p["stem.weight"], p["stem.bias"], stride=2).reshape(-1, 16, 16).transpose(1, 2)
    u = N("norm1", h).transpose(1, 2)
    h = h + L("tok2", F.gelu(L("tok1", u))).transpose(1, 2)
    h = h + L("ch2", F.gelu(L("ch1", N("norm2", h))))
    return F.cross_entropy(L("head", N("norm3", h).mean(1)), y)


def _mixer_batch():
    return S.classes_batch(7, (8, 1, 8, 8), 3, mixer_loss)


FLOW_DLN = """
model flow(x: f32[N, 4]) -> (z: f32[N, 4], logdet: f32[N]) {
    a, b = split(x, 2, axis = 1)                                  # two halves f32[N, 2]
    s1 = tanh(dense(relu(dense(a, 16, name = "s1a")), 2, name = "s1b"))
    b = b * exp(s1) + dense(relu(dense(a, 16, name = "t1a")), 2, name = "t1b")
    s2 = tanh(dense(relu(dense(b, 16, name = "s2a")), 2, name = "s2b"))
    a = a * exp(s2) + dense(relu(dense(b, 16, name = "t2a")), 2, name = "t2b")
    return concat([a, b], axis = 1), sum(s1, axis = 1) + sum(s2, axis = 1)
}
train flow {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(0.5 * sum(z ** 2, axis = 1) - logdet)
    optim = sgd(lr = 0.1)
}
"""


def flow_loss(p, x):
    L = lambda k, a: F.linear(a, p[k + ".weight"], p[k + ".bias"])
    a, b = x[:, :2], x[:, 2:]
    s1 = torch.tanh(L("s1b", F.relu(L("s1a", a))))
    b = b * torch.exp(s1) + L("t1b", F.relu(L("t1a", a)))
    s2 = torch.tanh(L("s2b", F.relu(L("s2a", b))))
    a = a * torch.exp(s2) + L("t2b", F.relu(L("t2a", b)))
    z = torch.cat([a, b], 1)
    return (0.5 * (z ** 2).sum(1) - s1.sum(1) - s2.sum(1)).mean()


def _flow_batch():
    x = np.random.default_rng(8).standard_normal((8, 4)).astype(np.float32)
    return [x], 8, (), lambda p: flow_loss(p, torch.tensor(x, dtype=torch.float64))


TRIP_DLN = """
model trip(x: f32[N, 3, 6]) -> (e: f32[N, 3, 4], logits: f32[N, 3]) {
    e = dense(tanh(dense(x, 8, name = "emb1")), 4, name = "emb2")   # anchor, positive, negative
    return e, dense(e[:, 0], 3, name = "head")
}
train trip {
    data  = csv("unused.csv", batch = 8)
    loss  = mean(relu(sqrt(sum((e[:, 0] - e[:, 1] + 1e-6) ** 2, axis = 1))
                      - sqrt(sum((e[:, 0] - e[:, 2] + 1e-6) ** 2, axis = 1)) + 1.0))
            + focal_loss(logits, one_hot(label, 3), alpha = 0.25, gamma = 2.0)
    optim = sgd(lr = 0.1)
}
"""


def trip_loss(p, x, y):
    L = lambda k, a: F.linear(a, p[k + ".weight"], p[k + ".bias"])
    e = L("emb2", torch.tanh(L("emb1", x)))
    lo = L("head", e[:, 0])
    t = F.one_hot(y, 3).double()
    pr = torch.sigmoid(lo)
    ce = F.binary_cross_entropy_with_logits(lo, t, reduction="none")
    pt = pr * t + (1 - pr) * (1 - t)
    fl = (ce * (1 - pt) ** 2 * (0.25 * t + 0.75 * (1 - t))).mean()
    return F.triplet_margin_loss(e[:, 0], e[:, 1], e[:, 2], margin=1.0) + fl


def _trip_batch():
    return S.classes_batch(9, (8, 3, 6), 3, trip_loss)


UNET_DLN = """
model unet(image: f32[N, 1, 8, 8]) -> f32[N, 1, 8, 8] {
    s1, h = unet_down(image, 4)                   # s1: f32[N, 4, 8, 8], h: f32[N, 4, 4, 4]
    s2, h = unet_down(h, 8)                       # s2: f32[N, 8, 4, 4], h: f32[N, 8, 2, 2]
    h = conv_bn_relu(h, 8)
    h = unet_up(h, s2, 8)                         # f32[N, 8, 4, 4]
    h = unet_up(h, s1, 4)                         # f32[N, 4, 8, 8]
    return conv2d(h, 1, kernel = 1)               # a mask's logits
}
train unet {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = bce_with_logits(output, label)
    optim = sgd(lr = 0.1)
}
"""


def unet_loss(p, x, seg):
    def cbr(k, a):
        a = F.conv2d(a, p[k + ".conv2d0.weight"], padding=1)
        return F.relu(F.batch_norm(a, None, None, p[k + ".batch_norm0.weight"], p[k + ".batch_norm0.bias"], training=True))
    def down(k, a):
        s = cbr(k + ".conv_bn_relu1", cbr(k + ".conv_bn_relu0", a))
        return s, F.max_pool2d(s, 2)
    def up(k, a, s):
        a = torch.cat([F.interpolate(a, scale_factor=2), s], 1)
        return cbr(k + ".conv_bn_relu1", cbr(k + ".conv_bn_relu0", a))
    s1, h = down("unet_down0", x)
    s2, h = down("unet_down1", h)
    h = cbr("conv_bn_relu0", h)
    h = up("unet_up1", up("unet_up0", h, s2), s1)
    o = F.conv2d(h, p["conv2d0.weight"], p["conv2d0.bias"])
    return F.binary_cross_entropy_with_logits(o, seg)


def _unet_batch():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    t = (rng.random((4, 1, 8, 8)) < 0.4).astype(np.float32)
    return [x, t], 4, (), lambda p: unet_loss(p, torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64))


def run(build):
    return [S._check(build, "vit", VIT_DLN, (8,), 20, _vit_batch),
            S._check(build, "mixer", MIXER_DLN, (8,), 21, _mixer_batch),
            S._check(build, "flow", FLOW_DLN, (8,), 22, _flow_batch),
            S._check(build, "trip", TRIP_DLN, (8,), 23, _trip_batch),
            S._check(build, "unet", UNET_DLN, (4,), 24, _unet_batch)]
