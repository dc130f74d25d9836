"""stranger9.py — the ninth round of course models written from docs/language.md alone
(section `stranger`, rows "sequence, attention, self-supervised and RL models from the docs"), each
one training step's loss and every gradient against a float64 PyTorch twin with the same weights,
as stranger6.py's rows: a mixture of experts (softmax router, top-2 by `topk`, the chosen experts
combined by their renormalized gates, Switch's load-balancing loss; the experts collected by list
`+` in a `repeat`), a Mamba-style selective scan (input-dependent dt, B, C; `h = exp(dt A) h + dt B x`
in a `scan` with a rank-3 state), RWKV's time mixing (token shift by `pad`, the WKV numerator and
denominator as two carries), REINFORCE with a batch-mean baseline and A2C with a critic and an
entropy bonus on recorded trajectories (returns by `scan reverse`), a ConvLSTM over three frames,
image captioning with teacher forcing (image features as the LSTM's initial state, or as its
first input with `ignore_index = 0`), BYOL (EMA target buffers, predictor, `normalize`), MoCo
(momentum key encoder, InfoNCE against a queue buffer kept by `enqueue`, the queue itself checked
after two steps of a run-time batch), SwAV (Sinkhorn-Knopp in a `repeat`, swapped prediction),
a Perceiver (latents by `expand` cross-attending to the input), a Set Transformer with Deep Sets
(SAB, PMA, sum pooling), Longformer's band-and-global mask (`-inf`), T5's relative position
buckets as `attention`'s mask, Transformer-XL's segment memory (a per-sample buffer; the second
segment's step checked); row `fns`: the formulas the hints give for PyTorch functions without a
builtin (masked_fill, flip, var, std, rsqrt, norm, cosine_similarity, cumprod, einsum) and the
stdlib's `logsumexp` and `normalize` (a zero row); row `draw`: the Gumbel-max draws
(`multinomial`'s hint) and `gumbel_softmax` by their probabilities, `logsumexp` of `-inf`.
"""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
from stranger6 import _check, _frozen, _t

D = torch.float64


def _trained(src, batch=8):
    """A model's source with the train section of this file's rows: the mean of its per-sample
    output, one SGD step (the twin's `loss` is that mean)."""
    name = src.split("model ", 1)[1].split("(", 1)[0]
    return src + (f'train {name} {{\n    data  = csv("unused.csv", batch = {batch}, classify = false)\n'
                  '    loss  = mean(output)\n    optim = sgd(lr = 0.1)\n}\n')


MOE_DLN = _trained("""
block expert(x: f32[N, D], hidden: int, out: int) -> f32[N, out] {
    return dense(relu(dense(x, hidden, name = "fc1")), out, name = "fc2")
}
model moe(features: f32[N, 9]) -> f32[N] {
    x = features[:, 0:8]
    y = cast_i32(features[:, 8])
    E = 4
    gates = softmax(dense(x, E, use_bias = false, name = "router"), axis = 1)     # f32[N, 4]
    topv, topi = topk(gates, 2, axis = 1)                                          # f32[N, 2], i32[N, 2]
    w = topv / sum(topv, axis = 1, keepdims = true)                                # renormalized top-2
    combine = sum(one_hot(topi, E) * unsqueeze(w, 2), axis = 1)                    # f32[N, 4]: 0 off the top-2
    outs = []
    repeat e in E {
        outs = outs + [expert(x, 16, 3)]                                           # expert0 .. expert3
    }
    h = sum(stack(outs, axis = 1) * unsqueeze(combine, 2), axis = 1)              # f32[N, 3]
    frac = mean(one_hot(topi[:, 0], E), axis = 0)                                  # share of samples per expert (top-1)
    prob = mean(gates, axis = 0)                                                   # mean router probability per expert
    aux = E * sum(frac * prob)                                                     # Switch's load-balancing loss
    return -pick(log_softmax(h, axis = 1), y) + 0.01 * aux
}
""")


MAMBA_DLN = _trained("""
model mamba(features: f32[N, 24]) -> f32[N] {
    x = reshape(features, [N, 6, 4])                            # T = 6 steps of D = 4 channels
    dt = softplus(dense(x, 4, name = "dt_proj"))                # f32[N, 6, 4]: input-dependent step
    b = dense(x, 3, use_bias = false, name = "b_proj")          # f32[N, 6, 3]: state size 3
    c = dense(x, 3, use_bias = false, name = "c_proj")
    param a_log: f32[4, 3] = zeros
    param d_skip: f32[4] = ones
    a = -exp(a_log)                                             # f32[4, 3]
    h = zeros(N, 4, 3)
    ys = scan xt in x, dtt in dt, bt in b, ct in c carry h {
        da = exp(unsqueeze(dtt, 2) * a)                         # f32[N, 4, 3]
        h = da * h + unsqueeze(dtt * xt, 2) * unsqueeze(bt, 1)
        yield sum(h * unsqueeze(ct, 1), axis = 2)               # f32[N, 4]
    }
    y = ys + x * d_skip                                         # f32[N, 6, 4]
    out = dense(y * silu(dense(x, 4, name = "gate")), 2, name = "out")
    return sum(mean(out ** 2, axis = 1), axis = 1)
}
""")


RWKV_DLN = _trained("""
model rwkv(features: f32[N, 24]) -> f32[N] {
    x = reshape(features, [N, 6, 4])
    xx = pad(x, [0, 0, 1, 0])[:, 0:6]                           # x shifted one step later (token shift)
    param mix_k: f32[4] = 0.5
    param mix_v: f32[4] = 0.5
    param mix_r: f32[4] = 0.5
    param time_decay: f32[4] = zeros
    param time_first: f32[4] = zeros
    k = dense(x * mix_k + xx * (1.0 - mix_k), 4, use_bias = false, name = "key")
    v = dense(x * mix_v + xx * (1.0 - mix_v), 4, use_bias = false, name = "value")
    r = sigmoid(dense(x * mix_r + xx * (1.0 - mix_r), 4, use_bias = false, name = "receptance"))
    w = exp(-exp(time_decay))                                   # per-channel decay in (0, 1)
    num = zeros(N, 4)
    den = zeros(N, 4)
    wkv = scan kt in k, vt in v carry num, den {
        e = exp(time_first + kt)
        out = (num + e * vt) / (den + e)
        num = w * num + exp(kt) * vt
        den = w * den + exp(kt)
        yield out
    }
    y = dense(r * wkv, 4, use_bias = false, name = "output")
    return sum(mean(y ** 2, axis = 1), axis = 1)
}
""")


REINFORCE_DLN = _trained("""
model reinforce(features: f32[N, 30]) -> f32[N] {
    s = reshape(features[:, 0:20], [N, 5, 4])                  # 5 recorded steps of a 4-d state
    act = cast_i32(features[:, 20:25])                          # the sampled actions (of 3)
    rew = features[:, 25:30]
    g = zeros(N)
    ret = scan reverse rt in rew carry g {                      # discounted return G_t = r_t + 0.99 G_{t+1}
        g = rt + 0.99 * g
        yield g
    }
    adv = ret - mean(ret, axis = 0, keepdims = true)            # baseline: the batch's mean return per step
    logp = log_softmax(dense(tanh(dense(s, 8, name = "h")), 3, name = "pi"), axis = 2)
    return -sum(pick(logp, act) * adv, axis = 1)
}
""")


A2C_DLN = _trained("""
model a2c(features: f32[N, 30]) -> f32[N] {
    s = reshape(features[:, 0:20], [N, 5, 4])
    act = cast_i32(features[:, 20:25])
    rew = features[:, 25:30]
    g = zeros(N)
    ret = scan reverse rt in rew carry g {
        g = rt + 0.99 * g
        yield g
    }
    h = tanh(dense(s, 8, name = "body"))
    logits = dense(h, 3, name = "actor")
    value = squeeze(dense(h, 1, name = "critic"), 2)            # f32[N, 5]
    logp = log_softmax(logits, axis = 2)
    adv = stop_grad(ret - value)
    entropy = -sum(exp(logp) * logp, axis = 2)
    return sum(-pick(logp, act) * adv + 0.5 * (ret - value) ** 2 - 0.01 * entropy, axis = 1)
}
""")


CONVLSTM_DLN = _trained("""
model convlstm(features: f32[N, 96]) -> f32[N] {
    x = reshape(features, [N, 3, 2, 4, 4])                     # 3 frames of 2 channels, 4x4
    h = zeros(N, 4, 4, 4)
    c = zeros(N, 4, 4, 4)
    hs = scan xt in x carry h, c {
        gates = conv2d(concat([xt, h], axis = 1), 16, kernel = 3, pad = 1, name = "cell")
        i, f, g, o = chunk(gates, 4, axis = 1)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)
        yield h
    }                                                           # hs: f32[N, 3, 4, 4, 4]
    y = conv2d(h, 1, kernel = 1, name = "head")                # the next frame from the last state
    return mean(flatten(y) ** 2, axis = 1) + 0.1 * mean(flatten(hs), axis = 1)
}
""", batch=4)


CAPTION_DLN = _trained("""
model caption(features: f32[N, 70]) -> f32[N] {
    image = reshape(features[:, 0:64], [N, 1, 8, 8])
    tokens = cast_i32(features[:, 64:70])                       # BOS w1 .. w4 EOS, then PAD = 0
    f = relu(conv2d(image, 4, kernel = 3, pad = 1, name = "conv1")) |> maxpool(2)
    feat = dense(flatten(f), 8, name = "enc")                   # f32[N, 8]
    h0 = tanh(dense(feat, 8, name = "init_h"))
    c0 = tanh(dense(feat, 8, name = "init_c"))
    e = embedding(tokens[:, 0:5], 10, 6)                        # teacher forcing: the previous words
    param w_ih: f32[32, 6] = uniform(low = -0.3, high = 0.3)
    param w_hh: f32[32, 8] = uniform(low = -0.3, high = 0.3)
    param b_ih: f32[32] = zeros
    param b_hh: f32[32] = zeros
    ys, h, c = lstm_scan(e, w_ih, w_hh, b_ih, b_hh, h0 = h0, c0 = c0)
    logits = dense(ys, 10, name = "vocab")                      # f32[N, 5, 10]
    target = tokens[:, 1:6]
    keep = target != 0
    return -sum(pick(log_softmax(logits, axis = 2), target) * keep, axis = 1) / sum(keep, axis = 1)
}
""", batch=4)


CAPTION2_DLN = """
model caption2(features: f32[N, 70]) -> (logits: f32[N, 5, 10], target: i32[N, 5]) {
    image = reshape(features[:, 0:64], [N, 1, 8, 8])
    tokens = cast_i32(features[:, 64:70])
    feat = dense(flatten(relu(conv2d(image, 4, kernel = 3, pad = 1, name = "conv1")) |> maxpool(2)), 8, name = "enc")
    e = concat([unsqueeze(feat, 1), embedding(tokens[:, 0:4], 10, 8)], axis = 1)   # the image as the first input
    return dense(lstm(e, 8), 10, name = "vocab"), tokens[:, 1:6]
}
train caption2 {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = cross_entropy(logits, target, ignore_index = 0)
    optim = sgd(lr = 0.1)
}
"""


BYOL_DLN = _trained("""
block mlp2(x: f32[N, K], w1: f32[H, K], b1: f32[H], w2: f32[O, H], b2: f32[O]) -> f32[N, O] {
    return relu(x @ transpose(w1) + b1) @ transpose(w2) + b2
}
model byol(features: f32[N, 12]) -> f32[N] {
    v1 = features[:, 0:6]
    v2 = features[:, 6:12]
    param w1: f32[8, 6] = he_uniform()
    param b1: f32[8] = zeros
    param w2: f32[4, 8] = he_uniform()
    param b2: f32[4] = zeros
    buffer tw1: f32[8, 6] = zeros
    buffer tb1: f32[8] = zeros
    buffer tw2: f32[4, 8] = zeros
    buffer tb2: f32[4] = zeros
    update(tw1, 0.99 * tw1 + 0.01 * w1)
    update(tb1, 0.99 * tb1 + 0.01 * b1)
    update(tw2, 0.99 * tw2 + 0.01 * w2)
    update(tb2, 0.99 * tb2 + 0.01 * b2)
    p1 = dense(relu(dense(mlp2(v1, w1, b1, w2, b2), 8, name = "pred1")), 4, name = "pred2")
    p2 = dense(relu(dense(mlp2(v2, w1, b1, w2, b2), 8, name = "pred1")), 4, name = "pred2")
    t1 = stop_grad(mlp2(v1, tw1, tb1, tw2, tb2))
    t2 = stop_grad(mlp2(v2, tw1, tb1, tw2, tb2))
    return (2.0 - 2.0 * sum(normalize(p1) * normalize(t2), axis = 1)) + (2.0 - 2.0 * sum(normalize(p2) * normalize(t1), axis = 1))
}
""")


MOCO_DLN = _trained("""
block enc(x: f32[N, K], w: f32[D, K], b: f32[D]) -> f32[N, D] {
    return normalize(tanh(x @ transpose(w) + b))
}
model moco(features: f32[N, 12]) -> f32[N] {
    param w: f32[4, 6] = he_uniform()
    param b: f32[4] = zeros
    buffer kw: f32[4, 6] = zeros
    buffer kb: f32[4] = zeros
    buffer queue: f32[16, 4] = 0.25                             # K = 16 negative keys
    update(kw, 0.999 * kw + 0.001 * w)
    update(kb, 0.999 * kb + 0.001 * b)
    q = enc(features[:, 0:6], w, b)
    k = stop_grad(enc(features[:, 6:12], kw, kb))
    pos = sum(q * k, axis = 1, keepdims = true)                 # f32[N, 1]
    neg = q @ transpose(queue)                                  # f32[N, 16]
    logits = concat([pos, neg], axis = 1) / 0.07
    update(queue, enqueue(queue, k))                            # the batch's keys in front, the oldest dropped
    return -log_softmax(logits, axis = 1)[:, 0]
}
""")


SWAV_DLN = _trained("""
block sinkhorn(scores: f32[N, K], eps: float = 0.05, iters: int = 3) -> f32[N, K] {
    q = exp(stop_grad(scores) / eps)                          # f32[N, K]
    q = q / sum(q)
    repeat iters {
        q = q / sum(q, axis = 0, keepdims = true) / 5.0        # columns: each prototype 1/K
        q = q / sum(q, axis = 1, keepdims = true) / N          # rows: each sample 1/N
    }
    return q * N
}
model swav(features: f32[N, 12]) -> f32[N] {
    z1 = normalize(dense(relu(dense(features[:, 0:6], 8, name = "enc")), 4, name = "proj"))
    z2 = normalize(dense(relu(dense(features[:, 6:12], 8, name = "enc")), 4, name = "proj"))
    param prototypes: f32[5, 4] = he_uniform()
    c = normalize(prototypes)
    s1 = z1 @ transpose(c)                                     # f32[N, 5]
    s2 = z2 @ transpose(c)
    q1 = sinkhorn(s1)
    q2 = sinkhorn(s2)
    return -0.5 * sum(q1 * log_softmax(s2 / 0.1, axis = 1) + q2 * log_softmax(s1 / 0.1, axis = 1), axis = 1)
}
""")


PERCEIVER_DLN = _trained("""
model perceiver(features: f32[N, 48]) -> f32[N] {
    x = reshape(features[:, 0:45], [N, 15, 3])                 # 15 input elements of 3 features
    y = cast_i32(features[:, 45])
    param latents: f32[4, 8] = normal(std = 0.5)                # 4 latents of width 8
    lat = expand(latents, [N, 4, 8])
    kv = layer_norm(dense(x, 8, name = "in_proj"), 8, name = "in_norm")
    a = attention(dense(layer_norm(lat, 8, name = "lat_norm"), 8, name = "q"), dense(kv, 8, name = "k"),
                  dense(kv, 8, name = "v"), heads = 1)
    lat = lat + dense(a, 8, name = "o")                         # cross-attention
    h = layer_norm(lat, 8, name = "self_norm")
    lat = lat + dense(attention(dense(h, 8, name = "sq"), dense(h, 8, name = "sk"), dense(h, 8, name = "sv"), heads = 2), 8, name = "so")
    lat = lat + dense(gelu(dense(layer_norm(lat, 8, name = "ff_norm"), 16, name = "ff1")), 8, name = "ff2")
    logits = dense(mean(lat, axis = 1), 3, name = "head")
    return -pick(log_softmax(logits, axis = 1), y)
}
""")


SETTF_DLN = _trained("""
block mab(q: f32[N, T, D], kv: f32[N, S, D], heads: int) -> f32[N, T, D] {
    h = q + attention(dense(q, D, name = "q"), dense(kv, D, name = "k"), dense(kv, D, name = "v"), heads = heads)
    return h + relu(dense(h, D, name = "ff"))
}
model settf(features: f32[N, 25]) -> f32[N] {
    x = reshape(features[:, 0:24], [N, 8, 3])                   # a set of 8 points
    y = features[:, 24]
    h = dense(x, 8, name = "embed")
    h = mab(h, h, 2, name = "sab")                              # set attention block
    param seed: f32[1, 8] = normal(std = 0.5)
    pooled = mab(expand(seed, [N, 1, 8]), h, 2, name = "pma")   # pooling by multihead attention
    ds = dense(relu(sum(dense(x, 8, name = "phi"), axis = 1)), 1, name = "rho")   # Deep Sets: rho(sum phi(x))
    pred = squeeze(dense(pooled[:, 0], 1, name = "out"), 1) + squeeze(ds, 1)
    return (pred - y) ** 2
}
""")


LONGFORMER_DLN = _trained("""
model longformer(features: f32[N, 48]) -> f32[N] {
    T = 12
    x = reshape(features, [N, T, 4])
    i = reshape(arange(T), [T, 1])
    j = reshape(arange(T), [1, T])
    band = abs(i - j) <= 2.0                                    # each token sees 2 neighbours each side
    glob = (i == 0.0) + (j == 0.0) > 0.0                        # token 0 is global
    mask = where(maximum(band, glob), 0.0, -inf)                # 0 to keep, -inf to drop
    h = dense(x, 8, name = "embed")
    a = attention(dense(h, 8, name = "q"), dense(h, 8, name = "k"), dense(h, 8, name = "v"), heads = 2, mask = mask)
    y = dense(h + a, 1, name = "out")
    return mean(squeeze(y, 2) ** 2, axis = 1)
}
""")


T5_DLN = _trained("""
block t5_buckets(T: int, buckets: int = 8, max_distance: int = 16) -> i32[T, T] {
    rel = reshape(arange(T), [1, T]) - reshape(arange(T), [T, 1])      # key - query
    half = buckets / 2
    exact = half / 2
    base = (rel > 0.0) * half                                           # bidirectional: the sign's half
    n = abs(rel)
    large = exact + floor(log(maximum(n, 1.0) / exact) / log(max_distance / exact) * (half - exact))
    large = minimum(large, half - 1.0)
    return cast_i32(base + where(n < exact, n, large))
}
model t5(features: f32[N, 40]) -> f32[N] {
    T = 10
    x = reshape(features, [N, T, 4])
    param rel_bias: f32[8, 2] = normal(std = 0.5)               # one per bucket and head
    bias = transpose(take(rel_bias, t5_buckets(T)), [2, 0, 1])   # f32[2, T, T]
    h = dense(x, 8, name = "embed")
    a = attention(dense(h, 8, use_bias = false, name = "q"), dense(h, 8, use_bias = false, name = "k"),
                  dense(h, 8, use_bias = false, name = "v"), heads = 2, mask = bias, scale = 1.0)
    y = dense(h + a, 1, name = "out")
    return mean(squeeze(y, 2) ** 2, axis = 1)
}
""")


TXL_DLN = _trained("""
model txl(features: f32[N, 24]) -> f32[N] {
    x = reshape(features, [N, 6, 4])                            # one segment of 6 steps
    buffer mem: f32[N, 6, 8] = zeros                            # the previous segment's hidden states
    h = dense(x, 8, name = "embed")
    ctx = concat([mem, h], axis = 1)                            # f32[N, 12, 8]: memory then segment
    i = reshape(arange(6), [6, 1])
    j = reshape(arange(12), [1, 12])
    mask = log(j <= i + 6.0)                                    # causal over memory + segment
    a = attention(dense(h, 8, name = "q"), dense(ctx, 8, name = "k"), dense(ctx, 8, name = "v"), heads = 2, mask = mask)
    h2 = h + a
    update(mem, stop_grad(h2))
    return mean(squeeze(dense(h2, 1, name = "out"), 2) ** 2, axis = 1)
}
""")


def _lin(x, p, k, bias=True):
    return F.linear(x, p[k + ".weight"], p[k + ".bias"] if bias else None)


def _ln(x, p, k):
    return F.layer_norm(x, (x.shape[-1],), p[k + ".weight"], p[k + ".bias"])


def _feat(seed, n, width, ints=()):
    """A batch of `n` rows of `width` features; columns (start, end, high) hold integers in [0, high)."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, width)).astype(np.float32)
    for a, b, high in ints:
        f[:, a:b] = rng.integers(0, high, size=(n, b - a))
    return f


def _batch(seed, n, width, loss, ints=()):
    f = _feat(seed, n, width, ints)
    return lambda: ([f, np.zeros(n, np.float32)], n, (), lambda p: loss(p, _t(f)))


def _moe_loss(p, f):
    x, y = f[:, :8], f[:, 8].long()
    gates = torch.softmax(_lin(x, p, "router", False), 1)
    topv, topi = gates.topk(2, 1)
    combine = torch.zeros_like(gates).scatter(1, topi, topv / topv.sum(1, keepdim=True))
    h = sum(combine[:, e:e + 1] * _lin(F.relu(_lin(x, p, f"expert{e}.fc1")), p, f"expert{e}.fc2") for e in range(4))
    aux = 4 * (F.one_hot(topi[:, 0], 4).double().mean(0) * gates.mean(0)).sum()     # Switch Transformer's
    return (F.cross_entropy(h, y, reduction="none") + 0.01 * aux).mean()


def _mamba_loss(p, f):
    x = f.view(-1, 6, 4)
    dt = F.softplus(_lin(x, p, "dt_proj"))
    b, c = _lin(x, p, "b_proj", False), _lin(x, p, "c_proj", False)
    a = -torch.exp(p["a_log"])
    h = torch.zeros(x.shape[0], 4, 3, dtype=D)
    ys = []
    for t in range(6):                                   # the selective scan, step by step
        h = torch.exp(dt[:, t, :, None] * a) * h + (dt[:, t] * x[:, t])[:, :, None] * b[:, t, None, :]
        ys.append((h * c[:, t, None, :]).sum(2))
    y = torch.stack(ys, 1) + x * p["d_skip"]
    out = _lin(y * F.silu(_lin(x, p, "gate")), p, "out")
    return (out ** 2).mean(1).sum(1).mean()


def _rwkv_loss(p, f):
    x = f.view(-1, 6, 4)
    xx = F.pad(x, (0, 0, 1, -1))                          # nn.ZeroPad2d((0, 0, 1, -1)): RWKV-4's time shift
    mk, mv, mr = p["mix_k"], p["mix_v"], p["mix_r"]
    k = _lin(x * mk + xx * (1 - mk), p, "key", False)
    v = _lin(x * mv + xx * (1 - mv), p, "value", False)
    r = torch.sigmoid(_lin(x * mr + xx * (1 - mr), p, "receptance", False))
    w, u = torch.exp(-torch.exp(p["time_decay"])), p["time_first"]
    num = den = torch.zeros(x.shape[0], 4, dtype=D)
    out = []
    for t in range(6):
        e = torch.exp(u + k[:, t])
        out.append((num + e * v[:, t]) / (den + e))
        num, den = w * num + torch.exp(k[:, t]) * v[:, t], w * den + torch.exp(k[:, t])
    y = _lin(r * torch.stack(out, 1), p, "output", False)
    return (y ** 2).mean(1).sum(1).mean()


def _returns(rew, gamma=0.99):
    g, out = torch.zeros(rew.shape[0], dtype=D), [None] * rew.shape[1]
    for t in reversed(range(rew.shape[1])):
        g = rew[:, t] + gamma * g
        out[t] = g
    return torch.stack(out, 1)


def _reinforce_loss(p, f):
    s, act, ret = f[:, :20].view(-1, 5, 4), f[:, 20:25].long(), _returns(f[:, 25:30])
    logp = torch.log_softmax(_lin(torch.tanh(_lin(s, p, "h")), p, "pi"), 2)
    adv = ret - ret.mean(0, keepdim=True)
    return -(logp.gather(2, act[..., None]).squeeze(2) * adv).sum(1).mean()


def _a2c_loss(p, f):
    s, act, ret = f[:, :20].view(-1, 5, 4), f[:, 20:25].long(), _returns(f[:, 25:30])
    h = torch.tanh(_lin(s, p, "body"))
    logp = torch.log_softmax(_lin(h, p, "actor"), 2)
    value = _lin(h, p, "critic").squeeze(2)
    entropy = torch.distributions.Categorical(logits=logp).entropy()
    lp = logp.gather(2, act[..., None]).squeeze(2)
    return (-lp * (ret - value).detach() + 0.5 * (ret - value) ** 2 - 0.01 * entropy).sum(1).mean()


def _convlstm_loss(p, f):
    x = f.view(-1, 3, 2, 4, 4)
    h = c = torch.zeros(x.shape[0], 4, 4, 4, dtype=D)
    hs = []
    for t in range(3):
        i, fg, g, o = F.conv2d(torch.cat([x[:, t], h], 1), p["cell.weight"], p["cell.bias"], padding=1).chunk(4, 1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    y = F.conv2d(h, p["head.weight"], p["head.bias"])
    return ((y.flatten(1) ** 2).mean(1) + 0.1 * torch.stack(hs, 1).flatten(1).mean(1)).mean()


def _caption_feat(seed):
    f = _feat(seed, 4, 70)
    f[:, 64:70] = [[1, 4, 5, 6, 2, 0], [1, 7, 2, 0, 0, 0], [1, 3, 3, 8, 9, 2], [1, 9, 2, 0, 0, 0]]   # BOS .. EOS, PAD
    return f


def _cnn(p, f):
    img = f[:, :64].view(-1, 1, 8, 8)
    return _lin(F.max_pool2d(F.relu(F.conv2d(img, p["conv1.weight"], p["conv1.bias"], padding=1)), 2).flatten(1), p, "enc")


def _cap_batch(seed, loss, label=True):
    f = _caption_feat(seed)
    return [f] + [np.zeros(4, np.float32)] * label, 4, (), lambda p: loss(p, _t(f))


def _lstm(e, w_ih, w_hh, b_ih, b_hh, h, c):
    """nn.LSTM's recurrence (gates i, f, g, o) from the state (h, c): the outputs [N, T, H]."""
    ys = []
    for t in range(e.shape[1]):
        i, fg, g, o = (e[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, 1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    return torch.stack(ys, 1)


def _caption_loss(p, f):
    tok = f[:, 64:70].long()
    feat = _cnn(p, f)
    e = F.embedding(tok[:, :5], p["embedding0.weight"])
    ys = _lstm(e, p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"], torch.tanh(_lin(feat, p, "init_h")),
               torch.tanh(_lin(feat, p, "init_c")))
    nll = F.cross_entropy(_lin(ys, p, "vocab").transpose(1, 2), tok[:, 1:], ignore_index=0, reduction="none")
    return (nll.sum(1) / (tok[:, 1:] != 0).sum(1)).mean()


def _caption2_loss(p, f):
    tok = f[:, 64:70].long()
    e = torch.cat([_cnn(p, f)[:, None], F.embedding(tok[:, :4], p["embedding0.weight"])], 1)
    zero = torch.zeros(f.shape[0], 8, dtype=D)
    ys = _lstm(e, *[p["lstm0." + k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")], zero, zero)
    return F.cross_entropy(_lin(ys, p, "vocab").reshape(-1, 10), tok[:, 1:].reshape(-1), ignore_index=0)


def _byol_loss(p, f):
    def mlp(x, pre):
        return F.linear(F.relu(F.linear(x, p[pre + "w1"], p[pre + "b1"])), p[pre + "w2"], p[pre + "b2"])

    def pred(x):
        return _lin(F.relu(_lin(mlp(x, ""), p, "pred1")), p, "pred2")
    v1, v2 = f[:, :6], f[:, 6:]
    t1, t2 = mlp(v1, "t").detach(), mlp(v2, "t").detach()
    n = F.normalize
    return ((2 - 2 * (n(pred(v1)) * n(t2)).sum(1)) + (2 - 2 * (n(pred(v2)) * n(t1)).sum(1))).mean()


def _moco_loss(p, f):
    def enc(x, w, b):
        z = torch.tanh(F.linear(x, w, b))
        return z / z.norm(dim=1, keepdim=True)
    q, k = enc(f[:, :6], p["w"], p["b"]), enc(f[:, 6:], p["kw"], p["kb"]).detach()
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ p["queue"].T], 1) / 0.07
    return F.cross_entropy(logits, torch.zeros(f.shape[0], dtype=torch.long))


ENQ_DLN = _trained("""
model enq(x: f32[N, 4]) -> f32[N, 4] {
    buffer queue: f32[3, 4] = zeros
    update(queue, enqueue(queue, x))
    return x
}
""")


def _buffer(m, k):
    return np.ctypeslib.as_array(getattr(m.lib, f"{m.name}_param")(m.m, k.encode()), shape=m.params[k][0]).copy()


def _moco_queue(build):
    """MoCo's queue after two steps of 5 keys (fewer than its 16 rows, so the old keys move down by
    a run-time count), and `enqueue` of 5 rows into a queue of 3 (the newest 3 kept), against
    torch.cat([keys, queue])[:K]."""
    errs = []
    for name, src, seed, sizes in (("moco", MOCO_DLN, 159, (5, 5)), ("enq", ENQ_DLN, 185, (5, 2))):
        so, err = build.compile_dln(src, name)
        if so is None:
            return dict(case=S.Desc(f"{name}: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
        m = S.General(S.load_lib(so), name, (8,))
        p = S.draw_params(m, seed)
        if name == "moco":
            p = _frozen(m, p, seed)
        queue = _t(_buffer(m, "queue"))
        for i, n in enumerate(sizes):
            f = _feat(seed + 40 + i, n, 12 if name == "moco" else 4)
            if name == "moco":
                z = torch.tanh(F.linear(_t(f[:, 6:]), p["kw"], p["kb"]))
                keys = z / z.norm(dim=1, keepdim=True)
                m.train_step([f, np.zeros(n, np.float32)], n)
                g = torch.autograd.grad(_moco_loss(dict(p, queue=queue), _t(f)), [p["w"], p["b"]])
                with torch.no_grad():                    # the step's EMA from the weights it started with, then SGD
                    p["kw"], p["kb"] = 0.999 * p["kw"] + 0.001 * p["w"], 0.999 * p["kb"] + 0.001 * p["b"]
                    p["w"], p["b"] = (p["w"] - 0.1 * g[0]).requires_grad_(), (p["b"] - 0.1 * g[1]).requires_grad_()
            else:
                keys = _t(f)
                m.train_step([f, np.zeros(n, np.float32)], n)
            queue = torch.cat([keys, queue])[:queue.shape[0]]
            errs.append(S.rel_err(_buffer(m, "queue"), queue.detach().numpy()))
        m.close()
    e = max(errs)
    return dict(case=S.Desc("moco: the queue of keys after two steps, and enqueue past the queue's length"), fwd=e,
                grad=None, ok=e <= S.LOSS_TOL, detail=None if e <= S.LOSS_TOL else f"{errs}")


FNS_DLN = _trained("""
model fns(features: f32[N, 12]) -> f32[N] {
    h = dense(features, 12, name = "lin")
    x = h[:, 0:6]
    y = h[:, 6:12]
    p = abs(x) + 0.5
    L = 6
    coef = arange(1, 7) / 6.0
    masked = where(x > 0.0, -1.0, x)                                        # x.masked_fill(x > 0, -1)
    flipped = gather(x, expand(reshape(arange(L - 1, -1, -1, dtype = "i32"), [1, L]), [N, L]), 1)
    m = mean(x, axis = 1, keepdims = true)
    v = mean((x - m) ** 2, axis = 1) * L / (L - 1)                          # x.var(1)
    sd = sqrt(mean((x - m) ** 2, axis = 1))                                 # x.std(1, unbiased = False)
    nrm = sqrt(sum(x * x, axis = 1))                                        # x.norm(dim = 1)
    cos = sum(normalize(x, axis = 1) * normalize(y, axis = 1), axis = 1)    # F.cosine_similarity(x, y)
    cp = exp(cumsum(log(p), 1))                                             # torch.cumprod(p, 1)
    kv = transpose(reshape(x, [N, 2, 3])) @ reshape(y, [N, 2, 3])           # einsum("nsd,nse->nde")
    zero = normalize(x * (features[:, 0:1] > 0.0))                          # some rows all zero
    return sum((masked + flipped + 1.0 / sqrt(p) + 0.1 * cp + zero) * coef, axis = 1) + v + sd + nrm + cos
           + sum(x * y, axis = 1) + logsumexp(x, axis = 1) + sum(logsumexp(kv, 1, keepdims = true), axis = [1, 2])
           + logsumexp(kv, axis = [1, 2])
}
""")


def _fns_loss(p, f):
    h = _lin(f, p, "lin")
    x, y = h[:, :6], h[:, 6:]
    pp = x.abs() + 0.5
    coef = torch.arange(1, 7, dtype=D) / 6
    zero = F.normalize(x * (f[:, 0:1] > 0), dim=1)
    kv = torch.einsum("nsd,nse->nde", x.view(-1, 2, 3), y.view(-1, 2, 3))
    out = ((x.masked_fill(x > 0, -1.0) + torch.flip(x, [1]) + torch.rsqrt(pp) + 0.1 * torch.cumprod(pp, 1) + zero)
           * coef).sum(1) + x.var(1) + x.std(1, unbiased=False) + x.norm(dim=1) + F.cosine_similarity(x, y) \
        + torch.einsum("nd,nd->n", x, y) + torch.logsumexp(x, 1) + torch.logsumexp(kv, 1, keepdim=True).sum((1, 2)) \
        + torch.logsumexp(kv, (1, 2))
    return out.mean()


DRAW_DLN = """
model draw(z: f32[N, 4]) -> (pick: i32[N], soft: f32[N, 4], lse: f32[N]) {
    return argmax(z - log(-log(rand(z))), axis = -1), softmax((z - log(-log(rand(z)))) / 0.5, axis = -1),
           logsumexp(where(z > 0.0, z, -inf), axis = 1)
}
"""


def _draws(build):
    """The hints' Gumbel-max draw (torch.multinomial) and gumbel_softmax: over 20000 rows, each class
    as often as its probability, and logsumexp of a line of -inf is -inf (torch.logsumexp's)."""
    import ctypes
    so, err = build.compile_dln(DRAW_DLN, "draw")
    if so is None:
        return dict(case=S.Desc("draw: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    lib = S.load_lib(so)
    lib.draw_create.restype, lib.draw_create.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.draw_forward.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int64]
    lib.draw_free.argtypes = [ctypes.c_void_p]
    n, prob = 20000, np.array([0.1, 0.2, 0.3, 0.4])
    m = lib.draw_create(n)
    z = np.tile(np.log(prob).astype(np.float32), (n, 1))
    pick, soft, lse = np.zeros(n, np.int32), np.zeros((n, 4), np.float32), np.zeros(n, np.float32)
    lib.draw_forward(m, z.ctypes.data, pick.ctypes.data, soft.ctypes.data, lse.ctypes.data, n)
    lib.draw_free(m)
    freq, sfreq = np.bincount(pick, minlength=4) / n, np.bincount(soft.argmax(1), minlength=4) / n
    e = float(max(np.abs(freq - prob).max(), np.abs(sfreq - prob).max(), np.abs(soft.sum(1) - 1).max(),
                  0 if np.all(lse == -np.inf) else 1))
    return dict(case=S.Desc("draw: Gumbel-max draws (multinomial) and gumbel_softmax by their probabilities"),
                fwd=e, grad=None, ok=e < 0.015, detail=None if e < 0.015 else f"{freq} {sfreq}")


def _swav_loss(p, f):
    def z(x):
        return F.normalize(_lin(F.relu(_lin(x, p, "enc")), p, "proj"), dim=1)

    @torch.no_grad()
    def sinkhorn(s, eps=0.05, iters=3):                  # the SwAV reference's distributed_sinkhorn on one worker
        Q = torch.exp(s / eps).t()                        # K x B
        B, K = Q.shape[1], Q.shape[0]
        Q /= Q.sum()
        for _ in range(iters):
            Q /= Q.sum(dim=1, keepdim=True)
            Q /= K
            Q /= Q.sum(dim=0, keepdim=True)
            Q /= B
        Q *= B
        return Q.t()
    c = F.normalize(p["prototypes"], dim=1)
    s1, s2 = z(f[:, :6]) @ c.T, z(f[:, 6:]) @ c.T
    q1, q2 = sinkhorn(s1), sinkhorn(s2)
    return (-0.5 * (q1 * torch.log_softmax(s2 / 0.1, 1) + q2 * torch.log_softmax(s1 / 0.1, 1)).sum(1)).mean()


def _att(q, k, v, heads, mask=None, scale=None):
    N, T, E = q.shape
    S = k.shape[1]

    def split(x, L):
        return x.view(N, L, heads, -1).transpose(1, 2)
    s = split(q, T) @ split(k, S).transpose(-1, -2) * (scale or (E // heads) ** -0.5)
    if mask is not None:
        s = s + mask
    return (torch.softmax(s, -1) @ split(v, S)).transpose(1, 2).reshape(N, T, -1)


def _perceiver_loss(p, f):
    x, y = f[:, :45].view(-1, 15, 3), f[:, 45].long()
    lat = p["latents"].expand(x.shape[0], 4, 8)
    kv = _ln(_lin(x, p, "in_proj"), p, "in_norm")
    lat = lat + _lin(_att(_lin(_ln(lat, p, "lat_norm"), p, "q"), _lin(kv, p, "k"), _lin(kv, p, "v"), 1), p, "o")
    h = _ln(lat, p, "self_norm")
    lat = lat + _lin(_att(_lin(h, p, "sq"), _lin(h, p, "sk"), _lin(h, p, "sv"), 2), p, "so")
    lat = lat + _lin(F.gelu(_lin(_ln(lat, p, "ff_norm"), p, "ff1")), p, "ff2")
    return F.cross_entropy(_lin(lat.mean(1), p, "head"), y)


def _settf_loss(p, f):
    def mab(q, kv, pre):
        h = q + _att(_lin(q, p, pre + ".q"), _lin(kv, p, pre + ".k"), _lin(kv, p, pre + ".v"), 2)
        return h + F.relu(_lin(h, p, pre + ".ff"))
    x, y = f[:, :24].view(-1, 8, 3), f[:, 24]
    h = _lin(x, p, "embed")
    h = mab(h, h, "sab")
    pooled = mab(p["seed"].expand(x.shape[0], 1, 8), h, "pma")
    ds = _lin(F.relu(_lin(x, p, "phi").sum(1)), p, "rho")
    return ((_lin(pooled[:, 0], p, "out").squeeze(1) + ds.squeeze(1) - y) ** 2).mean()


def _longformer_loss(p, f):
    x = f.view(-1, 12, 4)
    i, j = torch.arange(12)[:, None], torch.arange(12)[None]
    keep = ((i - j).abs() <= 2) | (i == 0) | (j == 0)              # the band and one global token
    mask = torch.zeros(12, 12, dtype=D).masked_fill(~keep, float("-inf"))
    h = _lin(x, p, "embed")
    a = _att(_lin(h, p, "q"), _lin(h, p, "k"), _lin(h, p, "v"), 2, mask)
    return (_lin(h + a, p, "out").squeeze(2) ** 2).mean(1).mean()


def _t5_bucket(rel, num_buckets=8, max_distance=16):
    """transformers' T5Attention._relative_position_bucket, bidirectional."""
    num_buckets //= 2
    ret = (rel > 0).long() * num_buckets
    n = rel.abs()
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(n.float() / max_exact) / np.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return ret + torch.where(n < max_exact, n, large)


def _t5_loss(p, f):
    x = f.view(-1, 10, 4)
    ctx = torch.arange(10)[:, None]
    bias = p["rel_bias"][_t5_bucket(torch.arange(10)[None] - ctx)].permute(2, 0, 1)      # [heads, T, T]
    h = _lin(x, p, "embed")
    a = _att(_lin(h, p, "q", False), _lin(h, p, "k", False), _lin(h, p, "v", False), 2, bias, scale=1.0)
    return (_lin(h + a, p, "out").squeeze(2) ** 2).mean(1).mean()



def _txl_h2(p, x, mem):
    h = _lin(x, p, "embed")
    ctx = torch.cat([mem, h], 1)
    keep = torch.arange(12)[None] <= torch.arange(6)[:, None] + 6        # the memory and the causal segment
    mask = torch.zeros(6, 12, dtype=D).masked_fill(~keep, float("-inf"))
    return h + _att(_lin(h, p, "q"), _lin(ctx, p, "k"), _lin(ctx, p, "v"), 2, mask)


def _txl(build):
    """Transformer-XL's segment recurrence: two training steps on consecutive segments, the memory
    (a per-sample buffer) holding the first segment's hidden states without gradient; the second
    step's loss and every gradient against torch, which updates the weights by SGD in between."""
    so, err = build.compile_dln(TXL_DLN, "txl")
    if so is None:
        return dict(case=S.Desc("txl: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    m = S.General(S.load_lib(so), "txl", (8,))
    p = S.draw_params(m, 160)
    segs = [_feat(161 + i, 8, 24) for i in range(2)]
    zeros = np.zeros(8, np.float32)
    m.train_step([segs[0], zeros], 8)
    x0 = _t(segs[0]).view(8, 6, 4)
    h2 = _txl_h2(p, x0, torch.zeros(8, 6, 8, dtype=D))
    loss0 = (_lin(h2, p, "out").squeeze(2) ** 2).mean(1).mean()
    grads = torch.autograd.grad(loss0, list(p.values()), allow_unused=True)
    with torch.no_grad():
        for v, g in zip(p.values(), grads):
            if g is not None:
                v -= 0.1 * g
    mem = h2.detach()

    def loss(q):
        return (_lin(_txl_h2(q, _t(segs[1]).view(8, 6, 4), mem), q, "out").squeeze(2) ** 2).mean(1).mean()
    ours, ref, e_loss, e_grad = S.step_errors(m, p, [segs[1], zeros], 8, (), loss)
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_grad <= S.GRAD_TOL
    return dict(case=S.Desc("txl: the second segment's loss and every gradient, over the first's memory"),
                fwd=e_loss, grad=e_grad, ok=ok, detail=None if ok else f"loss {ours} vs torch {ref.item()}")



def run(build):
    return [_check(build, "moe", MOE_DLN, 150, _batch(170, 8, 9, _moe_loss, [(8, 9, 3)])),
            _check(build, "mamba", MAMBA_DLN, 151, _batch(171, 8, 24, _mamba_loss)),
            _check(build, "rwkv", RWKV_DLN, 152, _batch(172, 8, 24, _rwkv_loss)),
            _check(build, "reinforce", REINFORCE_DLN, 153, _batch(173, 8, 30, _reinforce_loss, [(20, 25, 3)])),
            _check(build, "a2c", A2C_DLN, 154, _batch(174, 8, 30, _a2c_loss, [(20, 25, 3)])),
            _check(build, "convlstm", CONVLSTM_DLN, 155, _batch(175, 4, 96, _convlstm_loss)),
            _check(build, "caption", CAPTION_DLN, 156, lambda: _cap_batch(176, _caption_loss)),
            _check(build, "caption2", CAPTION2_DLN, 157, lambda: _cap_batch(177, _caption2_loss, label=False)),
            _check(build, "byol", BYOL_DLN, 158, _batch(178, 8, 12, _byol_loss), frozen=True),
            _check(build, "moco", MOCO_DLN, 159, _batch(179, 5, 12, _moco_loss), frozen=True), _moco_queue(build),
            _check(build, "swav", SWAV_DLN, 162, _batch(180, 8, 12, _swav_loss)),
            _check(build, "perceiver", PERCEIVER_DLN, 163, _batch(181, 8, 48, _perceiver_loss, [(45, 46, 3)])),
            _check(build, "settf", SETTF_DLN, 164, _batch(182, 8, 25, _settf_loss)),
            _check(build, "longformer", LONGFORMER_DLN, 165, _batch(183, 8, 48, _longformer_loss)),
            _check(build, "t5", T5_DLN, 166, _batch(184, 8, 40, _t5_loss)),
            _txl(build), _check(build, "fns", FNS_DLN, 167, _batch(186, 8, 12, _fns_loss)), _draws(build)]


if __name__ == "__main__":                         # one file alone: python3 stranger9.py BUILD [NAME...]
    import sys
    import harness
    b = harness.Build(sys.argv[1] if len(sys.argv) > 1 else "build")
    torch.set_num_threads(2)
    for r in run(b):
        print(("ok  " if r["ok"] else "FAIL"), r["case"].text, r["fwd"], r["grad"], r["detail"] or "")
