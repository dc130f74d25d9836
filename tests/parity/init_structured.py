"""init_structured.py — orthogonal, trunc_normal, sparse, dirac and eye
against torch.nn.init's orthogonal_, trunc_normal_, sparse_, dirac_, eye_.

Our generator is not torch's, so the random ones compare properties, each
computed the same way on our tensor and on torch's of the same shape and
checked against a bound either can fail:
  orthogonal    the Gram matrix (W Wᵀ when rows ≤ cols, else Wᵀ W) against
                gain² I: largest error below 1e-5 (torch's is ~1e-6 too);
                the entries' standard deviation, gain/√max(rows, cols) for a
                Haar-random orthogonal matrix, within 6% for both;
  trunc_normal  every value in [a, b]; mean and standard deviation within 5
                standard errors of the truncated normal's analytic moments,
                for ours and for torch's;
  sparse        exactly ceil(sparsity · rows) zeros in every column, ours and
                torch's; the nonzero values' standard deviation within 4% of std.
dirac and eye are deterministic: our tensor must equal torch's exactly.
"""
import math

import numpy as np
import torch

from harness import Model, load_lib
from init import _Desc

I = torch.nn.init

ORTHO = [("o_tall", (96, 32), 1.0), ("o_wide", (32, 96), 1.0), ("o_lstm", (256, 64), 1.0),
         ("o_conv", (24, 4, 3, 3), 1.0), ("o_gain", (40, 40), 0.5), ("o_odd", (7, 13), 2.0)]
TRUNC = [("t_vit", (384, 192), 0.0, 0.02, -2.0, 2.0), ("t_default", (300, 200), 0.0, 1.0, -2.0, 2.0),
         ("t_asym", (300, 200), 0.5, 1.0, 0.0, 1.5), ("t_tail", (300, 200), 0.0, 1.0, 1.0, 3.0)]
SPARSE = [("s_a", (40, 500), 0.3, 0.05), ("s_b", (9, 1000), 0.1, 0.01)]
DIRAC = [("d_1", (6, 4, 3, 3), 1), ("d_groups", (8, 2, 3, 3), 4), ("d_1d", (4, 6, 5), 1),
         ("d_3d", (4, 2, 3, 3, 3), 2), ("d_even", (6, 2, 4, 4), 3)]
EYE = [("e_wide", (3, 5)), ("e_tall", (5, 3)), ("e_sq", (4, 4))]


def _dims(shape):
    return ", ".join(map(str, shape))


def source():
    lines = [f"    param {p}: f32[{_dims(s)}] = orthogonal(gain = {g})" for p, s, g in ORTHO]
    lines += [f"    param {p}: f32[{_dims(s)}] = trunc_normal(mean = {m}, std = {sd}, a = {a}, b = {b})"
              for p, s, m, sd, a, b in TRUNC]
    lines += [f"    param {p}: f32[{_dims(s)}] = sparse({sp}, std = {sd})" for p, s, sp, sd in SPARSE]
    lines += [f"    param {p}: f32[{_dims(s)}] = dirac(groups = {g})" for p, s, g in DIRAC]
    lines += [f"    param {p}: f32[{_dims(s)}] = eye()" for p, s in EYE]
    names = [c[0] for c in ORTHO + TRUNC + SPARSE + DIRAC + EYE]
    return ("model structured(x: f32[N, 4]) -> f32[N, 4] {\n" + "\n".join(lines) +
            "\n    return x + " + " + ".join(f"sum({p})" for p in names) + "\n}\n")


def ortho_props(w):
    w = np.asarray(w, dtype=np.float64).reshape(w.shape[0], -1)
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return g, float(w.std())


def trunc_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))
    z = cdf(be) - cdf(al)
    k = (pdf(al) - pdf(be)) / z
    return mean + std * k, std * math.sqrt(1 + (al * pdf(al) - be * pdf(be)) / z - k * k)


def run(build):
    so, err = build.compile_dln(source(), "init_structured")
    groups = {}

    def add(group, desc, e, ok, detail=None):
        groups.setdefault(group, []).append(dict(case=_Desc(desc), fwd=e, grad=None, ok=ok, detail=detail))

    if err:
        add("init structured", "structured initializer model", float("nan"), False, err)
        return list(groups.items())
    m = Model(load_lib(so), "structured", 1)
    m.init_(m.m, 7)
    torch.manual_seed(7)
    for p, shape, gain in ORTHO:
        ref = I.orthogonal_(torch.empty(shape), gain=gain).numpy()
        want = gain / math.sqrt(max(shape[0], int(np.prod(shape[1:]))))
        errs, text = [], []
        for who, w in (("ours", m.get(p)), ("torch", ref)):
            g, sd = ortho_props(w)
            e_orth = float(np.abs(g / gain ** 2 - np.eye(g.shape[0])).max())
            e_std = abs(sd - want) / want
            errs.append((e_orth, e_std))
            text.append(f"{who}: |Gram/gain² - I| {e_orth:.2e}, entry std {sd:.5g} (want {want:.5g})")
        ok = all(eo < 1e-5 and es < 0.06 for eo, es in errs)
        add("init orthogonal", f"param {p}: f32{list(shape)} = orthogonal(gain = {gain}) vs orthogonal_",
            errs[0][0], ok, None if ok else "; ".join(text))
    for p, shape, mean, std, a, b in TRUNC:
        ref = I.trunc_normal_(torch.empty(shape), mean=mean, std=std, a=a, b=b).numpy()
        mu, sd = trunc_moments(mean, std, a, b)
        n = int(np.prod(shape))
        ok, text, worst = True, [], 0.0
        for who, w in (("ours", m.get(p)), ("torch", ref)):
            w = np.asarray(w, dtype=np.float64)
            e_mean, e_std = abs(w.mean() - mu) / (sd / math.sqrt(n)), abs(w.std() - sd) / (sd / math.sqrt(2 * n))
            inside = w.min() >= np.float32(a) and w.max() <= np.float32(b)
            ok &= bool(inside) and e_mean < 5 and e_std < 5
            worst = max(worst, abs(w.std() - sd) / sd)
            text.append(f"{who}: [{w.min():.5g}, {w.max():.5g}] mean {w.mean():.5g} std {w.std():.5g}")
        add("init trunc_normal", f"param {p}: f32{list(shape)} = trunc_normal(mean = {mean}, std = {std}, a = {a}, "
            f"b = {b}) vs trunc_normal_ (analytic mean {mu:.4g}, std {sd:.4g})", worst, ok,
            None if ok else "; ".join(text))
    for p, shape, sparsity, std in SPARSE:
        ref = I.sparse_(torch.empty(shape), sparsity, std=std).numpy()
        zeros = math.ceil(sparsity * shape[0])
        ok, text, worst = True, [], 0.0
        for who, w in (("ours", m.get(p)), ("torch", ref)):
            per_col = (w == 0).sum(axis=0)
            nz = w[w != 0].astype(np.float64)
            e_std = abs(math.sqrt((nz ** 2).mean()) - std) / std
            ok &= bool((per_col == zeros).all()) and e_std < 0.04
            worst = max(worst, e_std)
            text.append(f"{who}: zeros per column {per_col.min()}..{per_col.max()} (want {zeros}), std {math.sqrt((nz ** 2).mean()):.5g}")
        add("init sparse", f"param {p}: f32{list(shape)} = sparse({sparsity}, std = {std}) vs sparse_", worst, ok,
            None if ok else "; ".join(text))
    for p, shape, g in DIRAC:
        ref = I.dirac_(torch.empty(shape), groups=g).numpy()
        e = float(np.abs(m.get(p) - ref).max())
        add("init dirac", f"param {p}: f32{list(shape)} = dirac(groups = {g}) == dirac_", e, e == 0.0)
    for p, shape in EYE:
        ref = I.eye_(torch.empty(shape)).numpy()
        e = float(np.abs(m.get(p) - ref).max())
        add("init eye", f"param {p}: f32{list(shape)} = eye() == eye_", e, e == 0.0)
    m.close()
    return list(groups.items())
