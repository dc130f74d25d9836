"""stranger4.py — the fourth round of course models written from docs/language.md
alone (section `stranger`): generative models, graphs and training techniques, each
against a PyTorch twin in float64 with the same weights (one training step's loss and
every gradient, as stranger.py's rows): a WGAN-GP critic loss (the critic called three
times under one `name`, the penalty's `grad` inside the loss: second order); SN-GAN's
spectral normalisation from primitives (one power iteration on a persistent `u` buffer,
`torch.nn.utils.spectral_norm`'s training step, and the buffer's new value); weight
normalisation (`torch._weight_norm`); a graph attention layer (per-edge scores,
a softmax over each node's incoming edges from `scatter_add` and `gather`, against a
segment softmax written with `scatter_reduce(amax)`; `edge_softmax` shifts by each node's
own maximum since qa6, row `efar` a node whose scores lie 300 below the others'); graph-level
mean readout by graph id, and max readout by `scatter_max` (row `gmax`, torch's
`scatter_reduce(amax, include_self=False)`, one graph empty); knowledge distillation with `kl_div` against `F.kl_div(reduction =
"batchmean")`; SimCLR's `nt_xent` after an encoder; mixup written in the model with
`soft_cross_entropy`; a Glow step (actnorm, an LU-parametrised invertible 1x1
convolution whose log-determinant is `sum(log_s)`, an affine coupling; and with a full 1x1
convolution and `logabsdet`); a beta-VAE
whose KL weight anneals with a step counter kept in a buffer; an EMA copy of a
weight kept by `update` and used in evaluation; one classifier-free-guidance DDPM
sampler step; WGAN-GP's n_critic end to end (`dlnc run` of a section with steps
started by `init_from`, `repeat = 3` critic steps then the generator's, every weight of the checkpoint against
torch); the stdlib's `spectral_norm` against torch's own module (the step, the `u` and
`v` buffers after it, the evaluation forward); distillation from a teacher called with
`training = false` (batch norm on running statistics, no dropout, no gradient) by `dlnc run`
against `teacher.eval()` under `torch.no_grad()`. The same weights on both sides, drawn
by torch (the `values()` constants and buffers from the model's init)."""
import ctypes

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from harness import Desc, load_lib, rel_err


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


# --- WGAN-GP ---------------------------------------------------------------------------------

WGP_DLN = """
block critic(x: f32[N, 6]) -> f32[N, 1] {
    return dense(x, 16, name = "c1") |> tanh |> dense(1, name = "c2")
}
model wgp(features: f32[N, 13]) -> (cr: f32[N, 1], cf: f32[N, 1], gp: f32[N]) {
    real, fake, eps = split(features, [6, 6, 1], axis = 1)             # one csv row: real, fake, eps
    xhat = eps * real + (1.0 - eps) * fake
    g = grad(sum(critic(xhat, name = "critic")), xhat)            # f32[N, 6]
    return critic(real, name = "critic"), critic(fake, name = "critic"), (sqrt(sum(g ** 2, axis = 1)) - 1.0) ** 2
}
train wgp {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(cf) - mean(cr) + 10.0 * mean(gp)
    optim = sgd(lr = 0.1)
}
"""


def _critic(p, x):
    h = torch.tanh(F.linear(x, p["critic.c1.weight"], p["critic.c1.bias"]))
    return F.linear(h, p["critic.c2.weight"], p["critic.c2.bias"])


def _wgp_batch():
    rng = np.random.default_rng(41)
    real, fake = rng.standard_normal((8, 6)).astype(np.float32), rng.standard_normal((8, 6)).astype(np.float32)
    eps = rng.random((8, 1)).astype(np.float32)

    def loss(p):
        r, f, e = _t(real), _t(fake), _t(eps)
        xhat = (e * r + (1 - e) * f).requires_grad_(True)
        (g,) = torch.autograd.grad(_critic(p, xhat).sum(), xhat, create_graph=True)
        gp = ((g.norm(dim=1) - 1) ** 2).mean()
        return _critic(p, f).mean() - _critic(p, r).mean() + 10 * gp
    return [np.concatenate([real, fake, eps], 1)], 8, (), loss


# --- spectral normalisation (SN-GAN) -----------------------------------------------------------

def _two_layers(name, layer):
    """A classifier of two `layer` blocks (5 -> 8 -> 3) and its train section."""
    return f"""model {name}(x: f32[N, 5]) -> f32[N, 3] {{
    return {layer}(x, 8) |> relu |> {layer}(3)
}}
train {name} {{
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}}
"""


SN_DLN = """
block sn_dense(x: f32[N, K], units: int) -> f32[N, units] {
    param weight: f32[units, K] = he_uniform()
    param bias: f32[units] = zeros
    buffer u: f32[units] = normal()                                # the power iteration's left vector
    v = stop_grad(sum(weight * unsqueeze(u, 1), axis = 0))         # W^T u
    v = v / maximum(sqrt(sum(v ** 2)), 1e-12)
    u2 = stop_grad(sum(weight * v, axis = 1))                      # W v
    u2 = u2 / maximum(sqrt(sum(u2 ** 2)), 1e-12)
    sigma = sum(u2 * sum(weight * v, axis = 1))                    # u^T W v, differentiated through W only
    update(u, u2)
    return x @ transpose(weight / sigma) + bias
}
""" + _two_layers("sn", "sn_dense")


def _sn_weight(w, u):
    """torch.nn.utils.spectral_norm's training forward: one power iteration, u and v without gradient."""
    with torch.no_grad():
        v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
        u = F.normalize(w @ v, dim=0, eps=1e-12)
    return w / torch.dot(u, w @ v), u


def _sn_torch_module_check(w, u0):
    """The same through torch's own module (float64): its weight and its new u."""
    lin = torch.nn.Linear(w.shape[1], w.shape[0]).double()
    with torch.no_grad():
        lin.weight.copy_(w)
    lin = torch.nn.utils.spectral_norm(lin)
    with torch.no_grad():
        lin.weight_u.copy_(u0)
    lin.train()
    lin(torch.zeros(1, w.shape[1], dtype=torch.float64))
    return lin.weight.detach(), lin.weight_u.detach()


def _sn_loss(p, u, x, y):
    w0, _ = _sn_weight(p["sn_dense0.weight"], u["sn_dense0.u"])
    w1, _ = _sn_weight(p["sn_dense1.weight"], u["sn_dense1.u"])
    h = F.relu(F.linear(x, w0, p["sn_dense0.bias"]))
    return F.cross_entropy(F.linear(h, w1, p["sn_dense1.bias"]), y)


# --- weight normalisation -----------------------------------------------------------------------

WN_DLN = """
block wn_dense(x: f32[N, K], units: int) -> f32[N, units] {
    param weight_v: f32[units, K] = he_uniform()
    param weight_g: f32[units, 1] = ones
    param bias: f32[units] = zeros
    w = weight_g * weight_v / sqrt(sum(weight_v ** 2, axis = 1, keepdims = true))   # g v / |v| per row
    return x @ transpose(w) + bias
}
""" + _two_layers("wn", "wn_dense")


def _wn_loss(p, x, y):
    w0 = torch._weight_norm(p["wn_dense0.weight_v"], p["wn_dense0.weight_g"], 0)
    w1 = torch._weight_norm(p["wn_dense1.weight_v"], p["wn_dense1.weight_g"], 0)
    h = F.relu(F.linear(x, w0, p["wn_dense0.bias"]))
    return F.cross_entropy(F.linear(h, w1, p["wn_dense1.bias"]), y)


# --- graph attention (GAT), graph readout -------------------------------------------------------

GAT_DLN = """
block gat_conv(x: f32[N, V, F], src: i32[N, E], dst: i32[N, E], out: int) -> f32[N, V, out] {
    param att_src: f32[out] = uniform(low = -0.5, high = 0.5)
    param att_dst: f32[out] = uniform(low = -0.5, high = 0.5)
    param bias: f32[out] = zeros
    h = dense(x, out, use_bias = false, name = "lin")                       # f32[N, V, out]
    e = leaky_relu(gather(sum(h * att_src, axis = 2), src, 1)
                   + gather(sum(h * att_dst, axis = 2), dst, 1), 0.2)       # f32[N, E]: one score per edge
    alpha = edge_softmax(e, dst, V)                                         # over each node's incoming edges
    m = gather(h, expand(unsqueeze(src, 2), [N, E, out]), 1) * unsqueeze(alpha, 2)
    return scatter_add(m, expand(unsqueeze(dst, 2), [N, E, out]), V, axis = 1) + bias
}
model gat(features: f32[N, V, 5], src: i32[N, E], dst: i32[N, E]) -> f32[N, V, 3] {
    h = gat_conv(features, src, dst, 8) |> elu
    return dense(h, 3)
}
train gat {
    data  = sbm(nodes = 40, classes = 3, features = 5, train_per_class = 2, val = 4, test = 4)
    loss  = cross_entropy(output, label, mask = mask)
    optim = sgd(lr = 0.1)
}
"""


GAT_HAND_DLN = GAT_DLN.replace("    alpha = edge_softmax(e, dst, V)",
                                "    ex = exp(e - stop_grad(max(e)))                 # the softmax's shift: any constant\n"
                                "    alpha = ex / gather(scatter_add(ex, dst, V, axis = 1), dst, 1)").replace("gat(", "gath(").replace("train gat ", "train gath ")


def _segment_softmax(e, dst, V):
    """PyG's softmax(e, index): shifted by each segment's own maximum."""
    mx = torch.full((V,), -np.inf, dtype=e.dtype).scatter_reduce(0, dst, e, "amax", include_self=True)
    ex = torch.exp(e - mx[dst])
    return ex / torch.zeros(V, dtype=e.dtype).index_add(0, dst, ex)[dst]


def _gat_conv(p, pre, x, src, dst):
    h = x @ p[pre + "lin.weight"].t()
    e = F.leaky_relu((h * p[pre + "att_src"]).sum(1)[src] + (h * p[pre + "att_dst"]).sum(1)[dst], 0.2)
    alpha = _segment_softmax(e, dst, x.shape[0])
    return torch.zeros_like(h).index_add(0, dst, h[src] * alpha[:, None]) + p[pre + "bias"]


def _graph(seed, V, pairs, self_loops):
    rng = np.random.default_rng(seed)
    edges = [(u, v) for a, b in pairs for u, v in ((a, b), (b, a))] + ([(v, v) for v in range(V)] if self_loops else [])
    src = np.array([[u for u, _ in edges]], dtype=np.int32)
    dst = np.array([[v for _, v in edges]], dtype=np.int32)
    return rng, src, dst


def _gat_batch():
    V = 9
    rng, src, dst = _graph(42, V, [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 4), (7, 8), (1, 7)], True)
    feat = rng.standard_normal((1, V, 5)).astype(np.float32)
    label = rng.integers(0, 3, size=(1, V)).astype(np.int32)
    mask = (rng.random((1, V)) < 0.6).astype(np.float32)
    mask[0, 0] = 1.0
    s, d = torch.from_numpy(src[0]).long(), torch.from_numpy(dst[0]).long()

    def loss(p):
        h = F.elu(_gat_conv(p, "gat_conv0.", _t(feat[0]), s, d))
        nll = F.cross_entropy(F.linear(h, p["dense0.weight"], p["dense0.bias"]), torch.from_numpy(label[0]).long(),
                              reduction="none")
        w = _t(mask[0])
        return (nll * w).sum() / w.sum()
    return [feat, src, dst, label, mask], 1, (V, src.shape[1]), loss


READOUT_DLN = """
model gread(features: f32[N, V, 4], src: i32[N, E], dst: i32[N, E], label: i32[N, V], mask: f32[N, V])
        -> (logits: f32[N, 3, 2], nll: f32[N, 3]) {
    gid = label                                                                 # each node's graph id
    h = sage_conv(features, src, dst, 8) |> relu                               # f32[N, V, 8]
    s = scatter_add(h, expand(unsqueeze(gid, 2), [N, V, 8]), 3, axis = 1)      # f32[N, 3, 8]: summed per graph
    count = scatter_add(unsqueeze(ones_like(cast_f32(gid)), 2), unsqueeze(gid, 2), 3, axis = 1)   # f32[N, 3, 1]
    logits = dense(s / maximum(count, 1.0), 2)                                  # global_mean_pool, then the head
    glabel = cast_i32(reshape(scatter_add(unsqueeze(mask, 2), unsqueeze(gid, 2), 3, axis = 1) / count, [N, 3]))
    return logits, -pick(log_softmax(logits), glabel)
}
train gread {
    data  = sbm(nodes = 40, classes = 3, features = 4, train_per_class = 2, val = 4, test = 4)
    loss  = mean(nll)
    optim = sgd(lr = 0.1)
}
"""


def _readout_batch(seed=43, labels=(1, 0, 1), pool=None):
    """Three small graphs (10 nodes) in one batch, a GraphSAGE layer, a pooled row per graph
    (`pool(h, gid)`: mean by default) and a head; each node carries its graph's label in `mask`."""
    V = 10
    rng, src, dst = _graph(seed, V, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 6), (7, 8), (8, 9)], False)
    gid = np.array([[0, 0, 0, 1, 1, 1, 1, 2, 2, 2]], dtype=np.int32)
    feat = rng.standard_normal((1, V, 4)).astype(np.float32)
    glabel = np.array([labels], dtype=np.int32)
    s, d, g = (torch.from_numpy(a[0]).long() for a in (src, dst, gid))
    pool = pool or (lambda h, g: torch.zeros(3, 8, dtype=h.dtype).index_add(0, g, F.relu(h))
                    / torch.bincount(g).double()[:, None])

    def loss(p):
        x = _t(feat[0])
        agg = torch.zeros_like(x).index_add(0, d, x[s]) / torch.zeros(V, dtype=x.dtype).index_add(
            0, d, torch.ones(len(d), dtype=x.dtype)).clamp(min=1)[:, None]
        h = (F.linear(agg, p["sage_conv0.lin_l.weight"], p["sage_conv0.lin_l.bias"])
             + F.linear(x, p["sage_conv0.lin_r.weight"]))
        return F.cross_entropy(F.linear(pool(h, g), p["dense0.weight"], p["dense0.bias"]),
                               torch.from_numpy(glabel[0]).long())
    nodelabel = glabel[:, gid[0]].astype(np.float32)                  # each node carries its graph's label
    return [feat, src, dst, gid, nodelabel], 1, (V, src.shape[1]), loss


# --- scatter_max: max-pool readout, and edge_softmax's per-node shift ---------------------------

GMAX_DLN = """
model gmax(features: f32[N, V, 4], src: i32[N, E], dst: i32[N, E], label: i32[N, V], mask: f32[N, V])
        -> (logits: f32[N, 4, 2], nll: f32[N, 4]) {
    gid = label                                                                 # each node's graph id
    h = sage_conv(features, src, dst, 8)                                        # f32[N, V, 8], signed
    pooled = scatter_max(h, expand(unsqueeze(gid, 2), [N, V, 8]), 4, axis = 1)  # global_max_pool; graph 3 empty: 0
    logits = dense(pooled, 2)
    glabel = cast_i32(reshape(scatter_max(unsqueeze(mask, 2), unsqueeze(gid, 2), 4, axis = 1), [N, 4]))
    return logits, -pick(log_softmax(logits), glabel)
}
train gmax {
    data  = sbm(nodes = 40, classes = 3, features = 4, train_per_class = 2, val = 4, test = 4)
    loss  = mean(nll)
    optim = sgd(lr = 0.1)
}
"""


def _gmax_batch():
    """global_max_pool into 4 graphs, the fourth with no node (label 0, the fill)."""
    return _readout_batch(82, (1, 0, 1, 0), lambda h, g: torch.zeros(4, 8, dtype=h.dtype).scatter_reduce(
        0, g[:, None].expand(-1, 8), h, "amax", include_self=False))


EFAR_DLN = """
model efar(features: f32[N, V, 1], src: i32[N, E], dst: i32[N, E]) -> f32[N, E] {
    param a: f32[1] = ones
    x = reshape(features, [N, V])
    return edge_softmax(gather(x, dst, 1) + a * gather(x, src, 1), dst, V)   # node 0's scores ~300 below
}
train efar {
    data  = sbm(nodes = 40, classes = 3, features = 1, train_per_class = 2, val = 4, test = 4)
    loss  = sum(output * output)
    optim = sgd(lr = 0.1)
}
"""


def _efar_batch():
    V = 5
    _, src, dst = _graph(83, V, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)], True)
    feat = np.random.default_rng(84).standard_normal((1, V, 1)).astype(np.float32)
    feat[0, 0, 0] = -300.0                             # the batch-wide shift gave node 0 weights 0 (exp underflow)
    s, d = torch.from_numpy(src[0]).long(), torch.from_numpy(dst[0]).long()

    def loss(p):
        x = _t(feat[0, :, 0])
        return (_segment_softmax(x[d] + p["a"] * x[s], d, V) ** 2).sum()
    return [feat, src, dst], 1, (V, src.shape[1]), loss


# --- knowledge distillation, SimCLR, mixup ------------------------------------------------------

KD_DLN = """
block teacher(x: f32[N, 6]) -> f32[N, 4] {
    frozen param w1: f32[16, 6] = zeros
    frozen param w2: f32[4, 16] = zeros
    return tanh(x @ transpose(w1)) @ transpose(w2)
}
model kd(x: f32[N, 6]) -> (student: f32[N, 4], teacher: f32[N, 4]) {
    return dense(x, 12) |> relu |> dense(4), teacher(x)
}
train kd {
    data  = csv("unused.csv", batch = 8)
    loss  = 0.7 * 16.0 * kl_div(log_softmax(student / 4.0), softmax(teacher / 4.0), reduction = "batchmean") + 0.3 * cross_entropy(student, label)
    optim = sgd(lr = 0.1)
}
"""


def _kd_batch():
    g = torch.Generator().manual_seed(44)
    tw = {"teacher0.w1": torch.randn(16, 6, generator=g), "teacher0.w2": torch.randn(4, 16, generator=g)}

    def loss(p, x, y):
        t = torch.tanh(x @ tw["teacher0.w1"].double().t()) @ tw["teacher0.w2"].double().t()
        s = F.linear(F.relu(F.linear(x, p["dense0.weight"], p["dense0.bias"])), p["dense1.weight"], p["dense1.bias"])
        kl = F.kl_div(F.log_softmax(s / 4, 1), F.softmax(t / 4, 1), reduction="batchmean")
        return 0.7 * 16 * kl + 0.3 * F.cross_entropy(s, y)
    return S.classes_batch(45, (8, 6), 4, loss), tw


SIMCLR_DLN = """
block encode(x: f32[N, 6]) -> f32[N, 4] {
    return dense(x, 12, name = "enc") |> relu |> dense(4, name = "proj")
}
model simclr(features: f32[N, 12]) -> (z1: f32[N, 4], z2: f32[N, 4]) {
    view1, view2 = split(features, 6, axis = 1)
    return encode(view1, name = "f"), encode(view2, name = "f")      # one encoder, two views
}
train simclr {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = nt_xent(z1, z2, temperature = 0.5)
    optim = sgd(lr = 0.1)
}
"""


def _simclr_batch():
    rng = np.random.default_rng(46)
    a = rng.standard_normal((8, 6)).astype(np.float32)
    b = (a + 0.3 * rng.standard_normal((8, 6))).astype(np.float32)

    def loss(p):
        def f(x):
            h = F.relu(F.linear(x, p["f.enc.weight"], p["f.enc.bias"]))
            return F.linear(h, p["f.proj.weight"], p["f.proj.bias"])
        z = F.normalize(torch.cat([f(_t(a)), f(_t(b))]), dim=1)
        s = (z @ z.T / 0.5).masked_fill(torch.eye(16, dtype=torch.bool), -np.inf)
        return F.cross_entropy(s, torch.cat([torch.arange(8, 16), torch.arange(8)]))
    return [np.concatenate([a, b], 1)], 8, (), loss


MIX_DLN = """
model mix(features: f32[N, 8], label: i32[N]) -> (logits: f32[N, 4], target: f32[N, 4]) {
    x, lam, p = split(features, [6, 1, 1], axis = 1)                  # the partner's row index as a float
    perm = cast_i32(reshape(p, [N]))
    xm = lam * x + (1.0 - lam) * take(x, perm)                        # mixup: x_i with x_perm(i)
    t = lam * one_hot(label, 4) + (1.0 - lam) * take(one_hot(label, 4), perm)
    return dense(xm, 12) |> relu |> dense(4), t
}
train mix {
    data  = csv("unused.csv", batch = 8)
    loss  = soft_cross_entropy(logits, target)
    optim = sgd(lr = 0.1)
}
"""


def _mix_batch():
    rng = np.random.default_rng(47)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.integers(0, 4, size=8).astype(np.int32)
    perm = rng.permutation(8).astype(np.int32)
    lam = rng.beta(0.4, 0.4, size=(8, 1)).astype(np.float32)

    def loss(p):
        xt, l, pm = _t(x), _t(lam), torch.from_numpy(perm).long()
        xm = l * xt + (1 - l) * xt[pm]
        yt = torch.from_numpy(y).long()
        target = l * F.one_hot(yt, 4).double() + (1 - l) * F.one_hot(yt[pm], 4).double()
        h = F.linear(F.relu(F.linear(xm, p["dense0.weight"], p["dense0.bias"])), p["dense1.weight"], p["dense1.bias"])
        return F.cross_entropy(h, target)                              # probabilities as targets
    return [np.concatenate([x, lam, perm[:, None].astype(np.float32)], 1), y], 8, (), loss


# --- Glow step, beta-VAE with KL annealing, EMA, classifier-free guidance -----------------------

GLOW_DLN = """
model glow(x: f32[N, 4, 3, 3]) -> (z: f32[N, 4, 3, 3], logdet: f32[N]) {
    param an_bias: f32[1, 4, 1, 1] = zeros                          # actnorm
    param an_logs: f32[1, 4, 1, 1] = zeros
    frozen param perm: f32[4, 4] = values([[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]])
    frozen param sign_s: f32[4] = values([1, -1, 1, 1])
    param w_l: f32[4, 4] = zeros                                    # invertible 1x1 conv, W = P L (U + diag(s))
    param w_u: f32[4, 4] = zeros
    param log_s: f32[4] = zeros
    h = (x + an_bias) * exp(an_logs)
    w = perm @ (tril(w_l, k = -1) + eye(4)) @ (triu(w_u, k = 1) + eye(4) * (sign_s * exp(log_s)))
    h = conv(h, reshape(w, [4, 4, 1, 1]))
    a, b = split(h, 2, axis = 1)
    shift, raw = split(conv2d(a, 4, kernel = 3, pad = 1), 2, axis = 1)   # affine coupling
    s = sigmoid(raw + 2.0)
    return concat([a, (b + shift) * s], axis = 1), 9.0 * (sum(an_logs) + sum(log_s)) + sum(log(s), axis = [1, 2, 3])
}
train glow {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(0.5 * sum(z ** 2, axis = [1, 2, 3]) - logdet) / 36.0
    optim = sgd(lr = 0.1)
}
"""

GLOW_CONST = {"perm": [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]], "sign_s": [1, -1, 1, 1]}


def _glow_batch():
    x = np.random.default_rng(48).standard_normal((8, 4, 3, 3)).astype(np.float32)

    def loss(p):
        h = (_t(x) + p["an_bias"]) * torch.exp(p["an_logs"])
        lower = torch.tril(p["w_l"], -1) + torch.eye(4, dtype=torch.float64)
        upper = torch.triu(p["w_u"], 1) + torch.diag(_t(GLOW_CONST["sign_s"]) * torch.exp(p["log_s"]))
        w = _t(GLOW_CONST["perm"]) @ lower @ upper
        h = F.conv2d(h, w.reshape(4, 4, 1, 1))
        a, b = h[:, :2], h[:, 2:]
        nn = F.conv2d(a, p["conv2d0.weight"], p["conv2d0.bias"], padding=1)
        s = torch.sigmoid(nn[:, 2:] + 2)
        z = torch.cat([a, (b + nn[:, :2]) * s], 1)
        logdet = 9 * (p["an_logs"].sum() + torch.linalg.slogdet(w)[1]) + torch.log(s).sum((1, 2, 3))   # the twin takes det W itself
        return (0.5 * (z ** 2).sum((1, 2, 3)) - logdet).mean() / 36
    return [x], 8, (), loss


BVAE_DLN = """
model bvae(features: f32[N, 8]) -> (rec: f32[N], kl: f32[N]) {
    x, noise = split(features, [6, 2], axis = 1)
    buffer step: f32[1] = zeros                                     # training steps taken
    update(step, step + 1.0)
    beta = 4.0 * minimum(step / 10.0, 1.0)                          # KL weight: 0 to 4 over 10 steps
    h = dense(x, 8) |> relu
    mu = dense(h, 2, name = "mu")
    logvar = dense(h, 2, name = "logvar")
    z = reparameterize(mu, logvar, noise = noise)
    recon = dense(z, 8, name = "dec") |> relu |> dense(6, name = "out")
    return sum((recon - x) ** 2, axis = 1), beta * -0.5 * sum(1.0 + logvar - mu ** 2 - exp(logvar), axis = 1)
}
train bvae {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(rec + kl)
    optim = sgd(lr = 0.1)
}
"""


def _bvae_batch(step0):
    rng = np.random.default_rng(49)
    x, noise = rng.standard_normal((8, 6)).astype(np.float32), rng.standard_normal((8, 2)).astype(np.float32)

    def loss(p):
        xt = _t(x)
        h = F.relu(F.linear(xt, p["dense0.weight"], p["dense0.bias"]))
        mu, logvar = F.linear(h, p["mu.weight"], p["mu.bias"]), F.linear(h, p["logvar.weight"], p["logvar.bias"])
        z = mu + torch.exp(0.5 * logvar) * _t(noise)
        r = F.linear(F.relu(F.linear(z, p["dec.weight"], p["dec.bias"])), p["out.weight"], p["out.bias"])
        beta = 4 * min(step0 / 10, 1)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
        return (((r - xt) ** 2).sum(1) + beta * kl).mean()
    return [np.concatenate([x, noise], 1)], 8, (), loss


EMA_DLN = """
model ema(x: f32[N, 6]) -> f32[N, 3] {
    param w: f32[3, 6] = he_uniform()
    buffer w_ema: f32[3, 6] = zeros                                 # the Polyak average, for evaluation
    update(w_ema, 0.9 * w_ema + 0.1 * w)
    if training {
        y = x @ transpose(w)
    } else {
        y = x @ transpose(w_ema)
    }
    return y
}
train ema {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


CFG_DLN = """
block eps_net(x: f32[N, 4], t: i32[N], c: i32[N]) -> f32[N, 4] {
    h = concat([x, timestep_embedding(t, 8), embedding(c, 4, 6)], axis = 1)    # class 3: no label
    return dense(h, 16, name = "l1") |> silu |> dense(4, name = "l2")
}
model cfg(features: f32[N, 10]) -> f32[N, 4] {
    x, z, tf, cf = split(features, [4, 4, 1, 1], axis = 1)          # the step and the class as floats
    t = cast_i32(reshape(tf, [N]))
    c = cast_i32(reshape(cf, [N]))
    betas, alphas, abar = ddpm_schedule(10)
    ec = eps_net(x, t, c, name = "eps")
    eu = eps_net(x, t, cast_i32(zeros_like(cast_f32(c)) + 3.0), name = "eps")   # the unconditional call
    e = eu + 3.0 * (ec - eu)                                                      # guidance weight 3
    b = unsqueeze(take(betas, t), 1)
    mean_ = (x - b / sqrt(1.0 - unsqueeze(take(abar, t), 1)) * e) / sqrt(unsqueeze(take(alphas, t), 1))
    return mean_ + sqrt(b) * unsqueeze(cast_f32(t) > 0.0, 1) * z                 # x_{t-1}; no noise at t = 0
}
train cfg {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output ** 2)
    optim = sgd(lr = 0.1)
}
"""


def _tstep_emb(t, dim):
    half = dim // 2
    f = torch.exp(-np.log(10000.0) * torch.arange(half, dtype=torch.float64) / (half - 1))
    a = t.double()[:, None] * f[None]
    return torch.cat([torch.sin(a), torch.cos(a)], 1)


def _cfg_batch():
    rng = np.random.default_rng(50)
    x, z = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 4)).astype(np.float32)
    t = np.array([0, 1, 3, 9, 5, 0, 7, 2], dtype=np.int32)
    c = rng.integers(0, 3, size=8).astype(np.int32)
    betas = torch.linspace(1e-4, 0.02, 10, dtype=torch.float64)
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)

    def loss(p):
        tt = torch.from_numpy(t).long()

        def eps(cls):
            h = torch.cat([_t(x), _tstep_emb(tt, 8), p["eps.embedding0.weight"][cls]], 1)
            return F.linear(F.silu(F.linear(h, p["eps.l1.weight"], p["eps.l1.bias"])), p["eps.l2.weight"], p["eps.l2.bias"])
        ec, eu = eps(torch.from_numpy(c).long()), eps(torch.full((8,), 3))
        e = eu + 3 * (ec - eu)
        b = betas[tt][:, None]
        m = (_t(x) - b / torch.sqrt(1 - abar[tt][:, None]) * e) / torch.sqrt(alphas[tt][:, None])
        return ((m + torch.sqrt(b) * (tt > 0).double()[:, None] * _t(z)) ** 2).mean()
    feats = np.concatenate([x, z, t[:, None].astype(np.float32), c[:, None].astype(np.float32)], 1)
    return [feats, np.zeros((8, 4), np.float32)], 8, (), loss    # the classic train_step(m, x, y, n): y unread


# --- the rows -----------------------------------------------------------------------------------

def _buffer(m, k):
    shape = m.params[k][0]
    p = getattr(m.lib, f"{m.name}_param")(m.m, k.encode())
    return np.ctypeslib.as_array(p, shape=(int(np.prod(shape)),)).copy().reshape(shape)


def _row(build, name, src, bounds, seed, make, what, before=None, after=None):
    """One training step on both sides (stranger._check's row), with `before(m)` setting
    frozen tensors and buffers (returning what the torch loss needs) and `after(m, p, extra)`
    checking buffers after the step (an error figure and a detail)."""
    so, err = build.compile_dln(src, name)
    if so is None:
        return dict(case=Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    lib = load_lib(so)
    m = S.General(lib, name, bounds)
    init = getattr(lib, f"{name}_init")
    init.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
    init(m.m, 1)                                        # the values() constants and buffers' initializers
    p = S.draw_params(m, seed)
    extra = before(m) if before else None
    ours, ref, e_loss, e_grad = S.step_errors(m, p, *(make(extra) if before else make()))
    e_after, detail = after(m, p, extra) if after else (0.0, None)
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL and e_after <= S.GRAD_TOL
    return dict(case=Desc(f"{name}: {what}"), fwd=max(e_loss, e_after), grad=e_grad, ok=ok,
                detail=None if ok else (detail or f"loss {ours} vs torch {ref.item()}, grad {e_grad}"))


def _sn_before(m):
    g = torch.Generator().manual_seed(51)
    u = {}
    for k in ("sn_dense0.u", "sn_dense1.u"):
        v = F.normalize(torch.randn(m.params[k][0], generator=g, dtype=torch.float64), dim=0).float().double()
        m.set_param(k, v.numpy())
        u[k] = v
    return u


def _sn_make(u):
    return S.classes_batch(52, (8, 5), 3, lambda p, x, y: _sn_loss(p, u, x, y))


def _sn_after(m, p, u):
    """The buffer after the step is torch's new weight_u; the twin's weight is spectral_norm's."""
    err = 0.0
    for layer in ("sn_dense0", "sn_dense1"):
        w = p[layer + ".weight"].detach()
        mine, u_new = _sn_weight(w, u[layer + ".u"])
        theirs, u_torch = _sn_torch_module_check(w, u[layer + ".u"])
        err = max(err, rel_err(_buffer(m, layer + ".u"), u_new.numpy()), rel_err(mine.numpy(), theirs.numpy()),
                  rel_err(u_new.numpy(), u_torch.numpy()))
    return err, f"u after the step, or the twin against torch.nn.utils.spectral_norm: {err}"


def _kd_before(m):
    (batch, tw) = _kd_batch()
    for k, v in tw.items():
        m.set_param(k, v.numpy())
    return batch


def _bvae_before(m):
    m.set_param("step", np.array([3.0], dtype=np.float32))         # the fourth step: beta = 4 * 0.3
    return 3.0


def _bvae_after(m, p, _):
    s = _buffer(m, "step")
    return abs(float(s[0]) - 4.0), f"the step counter after the step: {s}"


def _ema_before(m):
    e0 = np.random.default_rng(53).standard_normal((3, 6)).astype(np.float32)
    m.set_param("w_ema", e0)
    return e0


def _ema_make(e0):
    return S.classes_batch(54, (8, 6), 3, lambda p, x, y: F.cross_entropy(x @ p["w"].t(), y))


def _ema_after(m, p, e0):
    """update() takes the value computed in the step's forward pass: the weight before the
    optimizer moves it (torch_ema / timm's ModelEmaV2 average the weight after `opt.step()`,
    one step later: the same average with the weights of the step before)."""
    want = 0.9 * e0.astype(np.float64) + 0.1 * p["w"].detach().numpy()
    err = rel_err(_buffer(m, "w_ema"), want)
    x = np.random.default_rng(55).standard_normal((5, 6)).astype(np.float32)
    y = np.zeros((5, 3), dtype=np.float32)
    f = getattr(m.lib, "ema_forward")
    f.restype, f.argtypes = None, [ctypes.c_void_p] * 3 + [ctypes.c_int64]
    f(m.m, x.ctypes.data, y.ctypes.data, 5)
    err = max(err, rel_err(y, x.astype(np.float64) @ _buffer(m, "w_ema").astype(np.float64).T))
    return err, f"w_ema after the step, or the evaluation forward not using it: {err}"


def run(build):
    kd_make = lambda batch: batch                                            # noqa: E731
    return [
        _row(build, "wgp", WGP_DLN, (8,), 60, _wgp_batch, "WGAN-GP critic loss, the penalty's grad inside (second order)"),
        _row(build, "sn", SN_DLN, (8,), 61, _sn_make, "spectral norm: one power iteration on a u buffer, and u after the step",
             _sn_before, _sn_after),
        _row(build, "wn", WN_DLN, (8,), 62, lambda: S.classes_batch(56, (8, 5), 3, _wn_loss), "weight norm g v / |v|"),
        _row(build, "gat", GAT_DLN, (1, 9, 27), 63, _gat_batch, "GAT layer: edge_softmax over each node's incoming edges"),
        _row(build, "gath", GAT_HAND_DLN, (1, 9, 27), 63, _gat_batch, "GAT layer, the edge softmax written out"),
        _row(build, "gmax", GMAX_DLN, (1, 10, 16), 85, _gmax_batch, "graph max-pool readout: scatter_max, an empty graph"),
        _row(build, "efar", EFAR_DLN, (1, 5, 17), 86, _efar_batch, "edge_softmax: a node's scores 300 below the others'"),
        _row(build, "gread", READOUT_DLN, (1, 10, 16), 64, _readout_batch, "graph-level mean readout by graph id"),
        _row(build, "kd", KD_DLN, (8,), 65, kd_make, "distillation: kl_div(T = 4) * T^2 + CE, teacher frozen", _kd_before),
        _row(build, "simclr", SIMCLR_DLN, (8,), 66, _simclr_batch, "nt_xent of one encoder's two views"),
        _row(build, "mix", MIX_DLN, (8,), 67, _mix_batch, "mixup in the model, soft_cross_entropy"),
        _row(build, "glow", GLOW_DLN, (8,), 68, _glow_batch, "Glow step: actnorm, LU 1x1 conv (twin: slogdet), coupling"),
        _row(build, "glowf", GLOWF_DLN, (8,), 79, _glowf_batch, "Glow step, a full 1x1 conv and logabsdet (twin: slogdet)"),
        _row(build, "bvae", BVAE_DLN, (8,), 69, _bvae_batch, "beta-VAE, KL weight from a step-counter buffer",
             _bvae_before, _bvae_after),
        _row(build, "ema", EMA_DLN, (8,), 70, _ema_make, "EMA of a weight by update(), used in evaluation",
             _ema_before, _ema_after),
        _row(build, "cfg", CFG_DLN, (8,), 71, _cfg_batch, "classifier-free guidance DDPM sampler step"),
        _row(build, "sn3", SN_TWICE_DLN, (8,), 77, _sn3_make, "spectral_norm in a discriminator called twice in a step",
             _sn3_before, _sn3_after),
        _ncritic(build),
        _kd_eval(build),
        _row(build, "sn2", SN2_DLN, (8,), 72, _sn2_make, "stdlib spectral_norm (conv, 2 iterations; dense): step, u, v, eval",
             _sn2_before, _sn2_after),
    ]


# --- the stdlib's spectral_norm against torch.nn.utils.spectral_norm itself ---------------------

SN2_DLN = """
model sn2(image: f32[N, 2, 5, 5]) -> f32[N, 3] {
    param cw: f32[4, 2, 3, 3] = he_uniform()
    param cb: f32[4] = zeros
    param dw: f32[3, 36] = he_uniform()
    param db: f32[3] = zeros
    h = conv(image, spectral_norm(cw, n_power_iterations = 2), stride = 2, pad = 1) + reshape(cb, [1, 4, 1, 1])
    return flatten(leaky_relu(h, 0.2)) @ transpose(spectral_norm(dw)) + db
}
train sn2 {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""
SN2_BUF = {"cw": "spectral_norm0", "dw": "spectral_norm1"}


def _sn2_modules(w, bufs):
    """nn.Conv2d and nn.Linear under torch.nn.utils.spectral_norm (float64) with these weights and buffers."""
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(2, 4, 3, stride=2, padding=1).double(), n_power_iterations=2)
    lin = torch.nn.utils.spectral_norm(torch.nn.Linear(36, 3).double())
    with torch.no_grad():
        for mod, k, b, pre in ((conv, "cw", "cb", "spectral_norm0"), (lin, "dw", "db", "spectral_norm1")):
            mod.weight_orig.copy_(_t(w[k]))
            mod.bias.copy_(_t(w[b]))
            mod.weight_u.copy_(_t(bufs[pre + ".weight_u"]))
            mod.weight_v.copy_(_t(bufs[pre + ".weight_v"]))
    return conv, lin


def _sn2_forward(conv, lin, x):
    return lin(F.leaky_relu(conv(x), 0.2).flatten(1))


def _sn_iter(w, u, iters):
    """torch.nn.utils.spectral_norm's training weight, functionally: iterations without gradient from u."""
    m = w.reshape(w.shape[0], -1)
    with torch.no_grad():
        for _ in range(iters):
            v = F.normalize(m.t() @ u, dim=0, eps=1e-12)
            u = F.normalize(m @ v, dim=0, eps=1e-12)
    return w / torch.dot(u, m @ v)


def _sn2_before(m):
    g = torch.Generator().manual_seed(57)
    bufs = {}
    for pre in ("spectral_norm0", "spectral_norm1"):
        for b in ("weight_u", "weight_v"):
            k = f"{pre}.{b}"
            bufs[k] = F.normalize(torch.randn(m.params[k][0], generator=g, dtype=torch.float64), dim=0).float().numpy()
            m.set_param(k, bufs[k])
    return bufs


def _sn2_make(bufs):
    def loss(p, x, y):
        cw = _sn_iter(p["cw"], _t(bufs["spectral_norm0.weight_u"]), 2)
        dw = _sn_iter(p["dw"], _t(bufs["spectral_norm1.weight_u"]), 1)
        h = F.leaky_relu(F.conv2d(x, cw, p["cb"], stride=2, padding=1), 0.2)
        return F.cross_entropy(F.linear(h.flatten(1), dw, p["db"]), y)
    return S.classes_batch(58, (8, 2, 5, 5), 3, loss)


def _sn2_after(m, p, bufs):
    """The buffers after the step are torch's module's after one training forward (from the weights
    before the step); the evaluation forward, with the weights and buffers after the step, is the
    module's in eval mode (stored u and v, no iteration)."""
    before = {k: v.detach().numpy() for k, v in p.items()}
    conv, lin = _sn2_modules(before, bufs)
    conv.train(), lin.train()
    _sn2_forward(conv, lin, torch.zeros(1, 2, 5, 5, dtype=torch.float64))
    err = 0.0
    for mod, pre in ((conv, "spectral_norm0"), (lin, "spectral_norm1")):
        for b in ("weight_u", "weight_v"):
            err = max(err, rel_err(_buffer(m, f"{pre}.{b}"), getattr(mod, b).detach().numpy()))
    after = {k: _buffer(m, k) for k in m.params}
    conv, lin = _sn2_modules(after, after)
    conv.eval(), lin.eval()
    x = np.random.default_rng(59).standard_normal((5, 2, 5, 5)).astype(np.float32)
    y = np.zeros((5, 3), dtype=np.float32)
    f = getattr(m.lib, "sn2_forward")
    f.restype, f.argtypes = None, [ctypes.c_void_p] * 3 + [ctypes.c_int64]
    f(m.m, x.ctypes.data, y.ctypes.data, 5)
    with torch.no_grad():
        err = max(err, rel_err(y, _sn2_forward(conv, lin, _t(x)).numpy()))
    return err, f"u, v after the step or the evaluation forward against torch's spectral_norm: {err}"


# --- WGAN-GP's n_critic through dlnc run: repeat = 3 critic steps, then the generator ----------

NCRITIC_DLN = """
model gen(z: f32[N, 8]) -> f32[N, 8] {
    return dense(z, 16) |> tanh |> dense(8)
}
model critic(x: f32[N, 8]) -> f32[N, 1] {
    return dense(x, 16) |> tanh |> dense(1)
}
block critic_loss(real: f32[N, 8], lam: float = 10.0) -> f32 {
    fake = stop_grad(gen(real * 0.5))                       # the noise: a fixed function of the batch
    eps = sigmoid(sum(real, axis = 1, keepdims = true))     # the interpolation weights likewise
    xhat = eps * real + (1.0 - eps) * fake
    g = grad(sum(critic(xhat)), xhat)
    return mean(critic(fake)) - mean(critic(real)) + lam * mean((sqrt(sum(g ** 2, axis = 1)) - 1.0) ** 2)
}
train wgan {
    models = [gen, critic]
    data   = csv("WORK/pts.csv", test = "WORK/pts.csv", batch = 8, shuffle = false, val_split = 0)
    step critic {
        loss   = critic_loss(features)
        optim  = sgd(lr = 0.05)
        repeat = 3                                          # n_critic
    }
    step gen {
        loss  = -mean(critic(gen(features * 0.5)))
        optim = sgd(lr = 0.05)
    }
    epochs     = 1
    init_from  = "WORK/init.st"                             # torch's weights, gen.* and critic.*
    checkpoint = "WORK/out.st"
}
"""


def _ncritic(build):
    import os
    import subprocess
    import stranger3 as S3
    work = os.path.join(build.work, "s4_ncritic")
    os.makedirs(work, exist_ok=True)
    x = np.random.default_rng(73).standard_normal((8, 8)).astype(np.float32)
    with open(os.path.join(work, "pts.csv"), "w") as f:
        f.writelines(",".join(f"{v:.9g}" for v in row) + ",0\n" for row in x)
    x = np.array([[float(f"{v:.9g}") for v in row] for row in x])
    g = torch.Generator().manual_seed(74)
    p0 = {f"{m}.dense{i}.{k}": (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) / shape[-1] ** 0.5
          for m, dims in (("gen", (8, 16, 8)), ("critic", (8, 16, 1)))
          for i in range(2) for k, shape in (("weight", (dims[i + 1], dims[i])), ("bias", (dims[i + 1], dims[i])))}
    p0 = {k: (v[:, 0] if k.endswith("bias") else v).float() for k, v in p0.items()}
    S3.write_safetensors(os.path.join(work, "init.st"), {k: v.numpy() for k, v in p0.items()})
    with open(os.path.join(work, "m.dln"), "w") as f:
        f.write(NCRITIC_DLN.replace("WORK", work))
    r = subprocess.run([build.dlnc, "run", os.path.join(work, "m.dln")], capture_output=True, text=True, cwd=work,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    if r.returncode != 0:
        return dict(case=Desc("wgan: dlnc run"), fwd=float("nan"), grad=None, ok=False, detail=(r.stderr or r.stdout)[-800:])
    ours = S3.read_safetensors(os.path.join(work, "out.st"))
    p = {k: v.double().clone().requires_grad_(True) for k, v in p0.items()}
    net = lambda m, h: F.linear(torch.tanh(F.linear(h, p[m + ".dense0.weight"], p[m + ".dense0.bias"])),   # noqa: E731
                                p[m + ".dense1.weight"], p[m + ".dense1.bias"])
    real = _t(x)
    crit = [k for k in p if k.startswith("critic.")]
    for _ in range(3):                                                  # n_critic SGD steps on the same batch
        fake = net("gen", real * 0.5).detach()
        eps = torch.sigmoid(real.sum(1, keepdim=True))
        xhat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (gx,) = torch.autograd.grad(net("critic", xhat).sum(), xhat, create_graph=True)
        loss = net("critic", fake).mean() - net("critic", real).mean() + 10 * ((gx.norm(dim=1) - 1) ** 2).mean()
        grads = torch.autograd.grad(loss, [p[k] for k in crit])
        with torch.no_grad():
            for k, d in zip(crit, grads):
                p[k] -= 0.05 * d
    gen = [k for k in p if k.startswith("gen.")]
    grads = torch.autograd.grad(-net("critic", net("gen", real * 0.5)).mean(), [p[k] for k in gen])
    with torch.no_grad():
        for k, d in zip(gen, grads):
            p[k] -= 0.05 * d
    err = max(rel_err(ours[k], p[k].detach().numpy()) for k in p)
    ok = err <= 2e-5 and len(ours) >= len(p) and "init_from" in r.stdout and "8 tensors loaded" in r.stdout
    return dict(case=Desc("wgan: dlnc run, init_from, repeat = 3 critic steps then one generator step, every weight"),
                fwd=err, grad=None, ok=ok, detail=None if ok else f"weights differ by {err}; {r.stdout[-300:]}")


# --- distillation from an evaluation-mode teacher: teacher(x, training = false) ------------------

KD_EVAL_DLN = """
model teacher(x: f32[N, 6]) -> f32[N, 4] {
    return dense(x, 16) |> batch_norm1d |> relu |> dropout(0.5) |> dense(4)
}
model student(x: f32[N, 6]) -> f32[N, 4] {
    return dense(x, 12) |> relu |> dense(4)
}
train kd {
    models = [student, teacher]
    data   = csv("WORK/pts.csv", test = "WORK/pts.csv", batch = 8, shuffle = false, val_split = 0)
    step student {
        loss  = 0.7 * 16.0 * kl_div(log_softmax(student(features) / 4.0),
                                    softmax(teacher(features, training = false) / 4.0), reduction = "batchmean")
              + 0.3 * cross_entropy(student(features), label)
        optim = sgd(lr = 0.1)
    }
    epochs     = 1
    init_from  = "WORK/init.st"                             # torch's weights and running statistics
    checkpoint = "WORK/out.st"
}
"""


def _kd_eval(build):
    """One SGD step of the student through `dlnc run`, against torch's `teacher.eval()` under
    `torch.no_grad()` (running statistics, no dropout); the teacher's tensors, running
    statistics included, must come back unchanged."""
    import os
    import subprocess
    import stranger3 as S3
    work = os.path.join(build.work, "s4_kd_eval")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(80)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = np.arange(8) % 4
    with open(os.path.join(work, "pts.csv"), "w") as f:
        f.writelines(",".join(f"{v:.9g}" for v in row) + f",{c}\n" for row, c in zip(x, y))
    g = torch.Generator().manual_seed(81)
    shapes = {"teacher.dense0.weight": (16, 6), "teacher.dense0.bias": (16,), "teacher.batch_norm1d0.weight": (16,),
              "teacher.batch_norm1d0.bias": (16,), "teacher.batch_norm1d0.running_mean": (16,),
              "teacher.dense1.weight": (4, 16), "teacher.dense1.bias": (4,), "student.dense0.weight": (12, 6),
              "student.dense0.bias": (12,), "student.dense1.weight": (4, 12), "student.dense1.bias": (4,)}
    p0 = {k: (torch.randn(s, generator=g) * 0.5).float() for k, s in shapes.items()}
    p0["teacher.batch_norm1d0.running_var"] = (torch.rand(16, generator=g) + 0.5).float()
    S3.write_safetensors(os.path.join(work, "init.st"), {k: v.numpy() for k, v in p0.items()})
    with open(os.path.join(work, "m.dln"), "w") as f:
        f.write(KD_EVAL_DLN.replace("WORK", work))
    r = subprocess.run([build.dlnc, "run", os.path.join(work, "m.dln")], capture_output=True, text=True, cwd=work,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    what = Desc("kd eval: dlnc run, teacher(x, training = false) with batch_norm1d and dropout, one student step")
    if r.returncode != 0:
        return dict(case=what, fwd=float("nan"), grad=None, ok=False, detail=(r.stderr or r.stdout)[-800:])
    ours = S3.read_safetensors(os.path.join(work, "out.st"))
    q = {k: v.double() for k, v in p0.items()}
    teacher = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                  torch.nn.Dropout(0.5), torch.nn.Linear(16, 4)).double()
    with torch.no_grad():
        for i, k in ((0, "dense0"), (4, "dense1")):
            teacher[i].weight.copy_(q[f"teacher.{k}.weight"]), teacher[i].bias.copy_(q[f"teacher.{k}.bias"])
        for b in ("weight", "bias", "running_mean", "running_var"):
            getattr(teacher[1], b).copy_(q["teacher.batch_norm1d0." + b])
    teacher.eval()
    xs, ys = _t(np.array([[float(f"{v:.9g}") for v in row] for row in x])), torch.from_numpy(y).long()
    with torch.no_grad():
        t = teacher(xs)
    st = {k: q[k].clone().requires_grad_(True) for k in q if k.startswith("student.")}
    s = F.linear(F.relu(F.linear(xs, st["student.dense0.weight"], st["student.dense0.bias"])),
                 st["student.dense1.weight"], st["student.dense1.bias"])
    loss = 0.7 * 16 * F.kl_div(F.log_softmax(s / 4, 1), F.softmax(t / 4, 1), reduction="batchmean") \
        + 0.3 * F.cross_entropy(s, ys)
    grads = torch.autograd.grad(loss, list(st.values()))
    want = {k: (v - 0.1 * d).detach().numpy() for (k, v), d in zip(st.items(), grads)}
    err = max(rel_err(ours[k], want[k]) for k in want)
    same = all(np.array_equal(ours[k], p0[k].numpy()) for k in p0 if k.startswith("teacher."))
    ok = err <= 2e-5 and same and sorted(k for k in ours if not k.startswith("@")) == sorted(p0)
    return dict(case=what, fwd=err, grad=None, ok=ok,
                detail=None if ok else f"student differs by {err}; teacher unchanged: {same}; {r.stdout[-300:]}")


# --- spectral_norm in a discriminator called twice in one step (real, then fake) -----------------

SN_TWICE_DLN = """
block disc(x: f32[N, 5]) -> f32[N, 1] {
    param w: f32[7, 5] = he_uniform()
    param v: f32[1, 7] = he_uniform()
    return tanh(x @ transpose(spectral_norm(w))) @ transpose(v)
}
model sn3(features: f32[N, 10]) -> (real: f32[N, 1], fake: f32[N, 1]) {
    a, b = split(features, 5, axis = 1)
    return disc(a, name = "disc"), disc(b, name = "disc")
}
train sn3 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(relu(1.0 - real)) + mean(relu(1.0 + fake))           # SN-GAN's hinge loss
    optim = sgd(lr = 0.1)
}
"""


def _sn3_before(m):
    u = F.normalize(torch.randn(7, generator=torch.Generator().manual_seed(75), dtype=torch.float64), dim=0)
    m.set_param("disc.spectral_norm0.weight_u", u.float().numpy())
    return u.float().double()


def _sn3_make(u0):
    x = np.random.default_rng(76).standard_normal((8, 10)).astype(np.float32)

    def loss(p):
        w, u = p["disc.w"], u0
        outs = []
        for half in (_t(x[:, :5]), _t(x[:, 5:])):              # torch's module called twice: u carried over
            with torch.no_grad():
                v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
                u = F.normalize(w @ v, dim=0, eps=1e-12)
            outs.append(torch.tanh(half @ (w / torch.dot(u, w @ v)).t()) @ p["disc.v"].t())
        loss._u = u
        return F.relu(1 - outs[0]).mean() + F.relu(1 + outs[1]).mean()
    _sn3_make.loss = loss
    return [x], 8, (), loss


def _sn3_after(m, p, u0):
    err = rel_err(_buffer(m, "disc.spectral_norm0.weight_u"), _sn3_make.loss._u.numpy())
    return err, f"u after two calls in one step (torch: the second call iterates from the first's u): {err}"


GLOWF_DLN = """
model glowf(x: f32[N, 4, 3, 3]) -> (z: f32[N, 4, 3, 3], logdet: f32[N]) {
    param w: f32[4, 4] = uniform(low = -1, high = 1)                 # the full 1x1 convolution
    h = conv(x, reshape(w, [4, 4, 1, 1]))
    a, b = split(h, 2, axis = 1)
    shift, raw = split(conv2d(a, 4, kernel = 3, pad = 1), 2, axis = 1)
    s = sigmoid(raw + 2.0)
    return concat([a, (b + shift) * s], axis = 1), 9.0 * logabsdet(w) + sum(log(s), axis = [1, 2, 3])
}
train glowf {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(0.5 * sum(z ** 2, axis = [1, 2, 3]) - logdet) / 36.0
    optim = sgd(lr = 0.1)
}
"""


def _glowf_batch():
    x = np.random.default_rng(78).standard_normal((8, 4, 3, 3)).astype(np.float32)

    def loss(p):
        h = F.conv2d(_t(x), p["w"].reshape(4, 4, 1, 1))
        nn = F.conv2d(h[:, :2], p["conv2d0.weight"], p["conv2d0.bias"], padding=1)
        s = torch.sigmoid(nn[:, 2:] + 2)
        z = torch.cat([h[:, :2], (h[:, 2:] + nn[:, :2]) * s], 1)
        logdet = 9 * torch.linalg.slogdet(p["w"]).logabsdet + torch.log(s).sum((1, 2, 3))
        return (0.5 * (z ** 2).sum((1, 2, 3)) - logdet).mean() / 36
    return [x], 8, (), loss
