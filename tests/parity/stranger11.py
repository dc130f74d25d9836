"""stranger11.py — the eleventh round of course models written from docs/language.md alone
(section `stranger`), each one training step's loss and every gradient against a float64
PyTorch twin with the same weights, as stranger10.py's rows (the models stranger7.py and
stranger9.py already check — CLIP, MAE, Barlow Twins, DINO, ALiBi, a BiLSTM-CRF, a pointer
network, BYOL, MoCo — are not repeated). Sequences: a word-level LSTM language model with the
input embedding tied to the output projection (`embedding(..., name = "emb")` and
`dense(h, V, init = normal(), name = "emb")` declaring one `emb.weight`; dropout between the two
layers set to 0 so the step is deterministic), a GRU encoder and a GRU decoder with Bahdanau
attention (`additive_attention` with the previous state) under teacher forcing on padded
"reverse" pairs, a BiLSTM-CRF tagger over padded sentences (the LSTM's `mask` of lengths,
torchcrf's masked forward algorithm in a `scan` with `logsumexp` and `where`, the gold path's
transitions by `pick` of `take`n rows, the stop score at each sentence's last tag). RL: PPO's clipped surrogate, value loss and entropy bonus, the advantages by
GAE in a reverse `scan` over rewards, episode ends and the critic's values, the next value a
carry. Meta-learning: prototypical networks (class means of the support embeddings, squared
Euclidean distances, cross-entropy over the queries); a hypernetwork (a static one from a learned
layer embedding, a per-sample one from a condition). Self-supervision: VICReg (invariance,
variance with the unbiased standard deviation, off-diagonal covariance). Attention: Linformer's
length projection of keys and values. A Neural ODE block, fixed-step RK4 in a `repeat` with
the stages sharing one block by name. Golden `course_ports11` and `runtime_shift` hold the
errors a port of these from PyTorch meets first, each hint giving the form used here."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _check, _t
from stranger7 import reverse_pairs
from stranger8 import _lin

D = torch.float64

LM_DLN = """
model lm(features: f32[N, 9]) -> f32[N] {
    tokens = cast_i32(features)
    x = tokens[:, 0:8]
    y = tokens[:, 1:9]
    e = embedding(x, 20, 16, name = "emb")
    h = lstm(e, 16, layers = 2, dropout = 0.0, name = "rnn")
    h = dropout(h, p = 0.0)
    logits = dense(h, 20, init = normal(), name = "emb")         # tied: emb.weight [20, 16] is the output projection
    return expand(cross_entropy(logits, y), [N])
}
train lm {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


PPO_DLN = """
model ppo(features: f32[N, 48]) -> f32[N] {
    states = reshape(features[:, 0:24], [N, 6, 4])
    act = cast_i32(features[:, 24:30])
    old_logp = features[:, 30:36]
    rew = features[:, 36:42]
    done = features[:, 42:48]                                        # 1.0 where an episode ended at step t
    h = tanh(dense(states, 16, name = "body"))
    logp = log_softmax(dense(h, 3, name = "pi"), axis = 2)          # f32[N, 6, 3]
    v = dense(h, 1, name = "v")[:, :, 0]                             # f32[N, 6]
    vs = stop_grad(v)
    a = zeros(N)
    vn = zeros(N)                                                    # V(s_{t+1}): 0 after the last step
    adv = scan reverse rt in rew, dt in done, vt in vs carry a, vn {
        a = rt + 0.99 * vn * (1.0 - dt) - vt + 0.99 * 0.95 * (1.0 - dt) * a    # GAE(gamma 0.99, lambda 0.95)
        vn = vt
        yield a
    }
    ret = adv + vs
    advn = (adv - mean(adv)) / (sqrt(mean((adv - mean(adv)) ** 2)) + 1e-8)
    ratio = exp(pick(logp, act) - old_logp)
    surr = minimum(ratio * advn, clamp(ratio, min = 0.8, max = 1.2) * advn)
    ent = -sum(exp(logp) * logp, axis = 2)
    return -mean(surr, axis = 1) + 0.5 * mean((v - ret) ** 2, axis = 1) - 0.01 * mean(ent, axis = 1)
}
train ppo {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


MLP_DLN = """
block embed(x: f32) -> f32 {                                 # the encoder of both PROTO_DLN and VICREG_DLN
    return dense(relu(dense(x, 16, name = "fc1")), 8, name = "fc2")
}
"""

PROTO_DLN = MLP_DLN + """
model proto(features: f32[N, 36]) -> f32[N] {
    support = reshape(features[:, 0:24], [N, 3, 2, 4])       # 3 classes, 2 shots each
    query = reshape(features[:, 24:36], [N, 3, 4])           # one query per class, in class order
    protos = mean(embed(support, name = "enc"), axis = 2)    # f32[N, 3, 8]
    q = embed(query, name = "enc")                           # f32[N, 3, 8]
    dist = sum((unsqueeze(q, 2) - unsqueeze(protos, 1)) ** 2, axis = 3)    # f32[N, 3, 3]
    target = expand(cast_i32(arange(3)), [N, 3])
    return expand(cross_entropy(-dist, target), [N])
}
train proto {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


VICREG_DLN = MLP_DLN + """
model vicreg(features: f32[N, 12]) -> f32[N] {
    za = embed(features[:, 0:6], name = "enc")
    zb = embed(features[:, 6:12], name = "enc")
    inv = mse(za, zb)
    n = numel(za, axis = 0)
    ca = za - mean(za, axis = 0, keepdims = true)
    cb = zb - mean(zb, axis = 0, keepdims = true)
    sa = sqrt(sum(ca ** 2, axis = 0) / (n - 1.0) + 1e-4)
    sb = sqrt(sum(cb ** 2, axis = 0) / (n - 1.0) + 1e-4)
    var = mean(relu(1.0 - sa)) / 2.0 + mean(relu(1.0 - sb)) / 2.0
    cova = transpose(ca) @ ca / (n - 1.0)
    covb = transpose(cb) @ cb / (n - 1.0)
    off = 1.0 - eye(8)
    cov = sum((cova * off) ** 2) / 8.0 + sum((covb * off) ** 2) / 8.0
    return expand(25.0 * inv + 25.0 * var + cov, [N])
}
train vicreg {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


LINFORMER_DLN = """
model linformer(features: f32[N, 64]) -> f32[N] {
    x = reshape(features, [N, 8, 8])
    q = dense(x, 8, name = "q")
    k = dense(x, 8, name = "k")
    v = dense(x, 8, name = "v")
    param E: f32[4, 8] = normal(std = 0.3)                    # length 8 projected to 4
    param F: f32[4, 8] = normal(std = 0.3)
    h = attention(q, E @ k, F @ v, heads = 2)                 # f32[N, 8, 8]
    y = dense(h, 8, name = "out")
    return mean(y ** 2, axis = [1, 2])
}
train linformer {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


NODE_DLN = """
block odefunc(z: f32[N, D]) -> f32[N, D] {
    return dense(tanh(dense(z, 16, name = "l1")), D, name = "l2")
}
model node(features: f32[N, 4]) -> f32[N, 3] {
    z = dense(features, 6, name = "inp")
    dt = 0.25
    repeat 4 {
        k1 = odefunc(z, name = "f")
        k2 = odefunc(z + dt / 2.0 * k1, name = "f")
        k3 = odefunc(z + dt / 2.0 * k2, name = "f")
        k4 = odefunc(z + dt * k3, name = "f")
        z = z + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    }
    return dense(z, 3, name = "head")
}
train node {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


HYPER_DLN = """
model hyper(features: f32[N, 8]) -> f32[N, 3] {
    x = features[:, 0:6]
    c = features[:, 6:8]                                      # a per-sample condition
    param z: f32[4] = normal()                                # the layer embedding
    w = reshape(dense(unsqueeze(z, 0), 8 * 6, name = "hw"), [8, 6])     # a static hypernetwork
    h = relu(x @ transpose(w))
    wn = reshape(dense(c, 3 * 8, name = "hc"), [N, 3, 8])     # per-sample weights of the head
    return sum(wn * unsqueeze(h, 1), axis = 2)
}
train hyper {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


BAHDANAU_DLN = """
model bahdanau(source: i32[N, 5], target_in: i32[N, 6]) -> f32[N, 6, 10] {
    smask = source != 0                                    # 1.0 at real source tokens (0 is PAD)
    enc = gru(embedding(source, 10, 6, name = "src_emb"), 8, mask = smask, name = "enc")   # f32[N, 5, 8]
    e = embedding(target_in, 10, 6, name = "tgt_emb")      # teacher forcing: the gold previous tokens
    param w_ih: f32[24, 14] = uniform(low = -0.35, high = 0.35)
    param w_hh: f32[24, 8] = uniform(low = -0.35, high = 0.35)
    param b_ih: f32[24] = zeros
    param b_hh: f32[24] = zeros
    h = zeros(N, 8)
    ys = scan et in e carry h {
        ctx, wts = additive_attention(h, enc, 8, mask = smask, name = "att")   # attend with the previous state
        gt = concat([et, ctx], axis = 1) @ transpose(w_ih) + b_ih
        h, y = gru_step(gt, 1.0, h, w_hh, b_hh)
        yield concat([y, ctx], axis = 1)
    }
    return dense(ys, 10, name = "out")
}
train bahdanau {
    data  = seq2seq_task("reverse", length = 5, min_length = 2, digits = 6, batch = 4)
    loss  = cross_entropy(output, target, ignore_index = 0)
    optim = sgd(lr = 0.1)
}
"""


CRFM_DLN = """
model crfm(features: f32[N, 13]) -> f32[N] {
    tokens = cast_i32(features[:, 0:6])
    tags = cast_i32(features[:, 6:12])
    mask = reshape(arange(6), [1, 6]) < features[:, 12:13]             # f32[N, 6]: 1.0 within each length
    e = embedding(tokens, 10, 4, name = "emb")
    em = dense(lstm(e, 5, bidirectional = true, mask = mask, name = "rnn"), 3, name = "emit")   # f32[N, 6, 3]
    param trans: f32[3, 3] = normal(std = 0.1)                          # trans[i, j]: tag i then tag j
    param start: f32[3] = normal(std = 0.1)
    param stop: f32[3] = normal(std = 0.1)
    alpha = start + em[:, 0]                                            # f32[N, 3]
    scan et in em[:, 1:], mt in mask[:, 1:] carry alpha {
        nxt = logsumexp(unsqueeze(alpha, 2) + trans + unsqueeze(et, 1), axis = 1)
        alpha = where(unsqueeze(mt, 1) > 0.0, nxt, alpha)                # past the end: unchanged
    }
    log_z = logsumexp(alpha + stop, axis = 1)
    last = mask - concat([mask[:, 1:], zeros(N, 1)], axis = 1)          # 1.0 at each sequence's last tag
    gold = sum(pick(em, tags) * mask, axis = 1) + take(start, tags[:, 0]) + sum(take(stop, tags) * last, axis = 1)
         + sum(pick(take(trans, tags[:, 0:5]), tags[:, 1:6]) * mask[:, 1:], axis = 1)
    return log_z - gold
}
train crfm {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _lstm_layer(x, p, k, mask=None, reverse=False):
    """nn.LSTM's one layer, batch first, gates i, f, g, o; with a mask, a packed sequence's
    (the state kept and the output 0 past each length, the reverse direction from its end)."""
    n, t, _ = x.shape
    H = p[k.replace("*", "weight_hh")].shape[1]
    h = c = torch.zeros(n, H, dtype=D)
    ys = [None] * t
    for s in (reversed(range(t)) if reverse else range(t)):
        g = (x[:, s] @ p[k.replace("*", "weight_ih")].T + p[k.replace("*", "bias_ih")]
             + h @ p[k.replace("*", "weight_hh")].T + p[k.replace("*", "bias_hh")])
        i, f, gg, o = g.chunk(4, 1)
        c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        h2 = torch.sigmoid(o) * torch.tanh(c2)
        m = torch.ones(n, 1, dtype=D) if mask is None else mask[:, s:s + 1]
        h, c = m * h2 + (1 - m) * h, m * c2 + (1 - m) * c
        ys[s] = h2 * m
    return torch.stack(ys, 1)


def _lm_batch():
    tok = np.random.default_rng(180).integers(0, 20, (8, 9)).astype(np.float32)

    def loss(p):
        t = torch.from_numpy(tok).long()
        h = p["emb.weight"][t[:, :8]]
        for layer in ("l0", "l1"):                                   # nn.LSTM(16, 16, num_layers=2, dropout=p)
            h = _lstm_layer(h, p, "rnn.*_" + layer)
        logits = h @ p["emb.weight"].T + p["emb.bias"]              # decoder.weight = encoder.weight
        return F.cross_entropy(logits.reshape(-1, 20), t[:, 1:].reshape(-1))
    return [tok, np.zeros((8,), np.float32)], 8, (), loss


def _ppo_batch():
    rng = np.random.default_rng(181)
    f = np.concatenate([rng.standard_normal((8, 24)), rng.integers(0, 3, (8, 6)), -rng.uniform(0.5, 1.5, (8, 6)),
                        rng.standard_normal((8, 6)), rng.random((8, 6)) < 0.2], 1).astype(np.float32)

    def loss(p):
        ft = _t(f)
        s, a, old = ft[:, :24].reshape(8, 6, 4), torch.from_numpy(f[:, 24:30]).long(), ft[:, 30:36]
        r, done = ft[:, 36:42], ft[:, 42:]
        h = torch.tanh(_lin(s, p, "body"))
        logp = F.log_softmax(_lin(h, p, "pi"), 2)
        v = _lin(h, p, "v")[..., 0]
        vs = v.detach()
        adv, gae = torch.zeros(8, 6, dtype=D), torch.zeros(8, dtype=D)
        for t in reversed(range(6)):                                 # CleanRL's GAE loop, done_t ending step t
            nv = vs[:, t + 1] if t < 5 else torch.zeros(8, dtype=D)
            gae = r[:, t] + 0.99 * nv * (1 - done[:, t]) - vs[:, t] + 0.99 * 0.95 * (1 - done[:, t]) * gae
            adv[:, t] = gae
        ret = adv + vs
        advn = (adv - adv.mean()) / (((adv - adv.mean()) ** 2).mean().sqrt() + 1e-8)
        ratio = torch.exp(logp.gather(2, a[..., None])[..., 0] - old)
        pg = -torch.min(ratio * advn, ratio.clamp(0.8, 1.2) * advn).mean(1)
        ent = -(logp.exp() * logp).sum(2).mean(1)
        return (pg + 0.5 * ((v - ret) ** 2).mean(1) - 0.01 * ent).mean()
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _proto_batch():
    f = np.random.default_rng(182).standard_normal((8, 36)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        emb = lambda v: _lin(F.relu(_lin(v, p, "enc.fc1")), p, "enc.fc2")     # noqa: E731
        protos = emb(ft[:, :24].reshape(8, 3, 2, 4)).mean(2)
        q = emb(ft[:, 24:].reshape(8, 3, 4))
        dist = torch.cdist(q, protos) ** 2                                  # Snell et al.: squared Euclidean
        return F.cross_entropy(-dist.reshape(-1, 3), torch.arange(3).repeat(8))
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _off_diagonal(m):
    return m.flatten()[:-1].view(m.shape[0] - 1, m.shape[0] + 1)[:, 1:].flatten()


def _vicreg_batch():
    f = np.random.default_rng(183).standard_normal((8, 12)).astype(np.float32)

    def loss(p):
        ft = _t(f)
        emb = lambda v: _lin(F.relu(_lin(v, p, "enc.fc1")), p, "enc.fc2")     # noqa: E731
        x, y = emb(ft[:, :6]), emb(ft[:, 6:])
        repr_loss = F.mse_loss(x, y)                                         # facebookresearch/vicreg's forward
        x, y = x - x.mean(0), y - y.mean(0)
        std_x, std_y = torch.sqrt(x.var(0) + 1e-4), torch.sqrt(y.var(0) + 1e-4)
        std_loss = F.relu(1 - std_x).mean() / 2 + F.relu(1 - std_y).mean() / 2
        cov_x, cov_y = x.T @ x / 7, y.T @ y / 7
        cov_loss = _off_diagonal(cov_x).pow(2).sum() / 8 + _off_diagonal(cov_y).pow(2).sum() / 8
        return 25 * repr_loss + 25 * std_loss + cov_loss
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def _linformer_batch():
    f = np.random.default_rng(184).standard_normal((8, 64)).astype(np.float32)

    def loss(p):
        x = _t(f).reshape(8, 8, 8)
        q, k, v = (_lin(x, p, n) for n in "qkv")
        k, v = p["E"] @ k, p["F"] @ v                                          # [N, 4, 8]: the length projected
        heads = lambda a: a.reshape(8, -1, 2, 4).transpose(1, 2)              # noqa: E731
        a = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / 2.0, -1)     # scale 1/sqrt(4)
        h = (a @ heads(v)).transpose(1, 2).reshape(8, 8, 8)
        return (_lin(h, p, "out") ** 2).mean((1, 2)).mean()
    return [f, np.zeros((8,), np.float32)], 8, (), loss


def node_loss(p, x, y):
    f = lambda z: _lin(torch.tanh(_lin(z, p, "f.l1")), p, "f.l2")             # noqa: E731
    z, dt = _lin(x, p, "inp"), 0.25
    for _ in range(4):                                                         # torchdiffeq's fixed-grid rk4
        k1 = f(z)
        k2 = f(z + dt / 2 * k1)
        k3 = f(z + dt / 2 * k2)
        k4 = f(z + dt * k3)
        z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return F.cross_entropy(_lin(z, p, "head"), y)


def _hyper_batch():
    rng = np.random.default_rng(185)
    f = rng.standard_normal((8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8).astype(np.int32)

    def loss(p):
        ft = _t(f)
        w = _lin(p["z"][None], p, "hw").reshape(8, 6)                         # Ha et al.'s static hypernetwork
        h = F.relu(ft[:, :6] @ w.T)
        wn = _lin(ft[:, 6:], p, "hc").reshape(8, 3, 8)
        return F.cross_entropy(torch.bmm(wn, h[:, :, None])[..., 0], torch.from_numpy(y).long())
    return [f, y], 8, (), loss



def _gru_cell(gx, h, w_hh, b_hh):
    """nn.GRU's step from the input's projection gx (b_ih included): gates r, z, n."""
    gh = h @ w_hh.T + b_hh
    H = h.shape[1]
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def _bahdanau_batch():
    src, tin, tgt = reverse_pairs(np.random.default_rng(186), (5, 2, 4, 3), 10)

    def loss(p):
        s, ti = torch.from_numpy(src).long(), torch.from_numpy(tin).long()
        m = (s != 0).to(D)
        x, h, enc = p["src_emb.weight"][s], torch.zeros(4, 8, dtype=D), []
        for t in range(5):                                   # the packed-sequence GRU: state kept at PAD
            h2 = _gru_cell(x[:, t] @ p["enc.weight_ih_l0"].T + p["enc.bias_ih_l0"], h, p["enc.weight_hh_l0"],
                           p["enc.bias_hh_l0"])
            mt = m[:, t:t + 1]
            h = mt * h2 + (1 - mt) * h
            enc.append(h2 * mt)                              # pad_packed_sequence's zeros
        enc = torch.stack(enc, 1)
        keys = enc @ p["att.key.weight"].T
        e, h, ys = p["tgt_emb.weight"][ti], torch.zeros(4, 8, dtype=D), []
        for t in range(6):                                   # Bahdanau et al.: score with s_{t-1}, then the step
            sc = (torch.tanh((h @ p["att.query.weight"].T)[:, None] + keys) @ p["att.score.weight"].T)[..., 0]
            a = torch.softmax(sc.masked_fill(m == 0, -1e9), 1)
            ctx = (a[..., None] * enc).sum(1)
            h = _gru_cell(torch.cat([e[:, t], ctx], 1) @ p["w_ih"].T + p["b_ih"], h, p["w_hh"], p["b_hh"])
            ys.append(torch.cat([h, ctx], 1))
        logits = _lin(torch.stack(ys, 1), p, "out")
        return F.cross_entropy(logits.reshape(-1, 10), torch.from_numpy(tgt).long().reshape(-1), ignore_index=0)
    return [src, tin, tgt], 4, (), loss


def _crfm_batch():
    rng = np.random.default_rng(187)
    lens = np.array([6, 3, 5, 1])
    tok = rng.integers(1, 10, (4, 6))
    tags = rng.integers(0, 3, (4, 6))
    for i, L in enumerate(lens):                              # PAD (token 0, tag 0) past each length
        tok[i, L:] = 0
        tags[i, L:] = 0
    f = np.concatenate([tok, tags, lens[:, None]], 1).astype(np.float32)

    def loss(p):
        tg = torch.from_numpy(tags).long()
        m = (torch.arange(6)[None] < torch.from_numpy(lens)[:, None]).to(D)
        x = p["emb.weight"][torch.from_numpy(tok).long()]
        h = torch.cat([_lstm_layer(x, p, "rnn.*_l0", m), _lstm_layer(x, p, "rnn.*_l0_reverse", m, True)], 2)
        em = _lin(h, p, "emit")
        tr, st, sp, mb = p["trans"], p["start"], p["stop"], m.bool()
        score = st + em[:, 0]                                 # torchcrf's _compute_normalizer
        for i in range(1, 6):
            nxt = torch.logsumexp(score[:, :, None] + tr + em[:, i, None], 1)
            score = torch.where(mb[:, i, None], nxt, score)
        log_z = torch.logsumexp(score + sp, 1)
        ar = torch.arange(4)
        gold = st[tg[:, 0]] + em[ar, 0, tg[:, 0]]             # torchcrf's _compute_score
        for i in range(1, 6):
            gold = gold + (tr[tg[:, i - 1], tg[:, i]] + em[ar, i, tg[:, i]]) * m[:, i]
        gold = gold + sp[tg[ar, torch.from_numpy(lens) - 1]]
        return (log_z - gold).mean()
    return [f, np.zeros((4,), np.float32)], 4, (), loss


def run(build):
    cls = lambda seed, shape, k, fn: lambda: S.classes_batch(seed, shape, k, fn)          # noqa: E731
    return [_check(build, "lm", LM_DLN, 190, _lm_batch),
            _check(build, "ppo", PPO_DLN, 191, _ppo_batch),
            _check(build, "proto", PROTO_DLN, 192, _proto_batch),
            _check(build, "vicreg", VICREG_DLN, 193, _vicreg_batch),
            _check(build, "linformer", LINFORMER_DLN, 194, _linformer_batch),
            _check(build, "node", NODE_DLN, 195, cls(196, (8, 4), 3, node_loss)),
            _check(build, "hyper", HYPER_DLN, 197, _hyper_batch),
            _check(build, "bahdanau", BAHDANAU_DLN, 198, _bahdanau_batch),
            _check(build, "crfm", CRFM_DLN, 199, _crfm_batch)]
