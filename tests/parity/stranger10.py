"""stranger10.py — the tenth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger8.py's rows. Vision: a capsule network with
dynamic routing (squash, three routing iterations, the margin loss), PointNet (a T-Net 3x3
transform with its orthogonality regularizer, a shared per-point MLP of `conv1d`s with
`batch_norm1d` on `f32[N, C, L]` — rank 2 only before this round — and the max pool over the
points), a ResNeXt block (grouped 3x3 convolution) with squeeze-and-excitation followed by a
SqueezeNet fire module, a NeRF MLP (positional encoding at 2^k frequencies, volume rendering
with the transmittance as the exclusive cumulative product of 1 - alpha, written
`exp(-(cumsum(sigma * delta) - sigma * delta))`). Generative: an RBM's CD-1 step as the
free-energy difference (`v @ b` of a vector `b`: matmul of a 1-D operand was an error before
this round; the Bernoulli draws from uniforms given as data), NICE (additive coupling, the
scaling layer, the logistic prior), StyleGAN2's modulated convolution with weight
demodulation (written by modulating the input, checked against the fused grouped form),
BigGAN's conditional batch norm (class embeddings for gamma and beta), a DDIM step (eta = 0)
through an epsilon network. Metric learning: ArcFace's additive angular margin. Graphs: GIN
(sum aggregation, a learnable eps) and R-GCN (per-relation weights from a basis
decomposition, each message divided by its relation's in-degree). Training recipes: LAMB
(`optim = lamb(...)`, added this round) end to end through `dlnc run` against timm's Lamb step
written in torch (optim.py's `_Lamb`), its trust ratio per parameter tensor."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from optim import _Lamb
from stranger3 import _optim_row
from stranger6 import _bn, _check, _t
from stranger8 import _gather_nodes, _lin, _scatter_nodes

D = torch.float64

CAPS_DLN = """
block squash(s: f32, axis: int) -> f32 {
    n2 = sum(s ** 2, axis = axis, keepdims = true)
    return n2 / (1.0 + n2) * s / sqrt(n2 + 1e-8)
}
model caps(image: f32[N, 1, 10, 10]) -> f32[N, 3, 4] {
    h = relu(conv2d(image, 8, kernel = 3, name = "conv1"))                 # 8x8
    p = conv2d(h, 16, kernel = 3, stride = 2, name = "primary")           # f32[N, 16, 3, 3]
    u = squash(reshape(transpose(reshape(p, [N, 4, 4, 3, 3]), [0, 1, 3, 4, 2]), [N, 36, 4]), 2)   # 36 capsules of 4
    param W: f32[36, 3, 4, 4] = normal(std = 0.1)
    uhat = sum(W * reshape(u, [N, 36, 1, 1, 4]), axis = 4)                # f32[N, 36, 3, 4]
    b = zeros(N, 36, 3)
    repeat 3 {
        c = softmax(b, axis = 2)
        v = squash(sum(unsqueeze(c, 3) * uhat, axis = 1), 2)             # f32[N, 3, 4]
        b = b + sum(uhat * unsqueeze(v, 1), axis = 3)
    }
    return v
}
train caps {
    data  = csv("unused.csv", batch = 8)
    loss  = mean(sum(one_hot(label, 3) * relu(0.9 - sqrt(sum(output ** 2, axis = 2))) ** 2
                + 0.5 * (1.0 - one_hot(label, 3)) * relu(sqrt(sum(output ** 2, axis = 2)) - 0.1) ** 2, axis = 1))
    optim = sgd(lr = 0.1)
}
"""


POINTNET_DLN = """
block tnet(x: f32[N, 3, P], k: int) -> f32[N, 3, 3] {
    h = relu(conv1d(x, 16, kernel = 1, name = "c1"))
    h = relu(conv1d(h, 32, kernel = 1, name = "c2"))
    g = max(h, axis = 2)
    t = dense(relu(dense(g, 16, name = "f1")), k * k, name = "f2")
    return reshape(t, [N, k, k]) + eye(k)
}
model pointnet(points: f32[N, 3, 16]) -> (logits: f32[N, 4], trans: f32[N, 3, 3]) {
    T = tnet(points, 3, name = "tnet")
    x = transpose(transpose(points) @ T)                          # f32[N, 3, 16]
    h = relu(batch_norm1d(conv1d(x, 16, kernel = 1, name = "mlp1"), name = "bn1"))
    h = relu(conv1d(h, 32, kernel = 1, name = "mlp2"))
    g = max(h, axis = 2)
    return dense(relu(dense(g, 16, name = "fc1")), 4, name = "fc2"), T
}
train pointnet {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(logits, label) + 0.001 * mean(sum((trans @ transpose(trans) - eye(3)) ** 2, axis = [1, 2]))
    optim = sgd(lr = 0.1)
}
"""


RESNEXT_DLN = """
block resnext_block(x: f32[N, C, H, W], cardinality: int, width: int) -> f32[N, C, H, W] {
    h = conv2d(x, cardinality * width, kernel = 1, use_bias = false, name = "conv1") |> batch_norm(name = "bn1") |> relu
    h = conv2d(h, cardinality * width, kernel = 3, pad = 1, groups = cardinality, use_bias = false, name = "conv2") |> batch_norm(name = "bn2") |> relu
    h = conv2d(h, C, kernel = 1, use_bias = false, name = "conv3") |> batch_norm(name = "bn3")
    h = squeeze_excite(h, reduction = 4, name = "se")
    return relu(x + h)
}
block fire(x: f32[N, C, H, W], s: int, e1: int, e3: int) -> f32 {
    q = relu(conv2d(x, s, kernel = 1, name = "squeeze"))
    return concat([relu(conv2d(q, e1, kernel = 1, name = "expand1x1")), relu(conv2d(q, e3, kernel = 3, pad = 1, name = "expand3x3"))], axis = 1)
}
model resnext(image: f32[N, 8, 6, 6]) -> f32[N, 3] {
    h = resnext_block(image, 4, 2, name = "block")
    h = fire(h, 4, 6, 6, name = "fire")
    return dense(global_avg_pool(h), 3, name = "fc")
}
train resnext {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


NERF_DLN = """
block posenc(x: f32[N, S, 3], L: int) -> f32[N, S, 6 * L + 3] {
    freqs = 2.0 ** arange(L)                                       # 1, 2, 4, ...
    xf = reshape(unsqueeze(x, 3) * freqs, [N, S, 3 * L])
    return concat([x, sin(xf), cos(xf)], axis = 2)
}
model nerf(features: f32[N, 32]) -> f32[N, 3] {
    pts = reshape(features[:, 0:24], [N, 8, 3])                     # 8 samples along each ray
    delta = features[:, 24:32]                                      # distances between samples
    h = relu(dense(posenc(pts, 4), 32, name = "fc1"))
    h = relu(dense(h, 32, name = "fc2"))
    sigma = relu(dense(h, 1, name = "sigma")[:, :, 0])              # f32[N, 8]
    rgb = sigmoid(dense(h, 3, name = "rgb"))                        # f32[N, 8, 3]
    alpha = 1.0 - exp(-sigma * delta)
    trans = exp(-(cumsum(sigma * delta, 1) - sigma * delta))        # exclusive cumulative product of 1 - alpha
    w = alpha * trans
    return sum(unsqueeze(w, 2) * rgb, axis = 1)
}
train nerf {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


RBM_DLN = """
block free_energy(v: f32[N, D], W: f32, b: f32, c: f32) -> f32[N] {
    return -(v @ b) - sum(softplus(v @ transpose(W) + c), axis = 1)
}
model rbm(features: f32[N, 16]) -> f32[N] {
    v0 = features[:, 0:6]                                   # binary visible units
    uh = features[:, 6:10]                                  # the uniforms of the two samplings
    uv = features[:, 10:16]
    param W: f32[4, 6] = normal(std = 0.1)
    param b: f32[6] = zeros
    param c: f32[4] = zeros
    ph0 = sigmoid(v0 @ transpose(W) + c)
    h0 = uh < ph0                                           # Bernoulli(ph0), rand(ph0) < ph0 in training
    pv1 = sigmoid(h0 @ W + b)
    v1 = stop_grad(uv < pv1)
    return free_energy(v0, W, b, c) - free_energy(v1, W, b, c)
}
train rbm {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


NICE_DLN = """
block coupling_mlp(x: f32[N, 2]) -> f32[N, 2] {
    return dense(relu(dense(relu(dense(x, 8, name = "l1")), 8, name = "l2")), 2, name = "out")
}
model nice(features: f32[N, 4]) -> f32[N] {
    x1 = features[:, 0:2]
    x2 = features[:, 2:4]
    x2 = x2 + coupling_mlp(x1, name = "m1")                 # additive coupling
    x1 = x1 + coupling_mlp(x2, name = "m2")
    param scale: f32[4] = zeros                             # log of the scaling layer
    h = concat([x1, x2], axis = 1) * exp(scale)
    logp = -sum(softplus(h) + softplus(-h), axis = 1)       # standard logistic prior
    return logp + sum(scale)
}
train nice {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = -mean(output)
    optim = sgd(lr = 0.1)
}
"""


MODCONV_DLN = """
block modconv(x: f32[N, C, H, W], w: f32[N, D], out: int, k: int) -> f32[N, out, H, W] {
    style = dense(w, C, name = "affine")                              # f32[N, C]
    param weight: f32[out, C, k, k] = normal()
    y = conv(x * reshape(style, [N, C, 1, 1]), weight, pad = k // 2)  # modulate the input: the same as the weight
    dcoef = 1.0 / sqrt(sum((unsqueeze(weight, 0) * reshape(style, [N, 1, C, 1, 1])) ** 2, axis = [2, 3, 4]) + 1e-8)
    return y * reshape(dcoef, [N, out, 1, 1])                         # demodulation
}
model sg2(features: f32[N, 56]) -> f32[N, 3, 4, 4] {
    x = reshape(features[:, 0:48], [N, 3, 4, 4])
    w = features[:, 48:56]
    h = leaky_relu(modconv(x, w, 6, 3, name = "conv0"), slope = 0.2)
    return modconv(h, w, 3, 1, name = "torgb")
}
train sg2 {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


CBN_DLN = """
block cond_bn(x: f32[N, C, H, W], y: i32[N], classes: int) -> f32[N, C, H, W] {
    xn = batch_normalize(x, batch_stats(x), ones(C), zeros(C))
    gamma = embedding(y, classes, C, name = "gamma")
    beta = embedding(y, classes, C, name = "beta")
    return xn * reshape(1.0 + gamma, [N, C, 1, 1]) + reshape(beta, [N, C, 1, 1])
}
model cbn(features: f32[N, 9]) -> f32[N, 1, 4, 4] {
    z = features[:, 0:8]
    y = cast_i32(features[:, 8])
    h = reshape(dense(z, 4 * 2 * 2, name = "fc"), [N, 4, 2, 2])
    h = relu(cond_bn(h, y, 3, name = "bn0"))
    h = upsample(h, scale = 2)
    h = relu(cond_bn(conv2d(h, 4, kernel = 3, pad = 1, name = "conv"), y, 3, name = "bn1"))
    return tanh(conv2d(h, 1, kernel = 3, pad = 1, name = "out"))
}
train cbn {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


DDIM_DLN = """
model ddim(features: f32[N, 18]) -> f32[N, 1, 4, 4] {
    x = reshape(features[:, 0:16], [N, 1, 4, 4])
    t = cast_i32(features[:, 16])
    tprev = cast_i32(features[:, 17])
    betas, alphas, abar = ddpm_schedule(100)
    at = reshape(take(abar, t), [N, 1, 1, 1])
    ap = reshape(take(abar, tprev), [N, 1, 1, 1])
    temb = reshape(dense(unsqueeze(cast_f32(t) / 100.0, 1), 4, name = "temb"), [N, 4, 1, 1])
    eps = conv2d(relu(conv2d(x, 4, kernel = 3, pad = 1, name = "c1") + temb), 1, kernel = 3, pad = 1, name = "c2")
    x0 = (x - sqrt(1.0 - at) * eps) / sqrt(at)
    return sqrt(ap) * x0 + sqrt(1.0 - ap) * eps                 # eta = 0: deterministic
}
train ddim {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


ARCFACE_DLN = """
block arcface_logits(x: f32[N, D], classes: int, label: i32[N], s: float = 8.0, m: float = 0.5) -> f32[N, classes] {
    param weight: f32[classes, D] = normal(std = 0.1)
    xn = x / maximum(sqrt(sum(x ** 2, axis = 1, keepdims = true)), 1e-12)              # F.normalize(x)
    wn = weight / maximum(sqrt(sum(weight ** 2, axis = 1, keepdims = true)), 1e-12)
    cosine = clamp(xn @ transpose(wn), min = -1.0 + 1e-7, max = 1.0 - 1e-7)
    sine = sqrt(1.0 - cosine ** 2)
    phi = cosine * cos(m) - sine * sin(m)                       # cos(theta + m)
    phi = where(cosine > cos(3.141592653589793 - m), phi, cosine - sin(3.141592653589793 - m) * m)
    return s * where(one_hot(label, classes), phi, cosine)
}
model arc(features: f32[N, 6], label: i32[N]) -> f32[N, 5] {
    e = dense(relu(dense(features, 16, name = "fc1")), 8, name = "emb")
    return arcface_logits(e, 5, label, name = "arc")
}
train arc {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


GIN_DLN = """
block gin_conv(x: f32[N, V, F], src: i32[N, E], dst: i32[N, E], out: int) -> f32[N, V, out] {
    param eps: f32[1] = zeros
    h = (1.0 + eps) * x + sum_neighbors(x, src, dst)
    return dense(relu(dense(h, out, name = "lin1")), out, name = "lin2")
}
model gin(features: f32[N, 46]) -> f32[N, 2] {
    x = reshape(features[:, 0:30], [N, 6, 5])
    src = cast_i32(features[:, 30:38])
    dst = cast_i32(features[:, 38:46])
    h = relu(gin_conv(x, src, dst, 8, name = "conv1"))
    h = relu(gin_conv(h, src, dst, 8, name = "conv2"))
    return dense(sum(h, axis = 1), 2, name = "readout")
}
train gin {
    data  = csv("unused.csv", batch = 4)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


RGCN_DLN = """
block rgcn_conv(x: f32[N, V, F], src: i32[N, E], dst: i32[N, E], rel: i32[N, E], out: int, relations: int, bases: int) -> f32[N, V, out] {
    param basis: f32[bases, out, F] = glorot_uniform()
    param comp: f32[relations, bases] = glorot_uniform()
    w = reshape(comp @ reshape(basis, [bases, out * F]), [relations, out, F])      # W_r = sum_b a_rb V_b
    xw = sum(reshape(x, [N, V, 1, 1, F]) * w, axis = 4)                             # f32[N, V, R, out]: x W_r^T for every r
    idx = cast_i32(cast_f32(src) * relations + cast_f32(rel))
    msg = gather_nodes(reshape(xw, [N, V * relations, out]), idx)                  # f32[N, E, out]
    oh = one_hot(rel, relations)                                                   # f32[N, E, R]
    cnt = sum(gather_nodes(scatter_nodes(oh, dst, V), dst) * oh, axis = 2)          # |N_r(i)| of each edge's target
    return scatter_nodes(msg / unsqueeze(cnt, 2), dst, V) + dense(x, out, name = "root")
}
model rgcn(features: f32[N, 54]) -> f32[N, 6, 3] {
    x = reshape(features[:, 0:30], [N, 6, 5])
    src = cast_i32(features[:, 30:38])
    dst = cast_i32(features[:, 38:46])
    rel = cast_i32(features[:, 46:54])
    h = relu(rgcn_conv(x, src, dst, rel, 8, 3, 2, name = "conv1"))
    return rgcn_conv(h, src, dst, rel, 3, 3, 2, name = "conv2")
}
train rgcn {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""


def _squash(s, dim):
    n2 = (s ** 2).sum(dim, keepdim=True)
    return n2 / (1 + n2) * s / torch.sqrt(n2 + 1e-8)


def caps_loss(p, x, y):
    h = F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]))
    u = F.conv2d(h, p["primary.weight"], p["primary.bias"], stride=2)                  # [N, 16, 3, 3]
    u = _squash(u.reshape(-1, 4, 4, 3, 3).permute(0, 1, 3, 4, 2).reshape(-1, 36, 4), 2)  # 4 maps of 3x3 capsules of 4
    uhat = torch.einsum("rjdi,nri->nrjd", p["W"], u)                                   # [N, 36, 3, 4]
    b = torch.zeros(x.shape[0], 36, 3, dtype=D)
    for _ in range(3):                                                                 # Sabour et al.'s routing
        c = torch.softmax(b, 2)
        v = _squash((c[..., None] * uhat).sum(1), 2)
        b = b + (uhat * v[:, None]).sum(3)
    norm = v.norm(dim=2)
    t = F.one_hot(y, 3).to(D)
    return (t * F.relu(0.9 - norm) ** 2 + 0.5 * (1 - t) * F.relu(norm - 0.1) ** 2).sum(1).mean()


def _conv1(x, p, k):
    return F.conv1d(x, p[k + ".weight"], p[k + ".bias"])


def pointnet_loss(p, x, y):
    h = F.relu(_conv1(F.relu(_conv1(x, p, "tnet.c1")), p, "tnet.c2")).amax(2)
    t = _lin(F.relu(_lin(h, p, "tnet.f1")), p, "tnet.f2").reshape(-1, 3, 3) + torch.eye(3, dtype=D)
    z = torch.bmm(x.transpose(1, 2), t).transpose(1, 2)                                # the aligned points
    z = F.relu(F.batch_norm(_conv1(z, p, "mlp1"), None, None, p["bn1.weight"], p["bn1.bias"], training=True))
    g = F.relu(_conv1(z, p, "mlp2")).amax(2)
    reg = ((t @ t.transpose(1, 2) - torch.eye(3, dtype=D)) ** 2).sum((1, 2)).mean()
    return F.cross_entropy(_lin(F.relu(_lin(g, p, "fc1")), p, "fc2"), y) + 0.001 * reg


def resnext_loss(p, x, y):
    conv = lambda v, k, **kw: F.conv2d(v, p[k + ".weight"], p.get(k + ".bias"), **kw)    # noqa: E731
    h = F.relu(_bn(conv(x, "block.conv1"), p, "block.bn1"))
    h = F.relu(_bn(conv(h, "block.conv2", padding=1, groups=4), p, "block.bn2"))
    h = _bn(conv(h, "block.conv3"), p, "block.bn3")
    s = torch.sigmoid(_lin(F.relu(_lin(h.mean((2, 3)), p, "block.se.dense0")), p, "block.se.dense1"))
    h = F.relu(x + h * s[:, :, None, None])
    q = F.relu(conv(h, "fire.squeeze"))
    h = torch.cat([F.relu(conv(q, "fire.expand1x1")), F.relu(conv(q, "fire.expand3x3", padding=1))], 1)
    return F.cross_entropy(_lin(h.mean((2, 3)), p, "fc"), y)


def _nerf_batch():
    rng = np.random.default_rng(150)
    f = np.concatenate([rng.uniform(-1, 1, (8, 24)), rng.uniform(0.05, 0.5, (8, 8))], 1).astype(np.float32)
    c = rng.random((8, 3)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        pts, delta = ft[:, :24].reshape(8, 8, 3), ft[:, 24:]
        xf = (pts[..., None] * 2.0 ** torch.arange(4, dtype=D)).reshape(8, 8, 12)
        h = F.relu(_lin(torch.cat([pts, torch.sin(xf), torch.cos(xf)], 2), p, "fc1"))
        h = F.relu(_lin(h, p, "fc2"))
        sigma, rgb = F.relu(_lin(h, p, "sigma")[..., 0]), torch.sigmoid(_lin(h, p, "rgb"))
        alpha = 1 - torch.exp(-sigma * delta)
        trans = torch.cumprod(torch.cat([torch.ones(8, 1, dtype=D), 1 - alpha[:, :-1]], 1), 1)   # the NeRF code's form
        return F.mse_loss(((alpha * trans)[..., None] * rgb).sum(1), _t(c))
    return [f, c], 8, (), loss


def _rbm_batch():
    rng = np.random.default_rng(151)
    f = np.concatenate([(rng.random((8, 6)) < 0.5), rng.random((8, 10))], 1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        v0, uh, uv = ft[:, :6], ft[:, 6:10], ft[:, 10:]
        W, b, c = p["W"], p["b"], p["c"]
        fe = lambda v: -(v @ b) - F.softplus(v @ W.T + c).sum(1)                         # noqa: E731
        h0 = (uh < torch.sigmoid(v0 @ W.T + c)).to(D)
        v1 = (uv < torch.sigmoid(h0 @ W + b)).to(D).detach()
        return (fe(v0) - fe(v1)).mean()
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _nice_batch():
    x = np.random.default_rng(152).standard_normal((8, 4)).astype(np.float32)

    def loss(p):
        xt = _t(x)
        mlp = lambda v, k: _lin(F.relu(_lin(F.relu(_lin(v, p, k + ".l1")), p, k + ".l2")), p, k + ".out")   # noqa: E731
        x1, x2 = xt[:, :2], xt[:, 2:]
        x2 = x2 + mlp(x1, "m1")
        x1 = x1 + mlp(x2, "m2")
        h = torch.cat([x1, x2], 1) * torch.exp(p["scale"])
        logp = -(F.softplus(h) + F.softplus(-h)).sum(1) + p["scale"].sum()
        return -logp.mean()
    return [x, np.zeros((8,), np.float32)], 8, (), loss


def _modconv_fused(x, w, p, k, pad):
    """StyleGAN2's fused modulated convolution: per-sample weights, one grouped conv."""
    N, C = x.shape[:2]
    s = _lin(w, p, k + ".affine")
    wt = p[k + ".weight"][None] * s[:, None, :, None, None]                             # [N, O, C, k, k]
    wt = wt * torch.rsqrt((wt ** 2).sum((2, 3, 4), keepdim=True) + 1e-8)
    y = F.conv2d(x.reshape(1, N * C, *x.shape[2:]), wt.reshape(-1, C, *wt.shape[3:]), padding=pad, groups=N)
    return y.reshape(N, -1, *y.shape[2:])


def _modconv_batch():
    rng = np.random.default_rng(153)
    f = rng.standard_normal((4, 56)).astype(np.float32)
    t = rng.standard_normal((4, 3, 4, 4)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        x, w = ft[:, :48].reshape(4, 3, 4, 4), ft[:, 48:]
        h = F.leaky_relu(_modconv_fused(x, w, p, "conv0", 1), 0.2)
        return F.mse_loss(_modconv_fused(h, w, p, "torgb", 0), _t(t))
    return [f, t], 4, (), loss


def _cbn_batch():
    rng = np.random.default_rng(154)
    f = np.concatenate([rng.standard_normal((8, 8)), rng.integers(0, 3, (8, 1))], 1).astype(np.float32)
    t = rng.uniform(-1, 1, (8, 1, 4, 4)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        z, y = ft[:, :8], torch.from_numpy(f[:, 8]).long()

        def cbn(h, k):                                                                  # BigGAN's ConditionalBatchNorm2d
            h = F.batch_norm(h, None, None, training=True, eps=1e-5)
            g, b = F.embedding(y, p[k + ".gamma.weight"]), F.embedding(y, p[k + ".beta.weight"])
            return h * (1 + g)[:, :, None, None] + b[:, :, None, None]
        h = F.relu(cbn(_lin(z, p, "fc").reshape(8, 4, 2, 2), "bn0"))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.relu(cbn(F.conv2d(h, p["conv.weight"], p["conv.bias"], padding=1), "bn1"))
        return F.mse_loss(torch.tanh(F.conv2d(h, p["out.weight"], p["out.bias"], padding=1)), _t(t))
    return [f, t], 8, (), loss


def _ddim_batch():
    rng = np.random.default_rng(155)
    t = rng.integers(10, 100, (8,))
    f = np.concatenate([rng.standard_normal((8, 16)), t[:, None], (t - 10)[:, None]], 1).astype(np.float32)
    tgt = rng.standard_normal((8, 1, 4, 4)).astype(np.float32)
    abar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 100, dtype=torch.float32), 0).double()   # float32 as ddpm_schedule

    def loss(p):
        ft = _t(f)
        x = ft[:, :16].reshape(8, 1, 4, 4)
        ti, tp = torch.from_numpy(t).long(), torch.from_numpy(t - 10).long()
        at, ap = abar[ti].reshape(8, 1, 1, 1), abar[tp].reshape(8, 1, 1, 1)
        temb = _lin((ti.to(D) / 100)[:, None], p, "temb")[:, :, None, None]
        eps = F.conv2d(F.relu(F.conv2d(x, p["c1.weight"], p["c1.bias"], padding=1) + temb), p["c2.weight"],
                       p["c2.bias"], padding=1)
        x0 = (x - torch.sqrt(1 - at) * eps) / torch.sqrt(at)
        return F.mse_loss(torch.sqrt(ap) * x0 + torch.sqrt(1 - ap) * eps, _t(tgt))
    return [f, tgt], 8, (), loss


def _arc_batch():
    rng = np.random.default_rng(156)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.integers(0, 5, 8).astype(np.int32)

    def loss(p):
        e = _lin(F.relu(_lin(_t(x), p, "fc1")), p, "emb")
        import math
        s, m = 8.0, 0.5                                            # insightface's ArcMarginProduct, easy_margin False
        cosine = F.linear(F.normalize(e), F.normalize(p["arc.weight"])).clamp(-1 + 1e-7, 1 - 1e-7)
        sine = torch.sqrt(1.0 - cosine ** 2)
        phi = cosine * math.cos(m) - sine * math.sin(m)
        phi = torch.where(cosine > math.cos(math.pi - m), phi, cosine - math.sin(math.pi - m) * m)
        oh = F.one_hot(torch.from_numpy(y).long(), 5).bool()
        return F.cross_entropy(s * torch.where(oh, phi, cosine), torch.from_numpy(y).long())
    return [x, y], 8, (), loss


def _graph_feats(seed, extra):
    rng = np.random.default_rng(seed)
    return rng, np.concatenate([rng.standard_normal((4, 30)), rng.integers(0, 6, size=(4, 16))] +
                               [rng.integers(0, 3, size=(4, 8))] * extra, 1).astype(np.float32)


def _gin_batch():
    rng, f = _graph_feats(157, 0)
    y = rng.integers(0, 2, 4).astype(np.int32)

    def loss(p):
        ft = _t(f)
        h = ft[:, :30].reshape(4, 6, 5)
        src, dst = torch.from_numpy(f[:, 30:38]).long(), torch.from_numpy(f[:, 38:46]).long()
        for k in ("conv1", "conv2"):                                 # PyG's GINConv(nn, train_eps=True)
            a = (1 + p[k + ".eps"]) * h + _scatter_nodes(_gather_nodes(h, src), dst, 6)
            h = F.relu(_lin(F.relu(_lin(a, p, k + ".lin1")), p, k + ".lin2"))
        return F.cross_entropy(_lin(h.sum(1), p, "readout"), torch.from_numpy(y).long())
    return [f, y], 4, (), loss


def _rgcn_batch():
    rng, f = _graph_feats(158, 1)
    t = rng.standard_normal((4, 6, 3)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        h = ft[:, :30].reshape(4, 6, 5)
        src, dst, rel = (torch.from_numpy(f[:, a:a + 8]).long() for a in (30, 38, 46))
        for k, act in (("conv1", F.relu), ("conv2", lambda v: v)):   # PyG's RGCNConv(num_bases=2, aggr="mean")
            w = torch.einsum("rb,boi->roi", p[k + ".comp"], p[k + ".basis"])
            out = torch.zeros(4, 6, w.shape[1], dtype=D)
            for r in range(3):
                m = (rel == r).to(D)[:, :, None]
                msg = _gather_nodes(h, src) @ w[r].T * m
                cnt = _scatter_nodes(m, dst, 6).clamp(min=1)
                out = out + _scatter_nodes(msg, dst, 6) / cnt
            h = act(out + _lin(h, p, k + ".root"))
        return F.mse_loss(h, _t(t))
    return [f, t], 4, (), loss


def run(build):
    cls = lambda seed, shape, k, fn: lambda: S.classes_batch(seed, shape, k, fn)          # noqa: E731
    return [_check(build, "caps", CAPS_DLN, 160, cls(170, (8, 1, 10, 10), 3, caps_loss)),
            _check(build, "pointnet", POINTNET_DLN, 161, cls(171, (8, 3, 16), 4, pointnet_loss)),
            _check(build, "resnext", RESNEXT_DLN, 162, cls(172, (8, 8, 6, 6), 3, resnext_loss)),
            _check(build, "nerf", NERF_DLN, 163, _nerf_batch),
            _check(build, "rbm", RBM_DLN, 164, _rbm_batch),
            _check(build, "nice", NICE_DLN, 165, _nice_batch),
            _check(build, "sg2", MODCONV_DLN, 166, _modconv_batch),
            _check(build, "cbn", CBN_DLN, 167, _cbn_batch),
            _check(build, "ddim", DDIM_DLN, 168, _ddim_batch),
            _check(build, "arc", ARCFACE_DLN, 169, _arc_batch),
            _check(build, "gin", GIN_DLN, 173, _gin_batch),
            _check(build, "rgcn", RGCN_DLN, 174, _rgcn_batch),
            _optim_row(build, 90, "lamb(lr = 0.05)", lambda q: _Lamb(q, lr=0.05), None),
            _optim_row(build, 91, "lamb(lr = 0.05, betas = (0.8, 0.99), eps = 1e-7, weight_decay = 0.1, clip_norm = 0.5)",
                       lambda q: _Lamb(q, lr=0.05, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1), 0.5)]
