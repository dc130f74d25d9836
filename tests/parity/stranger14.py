"""stranger14.py — the fourteenth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger13.py's rows. Recommenders: neural collaborative
filtering (GMF and MLP towers on user and item embeddings, BCE on observed pairs and sampled
negatives given as data), biased matrix factorization (dot product plus user and item biases,
L2 on the rows used), Wide & Deep (a linear model on crossed features beside embeddings and an
MLP); TransE (entities renormalized at the start of the step, margin ranking loss of positive
and corrupted triples — `margin_ranking_loss`, added this round; row transe3: four steps, the
renormalization kept from step to step by a buffer, against the in-place version); a sparse autoencoder (KL
sparsity penalty on the hidden units' mean activations); a highway network (a learned gate with
a negative bias); a GAN discriminator step with the R1 penalty (the gradient of D with respect
to the real inputs, by `grad`), LSGAN's generator step under a frozen discriminator; Performer's
FAVOR+ random-feature attention (positive features of frozen Gaussian projections); Graph
U-Net's top-k pooling (projection scores, `topk`, node features and the adjacency gathered by
the chosen indices, gated by tanh of the scores); DeepFM (first-order weights and the factorization
machine's pairs over field embeddings beside a deep tower), Deep & Cross layers, center loss
(learned class centres), Attention U-Net's additive gate on a skip connection; row fns14: the
forms this round's hints give for torch's margin and likelihood losses, torch.renorm and
nn.Embedding(max_norm), and margin_ranking_loss, against torch; row hints14: the hints' forms of
F.interpolate, sigmoid_focal_loss, nn.EmbeddingBag, index_select, bmm, dot, outer, diag and
F.bilinear."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _check, _t

D = torch.float64

NCF_DLN = """
model ncf(features: f32[N, 3]) -> f32[N] {
    user = cast_i32(features[:, 0])
    item = cast_i32(features[:, 1])
    y = features[:, 2]                                   # 1 for an observed pair, 0 for a sampled negative
    gmf = embedding(user, 10, 8, name = "gmf_user") * embedding(item, 12, 8, name = "gmf_item")
    u = embedding(user, 10, 8, name = "mlp_user")
    i = embedding(item, 12, 8, name = "mlp_item")
    h = concat([u, i], axis = 1) |> dense(16, name = "fc1") |> relu |> dense(8, name = "fc2") |> relu
    logit = dense(concat([gmf, h], axis = 1), 1, name = "predict")
    return bce_with_logits(reshape(logit, [N]), y) + zeros(N)
}
train ncf {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3)
}
"""

MF_DLN = """
model mf(features: f32[N, 3]) -> f32[N] {
    param P: f32[10, 6] = normal(std = 0.1)
    param Q: f32[12, 6] = normal(std = 0.1)
    param bu: f32[10] = zeros
    param bi: f32[12] = zeros
    user = cast_i32(features[:, 0])
    item = cast_i32(features[:, 1])
    r = sum(take(P, user) * take(Q, item), axis = 1) + take(bu, user) + take(bi, item)
    return (r - features[:, 2]) ** 2 + 0.01 * (sum(take(P, user) ** 2, axis = 1) + sum(take(Q, item) ** 2, axis = 1))
}
train mf {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

WD_DLN = """
model wd(features: f32[N, 9]) -> f32[N] {
    wide = features[:, 0:6]                                            # one-hot and crossed features
    cat1 = cast_i32(features[:, 6])
    cat2 = cast_i32(features[:, 7])
    deep = concat([embedding(cat1, 5, 4, name = "emb1"), embedding(cat2, 7, 4, name = "emb2"), features[:, 8:9]], axis = 1)
    d = deep |> dense(16, name = "fc1") |> relu |> dense(8, name = "fc2") |> relu |> dense(1, name = "fc3")
    return reshape(dense(wide, 1, name = "wide") + d, [N])
}
train wd {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = bce_with_logits(output, label)
    optim = adam(lr = 1e-3)
}
"""

# the entities renormalized before the step (the paper's loop; the reference code's in-place
# `weight.data` division): their values normalized, their gradient passed to the table as it is
TRANSE_DLN = """
model transe(features: f32[N, 6]) -> f32[N] {
    param ent: f32[20, 8] = uniform(-0.5, 0.5)
    param rel: f32[5, 8] = uniform(-0.5, 0.5)
    e = with_grad(normalize(ent, axis = 1), ent)
    ids = cast_i32(features)
    pos = take(e, ids[:, 0]) + take(rel, ids[:, 1]) - take(e, ids[:, 2])
    neg = take(e, ids[:, 3]) + take(rel, ids[:, 4]) - take(e, ids[:, 5])
    dp = sqrt(sum(pos ** 2, axis = 1))
    dn = sqrt(sum(neg ** 2, axis = 1))
    return zeros(N) + margin_ranking_loss(dn, dp, ones(N), margin = 1.0)
}
train transe {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.01)
}
"""

SAE_DLN = """
model sae(features: f32[N, 16]) -> f32[N] {
    h = sigmoid(dense(features, 8, name = "enc"))
    rec = dense(h, 16, name = "dec")
    rho = 0.05
    rho_hat = mean(h, axis = 0)
    kl = sum(rho * log(rho / rho_hat) + (1.0 - rho) * log((1.0 - rho) / (1.0 - rho_hat)))
    return sum((rec - features) ** 2, axis = 1) + 3.0 * kl
}
train sae {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3)
}
"""

HW_DLN = """
block highway(x: f32[N, D]) -> f32[N, D] {
    t = sigmoid(dense(x, D, bias_init = constant(-2.0), name = "gate"))
    h = relu(dense(x, D, name = "transform"))
    return t * h + (1.0 - t) * x
}
model hw(features: f32[N, 6]) -> f32[N, 3] {
    h = dense(features, 10, name = "inp")
    h = highway(h, name = "hw1")
    h = highway(h, name = "hw2")
    return dense(h, 3, name = "out")
}
train hw {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

R1_DLN = """
block disc(x: f32[N, 8]) -> f32[N, 1] {
    return x |> dense(16, name = "fc1") |> leaky_relu(0.2) |> dense(1, name = "fc2")
}
model r1(features: f32[N, 16]) -> f32[N] {
    real = features[:, 0:8]
    fake = features[:, 8:16]                             # the generator's samples, given (detached)
    d_real = disc(real, name = "d")
    d_fake = disc(fake, name = "d")
    g = grad(sum(d_real), real)
    return reshape(softplus(-d_real) + softplus(d_fake), [N]) + 5.0 * sum(g ** 2, axis = 1)
}
train r1 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 2e-4, betas = (0.0, 0.99))
}
"""

LSGAN_DLN = """
block gen(z: f32[N, 4]) -> f32[N, 8] {
    return z |> dense(16, name = "fc1") |> relu |> dense(8, name = "fc2") |> tanh
}
block disc(x: f32[N, 8]) -> f32[N, 1] {
    return x |> dense(16, name = "fc1") |> leaky_relu(0.2) |> dense(1, name = "fc2")
}
model lsgan(features: f32[N, 4]) -> f32[N, 1] {
    return disc(gen(features, name = "g"), name = "d")
}
train lsgan {
    data   = csv("unused.csv", batch = 8, classify = false)
    loss   = 0.5 * mean((output - 1.0) ** 2)
    optim  = adam(lr = 2e-4, betas = (0.5, 0.999))
    freeze = ["d."]
}
"""

PERF_DLN = """
block favor(x: f32[N, T, D], omega: f32[M, D]) -> f32 {
    proj = x @ transpose(omega)                                       # f32[N, T, M]
    return exp(proj - 0.5 * sum(x ** 2, axis = 2, keepdims = true)) / sqrt(M * 1.0)
}
model performer(features: f32[N, 6, 8]) -> f32[N, 6, 8] {
    param omega: f32[16, 8] = normal()
    q = dense(features, 8, name = "q") * (8.0 ** -0.25)
    k = dense(features, 8, name = "k") * (8.0 ** -0.25)
    v = dense(features, 8, name = "v")
    qp = favor(q, omega)
    kp = favor(k, omega)
    kv = transpose(kp) @ v                                            # f32[N, 16, 8]
    denom = qp @ unsqueeze(sum(kp, axis = 1), 2)                      # f32[N, 6, 1]
    return dense((qp @ kv) / denom, 8, name = "o")
}
train performer {
    data   = csv("unused.csv", batch = 4, classify = false)
    loss   = mean(output ** 2)
    optim  = sgd(lr = 0.1)
    freeze = ["omega"]
}
"""

GUNET_DLN = """
block gcn(x: f32[N, V, F], a: f32[N, V, V], out: int) -> f32 {
    ah = a + eye(V)
    d = 1.0 / sqrt(sum(ah, axis = 2))                                  # f32[N, V]
    an = unsqueeze(d, 2) * ah * unsqueeze(d, 1)
    return relu(an @ dense(x, out, name = "lin"))
}
block gpool(x: f32[N, V, F], a: f32[N, V, V], k: int) -> (f32, f32) {
    param p: f32[F] = normal()
    y = (x @ p) / sqrt(sum(p ** 2))                                    # f32[N, V]
    vals, idx = topk(y, k, axis = 1)
    xs = gather(x, expand(unsqueeze(idx, 2), [N, k, F]), 1) * unsqueeze(tanh(vals), 2)
    rows = gather(a, expand(unsqueeze(idx, 2), [N, k, V]), 1)          # f32[N, k, V]
    return xs, gather(rows, expand(unsqueeze(idx, 1), [N, k, k]), 2)   # f32[N, k, k]
}
model gunet(features: f32[N, 8, 12]) -> f32[N, 2] {
    x = features[:, :, 0:4]
    a = features[:, :, 4:12]
    h = gcn(x, a, 8, name = "gcn1")
    hp, ap = gpool(h, a, 4, name = "pool1")
    h2 = gcn(hp, ap, 8, name = "gcn2")
    return dense(mean(h2, axis = 1), 2, name = "out")
}
train gunet {
    data  = csv("unused.csv", batch = 2)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

# DeepFM: first-order weights and factorization-machine pairs over one table of field ids
DEEPFM_DLN = """
model deepfm(features: f32[N, 4]) -> f32[N] {
    ids = cast_i32(features[:, 0:3])                               # three categorical fields, ids offset into one table
    y = features[:, 3]
    param w: f32[15, 1] = zeros
    param bias: f32[1] = zeros
    v = embedding(ids, 15, 4, name = "v")                          # f32[N, 3, 4]
    first = sum(take(w, ids), axis = [1, 2]) + bias
    fm = 0.5 * sum(sum(v, axis = 1) ** 2 - sum(v ** 2, axis = 1), axis = 1)
    deep = reshape(dense(relu(dense(flatten(v), 16, name = "fc1")), 1, name = "fc2"), [N])
    return zeros(N) + bce_with_logits(first + fm + deep, y)
}
train deepfm {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = adam(lr = 1e-3)
}
"""

# Deep & Cross Network: x0 * (x . w) + b + x per cross layer, beside a deep tower
DCN_DLN = """
block cross(x0: f32[N, D], x: f32[N, D]) -> f32[N, D] {
    param w: f32[D] = xavier_uniform()
    param b: f32[D] = zeros
    return x0 * unsqueeze(x @ w, 1) + b + x
}
model dcn(features: f32[N, 6]) -> f32[N, 2] {
    x = cross(features, features, name = "c1")
    x = cross(features, x, name = "c2")
    d = features |> dense(16, name = "d1") |> relu
    return dense(concat([x, d], axis = 1), 2, name = "out")
}
train dcn {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

# center loss (Wen et al. 2016): learned class centres of 2-D features beside the softmax loss
CENTER_DLN = """
model center(features: f32[N, 7]) -> f32[N] {
    y = cast_i32(features[:, 6])
    f = features[:, 0:6] |> dense(16, name = "fc1") |> relu |> dense(2, name = "feat")
    logits = dense(f, 4, name = "cls")
    param centers: f32[4, 2] = normal()
    return zeros(N) + cross_entropy(logits, y) + 0.01 * 0.5 * mean(sum((f - take(centers, y)) ** 2, axis = 1))
}
train center {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

# Attention U-Net's additive attention gate on a skip connection
AGATE_DLN = """
block attention_gate(x: f32[N, C, H, W], g: f32[N, G, H2, W2], inter: int) -> f32 {
    theta = conv2d(x, inter, kernel = 2, stride = 2, use_bias = false, name = "theta")
    phi = conv2d(g, inter, kernel = 1, name = "phi")
    psi = sigmoid(conv2d(relu(theta + phi), 1, kernel = 1, name = "psi"))      # f32[N, 1, H/2, W/2]
    return x * upsample(psi, scale = 2, mode = "bilinear")
}
model agate(features: f32[N, 4, 8, 8]) -> f32[N, 3] {
    skip = relu(conv2d(features, 8, kernel = 3, pad = 1, name = "enc"))
    g = relu(conv2d(max_pool2d(skip, 2), 16, kernel = 3, pad = 1, name = "mid"))
    a = attention_gate(skip, g, 8, name = "gate")
    return dense(mean(a, axis = [2, 3]), 3, name = "fc")
}
train agate {
    data  = csv("unused.csv", batch = 4)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""

# TransE over several steps, exactly as the reference code's in-place renormalization: a parameter
# cannot be assigned, so a buffer `shift` takes what renormalizing adds to it (the table the
# steps see is normalize(ent + shift), and the optimizer's change of `ent` is the change of that)
TRANSE3_DLN = """
model transe3(features: f32[N, 6]) -> f32[N] {
    param ent: f32[20, 8] = uniform(-0.5, 0.5)
    param rel: f32[5, 8] = uniform(-0.5, 0.5)
    buffer shift: f32[20, 8] = zeros
    table = normalize(ent + shift, axis = 1)              # renormalized at the start of the step
    update(shift, stop_grad(table - ent))                 # ... and kept so: ent + shift is the table
    e = with_grad(table, ent)                             # the step's gradient goes to ent as it is
    ids = cast_i32(features)
    dp = sqrt(sum((take(e, ids[:, 0]) + take(rel, ids[:, 1]) - take(e, ids[:, 2])) ** 2, axis = 1))
    dn = sqrt(sum((take(e, ids[:, 3]) + take(rel, ids[:, 4]) - take(e, ids[:, 5])) ** 2, axis = 1))
    return margin_ranking_loss(dn, dp, ones(N), margin = 1.0, reduction = "none")
}
train transe3 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.5)
}
"""

# the forms this round's hints give for torch's losses (and margin_ranking_loss, added to the
# stdlib this round), against torch
FNS14_DLN = """
model fns14(features: f32[N, 9]) -> f32[N] {
    x = features[:, 0:6]
    y = features[:, 6]                                                   # 1 or -1
    cls = cast_i32(features[:, 7])
    t = features[:, 8]                                                   # counts, targets
    a = dense(x, 4, name = "a")
    b = dense(x, 4, name = "b")
    s = reshape(dense(x, 1, name = "s"), [N])
    s2 = reshape(dense(x, 1, name = "s2"), [N])
    var = reshape(softplus(dense(x, 1, name = "var")), [N])
    he = mean(where(y > 0.0, s, relu(1.0 - s)))
    c = sum(normalize(a) * normalize(b), axis = 1)
    ce = mean(where(y > 0.0, 1.0 - c, relu(c - 0.2)))
    sm = mean(softplus(-y * s))
    mm = mean(sum(relu(1.0 - gather(a, unsqueeze(cls, 1), 1) + a) * (1.0 - one_hot(cls, 4)), axis = 1) / 4)
    pn = mean(exp(s) - t * s)
    v = with_grad(maximum(var, 1e-6), var)
    gn = mean(0.5 * (log(v) + (s - t) ** 2 / v))
    param tab: f32[5, 4] = normal()
    r = tab * minimum(1.0, 0.5 / (sqrt(sum(tab * tab, axis = 1, keepdims = true)) + 1e-7))
    emb = take(with_grad(r, tab), cls)
    mr = margin_ranking_loss(s, s2, y, margin = 0.1) + 0.5 * margin_ranking_loss(s, s2, y, reduction = "sum")
    return zeros(N) + he + ce + sm + mm + pn + gn + mean(r * arange(1, 5)) + mean(emb * arange(1, 5) ** 2) + mr
}
train fns14 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

# the forms the hints give for torch's tensor functions the round's ports reached for, against torch
HINTS14_DLN = """
model hints14(features: f32[N, 15]) -> f32[N] {
    x = features[:, 0:6]
    a = dense(x, 4, name = "a")
    b = dense(x, 3, name = "b")
    up = upsample(reshape(dense(x, 32, name = "img"), [N, 2, 4, 4]), scale = 2, mode = "bilinear")
    fl = focal_loss(dense(x, 5, name = "z"), features[:, 6:11], reduction = "sum")
    bag = mean(embedding(cast_i32(features[:, 11:14]), 7, 4, name = "bag"), axis = 1)
    param tab: f32[7, 4] = normal()
    sel = take(tab, cast_i32(features[:, 14]))
    seq = reshape(dense(x, 20, name = "seq"), [N, 5, 4])
    sel1 = gather(seq, expand(reshape(arange(0, 5, 2, dtype = "i32"), [1, 3, 1]), [N, 3, 4]), 1)
    bm = unsqueeze(a, 1) @ reshape(dense(x, 12, name = "m"), [N, 4, 3])
    op = unsqueeze(a, 2) * unsqueeze(b, 1)
    param v: f32[4] = normal()
    param sq: f32[4, 4] = normal()
    param bw: f32[2, 4, 3] = normal()
    param bb: f32[2] = normal()
    bil = einsum("np,opq,nq->no", a, bw, b) + bb
    r = arange(1, 5)
    return mean(up * arange(1, 9), axis = [1, 2, 3]) + fl + sum(bag * r, axis = 1) + sum(sel * r ** 2, axis = 1)
           + sum(sel1 * r, axis = [1, 2]) + sum(bm * arange(1, 4), axis = [1, 2]) + sum(a * a, axis = 1) + v @ v
           + sum(op * arange(1, 4), axis = [1, 2]) + sum((eye(4) * v) * reshape(arange(16), [4, 4]))
           + sum(einsum("ii->i", sq) * r) + sum(bil * arange(1, 3), axis = 1)
}
train hints14 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

_NO_LABEL = np.zeros(8, np.float32)       # the csv's label field, which these losses do not read


def _lin(q, v, k):
    return F.linear(v, q[k + ".weight"], q.get(k + ".bias"))


def _ncf_batch():
    rng = np.random.default_rng(140)
    f = np.stack([rng.integers(0, 10, 8), rng.integers(0, 12, 8), [1, 0, 0, 1, 0, 0, 1, 0]], 1).astype(np.float32)
    f[1, 0] = f[0, 0]                                              # a user with a positive and a negative
    u, i = torch.from_numpy(f[:, 0]).long(), torch.from_numpy(f[:, 1]).long()

    def loss(q):
        gmf = q["gmf_user.weight"][u] * q["gmf_item.weight"][i]
        h = F.relu(_lin(q, F.relu(_lin(q, torch.cat([q["mlp_user.weight"][u], q["mlp_item.weight"][i]], 1), "fc1")), "fc2"))
        logit = _lin(q, torch.cat([gmf, h], 1), "predict").squeeze(1)
        return F.binary_cross_entropy_with_logits(logit, _t(f[:, 2]))
    return [f, _NO_LABEL], 8, (), loss


def _mf_batch():
    rng = np.random.default_rng(141)
    f = np.stack([rng.integers(0, 10, 8), rng.integers(0, 12, 8), rng.integers(1, 6, 8)], 1).astype(np.float32)
    f[2, :2] = f[5, :2]                                             # one pair rated twice
    u, i = torch.from_numpy(f[:, 0]).long(), torch.from_numpy(f[:, 1]).long()

    def loss(q):
        pu, qi = q["P"][u], q["Q"][i]
        r = (pu * qi).sum(1) + q["bu"][u] + q["bi"][i]
        return ((r - _t(f[:, 2])) ** 2 + 0.01 * ((pu ** 2).sum(1) + (qi ** 2).sum(1))).mean()
    return [f, _NO_LABEL], 8, (), loss


def _wd_batch():
    rng = np.random.default_rng(142)
    f = np.zeros((8, 9), np.float32)
    f[:, 0:6] = rng.integers(0, 2, (8, 6))
    f[:, 6], f[:, 7], f[:, 8] = rng.integers(0, 5, 8), rng.integers(0, 7, 8), rng.standard_normal(8)
    y = rng.integers(0, 2, 8).astype(np.float32)
    c1, c2 = torch.from_numpy(f[:, 6]).long(), torch.from_numpy(f[:, 7]).long()

    def loss(q):
        t = _t(f)
        deep = torch.cat([q["emb1.weight"][c1], q["emb2.weight"][c2], t[:, 8:9]], 1)
        d = _lin(q, F.relu(_lin(q, F.relu(_lin(q, deep, "fc1")), "fc2")), "fc3")
        return F.binary_cross_entropy_with_logits((_lin(q, t[:, :6], "wide") + d).squeeze(1), _t(y))
    return [f, y], 8, (), loss


def _transe_ids(seed):
    rng = np.random.default_rng(seed)
    h, r, t = rng.integers(0, 20, 8), rng.integers(0, 5, 8), rng.integers(0, 20, 8)
    corrupt = rng.integers(0, 20, 8)
    head = rng.random(8) < 0.5                                      # corrupt the head or the tail
    return np.stack([h, r, t, np.where(head, corrupt, h), r, np.where(head, t, corrupt)], 1).astype(np.float32)


def _transe_loss(ent, rel, f):
    ids = torch.from_numpy(f).long()
    dp = (ent[ids[:, 0]] + rel[ids[:, 1]] - ent[ids[:, 2]]).norm(dim=1)
    dn = (ent[ids[:, 3]] + rel[ids[:, 4]] - ent[ids[:, 5]]).norm(dim=1)
    return F.margin_ranking_loss(dp, dn, -torch.ones(8, dtype=D), margin=1.0)


def _transe_batch():
    f = _transe_ids(143)

    def loss(q):
        with torch.no_grad():                                        # TransE-PyTorch's renormalization
            q["ent"].copy_(F.normalize(q["ent"], dim=1))
        return _transe_loss(q["ent"], q["rel"], f)
    return [f, _NO_LABEL], 8, (), loss


def _sae_batch():
    x = np.random.default_rng(144).random((8, 16)).astype(np.float32)

    def loss(q):
        t = _t(x)
        h = torch.sigmoid(_lin(q, t, "enc"))
        rho, rho_hat = 0.05, h.mean(0)
        kl = (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
        return ((_lin(q, h, "dec") - t) ** 2).sum(1).mean() + 3.0 * kl
    return [x, _NO_LABEL], 8, (), loss


def _hw_loss(q, x, y):
    h = _lin(q, x, "inp")
    for k in ("hw1", "hw2"):
        g = torch.sigmoid(_lin(q, h, k + ".gate"))
        h = g * F.relu(_lin(q, h, k + ".transform")) + (1 - g) * h
    return F.cross_entropy(_lin(q, h, "out"), y)


def _disc(q, v):
    return _lin(q, F.leaky_relu(_lin(q, v, "d.fc1"), 0.2), "d.fc2")


def _r1_batch():
    f = np.random.default_rng(145).standard_normal((8, 16)).astype(np.float32)

    def loss(q):
        real = _t(f[:, :8]).requires_grad_(True)
        d_real = _disc(q, real)
        g, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
        adv = (F.softplus(-d_real) + F.softplus(_disc(q, _t(f[:, 8:])))).mean()
        return adv + 5.0 * (g ** 2).sum(1).mean()
    return [f, _NO_LABEL], 8, (), loss


def _lsgan_batch():
    z = np.random.default_rng(146).standard_normal((8, 4)).astype(np.float32)

    def loss(q):
        fake = torch.tanh(_lin(q, F.relu(_lin(q, _t(z), "g.fc1")), "g.fc2"))
        return 0.5 * ((_disc(q, fake) - 1) ** 2).mean()
    return [z, _NO_LABEL], 8, (), loss


def _perf_batch():
    x = np.random.default_rng(147).standard_normal((4, 6, 8)).astype(np.float32)

    def loss(q):
        def favor(v):
            return torch.exp(v @ q["omega"].T - 0.5 * (v ** 2).sum(-1, keepdim=True)) / 16 ** 0.5
        t = _t(x)
        qp, kp = favor(_lin(q, t, "q") * 8 ** -0.25), favor(_lin(q, t, "k") * 8 ** -0.25)
        out = (qp @ (kp.transpose(1, 2) @ _lin(q, t, "v"))) / (qp @ kp.sum(1).unsqueeze(2))
        return (_lin(q, out, "o") ** 2).mean()
    return [x, _NO_LABEL[:4]], 4, (), loss


def _gunet_batch():
    rng = np.random.default_rng(148)
    f = np.zeros((2, 8, 12), np.float32)
    f[:, :, :4] = rng.standard_normal((2, 8, 4))
    a = (rng.random((2, 8, 8)) < 0.4).astype(np.float32)
    a = np.maximum(a, a.transpose(0, 2, 1)) * (1 - np.eye(8, dtype=np.float32))
    f[:, :, 4:] = a
    y = np.array([0, 1], np.int32)

    def gcn(v, adj, k, q):
        ah = adj + torch.eye(adj.shape[-1], dtype=D)
        d = ah.sum(2) ** -0.5
        return F.relu((d[:, :, None] * ah * d[:, None, :]) @ _lin(q, v, k))

    def loss(q):
        t = _t(f)
        x, adj = t[:, :, :4], t[:, :, 4:]
        h = gcn(x, adj, "gcn1.lin", q)
        p = q["pool1.p"]
        s = h @ p / p.norm()
        vals, idx = s.topk(4, dim=1)                                  # torch_geometric's TopKPooling, one graph a row
        b = torch.arange(2)[:, None]
        hp = h[b, idx] * torch.tanh(vals)[:, :, None]
        ap = adj[b[:, :, None], idx[:, :, None], idx[:, None, :]]
        h2 = gcn(hp, ap, "gcn2.lin", q)
        return F.cross_entropy(_lin(q, h2.mean(1), "out"), torch.from_numpy(y).long())
    return [f, y], 2, (), loss


def _deepfm_batch():
    rng = np.random.default_rng(151)
    f = np.stack([rng.integers(0, 5, 8), rng.integers(5, 10, 8), rng.integers(10, 15, 8),
                  rng.integers(0, 2, 8)], 1).astype(np.float32)
    ids = torch.from_numpy(f[:, :3]).long()

    def loss(q):
        v = q["v.weight"][ids]
        first = q["w"][ids].sum((1, 2)) + q["bias"]
        fm = 0.5 * (v.sum(1) ** 2 - (v ** 2).sum(1)).sum(1)
        deep = _lin(q, F.relu(_lin(q, v.flatten(1), "fc1")), "fc2").squeeze(1)
        return F.binary_cross_entropy_with_logits(first + fm + deep, _t(f[:, 3]))
    return [f, _NO_LABEL], 8, (), loss


def _dcn_loss(q, x, y):
    h = x
    for k in ("c1", "c2"):
        h = x * (h @ q[k + ".w"])[:, None] + q[k + ".b"] + h
    d = F.relu(_lin(q, x, "d1"))
    return F.cross_entropy(_lin(q, torch.cat([h, d], 1), "out"), y)


def _center_batch():
    rng = np.random.default_rng(152)
    f = rng.standard_normal((8, 7)).astype(np.float32)
    f[:, 6] = [0, 1, 2, 3, 0, 1, 2, 0]
    y = torch.from_numpy(f[:, 6]).long()

    def loss(q):
        feat = _lin(q, F.relu(_lin(q, _t(f[:, :6]), "fc1")), "feat")
        return (F.cross_entropy(_lin(q, feat, "cls"), y)
                + 0.01 * 0.5 * ((feat - q["centers"][y]) ** 2).sum(1).mean())
    return [f, _NO_LABEL], 8, (), loss


def _agate_loss(q, x, y):
    skip = F.relu(F.conv2d(x, q["enc.weight"], q["enc.bias"], padding=1))
    g = F.relu(F.conv2d(F.max_pool2d(skip, 2), q["mid.weight"], q["mid.bias"], padding=1))
    theta = F.conv2d(skip, q["gate.theta.weight"], stride=2)
    phi = F.conv2d(g, q["gate.phi.weight"], q["gate.phi.bias"])
    psi = torch.sigmoid(F.conv2d(F.relu(theta + phi), q["gate.psi.weight"], q["gate.psi.bias"]))
    a = skip * F.interpolate(psi, scale_factor=2, mode="bilinear", align_corners=False)
    return F.cross_entropy(_lin(q, a.mean((2, 3)), "fc"), y)


def _sigmoid_focal_loss(z, t, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss(z, t, alpha, gamma, reduction="none") as written there
    (torchvision is not importable here)."""
    p = torch.sigmoid(z)
    p_t = p * t + (1 - p) * (1 - t)
    loss = F.binary_cross_entropy_with_logits(z, t, reduction="none") * (1 - p_t) ** gamma
    return (alpha * t + (1 - alpha) * (1 - t)) * loss


def _hints14_batch():
    rng = np.random.default_rng(170)
    f = rng.standard_normal((8, 15)).astype(np.float32)
    f[:, 6:11] = rng.integers(0, 2, (8, 5))
    f[:, 11:14] = rng.integers(0, 7, (8, 3))
    f[:, 14] = rng.integers(0, 7, 8)
    bags, rows = torch.from_numpy(f[:, 11:14]).long(), torch.from_numpy(f[:, 14]).long()

    def loss(q):
        t = _t(f)
        x = t[:, :6]
        a, b = _lin(q, x, "a"), _lin(q, x, "b")
        r, v = torch.arange(1, 5, dtype=D), q["v"]
        up = F.interpolate(_lin(q, x, "img").reshape(8, 2, 4, 4), scale_factor=2, mode="bilinear", align_corners=False)
        fl = _sigmoid_focal_loss(_lin(q, x, "z"), t[:, 6:11]).sum()
        bag = F.embedding_bag(bags, q["bag.weight"], mode="mean")
        sel = torch.index_select(q["tab"], 0, rows)
        sel1 = torch.index_select(_lin(q, x, "seq").reshape(8, 5, 4), 1, torch.tensor([0, 2, 4]))
        bm = torch.bmm(a.unsqueeze(1), _lin(q, x, "m").reshape(8, 4, 3))
        op = torch.stack([torch.outer(a[n], b[n]) for n in range(8)])
        bil = F.bilinear(a, b, q["bw"], q["bb"])
        out = ((up * torch.arange(1, 9, dtype=D)).mean((1, 2, 3)) + fl + (bag * r).sum(1) + (sel * r ** 2).sum(1)
               + (sel1 * r).sum((1, 2)) + (bm * torch.arange(1, 4, dtype=D)).sum((1, 2)) + (a * a).sum(1) + torch.dot(v, v)
               + (op * torch.arange(1, 4, dtype=D)).sum((1, 2)) + (torch.diag(v) * torch.arange(16, dtype=D).reshape(4, 4)).sum()
               + (torch.diag(q["sq"]) * r).sum() + (bil * torch.arange(1, 3, dtype=D)).sum(1))
        return out.mean()
    return [f, _NO_LABEL], 8, (), loss


def _transe3(build):
    """Four SGD steps of TransE with the entities renormalized in place before each (TransE-PyTorch's
    `entities_emb.weight.data` division), each step's loss against torch's; then the table the
    model holds, normalize(ent + shift), against torch's renormalized entities."""
    so, err = build.compile_dln(TRANSE3_DLN, "transe3")
    if so is None:
        return dict(case=S.Desc("transe3: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    m = S.General(S.load_lib(so), "transe3", (8,))
    p = S.draw_params(m, 255)
    ent, rel = p["ent"].detach().clone(), p["rel"].detach().clone()
    errs = []
    for k in range(4):
        f = _transe_ids(160 + k)
        ours = m.train_step([f, _NO_LABEL], 8)
        ent = F.normalize(ent, dim=1).requires_grad_(True)
        rel.requires_grad_(True)
        ref = _transe_loss(ent, rel, f)
        ge, gr = torch.autograd.grad(ref, [ent, rel])
        ent, rel = (ent - 0.5 * ge).detach(), (rel - 0.5 * gr).detach()
        errs.append(S.rel_err(np.float64(ours), ref.item()))
    read = lambda k: np.ctypeslib.as_array(getattr(m.lib, "transe3_param")(m.m, k.encode()),             # noqa: E731
                                           shape=m.params[k][0]).astype(np.float64)
    held = F.normalize(torch.from_numpy(read("ent") + read("shift")), dim=1)
    e_tab = S.rel_err(held.numpy(), F.normalize(ent, dim=1).numpy())
    m.close()
    ok = max(errs) <= S.LOSS_TOL and e_tab <= S.GRAD_TOL
    return dict(case=S.Desc("transe3: four steps with the entities renormalized in place, each loss"), fwd=max(errs),
                grad=e_tab, ok=ok, detail=None if ok else f"loss errors {errs}, table {e_tab}")


def _fns14_batch():
    rng = np.random.default_rng(150)
    f = rng.standard_normal((8, 9)).astype(np.float32)
    f[:, 6] = [1, -1, 1, 1, -1, -1, 1, -1]
    f[:, 7] = [0, 1, 2, 3, 0, 1, 2, 3]
    f[:, 8] = rng.integers(0, 4, 8)
    cls = torch.from_numpy(f[:, 7]).long()

    def loss(q):
        t = _t(f)
        x, y, cnt = t[:, :6], t[:, 6], t[:, 8]
        a, b = _lin(q, x, "a"), _lin(q, x, "b")
        s, s2 = _lin(q, x, "s").squeeze(1), _lin(q, x, "s2").squeeze(1)
        var = F.softplus(_lin(q, x, "var")).squeeze(1)
        r = torch.renorm(q["tab"], 2, 0, 0.5)
        emb = F.embedding(cls, q["tab"] * 1.0, max_norm=0.5)          # renormalizes a copy's rows in place
        return (F.hinge_embedding_loss(s, y) + F.cosine_embedding_loss(a, b, y, margin=0.2)
                + F.soft_margin_loss(s, y) + F.multi_margin_loss(a, cls) + F.poisson_nll_loss(s, cnt)
                + F.gaussian_nll_loss(s, cnt, var) + (r * torch.arange(1, 5, dtype=D)).mean()
                + (emb * torch.arange(1, 5, dtype=D) ** 2).mean()
                + F.margin_ranking_loss(s, s2, y, margin=0.1) + 0.5 * F.margin_ranking_loss(s, s2, y, reduction="sum"))
    return [f, _NO_LABEL], 8, (), loss


def run(build):
    return [_check(build, "ncf", NCF_DLN, 240, _ncf_batch),
            _check(build, "mf", MF_DLN, 241, _mf_batch),
            _check(build, "wd", WD_DLN, 242, _wd_batch),
            _check(build, "transe", TRANSE_DLN, 243, _transe_batch),
            _check(build, "sae", SAE_DLN, 244, _sae_batch),
            _check(build, "hw", HW_DLN, 245, lambda: S.classes_batch(149, (8, 6), 3, _hw_loss)),
            _check(build, "r1", R1_DLN, 246, _r1_batch),
            _check(build, "lsgan", LSGAN_DLN, 247, _lsgan_batch, frozen=True),
            _check(build, "performer", PERF_DLN, 248, _perf_batch, frozen=True),
            _check(build, "gunet", GUNET_DLN, 249, _gunet_batch),
            _check(build, "deepfm", DEEPFM_DLN, 251, _deepfm_batch),
            _check(build, "dcn", DCN_DLN, 252, lambda: S.classes_batch(153, (8, 6), 2, _dcn_loss)),
            _check(build, "center", CENTER_DLN, 253, _center_batch),
            _check(build, "agate", AGATE_DLN, 254, lambda: S.classes_batch(154, (4, 4, 8, 8), 3, _agate_loss)),
            _check(build, "fns14", FNS14_DLN, 250, _fns14_batch),
            _check(build, "hints14", HINTS14_DLN, 256, _hints14_batch),
            _transe3(build)]


if __name__ == "__main__":
    import sys
    from harness import Build
    b = Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    for r in run(b):
        print("ok  " if r["ok"] else "FAIL", r["case"].describe(), r["fwd"], r["grad"], r.get("detail") or "")
