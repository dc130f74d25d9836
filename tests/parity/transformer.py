"""transformer.py — stdlib/transformer.dln and roll against PyTorch.

Rows as in cases.py (the same Case and variant helpers, run by ops.run_cases),
kept in their own section (`--only transformers`) because each reference is
an nn.Module written the way PyTorch code writes it: the tutorial's
PositionalEncoding, timm's PatchEmbed / MixerBlock, the Swin reference's
window functions, and (with the attention op) nn.MultiheadAttention and
nn.Transformer{Encoder,Decoder}Layer themselves. A module reference is
called with dlnc's parameters through functional_call, after checking that
its state_dict has exactly the names and shapes of the block's parameters:
so every row also proves that a PyTorch checkpoint of that module loads.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from cases import Case, v

CASES = []


def op(name, dln, ref, variants, domain=None, fwd_tol=1e-5, grad_tol=1e-4, why=None):
    for shapes, attrs in variants:
        CASES.append(Case(name, dln, ref, shapes, attrs, domain or {}, fwd_tol, grad_tol, why))


def module_ref(factory, prefix, call=lambda m, p, **attrs: m(p["a"])):
    """A reference through nn.Module `factory(**attrs)` whose state_dict names,
    under `prefix`, must be exactly the block's parameters; `call` applies it
    to the inputs."""
    from torch.nn.utils.stateless import functional_call

    def f(p, **attrs):
        m = factory(**attrs).double().eval()
        ours = {k[len(prefix):]: tuple(t.shape) for k, t in p.items() if k.startswith(prefix)}
        theirs = {k: tuple(t.shape) for k, t in m.state_dict().items()}
        if ours != theirs:
            raise AssertionError(f"parameters differ from the module's state_dict: {sorted(set(ours.items()) ^ set(theirs.items()))}")
        state = {k[len(prefix):]: t for k, t in p.items() if k.startswith(prefix)}
        orig = m.forward
        m.forward = lambda *_: call(lambda *a, **kw: orig(*a, **kw), p, **attrs)
        return functional_call(m, state, ())
    return f


# ---- roll (elab_movement.c: slices and a concat) -------------------------------------
op("roll", "roll(a, {s}, axis = {ax})", lambda p, s, ax: torch.roll(p["a"], s, ax),
   [v(dict(s=1, ax=0), a=(5,)), v(dict(s=-2, ax=1), a=(3, 4)), v(dict(s=7, ax=-1), a=(2, 3, 5)),
    v(dict(s=(2, -1), ax=(1, 2)), a=(2, 4, 3, 2)), v(dict(s=(0, 3), ax=(0, 1)), a=(3, 3))])


# ---- positional encodings -----------------------------------------------------------
class TutorialPE(nn.Module):
    """The PyTorch tutorial's PositionalEncoding, batch first."""

    def __init__(self, d_model, max_len=5000):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.pe = pe

    def forward(self, x):
        return x + self.pe[: x.size(1)].to(x.dtype)


op("positional_encoding", "positional_encoding(a, max_len = {m})",
   lambda p, m: TutorialPE(p["a"].shape[2], m)(p["a"]),
   [v(dict(m=9), a=(2, 9, 6)), v(dict(m=5000), a=(1, 7, 4)), v(dict(m=64), a=(3, 1, 2))])
op("sinusoidal_positions", "sinusoidal_positions({t}, {d}) + 0.0 * a",
   lambda p, t, d: TutorialPE(d, t).pe.double() + 0.0 * p["a"], [v(dict(t=50, d=8), a=(1,)), v(dict(t=3, d=2), a=(1,))])
op("learned_positions", "learned_positions(a, {m})",
   lambda p, m: p["a"] + F.embedding(torch.arange(p["a"].shape[1]), p["learned_positions0.weight"]),
   [v(dict(m=7), a=(2, 5, 3)), v(dict(m=4), a=(1, 4, 6))])


# ---- ViT: patches and the class token (timm's names) ----------------------------------
class PatchEmbed(nn.Module):
    def __init__(self, cin, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ClassToken(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x):
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)


op("patch_embed", "patch_embed(a, {patch}, {dim})", module_ref(PatchEmbed, "patch_embed0."),
   [v(dict(cin=3, patch=4, dim=5), a=(2, 3, 8, 12)), v(dict(cin=1, patch=2, dim=3), a=(1, 1, 2, 2))])
op("class_token", "class_token(a)", module_ref(ClassToken, "class_token0."),
   [v(dict(dim=4), a=(2, 3, 4)), v(dict(dim=1), a=(1, 1, 1))])


def _vit_stem(p, patch, dim):
    h = F.conv2d(p["a"], p["patch_embed0.proj.weight"], p["patch_embed0.proj.bias"], patch).flatten(2).transpose(1, 2)
    return torch.cat([p["class_token0.cls_token"].expand(h.shape[0], -1, -1), h], dim=1)


op("patch_embed+class_token", "patch_embed(a, {patch}, {dim}) |> class_token",
   _vit_stem, [v(dict(patch=2, dim=6), a=(2, 3, 4, 6))])


# ---- Swin's window functions (the reference implementation's code) ----------------------
def window_partition(x, w):
    B, H, W, C = x.shape
    x = x.view(B, H // w, w, W // w, w, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, w, w, C)


def window_reverse(windows, w, H, W):
    B = int(windows.shape[0] / (H * W / w / w))
    x = windows.view(B, H // w, W // w, w, w, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


op("window_partition", "window_partition(a, {w})", lambda p, w: window_partition(p["a"], w),
   [v(dict(w=2), a=(2, 4, 6, 3)), v(dict(w=3), a=(1, 3, 3, 2))])
op("window_reverse", "window_reverse(a, {w}, {h}, {wd})", lambda p, w, h, wd: window_reverse(p["a"], w, h, wd),
   [v(dict(w=2, h=4, wd=6), a=(12, 2, 2, 3)), v(dict(w=3, h=3, wd=3), a=(2, 3, 3, 2))])


# ---- feed-forward and MLP-Mixer ------------------------------------------------------------
class FeedForward(nn.Module):
    def __init__(self, dim, hidden, act):
        super().__init__()
        self.linear1, self.linear2, self.act = nn.Linear(dim, hidden), nn.Linear(hidden, dim), act

    def forward(self, x):
        return self.linear2(F.gelu(self.linear1(x)) if self.act == "gelu" else F.relu(self.linear1(x)))


class Mlp(nn.Module):
    """timm's Mlp (fc1, GELU, fc2)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class MixerBlock(nn.Module):
    """timm's MixerBlock."""

    def __init__(self, patches, dim, token_hidden, channel_hidden):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens, self.mlp_channels = Mlp(patches, token_hidden), Mlp(dim, channel_hidden)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


op("feed_forward", 'feed_forward(a, {hidden}, activation = "{act}")', module_ref(FeedForward, "feed_forward0."),
   [v(dict(dim=4, hidden=6, act="relu"), a=(2, 3, 4)), v(dict(dim=5, hidden=3, act="gelu"), a=(3, 5))])
op("mixer_block", "mixer_block(a, {token_hidden}, {channel_hidden})", module_ref(MixerBlock, "mixer_block0."),
   [v(dict(patches=4, dim=6, token_hidden=5, channel_hidden=7), a=(2, 4, 6)),
    v(dict(patches=1, dim=3, token_hidden=2, channel_hidden=4), a=(1, 1, 3))],
   domain={f"mixer_block0.norm{i}.weight": "pos" for i in (1, 2)})


# ---- attention: nn.MultiheadAttention and the transformer layers ---------------------------
def causal_mask(t, s):
    """PyTorch's square subsequent mask (generate_square_subsequent_mask), T x S."""
    return torch.triu(torch.full((t, s), float("-inf"), dtype=torch.float64), diagonal=1)


def pad_mask(n, s, cut):
    """Key padding: sample i ignores its last (i * cut) % s keys (sample 0 none)."""
    return torch.arange(s)[None, :] >= s - (torch.arange(n)[:, None] * cut) % s


# The same masks in .dln, from constants: `pad_mask(n, s, cut)` as an f32[n, s] tensor.
def dln_pad(n, s, cut):
    return f"(expand(arange({s}), {n}, -1) >= {s} - (reshape(arange({n}), [{n}, 1]) * {cut}) % {s})"


def _mha(E, heads, bias=True, kdim=None, vdim=None, **_):
    return nn.MultiheadAttention(E, heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)


def _mha_call(m, p, E, heads, kpm=None, mask=None, causal=False, kv="aa", **_):
    q = p["a"]
    k, v = p[kv[0]], p[kv[1]]
    am = p["c"] if mask == "c" else None
    if causal:
        am = causal_mask(q.shape[1], k.shape[1]) if am is None else am + causal_mask(q.shape[1], k.shape[1])
    kp = pad_mask(q.shape[0], k.shape[1], kpm) if kpm else None
    return m(q, k, v, key_padding_mask=kp, attn_mask=am, need_weights=False)[0]


MHA = module_ref(_mha, "multi_head_attention0.", _mha_call)
op("multi_head_attention", "multi_head_attention(a, a, a, {heads})", MHA,
   [v(dict(E=8, heads=2), a=(2, 5, 8)), v(dict(E=6, heads=1), a=(3, 4, 6)), v(dict(E=6, heads=3), a=(1, 1, 6))])
op("multi_head_attention", "multi_head_attention(a, b, c, {heads})", MHA,
   [v(dict(E=6, heads=3, kv="bc"), a=(2, 4, 6), b=(2, 7, 6), c=(2, 7, 6)),
    v(dict(E=4, heads=2, kdim=3, vdim=5, kv="bc"), a=(2, 3, 4), b=(2, 6, 3), c=(2, 6, 5))])
op("multi_head_attention masks", "multi_head_attention(a, a, a, {heads}, causal = true)", MHA,
   [v(dict(E=8, heads=2, causal=True), a=(2, 5, 8)), v(dict(E=4, heads=1, causal=True), a=(2, 3, 4))])
op("multi_head_attention masks", "multi_head_attention(a, a, a, {heads}, key_padding_mask = " + dln_pad(2, 6, 2)
   + ", causal = {c})", MHA,
   [v(dict(E=8, heads=2, kpm=2, c="false"), a=(2, 6, 8)), v(dict(E=4, heads=1, kpm=2, c="false"), a=(2, 6, 4)),
    v(dict(E=8, heads=4, kpm=2, c="true", causal=True), a=(2, 6, 8))])
op("multi_head_attention masks", "multi_head_attention(a, a, a, {heads}, attn_mask = c, bias = false)", MHA,
   [v(dict(E=6, heads=2, mask="c", bias=False), a=(2, 4, 6), c=(4, 4)),
    v(dict(E=6, heads=1, mask="c", bias=False), a=(1, 4, 6), c=(4, 4))])
op("multi_head_attention masks", "multi_head_attention(a, b, b, {heads}, attn_mask = c, key_padding_mask = "
   + dln_pad(2, 5, 3) + ")", MHA,
   [v(dict(E=4, heads=2, mask="c", kpm=3, kv="bb"), a=(2, 3, 4), b=(2, 5, 4), c=(3, 5))])


def _enc(E, heads, ff, act, norm_first, **_):
    return nn.TransformerEncoderLayer(E, heads, ff, dropout=0.0, activation=act, batch_first=True, norm_first=norm_first)


def _enc_call(m, p, causal=False, kpm=None, **_):
    x = p["a"]
    am = causal_mask(x.shape[1], x.shape[1]) if causal else None
    return m(x, src_mask=am, src_key_padding_mask=pad_mask(x.shape[0], x.shape[1], kpm) if kpm else None)


_LN = {f"{layer}0.norm{i}.weight": "pos" for layer in ("transformer_encoder_layer", "transformer_decoder_layer")
       for i in (1, 2, 3)}
ENC = "transformer_encoder_layer(a, {heads}, ff = {ff}, dropout = 0.0, activation = \"{act}\", norm_first = {nf}"
op("transformer_encoder_layer", ENC + ")", module_ref(_enc, "transformer_encoder_layer0.", _enc_call),
   [v(dict(E=8, heads=2, ff=12, act="relu", norm_first=False, nf="false"), a=(2, 5, 8)),
    v(dict(E=8, heads=2, ff=12, act="relu", norm_first=True, nf="true"), a=(2, 5, 8)),
    v(dict(E=6, heads=3, ff=5, act="gelu", norm_first=False, nf="false"), a=(3, 4, 6)),
    v(dict(E=6, heads=1, ff=7, act="gelu", norm_first=True, nf="true"), a=(1, 3, 6))], domain=_LN)
op("transformer_encoder_layer", ENC + ", causal = true, key_padding_mask = " + dln_pad(2, 5, 1) + ")",
   module_ref(_enc, "transformer_encoder_layer0.", _enc_call),
   [v(dict(E=8, heads=2, ff=12, act="relu", norm_first=False, nf="false", causal=True, kpm=1), a=(2, 5, 8)),
    v(dict(E=8, heads=4, ff=12, act="gelu", norm_first=True, nf="true", causal=True, kpm=1), a=(2, 5, 8))], domain=_LN)


def _dec(E, heads, ff, act, norm_first, **_):
    return nn.TransformerDecoderLayer(E, heads, ff, dropout=0.0, activation=act, batch_first=True, norm_first=norm_first)


def _dec_call(m, p, kpm=None, **_):
    x, mem = p["a"], p["b"]
    return m(x, mem, tgt_mask=causal_mask(x.shape[1], x.shape[1]),
             memory_key_padding_mask=pad_mask(mem.shape[0], mem.shape[1], kpm) if kpm else None)


DEC = "transformer_decoder_layer(a, b, {heads}, ff = {ff}, dropout = 0.0, activation = \"{act}\", norm_first = {nf}"
op("transformer_decoder_layer", DEC + ")", module_ref(_dec, "transformer_decoder_layer0.", _dec_call),
   [v(dict(E=8, heads=2, ff=12, act="relu", norm_first=False, nf="false"), a=(2, 5, 8), b=(2, 7, 8)),
    v(dict(E=6, heads=3, ff=5, act="gelu", norm_first=True, nf="true"), a=(2, 4, 6), b=(2, 3, 6))], domain=_LN)
op("transformer_decoder_layer", DEC + ", memory_key_padding_mask = " + dln_pad(2, 6, 2) + ")",
   module_ref(_dec, "transformer_decoder_layer0.", _dec_call),
   [v(dict(E=4, heads=2, ff=6, act="relu", norm_first=False, nf="false", kpm=2), a=(2, 3, 4), b=(2, 6, 4))],
   domain=_LN)


# ---- Swin: the reference implementation's WindowAttention and SwinTransformerBlock ------------
# (microsoft/Swin-Transformer, models/swin_transformer.py, without drop_path), input [N, H, W, C];
# its index and mask buffers are registered non-persistent, so the state_dict holds the parameters.
class WindowAttention(nn.Module):
    def __init__(self, dim, window, heads):
        super().__init__()
        self.window, self.heads, self.scale = window, heads, (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid([torch.arange(window), torch.arange(window)], indexing="ij"))
        cf = torch.flatten(coords, 1)
        rel = (cf[:, :, None] - cf[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += window - 1
        rel[:, :, 1] += window - 1
        rel[:, :, 0] *= 2 * window - 1
        self.register_buffer("relative_position_index", rel.sum(-1), persistent=False)
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


class SwinBlock(nn.Module):
    def __init__(self, dim, res, heads, window, shift, mlp_ratio):
        super().__init__()
        if min(res) <= window:
            shift, window = 0, min(res)
        self.res, self.window, self.shift = res, window, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        mask = None
        if shift > 0:
            H, W = res
            img = torch.zeros((1, H, W, 1))
            cnt = 0
            for h in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                for w in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                    img[:, h, w, :] = cnt
                    cnt += 1
            mw = window_partition(img, window).view(-1, window * window)
            mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        self.register_buffer("attn_mask", mask, persistent=False)

    def forward(self, x):
        N, H, W, C = x.shape
        shortcut, w, s = x, self.window, self.shift
        x = self.norm1(x)
        if s > 0:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        windows = window_partition(x, w).view(-1, w * w, C)
        mask = None if self.attn_mask is None else self.attn_mask.to(x.dtype)
        x = window_reverse(self.attn(windows, mask=mask).view(-1, w, w, C), w, H, W)
        if s > 0:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


def _swin(dim, res, heads, window, shift, ratio):
    return SwinBlock(dim, res, heads, window, shift, ratio)


op("swin_block", "swin_block(a, {heads}, window = {window}, shift = {shift}, mlp_ratio = {ratio})",
   module_ref(_swin, "swin_block0."),
   [v(dict(dim=6, res=(8, 8), heads=2, window=4, shift=2, ratio=2.0), a=(2, 8, 8, 6)),
    v(dict(dim=6, res=(8, 8), heads=3, window=4, shift=0, ratio=1.5), a=(1, 8, 8, 6)),
    v(dict(dim=4, res=(6, 9), heads=1, window=3, shift=1, ratio=2.0), a=(2, 6, 9, 4)),
    v(dict(dim=4, res=(4, 4), heads=2, window=7, shift=3, ratio=1.0), a=(1, 4, 4, 4))],
   domain={"swin_block0.norm1.weight": "pos", "swin_block0.norm2.weight": "pos"})


def _mha_ref_heads(p, heads, causal):
    """Heads side by side, as nn.MultiheadAttention between its projections."""
    q, k, v = p["a"], p["b"], p["c"]
    split = lambda x: x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)
    s = split(q) @ split(k).transpose(-1, -2) * (q.shape[-1] // heads) ** -0.5
    if causal:
        s = s + causal_mask(q.shape[1], k.shape[1])
    y = torch.softmax(s, -1) @ split(v)
    return y.transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)


# attend's composed form (what a training step with attention-weight dropout runs), dropout 0 here.
op("attend_composed", "attend_composed(a, b, c, {heads}, causal = {causal})",
   lambda p, heads, causal: _mha_ref_heads(p, heads, causal == "true"),
   [v(dict(heads=2, causal="false"), a=(2, 4, 6), b=(2, 5, 6), c=(2, 5, 4)),
    v(dict(heads=1, causal="true"), a=(2, 4, 3), b=(2, 4, 3), c=(2, 4, 5))])
