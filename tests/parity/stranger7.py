"""stranger7.py — the seventh round of course models written from docs/language.md alone
(section `stranger`, rows "attention, sequences and self-supervision from the docs"), each one
training step's loss and every gradient against a float64 PyTorch twin with the same weights,
as stranger.py's rows: a shifted-window Swin block from primitives (windows by reshape and
transpose, `roll`, the reference's -100 region mask computed from `arange`, the relative
position bias gathered by `take` with an index computed from `arange`); MAE's random masking
(`argsort` of per-sample noise, keep and restore indices by `gather`, an encoder on the visible
patches, mask tokens, the loss on the removed patches only); Barlow Twins (batch-standardized
embeddings, the cross-correlation matrix, on- and off-diagonal terms by `eye`); DINO (a teacher
made of buffers moved towards the student by `update`, a centre buffer, teacher and student
temperatures, `stop_grad`) with the buffers after the step; a Transformer encoder-decoder for
translation on `seq2seq_task` (padding masks on both sides, causal self-attention,
cross-attention, one embedding table tied to the output projection, `label_smoothing` with
`ignore_index = 0`); WaveNet (dilated causal `conv1d`s by a left `pad`, gated tanh·sigmoid
units, residual and skip sums); linear attention (elu + 1 features) and ALiBi biases as the
`mask` of causal `attention`; a BiLSTM-CRF's negative log-likelihood (the forward algorithm in a
`scan` with a log-sum-exp over tags, the gold path by `pick` of `take`n transitions); and a
pointer network (additive attention over the inputs as the output distribution)."""
import numpy as np
import torch
import torch.nn.functional as F

import stranger as S
import stranger6 as S6

D = torch.float64

CLIP_DLN = """
model clip(features: f32[N, 10]) -> f32[N] {
    img = dense(tanh(dense(features[:, 0:6], 8, name = "img1")), 4, name = "img2")
    txt = dense(tanh(dense(features[:, 6:10], 8, name = "txt1")), 4, name = "txt2")
    img = img / sqrt(sum(img * img, axis = 1, keepdims = true))        # F.normalize
    txt = txt / sqrt(sum(txt * txt, axis = 1, keepdims = true))
    param logit_scale: f32[] = 2.6592600                                # log(1 / 0.07)
    return expand(clip_loss(img, txt, logit_scale = exp(clamp(logit_scale, max = 4.6052))), [N])
}
train clip {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


SWIN_DLN = """
block to_windows(x: f32[N, 4, 4, C]) -> f32[N, 4, 4, C] {
    return reshape(transpose(reshape(x, [N, 2, 2, 2, 2, C]), [0, 1, 3, 2, 4, 5]), [N, 4, 4, C])   # [N, nW, window², C]
}
block from_windows(w: f32[N, 4, 4, C]) -> f32[N, 4, 4, C] {
    return reshape(transpose(reshape(w, [N, 2, 2, 2, 2, C]), [0, 1, 3, 2, 4, 5]), [N, 4, 4, C])
}
model swin(x: f32[N, 4, 4, 8]) -> f32[N, 4, 4, 8] {
    # relative position index of a 2x2 window: (dh + 1) * 3 + (dw + 1)
    p = arange(4)
    ph = floor(p / 2.0)
    pw = p - 2.0 * ph
    idx = cast_i32((reshape(ph, [4, 1]) - reshape(ph, [1, 4]) + 1.0) * 3.0 + reshape(pw, [4, 1]) - reshape(pw, [1, 4]) + 1.0)
    param relative_position_bias_table: f32[9, 2] = normal(std = 0.02)
    bias = transpose(take(relative_position_bias_table, idx), [2, 0, 1])     # f32[2, 4, 4]: heads, query, key
    # the shifted-window mask: regions of the rolled image, -100 between different regions
    r = (arange(4) >= 2.0) + (arange(4) >= 3.0)                     # 0, 0, 1, 2 along an axis (shift 1)
    region = reshape(r, [1, 4, 1, 1]) * 3.0 + reshape(r, [1, 1, 4, 1])
    mw = reshape(to_windows(region), [4, 4])                        # f32[nW, window²]
    mask = where(reshape(mw, [4, 4, 1]) == reshape(mw, [4, 1, 4]), zeros(4, 4, 4), full(4, 4, 4, value = -100.0))
    h = layer_norm(x, 8, name = "norm1")
    w = to_windows(roll(h, (-1, -1), axis = (1, 2)))                # shifted windows
    q, k, v = split(dense(w, 24, name = "qkv"), 8, axis = 3)
    q = transpose(reshape(q, [N, 4, 4, 2, 4]), [0, 1, 3, 2, 4])     # f32[N, nW, heads, window², 4]
    k = transpose(reshape(k, [N, 4, 4, 2, 4]), [0, 1, 3, 2, 4])
    v = transpose(reshape(v, [N, 4, 4, 2, 4]), [0, 1, 3, 2, 4])
    s = q @ transpose(k) * 0.5 + bias + reshape(mask, [4, 1, 4, 4])
    a = reshape(transpose(softmax(s, axis = -1) @ v, [0, 1, 3, 2, 4]), [N, 4, 4, 8])
    x = x + roll(from_windows(dense(a, 8, name = "proj")), (1, 1), axis = (1, 2))
    return x + dense(gelu(dense(layer_norm(x, 8, name = "norm2"), 16, name = "fc1")), 8, name = "fc2")
}
train swin {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""

MAE_DLN = """
model mae(features: f32[N, 56]) -> f32[N] {
    patches = reshape(features[:, 0:48], [N, 8, 6])
    noise = features[:, 48:56]                             # rand(zeros(N, 8)) in training; given here
    ids_shuffle = argsort(noise, axis = 1)                 # ascending: small noise is kept
    ids_restore = argsort(cast_f32(ids_shuffle), axis = 1)
    keep = ids_shuffle[:, 0:2]                              # keep 25%
    param pos: f32[1, 8, 8] = normal(std = 0.02)
    x = dense(patches, 8, name = "embed") + pos
    xv = gather(x, expand(unsqueeze(keep, 2), [N, 2, 8]), 1)          # f32[N, 2, 8]: the visible patches
    h = transformer_encoder_layer(xv, 2, ff = 16, dropout = 0.0, norm_first = true, name = "enc")
    h = dense(h, 8, name = "dec_embed")
    param mask_token: f32[1, 1, 8] = zeros
    full_seq = concat([h, expand(mask_token, [N, 6, 8])], axis = 1)          # f32[N, 8, 8], shuffled order
    d = gather(full_seq, expand(unsqueeze(ids_restore, 2), [N, 8, 8]), 1)   # back to patch order
    pred = dense(d, 6, name = "pred")
    mask = gather(concat([zeros(N, 2), ones(N, 6)], axis = 1), ids_restore, 1)   # 1 = removed
    per_patch = mean((pred - patches) ** 2, axis = 2)
    return sum(per_patch * mask, axis = 1) / sum(mask, axis = 1)
}
train mae {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

BARLOW_DLN = """
block proj(x: f32[N, 6]) -> f32[N, 5] {
    return dense(relu(dense(x, 8)), 5)
}
block standardize(z: f32[N, D]) -> f32[N, D] {
    m = mean(z, axis = 0, keepdims = true)
    return (z - m) / sqrt(mean((z - m) ** 2, axis = 0, keepdims = true) + 1e-5)
}
model barlow(features: f32[N, 12]) -> (z1: f32[N, 5], z2: f32[N, 5]) {
    z1 = standardize(proj(features[:, 0:6], name = "net"))
    z2 = standardize(proj(features[:, 6:12], name = "net"))
    return z1, z2
}
train barlow {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = sum((1.0 - eye(5)) * (transpose(z1) @ z2 / numel(z1, axis = 0)) ** 2) * 0.005
          + sum(eye(5) * (transpose(z1) @ z2 / numel(z1, axis = 0) - 1.0) ** 2)
    optim = sgd(lr = 0.1)
}
"""

DINO_DLN = """
block mlp(x: f32[N, 6], w1: f32[8, 6], b1: f32[8], w2: f32[5, 8], b2: f32[5]) -> f32[N, 5] {
    return gelu(x @ transpose(w1) + b1) @ transpose(w2) + b2
}
model dino(features: f32[N, 12]) -> f32[N] {
    param w1: f32[8, 6] = he_uniform()
    param b1: f32[8] = zeros
    param w2: f32[5, 8] = he_uniform()
    param b2: f32[5] = zeros
    buffer tw1: f32[8, 6] = zeros                  # the teacher: an EMA of the student (init_from sets it)
    buffer tb1: f32[8] = zeros
    buffer tw2: f32[5, 8] = zeros
    buffer tb2: f32[5] = zeros
    buffer center: f32[1, 5] = zeros
    x1 = features[:, 0:6]
    x2 = features[:, 6:12]
    s1 = mlp(x1, w1, b1, w2, b2)
    s2 = mlp(x2, w1, b1, w2, b2)
    t1 = stop_grad(mlp(x1, tw1, tb1, tw2, tb2))
    t2 = stop_grad(mlp(x2, tw1, tb1, tw2, tb2))
    p1 = softmax((t1 - center) / 0.04, axis = 1)
    p2 = softmax((t2 - center) / 0.04, axis = 1)
    update(center, 0.9 * center + 0.1 * 0.5 * (mean(t1, axis = 0, keepdims = true) + mean(t2, axis = 0, keepdims = true)))
    update(tw1, 0.996 * tw1 + 0.004 * w1)
    update(tb1, 0.996 * tb1 + 0.004 * b1)
    update(tw2, 0.996 * tw2 + 0.004 * w2)
    update(tb2, 0.996 * tb2 + 0.004 * b2)
    return -0.5 * (sum(p1 * log_softmax(s2 / 0.1, axis = 1), axis = 1) + sum(p2 * log_softmax(s1 / 0.1, axis = 1), axis = 1))
}
train dino {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

MT_DLN = """
model mt(source: i32[N, 6], target_in: i32[N, 7]) -> f32[N, 7, 12] {
    param emb: f32[12, 8] = normal(std = 0.3)                 # shared by source, target and output
    src = take(emb, source) * sqrt(8.0) + sinusoidal_positions(6, 8)
    tgt = take(emb, target_in) * sqrt(8.0) + sinusoidal_positions(7, 8)
    memory = transformer_encoder_layer(src, 2, ff = 16, dropout = 0.0, key_padding_mask = source == 0, name = "encoder")
    h = transformer_decoder_layer(tgt, memory, 2, ff = 16, dropout = 0.0, tgt_key_padding_mask = target_in == 0,
                                  memory_key_padding_mask = source == 0, name = "decoder")
    return h @ transpose(emb)                                  # tied output projection
}
train mt {
    data  = seq2seq_task("reverse", length = 6, min_length = 2, digits = 8, batch = 4)
    loss  = cross_entropy(output, target, ignore_index = 0, label_smoothing = 0.1)
    optim = sgd(lr = 0.1)
}
"""

WAVENET_DLN = """
block gated(x: f32[N, C, L], dilation: int) -> (res: f32[N, C, L], skip: f32[N, C, L]) {
    h = pad(x, [dilation, 0])
    z = tanh(conv1d(h, C, kernel = 2, dilation = dilation, name = "filter")) * sigmoid(conv1d(h, C, kernel = 2, dilation = dilation, name = "gate"))
    return x + conv1d(z, C, kernel = 1, name = "res"), conv1d(z, C, kernel = 1, name = "skip")
}
model wavenet(x: f32[N, 1, 16]) -> f32[N, 4, 16] {
    h = conv1d(pad(x, [1, 0]), 6, kernel = 2, name = "causal")
    h, s1 = gated(h, 1, name = "l1")
    h, s2 = gated(h, 2, name = "l2")
    h, s4 = gated(h, 4, name = "l4")
    h, s8 = gated(h, 8, name = "l8")
    out = relu(s1 + s2 + s4 + s8)
    return conv1d(relu(conv1d(out, 6, kernel = 1, name = "post1")), 4, kernel = 1, name = "post2")
}
train wavenet {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""

LINATT_DLN = """
model linatt(x: f32[N, 6, 8]) -> f32[N, 6, 8] {
    q = elu(dense(x, 8, name = "q")) + 1.0
    k = elu(dense(x, 8, name = "k")) + 1.0
    v = dense(x, 8, name = "v")
    kv = transpose(k) @ v                                   # f32[N, 8, 8]
    z = 1.0 / (q @ unsqueeze(sum(k, axis = 1), 2) + 1e-6)   # f32[N, 6, 1]
    return dense((q @ kv) * z, 8, name = "o")
}
train linatt {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""

ALIBI_DLN = """
model alibi(x: f32[N, 6, 8]) -> f32[N, 6, 8] {
    T = 6
    q = transpose(reshape(dense(x, 8, name = "q"), [N, T, 2, 4]), [0, 2, 1, 3])
    k = transpose(reshape(dense(x, 8, name = "k"), [N, T, 2, 4]), [0, 2, 1, 3])
    v = transpose(reshape(dense(x, 8, name = "v"), [N, T, 2, 4]), [0, 2, 1, 3])
    rel = reshape(arange(T), [1, T]) - reshape(arange(T), [T, 1])        # j - i
    slopes = reshape(full(2, value = 2.0) ** (-8.0 * arange(1, 3) / 2.0), [2, 1, 1])   # 1/16, 1/256 (2 heads)
    a = attention(q, k, v, causal = true, mask = slopes * rel)          # f32[N, 2, T, 4]
    return dense(reshape(transpose(a, [0, 2, 1, 3]), [N, T, 8]), 8, name = "o")
}
train alibi {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mse(output, label)
    optim = sgd(lr = 0.1)
}
"""

CRF_DLN = """
block logsumexp(x: f32[N, K, K], axis: int) -> f32 {
    m = stop_grad(max(x, axis = axis, keepdims = true))
    return squeeze(m, axis) + log(sum(exp(x - m), axis = axis))
}
model crf(features: f32[N, 12]) -> f32[N] {
    tokens = cast_i32(features[:, 0:6])
    tags = cast_i32(features[:, 6:12])
    e = embedding(tokens, 10, 4)
    em = dense(lstm(e, 5, bidirectional = true), 3, name = "emit")       # f32[N, 6, 3]: emission scores
    param trans: f32[3, 3] = normal(std = 0.1)                          # trans[i, j]: tag i then tag j
    param start: f32[3] = normal(std = 0.1)
    param stop: f32[3] = normal(std = 0.1)
    alpha = start + em[:, 0]                                            # f32[N, 3]
    scan et in em[:, 1:] carry alpha {
        alpha = logsumexp(unsqueeze(alpha, 2) + trans + unsqueeze(et, 1), 1)
    }
    m = stop_grad(max(alpha + stop, axis = 1, keepdims = true))
    log_z = squeeze(m, 1) + log(sum(exp(alpha + stop - m), axis = 1))
    gold = sum(pick(em, tags), axis = 1) + take(start, tags[:, 0]) + take(stop, tags[:, 5])
         + sum(pick(take(trans, tags[:, 0:5]), tags[:, 1:6]), axis = 1)
    return log_z - gold
}
train crf {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""

PTR_DLN = """
model ptr(features: f32[N, 22]) -> f32[N] {
    x = reshape(features[:, 0:10], [N, 5, 2])
    d = reshape(features[:, 10:18], [N, 4, 2])
    pointers = cast_i32(features[:, 18:22])
    e = tanh(dense(x, 8, name = "enc"))                              # f32[N, 5, 8]: each input's state
    q = tanh(dense(d, 8, name = "dec"))                              # f32[N, 4, 8]: each decoding step's
    u = dense(tanh(unsqueeze(dense(e, 8, use_bias = false, name = "w1"), 1)
                   + unsqueeze(dense(q, 8, use_bias = false, name = "w2"), 2)), 1, use_bias = false, name = "v")
    logp = log_softmax(reshape(u, [N, 4, 5]), axis = 2)              # a distribution over the 5 inputs
    return -mean(pick(logp, pointers), axis = 1)
}
train ptr {
    data  = csv("unused.csv", batch = 4, classify = false)
    loss  = mean(output)
    optim = sgd(lr = 0.1)
}
"""


def _t(a):
    return torch.tensor(a, dtype=D)


def _lin(x, p, k, bias=True):
    return F.linear(x, p[k + ".weight"], p[k + ".bias"] if bias else None)


def _mha(q, kv, p, pre, E, heads, pad=None, causal=False):
    """F.multi_head_attention_forward with this dict's tensors (batch first in and out)."""
    T, S = q.shape[1], kv.shape[1]
    out, _ = F.multi_head_attention_forward(
        q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1), E, heads, p[pre + "in_proj_weight"],
        p[pre + "in_proj_bias"], None, None, False, 0.0, p[pre + "out_proj.weight"], p[pre + "out_proj.bias"],
        training=True, key_padding_mask=pad, need_weights=False,
        attn_mask=torch.ones(T, S, dtype=torch.bool).triu(1) if causal else None)
    return out.transpose(0, 1)


def _ln(x, p, k):
    return F.layer_norm(x, (x.shape[-1],), p[k + ".weight"], p[k + ".bias"])


def _ff(x, p, pre, act=F.relu):
    return _lin(act(_lin(x, p, pre + "linear1")), p, pre + "linear2")


def _clip_batch():
    f = np.random.default_rng(89).standard_normal((8, 10)).astype(np.float32)

    def loss(p):
        img = _lin(torch.tanh(_lin(_t(f[:, :6]), p, "img1")), p, "img2")
        txt = _lin(torch.tanh(_lin(_t(f[:, 6:]), p, "txt1")), p, "txt2")
        img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
        logits = p["logit_scale"].clamp(max=4.6052).exp() * img @ txt.T      # open_clip's ClipLoss
        labels = torch.arange(8)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    return [f, np.zeros(8, np.float32)], 8, (), loss


def _windows(x):
    """[N, 4, 4, C] -> [N, nW = 4, window² = 4, C]: the reference's window_partition, per image."""
    N, C = x.shape[0], x.shape[-1]
    return x.view(N, 2, 2, 2, 2, C).permute(0, 1, 3, 2, 4, 5).reshape(N, 4, 4, C)


def _swin_loss(p, x, t):
    coords = torch.stack(torch.meshgrid(torch.arange(2), torch.arange(2), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + 1
    index = rel[..., 0] * 3 + rel[..., 1]                                 # the reference's relative_position_index
    bias = p["relative_position_bias_table"][index.view(-1)].view(4, 4, 2).permute(2, 0, 1)
    img = torch.zeros(1, 4, 4, 1, dtype=D)
    cnt = 0
    for hs in (slice(0, -2), slice(-2, -1), slice(-1, None)):
        for ws in (slice(0, -2), slice(-2, -1), slice(-1, None)):
            img[:, hs, ws, :] = cnt
            cnt += 1
    mw = _windows(img).view(4, 4)
    mask = (mw[:, None, :] - mw[:, :, None]).ne(0).double() * -100.0        # the reference's attn_mask
    N = x.shape[0]
    w = _windows(torch.roll(_ln(x, p, "norm1"), (-1, -1), (1, 2)))
    q, k, v = _lin(w, p, "qkv").view(N, 4, 4, 3, 2, 4).permute(3, 0, 1, 4, 2, 5)
    a = torch.softmax(q @ k.transpose(-1, -2) * 0.5 + bias + mask[:, None], -1) @ v
    a = _lin(a.transpose(2, 3).reshape(N, 4, 4, 8), p, "proj")
    x = x + torch.roll(_windows(a), (1, 1), (1, 2))                        # window_reverse is the same permutation
    x = x + _lin(F.gelu(_lin(_ln(x, p, "norm2"), p, "fc1")), p, "fc2")
    return F.mse_loss(x, t)


def _swin_batch():
    rng = np.random.default_rng(90)
    x = rng.standard_normal((4, 4, 4, 8)).astype(np.float32)
    t = rng.standard_normal((4, 4, 4, 8)).astype(np.float32)
    return [x, t], 4, (), lambda p: _swin_loss(p, _t(x), _t(t))


def _mae_batch():
    rng = np.random.default_rng(91)
    f = rng.standard_normal((4, 56)).astype(np.float32)
    f[:, 48:] = rng.random((4, 8))

    def loss(p):
        x = _t(f[:, :48]).view(4, 8, 6)
        noise = _t(f[:, 48:])
        ids_shuffle = torch.argsort(noise, dim=1)                          # MAE's random_masking
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        keep = ids_shuffle[:, :2]
        h = _lin(x, p, "embed") + p["pos"]
        h = torch.gather(h, 1, keep[:, :, None].expand(-1, -1, 8))
        a = _ln(h, p, "enc.norm1")
        h = h + _mha(a, a, p, "enc.self_attn.", 8, 2)
        h = h + _ff(_ln(h, p, "enc.norm2"), p, "enc.")
        h = _lin(h, p, "dec_embed")
        h = torch.cat([h, p["mask_token"].expand(4, 6, 8)], 1)
        h = torch.gather(h, 1, ids_restore[:, :, None].expand(-1, -1, 8))
        pred = _lin(h, p, "pred")
        mask = torch.ones(4, 8, dtype=D)
        mask[:, :2] = 0
        mask = torch.gather(mask, 1, ids_restore)
        per = ((pred - x) ** 2).mean(-1)
        return (per * mask).sum() / mask.sum()
    return [f, np.zeros(4, np.float32)], 4, (), loss


def _barlow_batch():
    f = np.random.default_rng(92).standard_normal((8, 12)).astype(np.float32)

    def loss(p):
        def z(v):
            h = _lin(F.relu(_lin(v, p, "net.dense0")), p, "net.dense1")
            return F.batch_norm(h, None, None, training=True, eps=1e-5)     # BatchNorm1d(affine=False)
        z1, z2 = z(_t(f[:, :6])), z(_t(f[:, 6:]))
        c = z1.T @ z2 / 8
        on = ((torch.diagonal(c) - 1) ** 2).sum()
        off = (c ** 2).sum() - (torch.diagonal(c) ** 2).sum()
        return on + 0.005 * off
    return [f], 8, (), loss                                 # two outputs and a loss without label: no label argument


def _dino_batch():
    f = np.random.default_rng(93).standard_normal((8, 12)).astype(np.float32)

    def loss(p):
        def mlp(v, w1, b1, w2, b2):
            return F.linear(F.gelu(F.linear(v, w1, b1)), w2, b2)
        x1, x2 = _t(f[:, :6]), _t(f[:, 6:])
        s1, s2 = (mlp(v, p["w1"], p["b1"], p["w2"], p["b2"]) for v in (x1, x2))
        with torch.no_grad():
            t1, t2 = (mlp(v, p["tw1"], p["tb1"], p["tw2"], p["tb2"]) for v in (x1, x2))
        c = p["center"]
        q1, q2 = torch.softmax((t1 - c) / 0.04, 1), torch.softmax((t2 - c) / 0.04, 1)
        l1 = -(q1 * torch.log_softmax(s2 / 0.1, 1)).sum(1)
        l2 = -(q2 * torch.log_softmax(s1 / 0.1, 1)).sum(1)
        return (0.5 * (l1 + l2)).mean()
    return [f, np.zeros(8, np.float32)], 8, (), loss


def _dino_after(p, f):
    """DINO's buffers after the step: the centre's EMA of the teacher's outputs, the teacher's of the student."""
    with torch.no_grad():
        ts = [F.linear(F.gelu(F.linear(_t(v), p["tw1"], p["tb1"])), p["tw2"], p["tb2"]) for v in (f[:, :6], f[:, 6:])]
        out = {"center": 0.9 * p["center"] + 0.1 * torch.cat(ts).mean(0, keepdim=True)}
        for k in ("w1", "b1", "w2", "b2"):
            out["t" + k] = 0.996 * p["t" + k] + 0.004 * p[k]
    return out


def _pe(T, E):
    pos = torch.arange(T, dtype=D)[:, None]
    div = torch.exp(torch.arange(0, E, 2, dtype=D) * (-np.log(10000.0) / E))
    pe = torch.zeros(T, E, dtype=D)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return pe


def reverse_pairs(rng, lens, vocab):
    """seq2seq_task("reverse") pairs of the given lengths, digits 4..vocab-1, PAD (0) after the end:
    the sources i32[n, max], the decoder's inputs (BOS 1 first) and targets (EOS 2 last), i32[n, max + 1]."""
    src = np.zeros((len(lens), max(lens)), np.int32)
    tgt = np.zeros((len(lens), max(lens) + 1), np.int32)
    for i, L in enumerate(lens):
        d = rng.integers(4, vocab, size=L)
        src[i, :L] = d
        tgt[i, :L] = d[::-1]
        tgt[i, L] = 2
    return src, np.concatenate([np.ones((len(lens), 1), np.int32), tgt[:, :-1]], 1), tgt


def _mt_batch():
    src, tin, tgt = reverse_pairs(np.random.default_rng(94), (6, 2, 4, 3), 12)

    def loss(p):
        s, ti = torch.from_numpy(src).long(), torch.from_numpy(tin).long()
        E = p["emb"]
        x = E[s] * 8 ** 0.5 + _pe(6, 8)
        y = E[ti] * 8 ** 0.5 + _pe(7, 8)
        m = _ln(x + _mha(x, x, p, "encoder.self_attn.", 8, 2, s == 0), p, "encoder.norm1")   # post-norm
        m = _ln(m + _ff(m, p, "encoder."), p, "encoder.norm2")
        y = _ln(y + _mha(y, y, p, "decoder.self_attn.", 8, 2, ti == 0, causal=True), p, "decoder.norm1")
        y = _ln(y + _mha(y, m, p, "decoder.multihead_attn.", 8, 2, s == 0), p, "decoder.norm2")
        y = _ln(y + _ff(y, p, "decoder."), p, "decoder.norm3")
        logits = y @ E.T
        return F.cross_entropy(logits.reshape(-1, 12), torch.from_numpy(tgt).long().reshape(-1), ignore_index=0,
                               label_smoothing=0.1)
    return [src, tin, tgt], 4, (), loss


def _wavenet_batch():
    rng = np.random.default_rng(95)
    x = rng.standard_normal((4, 1, 16)).astype(np.float32)
    t = rng.standard_normal((4, 4, 16)).astype(np.float32)

    def loss(p):
        def conv(h, k, dil=1):
            return F.conv1d(h, p[k + ".weight"], p[k + ".bias"], dilation=dil)
        h = conv(F.pad(_t(x), (1, 0)), "causal")
        skips = 0
        for d in (1, 2, 4, 8):
            hp = F.pad(h, (d, 0))
            z = torch.tanh(conv(hp, f"l{d}.filter", d)) * torch.sigmoid(conv(hp, f"l{d}.gate", d))
            h, skips = h + conv(z, f"l{d}.res"), skips + conv(z, f"l{d}.skip")
        return F.mse_loss(conv(F.relu(conv(F.relu(skips), "post1")), "post2"), _t(t))
    return [x, t], 4, (), loss


def _linatt_loss(p, x, t):
    q = F.elu(_lin(x, p, "q")) + 1
    k = F.elu(_lin(x, p, "k")) + 1
    v = _lin(x, p, "v")
    kv = torch.einsum("nsd,nse->nde", k, v)
    z = 1 / (torch.einsum("ntd,nd->nt", q, k.sum(1)) + 1e-6)
    return F.mse_loss(_lin(torch.einsum("ntd,nde->nte", q, kv) * z[..., None], p, "o"), t)


def _alibi_loss(p, x, t):
    def heads(k):
        return _lin(x, p, k).view(4, 6, 2, 4).transpose(1, 2)
    slopes = torch.tensor([2.0 ** -4, 2.0 ** -8], dtype=D)                  # ALiBi's for 2 heads
    pos = torch.arange(6, dtype=D)
    bias = slopes[:, None, None] * (pos[None, :] - pos[:, None])             # m · (j − i)
    s = heads("q") @ heads("k").transpose(-1, -2) / 2.0 + bias
    s = s.masked_fill(torch.ones(6, 6, dtype=torch.bool).triu(1), float("-inf"))
    a = torch.softmax(s, -1) @ heads("v")
    return F.mse_loss(_lin(a.transpose(1, 2).reshape(4, 6, 8), p, "o"), t)


def _seq_batch(seed, loss):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 6, 8)).astype(np.float32)
    t = rng.standard_normal((4, 6, 8)).astype(np.float32)
    return [x, t], 4, (), lambda p: loss(p, _t(x), _t(t))


def _lstm_dir(x, p, sfx, reverse):
    w_ih, w_hh = p["lstm0.weight_ih_l0" + sfx], p["lstm0.weight_hh_l0" + sfx]
    b = p["lstm0.bias_ih_l0" + sfx] + p["lstm0.bias_hh_l0" + sfx]
    N, T, _ = x.shape
    H = w_hh.shape[1]
    h = c = torch.zeros(N, H, dtype=D)
    out = [None] * T
    for t in (reversed(range(T)) if reverse else range(T)):
        i, f, g, o = (x[:, t] @ w_ih.T + h @ w_hh.T + b).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        out[t] = h
    return torch.stack(out, 1)


def _crf_batch():
    rng = np.random.default_rng(96)
    f = np.concatenate([rng.integers(0, 10, size=(4, 6)), rng.integers(0, 3, size=(4, 6))], 1).astype(np.float32)

    def loss(p):
        tok, tags = torch.from_numpy(f[:, :6]).long(), torch.from_numpy(f[:, 6:]).long()
        e = F.embedding(tok, p["embedding0.weight"])
        h = torch.cat([_lstm_dir(e, p, "", False), _lstm_dir(e, p, "_reverse", True)], 2)
        em = _lin(h, p, "emit")                                           # [N, 6, 3]
        tr, st, sp = p["trans"], p["start"], p["stop"]
        alpha = st + em[:, 0]                                             # torchcrf's forward algorithm
        for t in range(1, 6):
            alpha = torch.logsumexp(alpha[:, :, None] + tr + em[:, t, None, :], 1)
        log_z = torch.logsumexp(alpha + sp, 1)
        gold = st[tags[:, 0]] + sp[tags[:, 5]] + em.gather(2, tags[:, :, None]).squeeze(2).sum(1) \
            + tr[tags[:, :-1], tags[:, 1:]].sum(1)
        return (log_z - gold).mean()
    return [f, np.zeros(4, np.float32)], 4, (), loss


def _ptr_batch():
    rng = np.random.default_rng(97)
    f = rng.standard_normal((4, 22)).astype(np.float32)
    f[:, 18:] = rng.integers(0, 5, size=(4, 4))

    def loss(p):
        x, d = _t(f[:, :10]).view(4, 5, 2), _t(f[:, 10:18]).view(4, 4, 2)
        e, q = torch.tanh(_lin(x, p, "enc")), torch.tanh(_lin(d, p, "dec"))
        u = _lin(torch.tanh(_lin(e, p, "w1", False)[:, None] + _lin(q, p, "w2", False)[:, :, None]), p, "v", False)
        logp = torch.log_softmax(u.squeeze(-1), 2)                        # [N, 4 steps, 5 inputs]
        return F.nll_loss(logp.reshape(-1, 5), torch.from_numpy(f[:, 18:]).long().reshape(-1))
    return [f, np.zeros(4, np.float32)], 4, (), loss


def _dino(build):
    """DINO's step (loss and gradients), then its buffers after the step: the centre and the teacher
    weights, each against its EMA computed in torch from the values before the step."""
    so, err = build.compile_dln(DINO_DLN, "dino")
    if so is None:
        return dict(case=S.Desc("dino: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    lib = S.load_lib(so)
    m = S.General(lib, "dino", (8,))
    p = S.draw_params(m, 93)
    q = S6._frozen(m, p, 93)                                     # the teacher and the centre drawn too
    arrays, n, syms, loss = _dino_batch()
    ours, ref, e_loss, e_grad = S.step_errors(m, p, arrays, n, syms, lambda _: loss(q))
    want = _dino_after(q, arrays[0])
    e_buf = max(S.rel_err(np.ctypeslib.as_array(lib.dino_param(m.m, k.encode()), shape=m.params[k][0]).copy(),
                          v.numpy()) for k, v in want.items())
    m.close()
    ok = e_loss <= S.LOSS_TOL and max(e_grad, e_buf) <= S.GRAD_TOL
    return dict(case=S.Desc("dino: the step's loss and gradients; the centre and teacher buffers after it"),
                fwd=e_loss, grad=max(e_grad, e_buf), ok=ok,
                detail=None if ok else f"loss {ours} vs torch {ref.item()}, buffers {e_buf:.1e}")


def _steps(build, name, src, seed, make, steps=3, lr=0.1):
    """`steps` SGD steps on one batch from the same weights: each step's loss, then every trained
    parameter after the last, against torch's loop (p -= lr * grad) in float64."""
    so, err = build.compile_dln(src, name)
    if so is None:
        return dict(case=S.Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    lib = S.load_lib(so)
    m = S.General(lib, name, (8,))
    p = S.draw_params(m, seed)
    arrays, n, syms, loss = make()
    e_loss = 0.0
    for _ in range(steps):
        ours = m.train_step(arrays, n, syms)
        ref = loss(p)
        grads = torch.autograd.grad(ref, list(p.values()), allow_unused=True)
        with torch.no_grad():
            for v, g in zip(p.values(), grads):
                if g is not None:
                    v -= lr * g
        e_loss = max(e_loss, S.rel_err(np.float64(ours), ref.item()))
    e_par = max(S.rel_err(np.ctypeslib.as_array(getattr(lib, f"{name}_param")(m.m, k.encode()), shape=m.params[k][0]).copy(),
                          v.detach().numpy()) for k, v in p.items())
    m.close()
    ok = e_loss <= S.LOSS_TOL and e_par <= S.GRAD_TOL
    return dict(case=S.Desc(f"{name}: {steps} SGD steps, each loss and every parameter after them"), fwd=e_loss,
                grad=e_par, ok=ok, detail=None if ok else f"loss error {e_loss:.1e}, parameters {e_par:.1e}")


def run(build):
    return [S6._check(build, "clip", CLIP_DLN, 89, _clip_batch),
            S6._check(build, "swin", SWIN_DLN, 90, _swin_batch),
            S6._check(build, "mae", MAE_DLN, 91, _mae_batch),
            S6._check(build, "barlow", BARLOW_DLN, 92, _barlow_batch),
            _dino(build),
            S6._check(build, "mt", MT_DLN, 94, _mt_batch),
            S6._check(build, "wavenet", WAVENET_DLN, 95, _wavenet_batch),
            S6._check(build, "linatt", LINATT_DLN, 96, lambda: _seq_batch(98, _linatt_loss)),
            S6._check(build, "alibi", ALIBI_DLN, 97, lambda: _seq_batch(99, _alibi_loss)),
            S6._check(build, "crf", CRF_DLN, 98, _crf_batch),
            S6._check(build, "ptr", PTR_DLN, 99, _ptr_batch),
            _steps(build, "clip", CLIP_DLN, 89, _clip_batch), _steps(build, "mt", MT_DLN, 94, _mt_batch),
            _steps(build, "crf", CRF_DLN, 98, _crf_batch), _steps(build, "swin", SWIN_DLN, 90, _swin_batch)]
