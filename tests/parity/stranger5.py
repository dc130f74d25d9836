"""stranger5.py — the fifth round of course models written from docs/language.md alone
(section `stranger`): sequences, attention and modern vision, each against a PyTorch twin
in float64 with the same weights, one training step's loss and every gradient, as
stranger.py's rows: a LLaMA-style block (RMSNorm, rotary position embeddings written with
`split`/`concat`/`sin`/`cos`, grouped-query attention whose 2 key/value heads serve 4
query heads through `expand` + `reshape`, SwiGLU); a decoder layer's causal self-attention
and cross-attention over a memory of another length and width (`multi_head_attention` with
`kdim`, key padding masks on both sides from `i32` tokens); a Luong ("general") attention
decoder in a `scan` over a masked GRU encoder; a ConvNeXt block (7x7 depthwise, LayerNorm
channels-last, inverted bottleneck, layer scale, drop path); an EfficientNet MBConv block
(batch norm in training mode, SiLU, squeeze-excite); a temporal conv net of dilated causal
`conv1d`s (left `pad`); a layer-normalized LSTM cell with peepholes in a `scan`; a
segmentation net on cross-entropy + soft dice; Swin's relative position bias gathered by an
`i32` index computed from `arange` (`take` of the table, its gradient a scatter); the stdlib's `rotary` and `repeat_kv` in a
multi-query block at a run-time T; and `ctc_loss` (the forward algorithm in a `scan`, in log
space, inputs of different lengths) against `F.ctc_loss`."""
import math

import numpy as np
import torch
import torch.nn.functional as F

import stranger as S

D = torch.float64

GQA_DLN = """
model gqa(tokens: i32[N, 8]) -> f32[N, 8, 16] {
    T = 8
    D = 32
    hd = 8
    x = embedding(tokens, 16, D)
    param g1: f32[32] = ones
    h = x / sqrt(mean(x * x, axis = 2, keepdims = true) + 1e-6) * g1        # RMSNorm
    q = transpose(reshape(dense(h, 32, use_bias = false, name = "wq"), [N, T, 4, hd]), [0, 2, 1, 3])  # [N, 4, T, 8]
    k = transpose(reshape(dense(h, 16, use_bias = false, name = "wk"), [N, T, 2, hd]), [0, 2, 1, 3])  # [N, 2, T, 8]
    v = transpose(reshape(dense(h, 16, use_bias = false, name = "wv"), [N, T, 2, hd]), [0, 2, 1, 3])
    inv = exp(arange(0, hd, 2) * (-log(10000.0) / hd))                     # f32[4]
    ang = reshape(arange(T), [T, 1]) * reshape(inv, [1, hd / 2])            # f32[8, 4]
    cs = concat([cos(ang), cos(ang)], axis = 1)                              # f32[8, 8]
    sn = concat([sin(ang), sin(ang)], axis = 1)
    q1, q2 = split(q, 4, axis = 3)
    q = q * cs + concat([-q2, q1], axis = 3) * sn                            # rotate_half
    k1, k2 = split(k, 4, axis = 3)
    k = k * cs + concat([-k2, k1], axis = 3) * sn
    k = reshape(expand(unsqueeze(k, 2), [N, 2, 2, T, hd]), [N, 4, T, hd])   # repeat_interleave(2, dim = 1)
    v = reshape(expand(unsqueeze(v, 2), [N, 2, 2, T, hd]), [N, 4, T, hd])
    a = attention(q, k, v, causal = true)                                    # [N, 4, T, 8]
    x = x + dense(reshape(transpose(a, [0, 2, 1, 3]), [N, T, D]), D, use_bias = false, name = "wo")
    param g2: f32[32] = ones
    h = x / sqrt(mean(x * x, axis = 2, keepdims = true) + 1e-6) * g2
    x = x + dense(silu(dense(h, 48, use_bias = false, name = "w1")) * dense(h, 48, use_bias = false, name = "w3"),
                  D, use_bias = false, name = "w2")
    return dense(x, 16, name = "head")
}
train gqa {
    data  = tokens("unused.txt", batch = 8, seq_len = 8, vocab = 16)
    loss  = cross_entropy(output, targets)
    optim = sgd(lr = 0.1)
}
"""


def _rms(x, g):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-6) * g


def _rope(x, T, hd):
    inv = torch.exp(torch.arange(0, hd, 2, dtype=D) * (-math.log(10000.0) / hd))
    ang = torch.arange(T, dtype=D)[:, None] * inv
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
    x1, x2 = x.chunk(2, -1)
    return x * cos + torch.cat([-x2, x1], -1) * sin


def gqa_loss(p, tok, tgt):
    t = torch.from_numpy(tok).long()
    N, T = t.shape
    x = F.embedding(t, p["embedding0.weight"])
    h = _rms(x, p["g1"])
    q = F.linear(h, p["wq.weight"]).view(N, T, 4, 8).transpose(1, 2)
    k = F.linear(h, p["wk.weight"]).view(N, T, 2, 8).transpose(1, 2)
    v = F.linear(h, p["wv.weight"]).view(N, T, 2, 8).transpose(1, 2)
    q, k = _rope(q, T, 8), _rope(k, T, 8)
    k, v = k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1)
    s = (q @ k.transpose(-1, -2) / math.sqrt(8)).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(N, T, 32)
    x = x + F.linear(a, p["wo.weight"])
    h = _rms(x, p["g2"])
    x = x + F.linear(F.silu(F.linear(h, p["w1.weight"])) * F.linear(h, p["w3.weight"]), p["w2.weight"])
    logits = F.linear(x, p["head.weight"], p["head.bias"])
    return F.cross_entropy(logits.reshape(-1, 16), torch.from_numpy(tgt).long().reshape(-1))


def _gqa_batch():
    rng = np.random.default_rng(50)
    tok = rng.integers(0, 16, size=(8, 8)).astype(np.int32)
    tgt = rng.integers(0, 16, size=(8, 8)).astype(np.int32)
    return [tok, tgt], 8, (), lambda p: gqa_loss(p, tok, tgt)


XATTN_DLN = """
model xattn(target_in: i32[N, 6], source: i32[N, 9]) -> f32[N, 6, 7] {
    mem = embedding(source, 11, 12, name = "src_emb")                    # f32[N, 9, 12]: another length and width
    y = embedding(target_in, 7, 16, name = "tgt_emb")                    # f32[N, 6, 16]
    y = y + multi_head_attention(y, y, y, 4, key_padding_mask = target_in == 0, causal = true, name = "self_attn")
    y = layer_norm(y, 16, name = "norm1")
    y = y + multi_head_attention(y, mem, mem, 4, key_padding_mask = source == 0, name = "cross_attn")
    return dense(layer_norm(y, 16, name = "norm2"), 7)
}
train xattn {
    data  = seq2seq_task("add", length = 4, digits = 3, batch = 8, test_size = 10)
    loss  = cross_entropy(output, target)
    optim = sgd(lr = 0.1)
}
"""


def _mha(q, kv, p, pre, pad, causal):
    """F.multi_head_attention_forward with this dict's tensors (batch first in, batch first out)."""
    T, S = q.shape[1], kv.shape[1]
    sep = pre + "q_proj_weight" in p
    args = dict(training=True, key_padding_mask=pad, need_weights=False,
                attn_mask=torch.ones(T, S, dtype=torch.bool).triu(1) if causal else None)
    if sep:
        args.update(use_separate_proj_weight=True, q_proj_weight=p[pre + "q_proj_weight"],
                    k_proj_weight=p[pre + "k_proj_weight"], v_proj_weight=p[pre + "v_proj_weight"])
    out, _ = F.multi_head_attention_forward(
        q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1), 16, 4, None if sep else p[pre + "in_proj_weight"],
        p[pre + "in_proj_bias"], None, None, False, 0.0, p[pre + "out_proj.weight"], p[pre + "out_proj.bias"], **args)
    return out.transpose(0, 1)


def xattn_loss(p, tin, src, tgt):
    ti, s = torch.from_numpy(tin).long(), torch.from_numpy(src).long()
    mem = F.embedding(s, p["src_emb.weight"])
    y = F.embedding(ti, p["tgt_emb.weight"])
    y = y + _mha(y, y, p, "self_attn.", ti == 0, True)
    y = F.layer_norm(y, (16,), p["norm1.weight"], p["norm1.bias"])
    y = y + _mha(y, mem, p, "cross_attn.", s == 0, False)
    o = F.linear(F.layer_norm(y, (16,), p["norm2.weight"], p["norm2.bias"]), p["dense0.weight"], p["dense0.bias"])
    return F.cross_entropy(o.reshape(-1, 7), torch.from_numpy(tgt).long().reshape(-1))


def _xattn_batch():
    rng = np.random.default_rng(51)
    src = rng.integers(1, 11, size=(8, 9)).astype(np.int32)
    for i, n in enumerate(rng.integers(1, 10, size=8)):
        src[i, n:] = 0                                             # padding after 1..9 real tokens
    tin = rng.integers(1, 7, size=(8, 6)).astype(np.int32)
    tin[:, 4:] = np.where(rng.random((8, 2)) < 0.5, 0, tin[:, 4:])  # padded targets; BOS-like first token kept
    tgt = rng.integers(0, 7, size=(8, 6)).astype(np.int32)
    return [tin, src, tgt], 8, (), lambda p: xattn_loss(p, tin, src, tgt)


LUONG_DLN = """
model luong(source: i32[N, 5], target_in: i32[N, T]) -> f32[N, T, 9] {
    smask = source != 0
    enc = gru(embedding(source, 9, 8, name = "src_emb"), 12, mask = smask)   # f32[N, 5, 12]
    keys = dense(enc, 12, use_bias = false, name = "wa")                     # W_a enc_s, once for all steps
    e = embedding(target_in, 9, 8, name = "tgt_emb")
    param w_ih: f32[36, 8] = uniform(low = -0.3, high = 0.3)
    param w_hh: f32[36, 12] = uniform(low = -0.3, high = 0.3)
    param b_ih: f32[36] = zeros
    param b_hh: f32[36] = zeros
    h = zeros(N, 12)
    ys = scan et in e carry h {
        h, y = gru_step(et @ transpose(w_ih) + b_ih, 1.0, h, w_hh, b_hh)
        s = sum(keys * unsqueeze(h, 1), axis = 2)                           # general score h_t . W_a enc_s: f32[N, 5]
        s = where(smask, s, full(N, 5, value = -1e9))
        a = softmax(s, axis = 1)
        ctx = sum(unsqueeze(a, 2) * enc, axis = 1)                           # f32[N, 12]
        yield tanh(dense(concat([ctx, h], axis = 1), 12, use_bias = false, name = "wc"))
    }
    return dense(ys, 9, name = "out")
}
train luong {
    data  = seq2seq_task("reverse", length = 5, digits = 5, batch = 8, test_size = 10)
    loss  = cross_entropy(output, target)
    optim = sgd(lr = 0.1)
}
"""


def _gru_cell(x, h, wih, whh, bih, bhh):
    r1, z1, n1 = F.linear(x, wih, bih).chunk(3, -1)
    r2, z2, n2 = F.linear(h, whh, bhh).chunk(3, -1)
    r, z = torch.sigmoid(r1 + r2), torch.sigmoid(z1 + z2)
    return (1 - z) * torch.tanh(n1 + r * n2) + z * h


def _gru_layer(x, p, pre, hidden, mask=None):
    """nn.GRU's outputs [N, T, hidden] from the weights `pre`.*_l0; with a 0/1 mask [N, T], padded
    steps keep the state and output zeros (pack_padded_sequence's semantics)."""
    m = torch.ones(x.shape[:2], dtype=D) if mask is None else mask
    h, ys = torch.zeros(x.shape[0], hidden, dtype=D), []
    for t in range(x.shape[1]):
        hn = _gru_cell(x[:, t], h, *(p[f"{pre}.{k}_l0"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
        h = m[:, t:t + 1] * hn + (1 - m[:, t:t + 1]) * h
        ys.append(m[:, t:t + 1] * hn)
    return torch.stack(ys, 1)


def luong_loss(p, src, tin, tgt):
    s, ti = torch.from_numpy(src).long(), torch.from_numpy(tin).long()
    m = (s != 0).to(D)
    enc = _gru_layer(F.embedding(s, p["src_emb.weight"]), p, "gru0", 12, m)
    keys = F.linear(enc, p["wa.weight"])
    e = F.embedding(ti, p["tgt_emb.weight"])
    h, ys = torch.zeros(s.shape[0], 12, dtype=D), []
    for t in range(ti.shape[1]):
        h = _gru_cell(e[:, t], h, p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
        sc = (keys @ h.unsqueeze(2)).squeeze(2).masked_fill(m == 0, -1e9)
        ctx = (torch.softmax(sc, 1).unsqueeze(1) @ enc).squeeze(1)
        ys.append(torch.tanh(F.linear(torch.cat([ctx, h], 1), p["wc.weight"])))
    o = F.linear(torch.stack(ys, 1), p["out.weight"], p["out.bias"])
    return F.cross_entropy(o.reshape(-1, 9), torch.from_numpy(tgt).long().reshape(-1))


def _luong_batch():
    rng = np.random.default_rng(52)
    src = rng.integers(4, 9, size=(8, 5)).astype(np.int32)
    for i, n in enumerate(rng.integers(1, 6, size=8)):
        src[i, n:] = 0
    tin = rng.integers(1, 9, size=(8, 6)).astype(np.int32)
    tgt = rng.integers(0, 9, size=(8, 6)).astype(np.int32)
    return [src, tin, tgt], 8, (6,), lambda p: luong_loss(p, src, tin, tgt)


CONVNEXT_DLN = """
block drop_path(x: f32[N, C, H, W], p: float) -> f32[N, C, H, W] {
    keep = floor(1.0 - p + rand(zeros(N, 1, 1, 1)))            # one draw per sample (timm's DropPath)
    return x * keep / (1.0 - p)
}
model convnext(image: f32[N, 8, 6, 6]) -> f32[N, 3] {
    h = conv2d(image, 8, kernel = 7, pad = 3, groups = 8, name = "dwconv")
    h = transpose(h, [0, 2, 3, 1])                               # [N, H, W, C]
    h = layer_norm(h, 8, eps = 1e-6, name = "norm")
    h = dense(gelu(dense(h, 32, name = "pwconv1")), 8, name = "pwconv2")
    param gamma: f32[8] = 0.5
    h = transpose(h * gamma, [0, 3, 1, 2])
    x = image + drop_path(h, 0.0)
    return dense(mean(x, axis = [2, 3]), 3, name = "head")
}
train convnext {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def convnext_loss(p, x, y):
    h = F.conv2d(x, p["dwconv.weight"], p["dwconv.bias"], padding=3, groups=8).permute(0, 2, 3, 1)
    h = F.layer_norm(h, (8,), p["norm.weight"], p["norm.bias"], eps=1e-6)
    h = F.linear(F.gelu(F.linear(h, p["pwconv1.weight"], p["pwconv1.bias"])), p["pwconv2.weight"], p["pwconv2.bias"])
    x = x + (h * p["gamma"]).permute(0, 3, 1, 2)
    return F.cross_entropy(F.linear(x.mean((2, 3)), p["head.weight"], p["head.bias"]), y)


MBCONV_DLN = """
model mbconv(image: f32[N, 8, 6, 6]) -> f32[N, 3] {
    h = conv2d(image, 32, kernel = 1, use_bias = false, name = "expand") |> batch_norm(name = "bn0") |> silu
    h = conv2d(h, 32, kernel = 3, pad = 1, groups = 32, use_bias = false, name = "dw") |> batch_norm(name = "bn1") |> silu
    s = mean(h, axis = [2, 3])                                                  # [N, 32]
    s = sigmoid(dense(silu(dense(s, 2, name = "se_reduce")), 32, name = "se_expand"))
    h = h * reshape(s, [N, 32, 1, 1])
    h = conv2d(h, 8, kernel = 1, use_bias = false, name = "project") |> batch_norm(name = "bn2")
    return dense(mean(image + h, axis = [2, 3]), 3, name = "head")
}
train mbconv {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def mbconv_loss(p, x, y):
    bn = lambda a, k: F.batch_norm(a, None, None, p[k + ".weight"], p[k + ".bias"], training=True)
    h = F.silu(bn(F.conv2d(x, p["expand.weight"]), "bn0"))
    h = F.silu(bn(F.conv2d(h, p["dw.weight"], padding=1, groups=32), "bn1"))
    s = F.linear(F.silu(F.linear(h.mean((2, 3)), p["se_reduce.weight"], p["se_reduce.bias"])),
                 p["se_expand.weight"], p["se_expand.bias"])
    h = bn(F.conv2d(h * torch.sigmoid(s)[:, :, None, None], p["project.weight"]), "bn2")
    return F.cross_entropy(F.linear((x + h).mean((2, 3)), p["head.weight"], p["head.bias"]), y)


TCN_DLN = """
block causal_level(x: f32[N, C, L], out: int, d: int) -> f32[N, out, L] {
    h = relu(conv1d(pad(x, [2 * d, 0]), out, kernel = 3, dilation = d))   # left padding only: causal
    h = relu(conv1d(pad(h, [2 * d, 0]), out, kernel = 3, dilation = d))
    return relu(h + conv1d(x, out, kernel = 1))
}
model tcn(features: f32[N, 3, 16]) -> f32[N, 4] {
    h = causal_level(features, 8, 1)
    h = causal_level(h, 8, 2)
    h = causal_level(h, 8, 4)
    return dense(h[:, :, -1], 4)                    # the last step sees all 16 inputs
}
train tcn {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def tcn_loss(p, x, y):
    for i, d in enumerate((1, 2, 4)):
        c = lambda j, a, dil: F.conv1d(a, p[f"causal_level{i}.conv1d{j}.weight"], p[f"causal_level{i}.conv1d{j}.bias"],
                                       dilation=dil)
        h = F.relu(c(0, F.pad(x, (2 * d, 0)), d))
        h = F.relu(c(1, F.pad(h, (2 * d, 0)), d))
        x = F.relu(h + c(2, x, 1))
    return F.cross_entropy(F.linear(x[:, :, -1], p["dense0.weight"], p["dense0.bias"]), y)


LNLSTM_DLN = """
model lnlstm(features: f32[N, 6, 5]) -> f32[N, 3] {
    param w_ih: f32[32, 5] = xavier_uniform()
    param w_hh: f32[32, 8] = xavier_uniform()
    param b: f32[32] = zeros
    param p_i: f32[8] = zeros                                         # peepholes
    param p_f: f32[8] = zeros
    param p_o: f32[8] = zeros
    param gx: f32[32] = ones
    param bx: f32[32] = zeros
    param gh: f32[32] = ones
    param bh: f32[32] = zeros
    param gc: f32[8] = ones
    param bc: f32[8] = zeros
    gxs = layer_normalize(features @ transpose(w_ih), gx, bx)          # f32[N, 6, 32], outside the loop
    h = zeros(N, 8)
    c = zeros(N, 8)
    scan gt in gxs carry h, c {
        z = gt + layer_normalize(h @ transpose(w_hh), gh, bh) + b
        i, f, g, o = split(z, 8, axis = 1)
        i = sigmoid(i + p_i * c)
        f = sigmoid(f + p_f * c)
        c = f * c + i * tanh(g)
        o = sigmoid(o + p_o * c)
        h = o * tanh(layer_normalize(c, gc, bc))
    }
    return dense(h, 3)
}
train lnlstm {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def lnlstm_loss(p, x, y):
    ln = lambda a, g, b: F.layer_norm(a, a.shape[-1:], p[g], p[b])
    gxs = ln(x @ p["w_ih"].T, "gx", "bx")
    h = c = torch.zeros(x.shape[0], 8, dtype=D)
    for t in range(x.shape[1]):
        i, f, g, o = (gxs[:, t] + ln(h @ p["w_hh"].T, "gh", "bh") + p["b"]).chunk(4, 1)
        i, f = torch.sigmoid(i + p["p_i"] * c), torch.sigmoid(f + p["p_f"] * c)
        c = f * c + i * torch.tanh(g)
        h = torch.sigmoid(o + p["p_o"] * c) * torch.tanh(ln(c, "gc", "bc"))
    return F.cross_entropy(F.linear(h, p["dense0.weight"], p["dense0.bias"]), y)


SEG_DLN = """
block dice_loss(logits: f32[N, K, H, W], target: i32[N, H, W]) -> f32[] {
    p = softmax(logits, axis = 1)
    y = transpose(one_hot(target, K), [0, 3, 1, 2])                   # [N, K, H, W]
    inter = sum(p * y, axis = [0, 2, 3])
    card = sum(p + y, axis = [0, 2, 3])
    return 1.0 - mean((2.0 * inter + 1.0) / (card + 1.0))
}
model seg(features: f32[N, 1, 8, 8]) -> f32[N, 3, 8, 8] {
    h = conv2d(features, 8, pad = 1) |> relu
    h = conv2d(h, 8, pad = 2, dilation = 2) |> relu
    return conv2d(h, 3, kernel = 1)
}
train seg {
    data  = csv("unused.csv", batch = 8, classify = false)            # label: one-hot masks f32[N, 3, 8, 8]
    loss  = cross_entropy(transpose(output, [0, 2, 3, 1]), argmax(label, axis = 1)) + dice_loss(output, argmax(label, axis = 1))
    optim = sgd(lr = 0.1)
}
"""


def seg_loss(p, x, lab):
    h = F.relu(F.conv2d(x, p["conv2d0.weight"], p["conv2d0.bias"], padding=1))
    h = F.relu(F.conv2d(h, p["conv2d1.weight"], p["conv2d1.bias"], padding=2, dilation=2))
    z = F.conv2d(h, p["conv2d2.weight"], p["conv2d2.bias"])
    pr, y = torch.softmax(z, 1), F.one_hot(lab, 3).permute(0, 3, 1, 2).to(D)
    dice = 1 - ((2 * (pr * y).sum((0, 2, 3)) + 1) / ((pr + y).sum((0, 2, 3)) + 1)).mean()
    return F.cross_entropy(z, lab) + dice


def _seg_batch():
    rng = np.random.default_rng(53)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    lab = rng.integers(0, 3, size=(8, 8, 8))
    onehot = np.eye(3, dtype=np.float32)[lab].transpose(0, 3, 1, 2).copy()
    return [x, onehot], 8, (), lambda p: seg_loss(p, torch.tensor(x, dtype=D), torch.from_numpy(lab).long())


CTC_DLN = """
model ctc(source: i32[N, 6]) -> f32[N, 18, 7] {
    e = embedding(source, 7, 8)
    e = reshape(expand(unsqueeze(e, 2), [N, 6, 3, 8]), [N, 18, 8])          # each input step three frames
    return log_softmax(dense(gru(e, 16), 7), axis = 2)
}
train ctc {
    data  = seq2seq_task("copy", length = 6, min_length = 2, digits = 3, batch = 8, test_size = 10)
    loss  = ctc_loss(output, target, input_mask = reshape(expand(unsqueeze(source != 0, 2), [-1, 6, 3]), [-1, 18]))
    optim = sgd(lr = 0.1)
}
"""


def _ctc_logp(p, src):
    """The CTC model's log-probabilities [N, 18, 7]: each token three frames, a GRU, log_softmax."""
    x = F.embedding(torch.from_numpy(src).long(), p["embedding0.weight"]).repeat_interleave(3, dim=1)
    return torch.log_softmax(F.linear(_gru_layer(x, p, "gru0", 16), p["dense0.weight"], p["dense0.bias"]), 2)


def ctc_loss(p, src, tgt):
    t = torch.from_numpy(tgt).long()
    return F.ctc_loss(_ctc_logp(p, src).transpose(0, 1), t, 3 * (torch.from_numpy(src) != 0).sum(1), (t != 0).sum(1),
                      blank=0, reduction="mean")


def ctc_sum_loss(p, src, tgt):
    """The default input_mask (every frame) and reduction = "sum"."""
    t = torch.from_numpy(tgt).long()
    return F.ctc_loss(_ctc_logp(p, src).transpose(0, 1), t, torch.full((t.shape[0],), 18), (t != 0).sum(1),
                      reduction="sum")


CTC_SUM_DLN = CTC_DLN.replace("loss  = ctc_loss(output, target, input_mask = reshape(expand(unsqueeze(source != 0, 2), [-1, 6, 3]), [-1, 18]))",
                              'loss  = ctc_loss(output, target, reduction = "sum")')
assert CTC_SUM_DLN != CTC_DLN


def _ctc_batch(loss=None):
    rng = np.random.default_rng(54)
    src = np.zeros((8, 6), dtype=np.int32)
    tgt = np.zeros((8, 7), dtype=np.int32)
    for i, n in enumerate(rng.integers(2, 7, size=8)):
        src[i, :n] = rng.integers(4, 7, size=n)
        tgt[i, :n], tgt[i, n] = src[i, :n], 2              # the copy, then EOS, then padding
    src[0, :4] = tgt[0, :4] = 5                             # repeated labels need a blank between them
    return [src, tgt], 8, (), lambda p: (loss or ctc_loss)(p, src, tgt)


MQA_DLN = """
model mqa(tokens: i32[N, T]) -> f32[N, T, 16] {
    x = embedding(tokens, 16, 32)
    h = layer_norm(x, 32)
    q = transpose(reshape(dense(h, 32, name = "wq"), [N, T, 4, 8]), [0, 2, 1, 3]) |> rotary
    k = transpose(reshape(dense(h, 8, name = "wk"), [N, T, 1, 8]), [0, 2, 1, 3]) |> rotary
    v = transpose(reshape(dense(h, 8, name = "wv"), [N, T, 1, 8]), [0, 2, 1, 3])
    a = attention(q, repeat_kv(k, 4), repeat_kv(v, 4), causal = true)      # multi-query: one key/value head
    x = x + dense(reshape(transpose(a, [0, 2, 1, 3]), [N, T, 32]), 32, name = "wo")
    return dense(x, 16, name = "head")
}
train mqa {
    data  = tokens("unused.txt", batch = 8, seq_len = 8, vocab = 16)
    loss  = cross_entropy(output, targets)
    optim = sgd(lr = 0.1)
}
"""


def mqa_loss(p, tok, tgt):
    t = torch.from_numpy(tok).long()
    N, T = t.shape
    x = F.embedding(t, p["embedding0.weight"])
    h = F.layer_norm(x, (32,), p["layer_norm0.weight"], p["layer_norm0.bias"])
    q = _rope(F.linear(h, p["wq.weight"], p["wq.bias"]).view(N, T, 4, 8).transpose(1, 2), T, 8)
    k = _rope(F.linear(h, p["wk.weight"], p["wk.bias"]).view(N, T, 1, 8).transpose(1, 2), T, 8)
    v = F.linear(h, p["wv.weight"], p["wv.bias"]).view(N, T, 1, 8).transpose(1, 2)
    k, v = k.repeat_interleave(4, dim=1), v.repeat_interleave(4, dim=1)
    s = (q @ k.transpose(-1, -2) / math.sqrt(8)).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    x = x + F.linear((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(N, T, 32), p["wo.weight"], p["wo.bias"])
    logits = F.linear(x, p["head.weight"], p["head.bias"])
    return F.cross_entropy(logits.reshape(-1, 16), torch.from_numpy(tgt).long().reshape(-1))


def _mqa_batch():
    rng = np.random.default_rng(59)
    tok = rng.integers(0, 16, size=(5, 7)).astype(np.int32)          # a run-time T of 7 at a batch of 5
    tgt = rng.integers(0, 16, size=(5, 7)).astype(np.int32)
    return [tok, tgt], 5, (7,), lambda p: mqa_loss(p, tok, tgt)


RELPOS_DLN = """
model relpos(features: f32[N, 4, 8]) -> f32[N, 3] {
    param table: f32[9, 2] = normal(std = 0.02)                   # (2*2 - 1)^2 relative offsets, 2 heads
    a = arange(4)
    ys = floor(a / 2.0)
    xs = a - 2.0 * ys                                              # the 2x2 window's coordinates, row-major
    dy = reshape(ys, [4, 1]) - reshape(ys, [1, 4])
    dx = reshape(xs, [4, 1]) - reshape(xs, [1, 4])
    index = cast_i32((dy + 1.0) * 3.0 + dx + 1.0)                  # Swin's relative_position_index: i32[4, 4]
    bias = transpose(take(table, index), [2, 0, 1])                # f32[2, 4, 4]: per head
    q, k, v = split(dense(features, 24, name = "qkv"), 8, axis = 2)
    q = transpose(reshape(q, [N, 4, 2, 4]), [0, 2, 1, 3])
    k = transpose(reshape(k, [N, 4, 2, 4]), [0, 2, 1, 3])
    v = transpose(reshape(v, [N, 4, 2, 4]), [0, 2, 1, 3])
    o = reshape(transpose(attention(q, k, v, mask = bias), [0, 2, 1, 3]), [N, 4, 8])
    return dense(mean(dense(o, 8, name = "proj"), axis = 1), 3, name = "head")
}
train relpos {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(output, label)
    optim = sgd(lr = 0.1)
}
"""


def relpos_loss(p, x, y):
    """The Swin reference's relative_position_index for a 2x2 window, table[index] per head."""
    c = torch.stack(torch.meshgrid(torch.arange(2), torch.arange(2), indexing="ij")).flatten(1)
    rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0) + 1
    index = rel[:, :, 0] * 3 + rel[:, :, 1]
    bias = p["table"][index.view(-1)].view(4, 4, 2).permute(2, 0, 1)
    q, k, v = F.linear(x, p["qkv.weight"], p["qkv.bias"]).view(-1, 4, 3, 2, 4).permute(2, 0, 3, 1, 4)
    a = torch.softmax(q @ k.transpose(-1, -2) / 2.0 + bias, -1) @ v
    o = F.linear(a.transpose(1, 2).reshape(-1, 4, 8), p["proj.weight"], p["proj.bias"])
    return F.cross_entropy(F.linear(o.mean(1), p["head.weight"], p["head.bias"]), y)


DPATH_DLN = """
model dpath(features: f32[N, 4]) -> f32[N, 4] {
    param w: f32[1] = 1.0
    return features * w * dropout(ones(N, 1), 0.5)             # drop path: whole samples, as docs/language.md writes it
}
train dpath {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = sum(output)
    optim = sgd(lr = 0.1)
}
"""


def _drop_path(build):
    """Stochastic depth as `x * dropout(ones(N, 1), p)`: sample n's row is 2^n in one column, so
    d loss / d w = sum over the kept samples of 2^n / (1 - p) reads back which samples a step kept;
    every sample must be kept whole or dropped whole, scaled by exactly 2, in different draws per step."""
    so, err = build.compile_dln(DPATH_DLN, "dpath")
    if so is None:
        return dict(case=S.Desc("dpath: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    m = S.General(S.load_lib(so), "dpath", (8,))
    x = np.zeros((8, 4), dtype=np.float32)
    x[:, 0] = 2.0 ** np.arange(8)
    masks = []
    for _ in range(24):
        m.train_step([x, np.zeros_like(x)], 8)                      # the csv source's label: unused by the loss
        g = float(m.grad("w")[0]) / 2.0
        masks.append(g)
    m.close()
    whole = all(g == int(g) and 0 <= g < 256 for g in masks)
    bits = np.array([[(int(g) >> n) & 1 for n in range(8)] for g in masks if g == int(g)])
    mixed = whole and len(set(masks)) > 1 and bits.min(0).max() == 0 and bits.max(0).min() == 1
    return dict(case=S.Desc("dpath: x * dropout(ones(N, 1), 0.5) keeps or drops whole samples, kept ones x2"),
                fwd=0.0 if mixed else 1.0, grad=None, ok=mixed, detail=None if mixed else f"masks {masks}")


def run(build):
    return [S._check(build, "gqa", GQA_DLN, (8,), 50, _gqa_batch),
            S._check(build, "mqa", MQA_DLN, (8, 9), 59, _mqa_batch),
            S._check(build, "xattn", XATTN_DLN, (8,), 51, _xattn_batch),
            S._check(build, "luong", LUONG_DLN, (8, 6), 52, _luong_batch),
            S._check(build, "convnext", CONVNEXT_DLN, (8,), 53, lambda: S.classes_batch(55, (8, 8, 6, 6), 3, convnext_loss)),
            S._check(build, "mbconv", MBCONV_DLN, (8,), 54, lambda: S.classes_batch(56, (8, 8, 6, 6), 3, mbconv_loss)),
            S._check(build, "tcn", TCN_DLN, (8,), 55, lambda: S.classes_batch(57, (8, 3, 16), 4, tcn_loss)),
            S._check(build, "lnlstm", LNLSTM_DLN, (8,), 56, lambda: S.classes_batch(58, (8, 6, 5), 3, lnlstm_loss)),
            S._check(build, "seg", SEG_DLN, (8,), 57, _seg_batch),
            S._check(build, "relpos", RELPOS_DLN, (8,), 61, lambda: S.classes_batch(62, (8, 4, 8), 3, relpos_loss)),
            S._check(build, "ctc", CTC_DLN, (8,), 58, _ctc_batch),
            S._check(build, "ctc", CTC_SUM_DLN, (8,), 60, lambda: _ctc_batch(ctc_sum_loss)), _drop_path(build)]
