"""stranger15.py — the fifteenth round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger14.py's rows (Bahdanau attention, TCN, WaveNet,
ConvLSTM, BYOL, Barlow Twins, capsules, MDN, Gumbel draws, siamese and triplet losses, focal,
Dice, label smoothing and distillation are checked by earlier rounds and not repeated).
Self-supervision: SimSiam (a shared encoder and predictor with batch norm on two views, the
symmetric negative cosine similarity against the other view's `stop_grad`ed projection, SGD
with momentum). Sequences: a bidirectional GRU tagger over padded sentences (the GRU's `mask`
of real tokens, `pack_padded_sequence` on the torch side, a per-token cross-entropy weighted by
the same mask). Generative: a Gumbel-softmax VAE (three categorical latents of four classes,
the Gumbel noise given as data, temperature 0.5, the KL to the uniform prior, the
reconstruction `bce_with_logits(..., reduction = "none")` summed per sample — `reduction` on
`bce`, `bce_with_logits`, `mse`, `l1` and `huber`, added this round: each was always the mean).
Metric learning: the supervised contrastive loss (SupCon, Khosla et al. 2020, the reference
code's formula) over groups of 8 samples as a compile-time axis (a `[N, N]` similarity is not a
value a tensor can have; the hints now name this form). Semi-supervised: FixMatch (pseudo-labels
from the weak view's `stop_grad`ed softmax, a confidence threshold, the strong view's per-sample
cross-entropy by `pick`, the mean over the whole unlabeled batch). Segmentation: the Lovász hinge
(per image: errors sorted by `sort(..., descending = true)`, the labels gathered by the
permutation, the Jaccard gradient from `cumsum`s), against Berman et al.'s reference code.
Second batch: Mean Teacher (`ema_of`), VAT (`grad` with respect to the perturbation), DEC, an
end-to-end memory network, a conditional neural process, CORAL's ordinal thresholds with a pinball
loss, the Gumbel-softmax VAE with `hard = True` (straight-through by `with_grad`); evidential deep
learning with `lgamma` and `digamma` (stdlib, added this round; row gamma15 checks them from 0.01
to 3e4 with two derivatives, row counts15 Poisson's Stirling term and scVI's negative binomial);
row hints15 the hints' forms of polygamma, xlogy, gammaln and Dirichlet.log_prob; row ce15
`cross_entropy(..., reduction = "none" | "sum")` (added this round); row fns15 the other losses'
`reduction` and `bce_with_logits(pos_weight = ...)`."""

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _check, _t


def _train(model, optim):
    """The train section every row shares: the csv source stands in for the arrays the
    harness passes, the loss is the mean of the model's per-sample output."""
    return (f'train {model} {{\n    data  = csv("unused.csv", batch = 8, classify = false)\n'
            f'    loss  = mean(output)\n    optim = {optim}\n}}\n')


SIMSIAM_DLN = """
block encoder(x: f32[N, 6]) -> f32[N, 8] {
    h = x |> dense(8, name = "fc1") |> batch_norm1d(name = "bn1") |> relu
    return h |> dense(8, name = "fc2") |> batch_norm1d(affine = false, name = "bn2")
}
block predictor(z: f32[N, 8]) -> f32[N, 8] {
    return z |> dense(4, name = "fc1") |> batch_norm1d(name = "bn1") |> relu |> dense(8, name = "fc2")
}
model simsiam(features: f32[N, 12]) -> f32[N] {
    z1 = encoder(features[:, 0:6], name = "enc")
    z2 = encoder(features[:, 6:12], name = "enc")
    p1 = predictor(z1, name = "pred")
    p2 = predictor(z2, name = "pred")
    d1 = -sum(normalize(p1) * normalize(stop_grad(z2)), axis = 1)
    d2 = -sum(normalize(p2) * normalize(stop_grad(z1)), axis = 1)
    return 0.5 * d1 + 0.5 * d2
}
""" + _train("simsiam", "sgd(lr = 0.05, momentum = 0.9)")

BIGRU_DLN = """
model tagger(features: f32[N, 15]) -> f32[N] {
    tokens = cast_i32(features[:, 0:7])
    tags = cast_i32(features[:, 7:14])
    m = cast_f32(tokens != 0)                        # 0 is padding, at the end
    e = embedding(tokens, 12, 6)
    h = gru(e, 5, bidirectional = true, mask = m)     # f32[N, 7, 10]
    logits = dense(h, 4)
    return zeros(N) + cross_entropy(logits, tags, mask = m)
}
""" + _train("tagger", "adam(lr = 1e-3)")

GSVAE_DLN = """
model gsvae(features: f32[N, 20]) -> f32[N] {
    x = features[:, 0:8]
    g = reshape(features[:, 8:20], [N, 3, 4])         # Gumbel(0, 1) noise, given
    logits = reshape(x |> dense(16, name = "enc1") |> relu |> dense(12, name = "enc2"), [N, 3, 4])
    y = softmax((logits + g) / 0.5, axis = 2)          # 3 categorical latents of 4 classes, tau 0.5
    rec = reshape(y, [N, 12]) |> dense(16, name = "dec1") |> relu |> dense(8, name = "dec2")
    q = softmax(logits, axis = 2)
    kl = sum(q * log(q * 4.0 + 1e-20), axis = [1, 2])
    return sum(bce_with_logits(rec, x, reduction = "none"), axis = 1) + kl
}
""" + _train("gsvae", "adam(lr = 1e-3)")

# F.gumbel_softmax(hard = True): the one-hot sample forward, the soft sample's gradient
GSHARD_DLN = GSVAE_DLN.replace("gsvae", "gshard").replace(
    "tau 0.5\n", "tau 0.5\n    y = with_grad(one_hot(argmax(y, axis = 2), 4), y)  # hard = True: straight-through\n")


SUPCON_DLN = """
model supcon(features: f32[N, 8, 7]) -> f32[N] {
    y = features[:, :, 6]                                             # each row: a group of 8 samples and labels
    z = normalize(features[:, :, 0:6] |> dense(8, name = "fc1") |> relu |> dense(4, name = "fc2"), axis = 2)
    logits = z @ transpose(z) / 0.1                                   # f32[N, 8, 8]
    not_self = 1.0 - eye(8)
    pos = (unsqueeze(y, 2) == unsqueeze(y, 1)) * not_self
    log_prob = logits - log(sum(exp(logits) * not_self, axis = 2, keepdims = true))
    return mean(-sum(pos * log_prob, axis = 2) / sum(pos, axis = 2), axis = 1)
}
""" + _train("supcon", "sgd(lr = 0.1)")

FIXMATCH_DLN = """
block net(x: f32[N, 5]) -> f32[N, 3] {
    return x |> dense(8, name = "fc1") |> relu |> dense(3, name = "fc2")
}
model fixmatch(features: f32[N, 16]) -> f32[N] {
    y = cast_i32(features[:, 15])
    sup = cross_entropy(net(features[:, 0:5], name = "net"), y)
    pw = softmax(stop_grad(net(features[:, 5:10], name = "net")), axis = 1)     # weak view
    conf = max(pw, axis = 1)
    pseudo = argmax(pw, axis = 1)
    keep = cast_f32(conf >= 0.4)
    nll = -pick(log_softmax(net(features[:, 10:15], name = "net"), axis = 1), pseudo)   # strong view
    return sup + 1.0 * keep * nll
}
""" + _train("fixmatch", "sgd(lr = 0.03, momentum = 0.9, nesterov = true)")

LOVASZ_DLN = """
model lovasz(features: f32[N, 2, 6, 6]) -> f32[N] {
    image = features[:, 0:1]
    z = image |> conv2d(4, kernel = 3, pad = 1) |> relu |> conv2d(1, kernel = 3, pad = 1)
    logits = reshape(z, [N, 36])
    lab = reshape(features[:, 1:2], [N, 36])
    err = 1.0 - logits * (2.0 * lab - 1.0)
    es, perm = sort(err, axis = 1, descending = true)
    gt = gather(lab, perm, 1)
    gts = sum(gt, axis = 1, keepdims = true)
    jac = 1.0 - (gts - cumsum(gt, 1)) / (gts + cumsum(1.0 - gt, 1))
    g = concat([jac[:, 0:1], jac[:, 1:36] - jac[:, 0:35]], axis = 1)
    return sum(relu(es) * g, axis = 1)
}
""" + _train("lovasz", "sgd(lr = 0.01)")


D = torch.float64
_NO_LABEL = np.zeros(8, np.float32)       # the csv's label field, which these losses do not read


def _lin(q, v, k):
    return F.linear(v, q[k + ".weight"], q.get(k + ".bias"))


def _bn1d(q, x, k, affine=True):
    w, b = (q[k + ".weight"], q[k + ".bias"]) if affine else (None, None)
    return F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)


def _rows_and_class(seed, cols, scale=1.0):
    """8 rows of `cols` N(0, scale^2) features with a class in 0..2 as the last column: the
    packed csv row, the classes, and the row in float64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, cols)) * scale
    y = rng.integers(0, 3, size=8)
    f = np.concatenate([x, y[:, None]], 1).astype(np.float32)
    return f, y, _t(f)


def _simsiam_batch():
    rng = np.random.default_rng(260)
    f = rng.standard_normal((8, 12)).astype(np.float32)
    t = _t(f)

    def enc(q, x):
        h = F.relu(_bn1d(q, _lin(q, x, "enc.fc1"), "enc.bn1"))
        return _bn1d(q, _lin(q, h, "enc.fc2"), "enc.bn2", affine=False)

    def pred(q, z):
        return _lin(q, F.relu(_bn1d(q, _lin(q, z, "pred.fc1"), "pred.bn1")), "pred.fc2")

    def loss(q):
        z1, z2 = enc(q, t[:, :6]), enc(q, t[:, 6:])
        p1, p2 = pred(q, z1), pred(q, z2)
        return -(F.cosine_similarity(p1, z2.detach()).mean() + F.cosine_similarity(p2, z1.detach()).mean()) * 0.5
    return [f, _NO_LABEL], 8, (), loss


def _bigru_batch():
    rng = np.random.default_rng(261)
    lengths = np.array([7, 5, 3, 7, 1, 6, 4, 2])
    tok = rng.integers(1, 12, size=(8, 7))
    tok[np.arange(7)[None, :] >= lengths[:, None]] = 0
    tags = rng.integers(0, 4, size=(8, 7))
    f = np.concatenate([tok, tags, np.zeros((8, 1))], 1).astype(np.float32)
    gru = torch.nn.GRU(6, 5, batch_first=True, bidirectional=True).double()

    def loss(q):
        e = F.embedding(torch.from_numpy(tok).long(), q["embedding0.weight"])
        packed = torch.nn.utils.rnn.pack_padded_sequence(e, torch.from_numpy(lengths), batch_first=True,
                                                         enforce_sorted=False)
        gru._flat_weights = [q["gru0." + n] for n in gru._flat_weights_names]   # nn.GRU's forward reads these
        out, _ = gru(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=7)
        logits = _lin(q, h, "dense0")
        y = torch.from_numpy(np.where(tok == 0, -100, tags)).long()
        return F.cross_entropy(logits.reshape(-1, 4), y.reshape(-1), ignore_index=-100)
    return [f, _NO_LABEL], 8, (), loss


def _gsvae_batch(hard=False):
    rng = np.random.default_rng(262)
    x = rng.random((8, 8))
    u = rng.random((8, 12)) * 0.98 + 0.01
    g = -np.log(-np.log(u))                                      # Gumbel(0, 1) draws
    f = np.concatenate([x, g], 1).astype(np.float32)
    t = _t(f)

    def loss(q):
        x, g = t[:, :8], t[:, 8:].reshape(8, 3, 4)
        logits = _lin(q, F.relu(_lin(q, x, "enc1")), "enc2").reshape(8, 3, 4)
        y = F.softmax((logits + g) / 0.5, dim=2)
        if hard:                                                 # F.gumbel_softmax(hard=True)'s straight-through
            y = F.one_hot(y.argmax(2), 4).double() - y.detach() + y
        rec = _lin(q, F.relu(_lin(q, y.reshape(8, 12), "dec1")), "dec2")
        qy = F.softmax(logits, 2)
        kl = (qy * torch.log(qy * 4 + 1e-20)).sum((1, 2))
        return (F.binary_cross_entropy_with_logits(rec, x, reduction="none").sum(1) + kl).mean()
    return [f, _NO_LABEL], 8, (), loss


def _supcon_batch():
    rng = np.random.default_rng(263)
    x = rng.standard_normal((2, 8, 6))
    y = np.array([[0, 1, 2, 0, 1, 2, 0, 1], [3, 3, 1, 1, 1, 0, 0, 3]])
    f = np.concatenate([x, y[:, :, None]], 2).astype(np.float32)
    t = _t(f)

    def supcon(xb, yb, q):
        # SupConLoss (Khosla et al. 2020, the reference code) of one batch of 8 in one view, temperature 0.1
        z = F.normalize(_lin(q, F.relu(_lin(q, xb, "fc1")), "fc2"), dim=1)
        lab = torch.from_numpy(yb)[:, None]
        mask = torch.eq(lab, lab.T).double()
        logits = z @ z.T / 0.1
        logits = logits - logits.max(1, keepdim=True).values.detach()
        logits_mask = 1 - torch.eye(8, dtype=D)
        mask = mask * logits_mask
        log_prob = logits - torch.log((torch.exp(logits) * logits_mask).sum(1, keepdim=True))
        return -((mask * log_prob).sum(1) / mask.sum(1)).mean()
    return [f, _NO_LABEL[:2]], 2, (), lambda q: (supcon(t[0, :, :6], y[0], q) + supcon(t[1, :, :6], y[1], q)) / 2


def _fixmatch_batch():
    f, y, t = _rows_and_class(264, 15, 1.5)

    def net(q, v):
        return _lin(q, F.relu(_lin(q, v, "net.fc1")), "net.fc2")

    def loss(q):
        sup = F.cross_entropy(net(q, t[:, 0:5]), torch.from_numpy(y).long())
        pw = F.softmax(net(q, t[:, 5:10]).detach(), 1)
        conf, pseudo = pw.max(1)
        keep = (conf >= 0.4).double()
        return sup + (F.cross_entropy(net(q, t[:, 10:15]), pseudo, reduction="none") * keep).mean()
    return [f, _NO_LABEL], 8, (), loss


def _lovasz_batch():
    rng = np.random.default_rng(265)
    x = rng.standard_normal((8, 1, 6, 6)).astype(np.float32)
    m = (rng.random((8, 1, 6, 6)) < 0.4).astype(np.float32)
    m[0] = 0.0                                                    # an image without foreground
    t = _t(x)

    def loss(q):
        # lovasz_hinge(per_image=True) of Berman et al.'s reference code
        h = F.relu(F.conv2d(t, q["conv2d0.weight"], q["conv2d0.bias"], padding=1))
        logits = F.conv2d(h, q["conv2d1.weight"], q["conv2d1.bias"], padding=1).reshape(8, 36)
        labels = torch.from_numpy(m).double().reshape(8, 36)
        out = []
        for z, lab in zip(logits, labels):
            errors = 1.0 - z * (2.0 * lab - 1.0)
            es, perm = torch.sort(errors, descending=True, stable=True)
            gt = lab[perm]
            gts = gt.sum()
            jac = 1.0 - (gts - gt.cumsum(0)) / (gts + (1 - gt).cumsum(0))
            jac[1:] = jac[1:] - jac[:-1].clone()
            out.append(torch.dot(F.relu(es), jac))
        return torch.stack(out).mean()
    return [np.concatenate([x, m], 1), _NO_LABEL], 8, (), loss


MT_DLN = """
block net(x: f32[N, 6]) -> f32[N, 3] {
    return x |> dense(8, name = "fc1") |> relu |> dense(3, name = "fc2")
}
model mteacher(features: f32[N, 13]) -> f32[N] {
    y = cast_i32(features[:, 12])
    s = net(features[:, 0:6], name = "student")
    t = net(features[:, 6:12], name = "teacher", ema_of = "student", ema_decay = 0.99)
    cons = sum((softmax(s, axis = 1) - softmax(t, axis = 1)) ** 2, axis = 1) / 3.0
    return cross_entropy(s, y) + 2.0 * cons
}
""" + _train("mteacher", "sgd(lr = 0.1)")

VAT_DLN = """
block net(x: f32[N, 6]) -> f32[N, 3] {
    return x |> dense(8, name = "fc1") |> tanh |> dense(3, name = "fc2")
}
model vat(features: f32[N, 13]) -> f32[N] {
    x = features[:, 0:6]
    d = features[:, 6:12]                                          # a random direction, given
    y = cast_i32(features[:, 12])
    logits = net(x, name = "net")
    p = stop_grad(softmax(logits, axis = 1))
    r = 1e-1 * normalize(d)
    kl = kl_div(log_softmax(net(x + r, name = "net"), axis = 1), p, reduction = "batchmean")
    g = grad(kl, r)
    r_adv = 2.0 * normalize(stop_grad(g))
    lds = kl_div(log_softmax(net(x + r_adv, name = "net"), axis = 1), p, reduction = "batchmean")
    return zeros(N) + cross_entropy(logits, y) + lds
}
""" + _train("vat", "sgd(lr = 0.1)")

DEC_DLN = """
model dec(features: f32[N, 6]) -> f32[N] {
    z = features |> dense(8, name = "enc1") |> relu |> dense(2, name = "enc2")
    param mu: f32[4, 2] = normal()
    d2 = sum((unsqueeze(z, 1) - unsqueeze(mu, 0)) ** 2, axis = 2)      # f32[N, 4]
    q = 1.0 / (1.0 + d2)                                               # Student's t, alpha = 1
    q = q / sum(q, axis = 1, keepdims = true)
    w = q ** 2 / sum(q, axis = 0, keepdims = true)
    p = stop_grad(w / sum(w, axis = 1, keepdims = true))
    return zeros(N) + kl_div(log(q), p, reduction = "batchmean")
}
""" + _train("dec", "sgd(lr = 0.1)")

MEMN2N_DLN = """
model memn2n(features: f32[N, 23]) -> f32[N] {
    ids = cast_i32(features)
    story = reshape(ids[:, 0:18], [N, 6, 3])          # 6 sentences of 3 word ids (0 = padding)
    query = ids[:, 18:21]
    y = ids[:, 22]
    param A: f32[15, 8] = normal(std = 0.1)
    param C: f32[15, 8] = normal(std = 0.1)
    param B: f32[15, 8] = normal(std = 0.1)
    param W: f32[15, 8] = normal(std = 0.1)
    u = sum(take(B, query), axis = 1)                  # f32[N, 8]
    m = sum(take(A, story), axis = 2)                  # f32[N, 6, 8]
    c = sum(take(C, story), axis = 2)
    repeat 3 {
        pr = softmax(sum(m * unsqueeze(u, 1), axis = 2), axis = 1)        # f32[N, 6]
        u = u + sum(c * unsqueeze(pr, 2), axis = 1)
    }
    return zeros(N) + cross_entropy(u @ transpose(W), y)
}
""" + _train("memn2n", "sgd(lr = 0.1)")

CNP_DLN = """
model cnp(features: f32[N, 10, 2]) -> f32[N] {
    ctx = features[:, 0:6]                              # 6 context points (x, y)
    tx = features[:, 6:10, 0:1]                         # 4 target inputs
    ty = features[:, 6:10, 1]
    r = mean(ctx |> dense(16, name = "enc1") |> relu |> dense(8, name = "enc2"), axis = 1)   # f32[N, 8]
    h = concat([expand(unsqueeze(r, 1), [N, 4, 8]), tx], axis = 2)
    out = h |> dense(16, name = "dec1") |> relu |> dense(2, name = "dec2")
    mu = out[:, :, 0]
    sigma = 0.1 + 0.9 * softplus(out[:, :, 1])
    nll = log(sigma) + 0.5 * log(2.0 * pi) + 0.5 * ((ty - mu) / sigma) ** 2
    return mean(nll, axis = 1)
}
""" + _train("cnp", "adam(lr = 1e-3)")

CORAL_DLN = """
model coral(features: f32[N, 7]) -> f32[N] {
    x = features[:, 0:5]
    level = features[:, 5]                              # the rank, 0..4
    h = x |> dense(8, name = "fc1") |> relu
    g = dense(h, 1, use_bias = false, name = "fc2")     # one weight vector shared by the thresholds
    param b: f32[4] = zeros
    logits = g + b                                      # f32[N, 4]
    levels = unsqueeze(level, 1) > arange(4)            # [rank > k] for k = 0..3
    ce = sum(bce_with_logits(logits, levels, reduction = "none"), axis = 1)
    q = dense(h, 3, name = "q")                         # quantiles 0.1, 0.5, 0.9 of the target
    tau = reshape(linspace(0.1, 0.9, 3), [1, 3])
    e = unsqueeze(features[:, 6], 1) - q
    pinball = sum(maximum(tau * e, (tau - 1.0) * e), axis = 1)
    return ce + pinball
}
""" + _train("coral", "sgd(lr = 0.1)")

EDL_DLN = """
model edl(features: f32[N, 7]) -> f32[N] {
    y = one_hot(cast_i32(features[:, 6]), 3)
    alpha = softplus(features[:, 0:6] |> dense(8, name = "fc1") |> relu |> dense(3, name = "fc2")) + 1.0
    s = sum(alpha, axis = 1, keepdims = true)
    nll = sum(y * (digamma(s) - digamma(alpha)), axis = 1)          # Sensoy et al.'s expected cross-entropy
    at = y + (1.0 - y) * alpha                                      # the misleading evidence kept
    st = sum(at, axis = 1)
    kl = lgamma(st) - log(2.0) - sum(lgamma(at), axis = 1)          # lgamma(3) = log(2!)
         + sum((at - 1.0) * (digamma(at) - digamma(unsqueeze(st, 1))), axis = 1)
    return nll + 0.5 * kl
}
""" + _train("edl", "adam(lr = 1e-3)")

GAMMA15_DLN = """
model gamma15(features: f32[N, 2]) -> f32[N] {
    param w: f32[2] = zeros
    z = features * exp(w)                                 # x > 0 kept whatever w is drawn
    return sum(lgamma(z) * 0.3 + digamma(z) + lgamma(z + 0.5) - 0.7 * digamma(2.0 * z), axis = 1)
}
""" + _train("gamma15", "sgd(lr = 0.1)")

HINTS15_DLN = """
model hints15(features: f32[N, 6]) -> f32[N] {
    a = exp(dense(features[:, 0:3], 3, name = "a"))                   # Dirichlet parameters > 0
    p = softmax(dense(features[:, 0:3], 3, name = "p"), axis = 1)      # a point of the simplex
    x = features[:, 3:6] * (features[:, 3:6] > 0.0)                   # zeros in places: xlogy's 0 * log 0
    y = sigmoid(dense(features[:, 0:3], 3, name = "y"))
    tri = grad(sum(digamma(a)), a)                                    # torch.polygamma(1, a)
    lp = lgamma(sum(a, axis = -1)) - sum(lgamma(a), axis = -1) + sum((a - 1.0) * log(p), axis = -1)
    xl = where(x != 0.0, x * log(where(x != 0.0, y, 1.0)), 0.0)       # torch.xlogy(x, y)
    return lp + sum(tri + xl + lgamma(a), axis = 1)                   # lgamma: torch.special.gammaln
}
""" + _train("hints15", "sgd(lr = 0.1)")

COUNTS15_DLN = """
model counts15(features: f32[N, 8]) -> f32[N] {
    x = features[:, 0:4]
    k = features[:, 4:8]                                           # counts 0, 1, 2, ...
    r = dense(x, 4, name = "rate")                                 # log-rate
    stirling = where(k > 1.0, k * log(where(k > 1.0, k, 1.0)) - k + 0.5 * log(2.0 * pi * where(k > 1.0, k, 1.0)), 0.0)
    poisson = exp(r) - k * r + stirling                            # F.poisson_nll_loss(r, k, full = True)
    mu = exp(dense(x, 4, name = "mu"))
    theta = exp(dense(x, 4, name = "theta"))                       # NB (scVI): mean mu, inverse dispersion theta
    lt = log(theta + mu + 1e-8)
    log_nb = theta * (log(theta + 1e-8) - lt) + k * (log(mu + 1e-8) - lt) + lgamma(k + theta) - lgamma(theta) - lgamma(k + 1.0)
    return mean(poisson, axis = 1) - sum(log_nb, axis = 1)
}
""" + _train("counts15", "adam(lr = 1e-3)")

CE15_DLN = """
model ce15(features: f32[N, 17]) -> f32[N] {
    x = features[:, 0:6]
    t = cast_i32(features[:, 6:11])                       # a class per position, -100 ignored
    m = features[:, 11:16]
    y = cast_i32(features[:, 16])
    w = arange(1, 5) * 0.5                                # per-class weights
    l1 = dense(x, 4, name = "a")
    l2 = reshape(dense(x, 20, name = "b"), [N, 5, 4])      # classes last
    l3 = reshape(dense(x, 20, name = "c"), [N, 4, 5])      # PyTorch's layout, classes on axis 1
    a = cross_entropy(l1, y, weight = w, label_smoothing = 0.1, reduction = "none")
    b = sum(cross_entropy(l2, t, mask = m, reduction = "none"), axis = 1)
    c = sum(cross_entropy(l3, t, reduction = "none"), axis = 1)
    d = cross_entropy(l1, y, label_smoothing = 0.2, reduction = "sum")
    e = cross_entropy(l2, t, weight = w, reduction = "sum")
    return a + b + c + d + e
}
""" + _train("ce15", "sgd(lr = 0.1)")

FNS15_DLN = """
model fns15(features: f32[N, 6]) -> f32[N] {
    x = dense(features[:, 0:3], 3, name = "fc")
    t = features[:, 3:6]                                  # targets in [0, 1]
    a = bce_with_logits(x, t, pos_weight = 3.0, reduction = "none")
    b = bce_with_logits(x, t, pos_weight = arange(1, 4) * 0.5, reduction = "sum")
    c = bce_with_logits(x, t)
    d = mse(x, t, reduction = "none") + l1(x, t, reduction = "none") + huber(x, t, delta = 0.5, reduction = "none")
    e = bce(sigmoid(x), t, reduction = "sum") + mse(x, t, reduction = "sum") + mae(x, t, reduction = "sum")
    return sum(a + d, axis = 1) + b + c + e
}
""" + _train("fns15", "sgd(lr = 0.1)")


def _fns15_batch():
    rng = np.random.default_rng(266)
    f = np.concatenate([rng.standard_normal((8, 3)) * 2, rng.random((8, 3))], 1).astype(np.float32)
    f[0, 3:6] = [0.0, 1.0, 0.5]
    t = _t(f)

    def loss(q):
        x, y = _lin(q, t[:, 0:3], "fc"), t[:, 3:6]
        bwl = F.binary_cross_entropy_with_logits
        a = bwl(x, y, pos_weight=torch.tensor(3.0, dtype=D), reduction="none")
        b = bwl(x, y, pos_weight=torch.arange(1, 4, dtype=D) * 0.5, reduction="sum")
        c = bwl(x, y)
        d = (F.mse_loss(x, y, reduction="none") + F.l1_loss(x, y, reduction="none")
             + F.huber_loss(x, y, delta=0.5, reduction="none"))
        e = (F.binary_cross_entropy(torch.sigmoid(x), y, reduction="sum") + F.mse_loss(x, y, reduction="sum")
             + F.l1_loss(x, y, reduction="sum"))
        return ((a + d).sum(1) + b + c + e).mean()
    return [f, _NO_LABEL], 8, (), loss


def _mlp2(q, v, pre, act=F.relu):
    return _lin(q, act(_lin(q, v, pre + ".fc1")), pre + ".fc2")


def _mteacher_batch():
    f, y, t = _rows_and_class(267, 12)

    def loss(q):
        teacher = {k.replace("student.", "teacher."): v.detach().clone() for k, v in q.items()}   # deepcopy at step 1
        s = _mlp2(q, t[:, 0:6], "student")
        tt = _mlp2(teacher, t[:, 6:12], "teacher")
        cons = F.mse_loss(F.softmax(s, 1), F.softmax(tt, 1), reduction="none").sum(1) / 3.0
        return (F.cross_entropy(s, torch.from_numpy(y).long()) + 2.0 * cons).mean()
    return [f, _NO_LABEL], 8, (), loss


def _vat_batch():
    f, y, t = _rows_and_class(268, 12)

    def loss(q):
        # VAT (Miyato et al. 2018) with one power iteration, xi = 0.1, eps = 2.0
        xx, d = t[:, 0:6], t[:, 6:12]
        logits = _mlp2(q, xx, "net", torch.tanh)
        p = F.softmax(logits, 1).detach()
        r = (0.1 * F.normalize(d, dim=1)).requires_grad_(True)
        kl = F.kl_div(F.log_softmax(_mlp2(q, xx + r, "net", torch.tanh), 1), p, reduction="batchmean")
        (g,) = torch.autograd.grad(kl, r)
        r_adv = 2.0 * F.normalize(g, dim=1)
        lds = F.kl_div(F.log_softmax(_mlp2(q, xx + r_adv, "net", torch.tanh), 1), p, reduction="batchmean")
        return F.cross_entropy(logits, torch.from_numpy(y).long()) + lds
    return [f, _NO_LABEL], 8, (), loss


def _dec_batch():
    f = np.random.default_rng(269).standard_normal((8, 6)).astype(np.float32)
    t = _t(f)

    def loss(q):
        # DEC's clustering step (Xie et al. 2016): Student's t soft assignment, the sharpened target
        z = _lin(q, F.relu(_lin(q, t, "enc1")), "enc2")
        qq = 1.0 / (1.0 + ((z[:, None, :] - q["mu"][None]) ** 2).sum(2))
        qq = (qq.t() / qq.sum(1)).t()
        w = qq ** 2 / qq.sum(0)
        p = (w.t() / w.sum(1)).t().detach()
        return F.kl_div(qq.log(), p, reduction="batchmean")
    return [f, _NO_LABEL], 8, (), loss


def _memn2n_batch():
    rng = np.random.default_rng(270)
    story = rng.integers(1, 15, size=(8, 6, 3))
    story[:, 4:, 2] = 0                                       # padded words
    query = rng.integers(1, 15, size=(8, 3))
    y = rng.integers(0, 15, size=8)
    f = np.concatenate([story.reshape(8, 18), query, np.zeros((8, 1)), y[:, None]], 1).astype(np.float32)

    def loss(q):
        # End-to-end memory network (Sukhbaatar et al. 2015), bag-of-words sentences, 3 hops with shared A, C
        s, qu = torch.from_numpy(story).long(), torch.from_numpy(query).long()
        u = q["B"][qu].sum(1)
        m, c = q["A"][s].sum(2), q["C"][s].sum(2)
        for _ in range(3):
            pr = F.softmax((m * u[:, None]).sum(2), 1)
            u = u + (c * pr[:, :, None]).sum(1)
        return F.cross_entropy(u @ q["W"].T, torch.from_numpy(y).long())
    return [f, _NO_LABEL], 8, (), loss


def _cnp_batch():
    rng = np.random.default_rng(271)
    xs = rng.uniform(-2, 2, size=(8, 10, 1))
    ys = np.sin(3 * xs) + 0.1 * rng.standard_normal((8, 10, 1))
    f = np.concatenate([xs, ys], 2).astype(np.float32)
    t = _t(f)

    def loss(q):
        # a conditional neural process (Garnelo et al. 2018): mean of the context encodings
        r = _lin(q, F.relu(_lin(q, t[:, 0:6], "enc1")), "enc2").mean(1)
        h = torch.cat([r[:, None].expand(8, 4, 8), t[:, 6:10, 0:1]], 2)
        out = _lin(q, F.relu(_lin(q, h, "dec1")), "dec2")
        sigma = 0.1 + 0.9 * F.softplus(out[:, :, 1])
        dist = torch.distributions.Normal(out[:, :, 0], sigma)
        return -dist.log_prob(t[:, 6:10, 1]).mean(1).mean()
    return [f, _NO_LABEL], 8, (), loss


def _coral_batch():
    rng = np.random.default_rng(272)
    x = rng.standard_normal((8, 5))
    level = np.array([0, 1, 2, 3, 4, 2, 0, 4])
    target = rng.standard_normal(8)
    f = np.concatenate([x, level[:, None], target[:, None]], 1).astype(np.float32)
    t = _t(f)

    def loss(q):
        # CORAL (Cao et al. 2020): one shared weight vector, K - 1 biases; beside a pinball loss
        h = F.relu(_lin(q, t[:, 0:5], "fc1"))
        logits = F.linear(h, q["fc2.weight"]) + q["b"]
        levels = (torch.from_numpy(level)[:, None] > torch.arange(4)).double()
        ce = F.binary_cross_entropy_with_logits(logits, levels, reduction="none").sum(1)
        tau = torch.tensor([0.1, 0.5, 0.9], dtype=D)
        e = t[:, 6:7] - _lin(q, h, "q")
        pinball = torch.maximum(tau * e, (tau - 1) * e).sum(1)
        return (ce + pinball).mean()
    return [f, _NO_LABEL], 8, (), loss

def _edl_batch():
    f, y, t = _rows_and_class(273, 6, 2)

    def loss(q):
        # evidential deep learning (Sensoy et al. 2018), eq. 4 with the KL to Dir(1) at weight 0.5
        yy = F.one_hot(torch.from_numpy(y).long(), 3).double()
        alpha = F.softplus(_lin(q, F.relu(_lin(q, t[:, :6], "fc1")), "fc2")) + 1
        s = alpha.sum(1, keepdim=True)
        nll = (yy * (torch.digamma(s) - torch.digamma(alpha))).sum(1)
        at = yy + (1 - yy) * alpha
        st = at.sum(1, keepdim=True)
        kl = (torch.lgamma(st.squeeze(1)) - torch.lgamma(torch.tensor(3.0, dtype=D)) - torch.lgamma(at).sum(1)
              + ((at - 1) * (torch.digamma(at) - torch.digamma(st))).sum(1))
        return (nll + 0.5 * kl).mean()
    return [f, _NO_LABEL], 8, (), loss


def _gamma15_batch():
    x = np.array([0.01, 0.05, 0.3, 0.9, 1.0, 1.5, 2.0, 2.5, 4.0, 5.5, 7.0, 11.0, 30.0, 120.0, 1e3, 3e4],
                 np.float32).reshape(8, 2)
    t = _t(x)

    def loss(q):
        z = t * torch.exp(q["w"])
        return (torch.lgamma(z) * 0.3 + torch.digamma(z) + torch.lgamma(z + 0.5)
                - 0.7 * torch.digamma(2.0 * z)).sum(1).mean()
    return [x, _NO_LABEL], 8, (), loss



def _hints15_batch():
    f = np.random.default_rng(275).standard_normal((8, 6)).astype(np.float32)
    f[0, 3:6] = 0.0
    t = _t(f)

    def loss(q):
        a = torch.exp(_lin(q, t[:, 0:3], "a"))
        p = F.softmax(_lin(q, t[:, 0:3], "p"), 1)
        x = torch.relu(t[:, 3:6])
        y = torch.sigmoid(_lin(q, t[:, 0:3], "y"))
        lp = torch.distributions.Dirichlet(a).log_prob(p)
        return (lp + (torch.polygamma(1, a) + torch.xlogy(x, y) + torch.special.gammaln(a)).sum(1)).mean()
    return [f, _NO_LABEL], 8, (), loss


def _counts15_batch():
    rng = np.random.default_rng(276)
    f = np.concatenate([rng.standard_normal((8, 4)), rng.poisson(2.5, size=(8, 4))], 1).astype(np.float32)
    f[0, 4:8] = [0, 1, 2, 9]
    t = _t(f)

    def loss(q):
        x, k = t[:, 0:4], t[:, 4:8]
        poisson = F.poisson_nll_loss(_lin(q, x, "rate"), k, log_input=True, full=True, reduction="none")
        mu, theta = torch.exp(_lin(q, x, "mu")), torch.exp(_lin(q, x, "theta"))
        lt = torch.log(theta + mu + 1e-8)                          # scVI's log_nb_positive
        log_nb = (theta * (torch.log(theta + 1e-8) - lt) + k * (torch.log(mu + 1e-8) - lt)
                  + torch.lgamma(k + theta) - torch.lgamma(theta) - torch.lgamma(k + 1))
        return (poisson.mean(1) - log_nb.sum(1)).mean()
    return [f, _NO_LABEL], 8, (), loss


def _ce15_batch():
    rng = np.random.default_rng(277)
    t = rng.integers(0, 4, size=(8, 5))
    t[rng.random((8, 5)) < 0.25] = -100
    f = np.concatenate([rng.standard_normal((8, 6)), t, rng.random((8, 5)), rng.integers(0, 4, size=(8, 1))],
                       1).astype(np.float32)
    x = _t(f[:, 0:6])
    tt, y = torch.from_numpy(t).long(), torch.from_numpy(f[:, 16]).long()

    def loss(q):
        w = torch.arange(1, 5, dtype=D) * 0.5
        l1, l2, l3 = _lin(q, x, "a"), _lin(q, x, "b").reshape(8, 5, 4), _lin(q, x, "c").reshape(8, 4, 5)
        ce = F.cross_entropy
        a = ce(l1, y, weight=w, label_smoothing=0.1, reduction="none")
        b = (ce(l2.reshape(-1, 4), tt.reshape(-1), reduction="none").reshape(8, 5) * _t(f[:, 11:16])).sum(1)
        c = ce(l3, tt, reduction="none").sum(1)
        d = ce(l1, y, label_smoothing=0.2, reduction="sum")
        e = ce(l2.reshape(-1, 4), tt.reshape(-1), weight=w, reduction="sum")
        return (a + b + c + d + e).mean()
    return [f, _NO_LABEL], 8, (), loss

def run(build):
    return [_check(build, "simsiam", SIMSIAM_DLN, 260, _simsiam_batch),
            _check(build, "tagger", BIGRU_DLN, 261, _bigru_batch),
            _check(build, "gsvae", GSVAE_DLN, 262, _gsvae_batch),
            _check(build, "gshard", GSHARD_DLN, 262, lambda: _gsvae_batch(hard=True)),
            _check(build, "supcon", SUPCON_DLN, 263, _supcon_batch),
            _check(build, "fixmatch", FIXMATCH_DLN, 264, _fixmatch_batch),
            _check(build, "lovasz", LOVASZ_DLN, 265, _lovasz_batch),
            _check(build, "fns15", FNS15_DLN, 266, _fns15_batch),
            _check(build, "mteacher", MT_DLN, 267, _mteacher_batch),
            _check(build, "vat", VAT_DLN, 268, _vat_batch),
            _check(build, "dec", DEC_DLN, 269, _dec_batch),
            _check(build, "memn2n", MEMN2N_DLN, 270, _memn2n_batch),
            _check(build, "cnp", CNP_DLN, 271, _cnp_batch),
            _check(build, "coral", CORAL_DLN, 272, _coral_batch),
            _check(build, "edl", EDL_DLN, 273, _edl_batch),
            _check(build, "gamma15", GAMMA15_DLN, 274, _gamma15_batch),
            _check(build, "hints15", HINTS15_DLN, 275, _hints15_batch),
            _check(build, "counts15", COUNTS15_DLN, 276, _counts15_batch),
            _check(build, "ce15", CE15_DLN, 277, _ce15_batch)]


if __name__ == "__main__":
    import sys
    from harness import Build
    b = Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    for r in run(b):
        print("ok  " if r["ok"] else "FAIL", r["case"].describe(), r["fwd"], r["grad"], r.get("detail") or "")
