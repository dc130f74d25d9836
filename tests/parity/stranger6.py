"""stranger6.py — the sixth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger.py's rows: word2vec's skip-gram with
negative sampling and CBOW (`take` of embedding tables by `i32` ids cut from a packed csv
row — slicing an `i32` tensor was an error before this round); a ShuffleNet unit (grouped
1x1 convolutions, the channel shuffle by `reshape`/`transpose`, a depthwise 3x3); DeepLab's
ASPP (atrous 3x3 convolutions at rates 6, 12, 18, the image-pooling branch upsampled
bilinearly) under an FCN head upsampled to the input; AlexNet's local response
normalization (`local_response_norm`, added this round, odd and even sizes) before a VGG
stage; a ResNet bottleneck with a projection shortcut whose last batch norm starts at gamma 0 (`batch_norm(h, init = zeros)`, torchvision's
`zero_init_residual`); a contractive autoencoder (the encoder's Jacobian norm from four
`grad`s: second order) with an L1 activity penalty and a KL sparsity penalty; a siamese
network on the contrastive loss with a margin; a neural-style-transfer step that trains the
IMAGE (a `param`) through frozen features, content loss and Gram matrices, with Adam; and
DQN's temporal-difference loss (a frozen target network under `stop_grad`, the max over
its actions, `pick` of Q by the action taken, `huber`)."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S

D = torch.float64

SGNS_DLN = """
model sgns(features: f32[N, 6]) -> f32[N] {
    ids = cast_i32(features)                              # center, context, 4 negative ids per row
    param w_in: f32[20, 8] = normal(std = 0.1)
    param w_out: f32[20, 8] = normal(std = 0.1)
    c = take(w_in, ids[:, 0])
    o = take(w_out, ids[:, 1])
    ng = take(w_out, ids[:, 2:])
    pos = sum(c * o, axis = 1)
    neg = sum(ng * unsqueeze(c, 1), axis = 2)
    return softplus(-pos) + sum(softplus(neg), axis = 1)   # -log sigmoid(pos) - sum log sigmoid(-neg)
}
train sgns {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


CBOW_DLN = """
model cbow(features: f32[N, 4]) -> f32[N, 20] {
    param w_in: f32[20, 8] = normal(std = 0.1)
    h = mean(take(w_in, cast_i32(features)), axis = 1)       # the 4 context words' mean
    return dense(h, 20, use_bias = false, name = "out")
}
train cbow {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


SHUF_DLN = """
block channel_shuffle(x: f32[N, C, H, W], groups: int) -> f32[N, C, H, W] {
    return reshape(transpose(reshape(x, [N, groups, C / groups, H, W]), [0, 2, 1, 3, 4]), [N, C, H, W])
}
model shuf(image: f32[N, 8, 6, 6]) -> f32[N, 3] {
    h = relu(batch_norm(conv2d(image, 8, kernel = 1, groups = 2, use_bias = false)))
    h = channel_shuffle(h, 2)
    h = batch_norm(conv2d(h, 8, kernel = 3, pad = 1, groups = 8, use_bias = false))
    h = batch_norm(conv2d(h, 8, kernel = 1, groups = 2, use_bias = false))
    h = relu(image + h)
    return dense(global_avg_pool(h), 3)
}
train shuf {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


ASPP_DLN = """
model aspp(image: f32[N, 3, 16, 16]) -> f32[N, 4, 16, 16] {
    f = relu(conv2d(image, 8, kernel = 3, stride = 2, pad = 1, name = "backbone"))     # f32[N, 8, 8, 8]
    b0 = conv2d(f, 4, kernel = 1, name = "b0")
    b1 = conv2d(f, 4, kernel = 3, pad = 6, dilation = 6, name = "b1")
    b2 = conv2d(f, 4, kernel = 3, pad = 12, dilation = 12, name = "b2")
    b3 = conv2d(f, 4, kernel = 3, pad = 18, dilation = 18, name = "b3")
    g = conv2d(adaptive_avg_pool2d(f, 1), 4, kernel = 1, name = "pool")
    b4 = upsample(g, size = (8, 8), mode = "bilinear")
    h = relu(conv2d(relu(concat([b0, b1, b2, b3, b4], axis = 1)), 8, kernel = 1, name = "project"))
    score = conv2d(h, 4, kernel = 1, name = "classifier")                           # FCN head
    return upsample(score, size = (16, 16), mode = "bilinear")
}
train aspp {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


BOTT_DLN = """
model bott(image: f32[N, 4, 6, 6]) -> f32[N, 3] {
    h = relu(batch_norm(conv2d(image, 4, kernel = 1, use_bias = false)))
    h = relu(batch_norm(conv2d(h, 4, kernel = 3, stride = 2, pad = 1, use_bias = false)))
    h = batch_norm(conv2d(h, 16, kernel = 1, use_bias = false), init = zeros)     # zero_init_residual
    s = batch_norm(conv2d(image, 16, kernel = 1, stride = 2, use_bias = false, name = "proj"), name = "proj_bn")
    return dense(global_avg_pool(relu(h + s)), 3)
}
train bott {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


CAE_DLN = """
model cae(x: f32[N, 6]) -> (recon: f32[N, 6], h: f32[N, 4], jac: f32[N]) {
    h = sigmoid(dense(x, 4, name = "enc"))
    recon = dense(h, 6, name = "dec")
    jac = sum(grad(sum(h[:, 0]), x) ** 2 + grad(sum(h[:, 1]), x) ** 2
              + grad(sum(h[:, 2]), x) ** 2 + grad(sum(h[:, 3]), x) ** 2, axis = 1)   # ||dh/dx||_F^2
    return recon, h, jac
}
train cae {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mse(recon, x) + 0.1 * mean(jac) + 0.01 * mean(abs(h))
          + 0.5 * sum(0.05 * log(0.05 / mean(h, axis = 0)) + 0.95 * log(0.95 / (1.0 - mean(h, axis = 0))))
    optim = sgd(lr = 0.1)
}
"""


SIAM_DLN = """
block enc(x: f32[N, 6]) -> f32[N, 3] {
    return dense(tanh(dense(x, 8)), 3)
}
model siam(features: f32[N, 13]) -> f32[N] {
    same = features[:, 12]
    d = sqrt(sum((enc(features[:, 0:6], name = "net") - enc(features[:, 6:12], name = "net")) ** 2, axis = 1) + 1e-9)
    return same * d ** 2 + (1.0 - same) * relu(1.0 - d) ** 2
}
train siam {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = 0.5 * mean(output)
    optim = sgd(lr = 0.1)
}
"""


STYLE_DLN = """
block gram(f: f32[N, C, H, W]) -> f32[N, C, C] {
    g = reshape(f, [N, C, H * W])
    return g @ transpose(g) / (C * H * W)
}
model style(features: f32[N, 6, 8, 8]) -> f32[N] {
    param image: f32[1, 3, 8, 8] = zeros
    x = expand(image, [N, 3, 8, 8])
    f1 = relu(conv2d(x, 4, kernel = 3, pad = 1, name = "vgg"))
    c1 = relu(conv2d(features[:, 0:3], 4, kernel = 3, pad = 1, name = "vgg"))
    s1 = relu(conv2d(features[:, 3:6], 4, kernel = 3, pad = 1, name = "vgg"))
    closs = mean(reshape((f1 - c1) ** 2, [N, 256]), axis = 1)
    sloss = sum(reshape((gram(f1) - gram(s1)) ** 2, [N, 16]), axis = 1)
    return closs + 1000.0 * sloss
}
train style {
    data  = csv("unused.csv", batch = 1, classify = false)
    loss  = mean(output)
    optim = adam(lr = 0.05)
    freeze = ["vgg."]
}
"""


DQN_DLN = """
block qnet(s: f32[N, 4]) -> f32[N, 3] {
    return dense(relu(dense(s, 16)), 3)
}
model dqn(features: f32[N, 11]) -> f32[N] {
    state = features[:, 0:4]
    action = cast_i32(features[:, 4])
    reward = features[:, 5]
    next_state = features[:, 6:10]
    done = features[:, 10]
    q = pick(qnet(state, name = "online"), action)
    q_next = stop_grad(max(qnet(next_state, name = "target"), axis = 1))
    return q - (reward + 0.99 * (1.0 - done) * q_next)
}
train dqn {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = huber(output, 0.0 * output)
    optim = adam(lr = 1e-3)
    freeze = ["target."]
}
"""


ALEX_DLN = """
model alex(image: f32[N, 3, 8, 8]) -> f32[N, 3] {
    h = relu(conv2d(image, 6, kernel = 3, pad = 1, name = "conv1"))
    h = local_response_norm(h, 5, alpha = 0.5, beta = 0.75, k = 2.0)        # AlexNet's values but alpha (1e-4 is invisible)
    h = maxpool(h, 2)
    h = local_response_norm(h, 4, alpha = 0.3)                              # an even size
    h = vgg_stage(h, 8, convs = 2)                                            # 3x3 conv + batch norm + ReLU twice, 2x2 max pool
    return dense(flatten(h), 3)
}
train alex {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def _frozen(m, p, seed):
    """The frozen parameters (not trainable, not running statistics) drawn and set like the
    others, given to the twin without a gradient."""
    g = torch.Generator().manual_seed(seed + 1000)
    q = dict(p)
    for k, (shape, trainable) in m.params.items():
        if trainable or "running_" in k:
            continue
        v = ((torch.rand(shape, generator=g, dtype=D) * 2 - 1) / max(1, int(np.prod(shape[1:]))) ** 0.5).float().double()
        m.set_param(k, v.numpy())
        q[k] = v
    return q


def _check(build, name, src, seed, make, frozen=False, zero=()):
    """stranger._check with frozen weights drawn too; the parameters in `zero` keep the
    values they were created with, which must be zeros."""
    so, err = build.compile_dln(src, name)
    if so is None:
        return dict(case=S.Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    lib = S.load_lib(so)
    m = S.General(lib, name, (8,))
    start = {k: np.ctypeslib.as_array(getattr(lib, f"{name}_param")(m.m, k.encode()), shape=m.params[k][0]).copy()
             for k in zero}                                  # as created: these must start at 0
    p = S.draw_params(m, seed)
    for k in zero:
        with torch.no_grad():
            p[k].copy_(torch.from_numpy(start[k]))
        m.set_param(k, p[k].detach().numpy())
    if any(np.any(v != 0) for v in start.values()):
        m.close()
        return dict(case=S.Desc(f"{name}: parameters initialized to zero"), fwd=1.0, grad=None, ok=False,
                    detail=f"{ {k: v.tolist() for k, v in start.items()} }")
    q = _frozen(m, p, seed) if frozen else p
    arrays, n, syms, loss = make()
    ours, ref, e_loss, e_grad = S.step_errors(m, p, arrays, n, syms, lambda _: loss(q))
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    return dict(case=S.Desc(f"{name}: one training step's loss and every gradient"), fwd=e_loss, grad=e_grad, ok=ok,
                detail=None if ok else f"loss {ours} vs torch {ref.item()}")


def _bn(x, p, pre):
    return F.batch_norm(x, None, None, p[pre + ".weight"], p[pre + ".bias"], training=True, eps=1e-5)


def _t(a):
    return torch.tensor(a, dtype=D)


def _sgns_batch():
    rng = np.random.default_rng(70)
    ids = rng.integers(0, 20, size=(8, 6)).astype(np.float32)
    ids[0, 1] = ids[0, 0]                                         # a context equal to its center
    ids[1, 2:4] = 7                                               # a negative drawn twice
    t = torch.from_numpy(ids).long()

    def loss(p):
        c, o, ng = p["w_in"][t[:, 0]], p["w_out"][t[:, 1]], p["w_out"][t[:, 2:]]
        pos = (c * o).sum(1)
        neg = (ng @ c[:, :, None]).squeeze(-1)
        return (-F.logsigmoid(pos) - F.logsigmoid(-neg).sum(1)).mean()
    return [ids, np.zeros(8, np.float32)], 8, (), loss


def _cbow_batch():
    rng = np.random.default_rng(71)
    ctx = rng.integers(0, 20, size=(8, 4)).astype(np.float32)
    y = rng.integers(0, 20, size=8).astype(np.int32)
    t = torch.from_numpy(ctx).long()

    def loss(p):
        h = p["w_in"][t].mean(1)
        return F.cross_entropy(F.linear(h, p["out.weight"]), torch.from_numpy(y).long())
    return [ctx, y], 8, (), loss


def shuf_loss(p, x, y):
    h = F.relu(_bn(F.conv2d(x, p["conv2d0.weight"], groups=2), p, "batch_norm0"))
    N, C, H, W = h.shape
    h = h.view(N, 2, C // 2, H, W).transpose(1, 2).reshape(N, C, H, W)      # ShuffleNet's channel_shuffle
    h = _bn(F.conv2d(h, p["conv2d1.weight"], padding=1, groups=8), p, "batch_norm1")
    h = _bn(F.conv2d(h, p["conv2d2.weight"], groups=2), p, "batch_norm2")
    h = F.relu(x + h)
    return F.cross_entropy(F.linear(h.mean((2, 3)), p["dense0.weight"], p["dense0.bias"]), y)


def _conv(x, p, k, **kw):
    return F.conv2d(x, p[k + ".weight"], p[k + ".bias"], **kw)


def _aspp_batch():
    rng = np.random.default_rng(72)
    x = rng.standard_normal((4, 3, 16, 16)).astype(np.float32)
    t = rng.standard_normal((4, 4, 16, 16)).astype(np.float32)

    def loss(p):
        f = F.relu(_conv(_t(x), p, "backbone", stride=2, padding=1))
        bs = [_conv(f, p, "b0")] + [_conv(f, p, f"b{i}", padding=r, dilation=r) for i, r in ((1, 6), (2, 12), (3, 18))]
        g = _conv(F.adaptive_avg_pool2d(f, 1), p, "pool")
        bs.append(F.interpolate(g, size=(8, 8), mode="bilinear", align_corners=False))
        h = F.relu(_conv(F.relu(torch.cat(bs, 1)), p, "project"))
        out = F.interpolate(_conv(h, p, "classifier"), size=(16, 16), mode="bilinear", align_corners=False)
        return F.mse_loss(out, _t(t))
    return [x, t], 4, (), loss


def bott_loss(p, x, y):
    h = F.relu(_bn(F.conv2d(x, p["conv2d0.weight"]), p, "batch_norm0"))
    h = F.relu(_bn(F.conv2d(h, p["conv2d1.weight"], stride=2, padding=1), p, "batch_norm1"))
    h = _bn(F.conv2d(h, p["conv2d2.weight"]), p, "batch_norm2")
    s = _bn(F.conv2d(x, p["proj.weight"], stride=2), p, "proj_bn")
    return F.cross_entropy(F.linear(F.relu(h + s).mean((2, 3)), p["dense0.weight"], p["dense0.bias"]), y)


def alex_loss(p, x, y):
    h = F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1))
    h = F.local_response_norm(h, 5, alpha=0.5, beta=0.75, k=2.0)
    h = F.local_response_norm(F.max_pool2d(h, 2), 4, alpha=0.3)
    for i in range(2):
        h = F.relu(_bn(F.conv2d(h, p[f"vgg_stage0.conv2d{i}.weight"], padding=1), p, f"vgg_stage0.batch_norm{i}"))
    return F.cross_entropy(F.linear(F.max_pool2d(h, 2).flatten(1), p["dense0.weight"], p["dense0.bias"]), y)


def _cae_batch():
    x = np.random.default_rng(73).standard_normal((8, 6)).astype(np.float32)

    def loss(p):
        xt = _t(x).requires_grad_(True)
        h = torch.sigmoid(F.linear(xt, p["enc.weight"], p["enc.bias"]))
        recon = F.linear(h, p["dec.weight"], p["dec.bias"])
        jac = sum(torch.autograd.grad(h[:, j].sum(), xt, create_graph=True)[0] ** 2 for j in range(4)).sum(1)
        rho, hat = 0.05, h.mean(0)
        kl = (rho * torch.log(rho / hat) + (1 - rho) * torch.log((1 - rho) / (1 - hat))).sum()
        return F.mse_loss(recon, xt) + 0.1 * jac.mean() + 0.01 * h.abs().mean() + 0.5 * kl
    return [x], 8, (), loss


def _siam_batch():
    rng = np.random.default_rng(74)
    x = rng.standard_normal((8, 13)).astype(np.float32)
    x[:, 12] = [1, 0, 1, 0, 0, 1, 0, 0]
    x[1, 6:12] = x[1, 0:6] + 0.01                             # a dissimilar pair closer than the margin

    def loss(p):
        def enc(v):
            return F.linear(torch.tanh(F.linear(v, p["net.dense0.weight"], p["net.dense0.bias"])),
                            p["net.dense1.weight"], p["net.dense1.bias"])
        xt = _t(x)
        same = xt[:, 12]
        d = torch.sqrt(((enc(xt[:, :6]) - enc(xt[:, 6:12])) ** 2).sum(1) + 1e-9)
        return 0.5 * (same * d ** 2 + (1 - same) * F.relu(1.0 - d) ** 2).mean()
    return [x, np.zeros(8, np.float32)], 8, (), loss


def _gram(f):
    N, C, H, W = f.shape
    g = f.reshape(N, C, H * W)
    return g @ g.transpose(1, 2) / (C * H * W)


def _style_batch():
    x = np.random.default_rng(75).random((1, 6, 8, 8)).astype(np.float32)

    def loss(p):
        feat = lambda v: F.relu(F.conv2d(v, p["vgg.weight"], p["vgg.bias"], padding=1))      # noqa: E731
        f1, c1, s1 = feat(p["image"]), feat(_t(x[:, :3])), feat(_t(x[:, 3:]))
        return ((f1 - c1) ** 2).mean() + 1000.0 * ((_gram(f1) - _gram(s1)) ** 2).sum()
    return [x, np.zeros(1, np.float32)], 1, (), loss


def _dqn_batch():
    rng = np.random.default_rng(76)
    x = rng.standard_normal((8, 11)).astype(np.float32)
    x[:, 4] = rng.integers(0, 3, size=8)
    x[:, 10] = [0, 0, 1, 0, 1, 0, 0, 0]
    x[:, 5] *= 4.0                                             # rewards large enough for both sides of huber

    def loss(p):
        def q(s, pre):
            return F.linear(F.relu(F.linear(s, p[pre + "dense0.weight"], p[pre + "dense0.bias"])),
                            p[pre + "dense1.weight"], p[pre + "dense1.bias"])
        xt = _t(x)
        qa = q(xt[:, :4], "online.").gather(1, xt[:, 4].long()[:, None]).squeeze(1)
        with torch.no_grad():
            target = xt[:, 5] + 0.99 * (1 - xt[:, 10]) * q(xt[:, 6:10], "target.").max(1).values
        return F.huber_loss(qa, target)
    return [x, np.zeros(8, np.float32)], 8, (), loss


IMOVE_DLN = """
model imove(ids: i32[N, 6]) -> (cols: i32[N, 2, 3], tail: i32[N, 4], joined: i32[N, 2, 6], rolled: i32[N, 6]) {
    return transpose(reshape(ids, [N, 3, 2]), [0, 2, 1]), ids[:, 2:],    # i32 moved, not computed
           stack([ids, roll(ids, 2, axis = 1)], axis = 1), concat([ids[:, 5:], ids[:, :5]], axis = 1)
}
"""


def _i32_moves(build):
    """Slices and transposes of an i32 tensor (ids up to 2^30, negatives) come back bit for bit:
    a float path would round them."""
    import ctypes
    so, err = build.compile_dln(IMOVE_DLN, "imove")
    if so is None:
        return dict(case=S.Desc("imove: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    lib = S.load_lib(so)
    lib.imove_create.restype, lib.imove_create.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.imove_forward.restype, lib.imove_forward.argtypes = None, [ctypes.c_void_p] * 6 + [ctypes.c_int64]
    lib.imove_free.argtypes = [ctypes.c_void_p]
    m = lib.imove_create(5)
    t = np.random.default_rng(83).integers(-5, 1 << 30, size=(5, 6)).astype(np.int32)
    cols, tail = np.zeros((5, 2, 3), np.int32), np.zeros((5, 4), np.int32)
    joined, rolled = np.zeros((5, 2, 6), np.int32), np.zeros((5, 6), np.int32)
    lib.imove_forward(m, t.ctypes.data, cols.ctypes.data, tail.ctypes.data, joined.ctypes.data, rolled.ctypes.data, 5)
    lib.imove_free(m)
    bad = int(np.sum(cols != t.reshape(5, 3, 2).transpose(0, 2, 1)) + np.sum(tail != t[:, 2:])
              + np.sum(joined != np.stack([t, np.roll(t, 2, axis=1)], axis=1)) + np.sum(rolled != np.roll(t, 1, axis=1)))
    return dict(case=S.Desc("imove: transpose, slice, stack, roll and concat of i32 ids, bit for bit"), fwd=float(bad),
                grad=None, ok=bad == 0, detail=None if bad == 0 else f"{cols} {tail} {joined} {rolled} vs {t}")


def run(build):
    return [_i32_moves(build), _check(build, "sgns", SGNS_DLN, 70, _sgns_batch),
            _check(build, "cbow", CBOW_DLN, 71, _cbow_batch),
            _check(build, "shuf", SHUF_DLN, 72, lambda: S.classes_batch(80, (8, 8, 6, 6), 3, shuf_loss)),
            _check(build, "aspp", ASPP_DLN, 73, _aspp_batch),
            _check(build, "bott", BOTT_DLN, 74, lambda: S.classes_batch(81, (8, 4, 6, 6), 3, bott_loss),
                   zero=("batch_norm2.weight",)),
            _check(build, "alex", ALEX_DLN, 79, lambda: S.classes_batch(82, (8, 3, 8, 8), 3, alex_loss)),
            _check(build, "cae", CAE_DLN, 75, _cae_batch),
            _check(build, "siam", SIAM_DLN, 76, _siam_batch),
            _check(build, "style", STYLE_DLN, 77, _style_batch, frozen=True),
            _check(build, "dqn", DQN_DLN, 78, _dqn_batch, frozen=True)]
