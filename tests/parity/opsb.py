"""opsb.py — einsum, pixel_shuffle / pixel_unshuffle, the 1-D pools and
conv_transpose1d against PyTorch (float64 references, dlnc in float32).

Rows as in cases.py (the same Case and variant helpers, run by
ops.run_cases), in their own section (`--only opsb`). einsum is lowered at
elaboration to transpose, reshape, sum and batched matmul, so each row also
checks that lowering's gradient; the patterns are the ones models use:
attention's two products, a bilinear form, an outer product, a column sum,
batch matmul, `...`, the implicit output, three operands and diagonals.
"""
import torch
import torch.nn.functional as F

from cases import Case, v

CASES = []


def op(name, dln, ref, variants, domain=None, fwd_tol=1e-5, grad_tol=1e-4, why=None):
    for shapes, attrs in variants:
        CASES.append(Case(name, dln, ref, shapes, attrs, domain or {}, fwd_tol, grad_tol, why))


def _ein(spec, *names):
    return lambda p: torch.einsum(spec, *[p[k] for k in names])


# (spec, shapes of a, b, c)
EINSUMS = [
    ("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),     # attention scores
    ("bhqk,bhkd->bhqd", (2, 2, 3, 5), (2, 2, 5, 4)),     # attention's weighted values
    ("bi,ij,bj->b", (3, 4), (4, 5), (3, 5)),             # bilinear form
    ("i,j->ij", (4,), (3,)),                             # outer product
    ("ij->j", (3, 4)),                                   # column sums
    ("ij->ji", (3, 4)),                                  # transpose
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),              # batch matmul
    ("ij,jk", (3, 4), (4, 2)),                           # implicit output: ik
    ("ij,ij->", (3, 4), (3, 4)),                         # full contraction to a scalar
    ("nd,md->nm", (3, 4), (5, 4)),
    ("nsd,nse->nde", (2, 3, 4), (2, 3, 5)),              # linear attention's k^T v
    ("...ij,...jk->...ik", (2, 3, 4), (2, 4, 2)),        # ellipsis
    ("bn,anm,bm->ba", (2, 3), (4, 3, 5), (2, 5)),        # nn.Bilinear
    ("ijk->kij", (2, 3, 4)),
    ("qbd,kbd->bqk", (3, 2, 4), (5, 2, 4)),             # batch letters not leading, output reordered
    ("a...,a...->...", (3, 2, 4), (3, 4)),               # ellipses of different ranks (right-aligned)
    ("bij,bjk->bik", (1, 3, 4), (2, 4, 5)),             # a size 1 broadcasts
    ("ij,ij->i", (3, 1), (3, 4)),
    ("ii->i", (4, 4)),                                   # diagonal
    ("ii", (4, 4)),                                      # trace
    ("bii->bi", (2, 3, 3)),                              # batched diagonal
    ("ij,jj->i", (3, 4), (4, 4)),
]
for spec, *shapes in EINSUMS:
    names = "abc"[:len(shapes)]
    op("einsum", f"einsum(\"{spec}\", {', '.join(names)})", _ein(spec, *names),
       [v(**{k: s for k, s in zip(names, shapes)})])

op("pixel_shuffle", "pixel_shuffle(a, {r})", lambda p, r: F.pixel_shuffle(p["a"], r),
   [v(dict(r=2), a=(2, 8, 3, 2)), v(dict(r=3), a=(1, 9, 2, 2))])
op("pixel_unshuffle", "pixel_unshuffle(a, {r})", lambda p, r: F.pixel_unshuffle(p["a"], r),
   [v(dict(r=2), a=(2, 2, 4, 6)), v(dict(r=3), a=(1, 1, 3, 6))])
op("max_pool1d", "max_pool1d(a, {k}, stride = {s}, pad = {pad})", lambda p, k, s, pad: F.max_pool1d(p["a"], k, s, pad),
   [v(dict(k=2, s=2, pad=0), a=(2, 3, 8)), v(dict(k=3, s=2, pad=1), a=(1, 2, 9))])
op("avg_pool1d", "avg_pool1d(a, {k}, stride = {s}, pad = {pad})", lambda p, k, s, pad: F.avg_pool1d(p["a"], k, s, pad),
   [v(dict(k=2, s=2, pad=0), a=(2, 3, 8)), v(dict(k=3, s=1, pad=1), a=(1, 2, 7))])
op("adaptive_avg_pool1d", "adaptive_avg_pool1d(a, {size})", lambda p, size: F.adaptive_avg_pool1d(p["a"], size),
   [v(dict(size=3), a=(2, 3, 7)), v(dict(size=1), a=(1, 2, 5))])
op("adaptive_max_pool1d", "adaptive_max_pool1d(a, {size})", lambda p, size: F.adaptive_max_pool1d(p["a"], size),
   [v(dict(size=3), a=(2, 3, 7)), v(dict(size=4), a=(1, 2, 8)), v(dict(size=5), a=(1, 2, 5))])
# nn.ConvTranspose1d's own parameter names and shapes (weight [C, out/groups, k]): a state_dict loads as it is
op("conv_transpose1d",
   "conv_transpose1d(a, {out}, kernel = {k}, stride = {s}, pad = {pad}, output_pad = {opad}, dilation = {d}, groups = {g})",
   lambda p, out, k, s, pad, opad, d, g: F.conv_transpose1d(
       p["a"], p["conv_transpose1d0.weight"], p["conv_transpose1d0.bias"], s, pad, opad, g, d),
   [v(dict(out=2, k=2, s=2, pad=0, opad=0, d=1, g=1), a=(2, 3, 5)),
    v(dict(out=4, k=3, s=2, pad=1, opad=1, d=1, g=2), a=(1, 4, 6)),
    v(dict(out=3, k=3, s=1, pad=1, opad=0, d=2, g=1), a=(2, 2, 7))])

