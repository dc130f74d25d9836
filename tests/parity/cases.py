"""cases.py — THE table of parity cases for ops, losses and stdlib blocks.

Why one table: adding an op to dlnc should mean adding one row here, and the
row alone generates its .dln, its random inputs, its PyTorch reference and its
report line. A row names the op (the report groups by it), a .dln expression
over parameters a, b, c (formatted with the variant's attributes), the
reference as a function of a dict of float64 tensors (keyed by parameter name,
which also covers the parameters that stdlib blocks create, such as
"dense0.weight") plus the same attributes, and a list of variants: input
shapes and attributes. Inputs are parameters of a tiny model, so dlnc's
gradient with respect to each of them comes out of train_step.

Input domains: "n" standard normal; "pos" uniform [0.5, 2) (log, sqrt, pow
bases); "prob" uniform [0.05, 0.95) (probabilities for bce); "away" normal
values pushed at least 0.5 away from zero (denominators). Ties (relu at 0,
max of equal values) have probability zero with these draws.

Tolerances: forward 1e-5 and gradient 1e-4 of the reference's scale (see
harness.rel_err); a row that needs more says why in `why`.
"""
import math

import torch
import torch.nn.functional as F


class Case:
    def __init__(self, op, dln, ref, inputs, attrs, domain, fwd_tol, grad_tol, why, kind="op", label=None,
                 train_ref=None, state=None, with_params=False):
        self.op, self.dln, self.ref = op, dln, ref
        self.with_params = with_params
        self.train_ref, self.state = train_ref, state
        self.inputs, self.attrs, self.domain = inputs, attrs, domain
        self.fwd_tol, self.grad_tol, self.why = fwd_tol, grad_tol, why
        self.kind, self.label = kind, label

    def describe(self):
        shapes = ", ".join(f"{k}{list(v)}" for k, v in self.inputs.items())
        at = ", ".join(f"{k}={v}" for k, v in self.attrs.items())
        return f"{self.op}: {self.expr()}  inputs {shapes}" + (f"  attrs {at}" if at else "")

    def expr(self):
        return self.dln.format(**self.attrs)


def v(attrs=None, **shapes):
    """One variant: input shapes by name, and attributes."""
    return (shapes, attrs or {})


OPS, LOSSES = [], []


def op(name, dln, ref, variants, domain=None, fwd_tol=1e-5, grad_tol=1e-4, why=None, train_ref=None, state=None):
    """ref is the inference (eval mode) output, compared with forward(); a
    mode-dependent op also gives train_ref, the training-mode output whose
    projection is the loss, and state(p, **attrs) -> {buffer: value after one
    training step} (batch-norm running statistics)."""
    for shapes, attrs in variants:
        OPS.append(Case(name, dln, ref, shapes, attrs, domain or {}, fwd_tol, grad_tol, why,
                        train_ref=train_ref, state=state))


def loss(name, dln, ref, shapes, label, domain="n", label_domain="n", fwd_tol=1e-5, grad_tol=1e-4, why=None,
         params=False):
    """A loss over output z (B x C logits/predictions) and the label (class
    indices or a dense target). The model is `x @ z` fed the identity, so the
    output equals z exactly and the gradient w.r.t. z is the loss's gradient.
    Class labels are drawn in [0, C). With params=True the reference is
    ref(z, t, p), p every parameter by name (those the loss's own blocks
    declare, such as "embedding0.weight"), whose gradients are compared too."""
    for s in shapes:
        LOSSES.append(Case(name, dln, ref, {"z": s}, {}, {"z": domain, "label": label_domain},
                           fwd_tol, grad_tol, why, kind="loss", label=label, with_params=params))


# Shapes for elementwise ops: a scalar-ish row, odd sizes, rank 3, batch-of-one.
U = [v(a=(1,)), v(a=(7,)), v(a=(3, 5)), v(a=(2, 3, 4)), v(a=(1, 9, 1))]
# Binary ops: same shape, broadcasting both ways, rank mismatch, scalars.
B = [v(a=(5,), b=(5,)), v(a=(3, 4), b=(4,)), v(a=(3, 1), b=(1, 6)), v(a=(2, 3, 4), b=(3, 1)),
     v(a=(1,), b=(2, 5)), v(a=(4, 1, 3), b=(4, 2, 1))]

# ---- elementwise unary --------------------------------------------------------
op("neg", "-a", lambda p: -p["a"], U)
op("exp", "exp(a)", lambda p: torch.exp(p["a"]), U)
op("log", "log(a)", lambda p: torch.log(p["a"]), U, domain={"a": "pos"})
op("log1p", "log1p(a)", lambda p: torch.log1p(p["a"]), U, domain={"a": "pos"})
op("lgamma", "lgamma(a)", lambda p: torch.lgamma(p["a"]), U[:3], domain={"a": "pos"})     # stdlib, x > 0
op("digamma", "digamma(a)", lambda p: torch.digamma(p["a"]), U[:3], domain={"a": "pos"})
op("sqrt", "sqrt(a)", lambda p: torch.sqrt(p["a"]), U, domain={"a": "pos"})
op("abs", "abs(a)", lambda p: torch.abs(p["a"]), U)
op("sign", "sign(a)", lambda p: torch.sign(p["a"]), U[:3])
# floor/round/floor division/remainder: "n" draws almost never sit on a jump;
# round's halves go to even as in torch.
op("floor", "floor(3 * a)", lambda p: torch.floor(3 * p["a"]), U[:3])
op("round", "round(3 * a)", lambda p: torch.round(3 * p["a"]), U[:3])
op("floordiv", "a // b", lambda p: torch.div(p["a"], p["b"], rounding_mode="floor"), B[:4], domain={"b": "away"})
op("remainder", "a % b", lambda p: torch.remainder(p["a"], p["b"]), B[:4], domain={"b": "away"})
op("floordiv const", "(3 * a) // 2 + a % 0.5", lambda p: torch.div(3 * p["a"], 2, rounding_mode="floor")
   + torch.remainder(p["a"], 0.5), U[:3])
op("relu", "relu(a)", lambda p: F.relu(p["a"]), U)
op("leaky_relu", "leaky_relu(a, slope = {slope})", lambda p, slope: F.leaky_relu(p["a"], slope),
   [v({"slope": 0.01}, a=(3, 5)), v({"slope": 0.2}, a=(2, 3, 4)), v({"slope": 0.3}, a=(1,))])
op("elu", "elu(a, alpha = {alpha})", lambda p, alpha: F.elu(p["a"], alpha),
   [v({"alpha": 1.0}, a=(3, 5)), v({"alpha": 0.5}, a=(2, 3, 4)), v({"alpha": 1.7}, a=(7,))])
op("sigmoid", "sigmoid(a)", lambda p: torch.sigmoid(p["a"]), U)
op("tanh", "tanh(a)", lambda p: torch.tanh(p["a"]), U)
op("gelu", "gelu(a)", lambda p: F.gelu(p["a"]), U)
op("sin", "sin(3 * a)", lambda p: torch.sin(3 * p["a"]), U)
op("cos", "cos(3 * a)", lambda p: torch.cos(3 * p["a"]), U)
op("square", "square(a)", lambda p: p["a"] * p["a"], U[:3])
op("silu", "silu(a)", lambda p: F.silu(p["a"]), U[:4])
op("swish", "swish(a)", lambda p: F.silu(p["a"]), U[2:3])
op("softplus", "softplus(a)", lambda p: F.softplus(p["a"]), U[:4])
op("selu", "selu(a)", lambda p: F.selu(p["a"]), U[:4])
op("relu6", "relu6(4.0 * a)", lambda p: F.relu6(4.0 * p["a"]), U[:4])
op("hard_sigmoid", "hard_sigmoid(4.0 * a)", lambda p: F.hardsigmoid(4.0 * p["a"]), U[:4])
op("stop_grad", "stop_grad(a) * a", lambda p: p["a"].detach() * p["a"], U[1:3])


# Custom gradients against torch.autograd.Function, the way PyTorch code writes them.
class _GuidedReLU(torch.autograd.Function):  # guided backprop (Springenberg et al. 2015)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.clamp(min=0) * (x > 0)


class _STE(torch.autograd.Function):  # straight-through: fn forward, identity (or a mask) backward
    @staticmethod
    def forward(ctx, x, fn, mask_lim):
        ctx.save_for_backward(x)
        ctx.mask_lim = mask_lim
        return fn(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g if ctx.mask_lim is None else g * (x.abs() <= ctx.mask_lim)), None, None


class _ClampGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g.clamp(ctx.lo, ctx.hi), None, None


class _Reverse(torch.autograd.Function):  # gradient reversal (Ganin & Lempitsky 2015)
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return -g


op("guided relu", "relu(clamp_grad(a, min = 0.0))", lambda p: _GuidedReLU.apply(p["a"]), U[1:4])
op("ste round", "with_grad(round(3 * a) / 3, a)", lambda p: _STE.apply(p["a"], lambda x: torch.round(3 * x) / 3, None), U[1:4])
op("ste sign", "with_grad(sign(a), clamp(a, min = -1.0, max = 1.0))", lambda p: _STE.apply(p["a"], torch.sign, 1.0), U[1:4])
op("gradient reversal", "with_grad(a, -a) * b", lambda p: _Reverse.apply(p["a"]) * p["b"], B[:3])
op("with_grad broadcast", "with_grad(a * b, 2 * b)", lambda p: (p["a"] * p["b"]).detach() + 2 * p["b"] - (2 * p["b"]).detach(),
   [v(a=(3, 4), b=(4,)), v(a=(2, 3, 4), b=(3, 1))])
op("clamp_grad", "clamp_grad(a * b, min = {lo}, max = {hi})", lambda p, lo, hi: _ClampGrad.apply(p["a"] * p["b"], lo, hi),
   [v(dict(lo=-0.1, hi=0.2), a=(3, 4), b=(3, 4)), v(dict(lo=0.0, hi=0.5), a=(5,), b=(5,))])

# ---- elementwise binary / ternary, broadcasting -----------------------------------
op("add", "a + b", lambda p: p["a"] + p["b"], B)
op("sub", "a - b", lambda p: p["a"] - p["b"], B)
op("mul", "a * b", lambda p: p["a"] * p["b"], B)
op("div", "a / b", lambda p: p["a"] / p["b"], B, domain={"b": "away"})
op("pow", "a ** b", lambda p: p["a"] ** p["b"], B[:4], domain={"a": "pos"})
op("pow_scalar", "a ** {k}", lambda p, k: p["a"] ** k, [v({"k": 2}, a=(3, 5)), v({"k": 3}, a=(7,)),
                                                         v({"k": 0.5}, a=(2, 3))], domain={"a": "pos"})
op("maximum", "maximum(a, b)", lambda p: torch.maximum(p["a"], p["b"]), B)
op("minimum", "minimum(a, b)", lambda p: torch.minimum(p["a"], p["b"]), B)
for name, sym, fn in [("gt", ">", torch.gt), ("ge", ">=", torch.ge), ("lt", "<", torch.lt), ("le", "<=", torch.le)]:
    op(name, "(a %s b) * a" % sym, lambda p, fn=fn: fn(p["a"], p["b"]).double() * p["a"], B[:3])
op("eq", "(a == a) * b", lambda p: torch.eq(p["a"], p["a"]).double() * p["b"], B[:2])
op("where", "where(a > 0.0, b, c)", lambda p: torch.where(p["a"] > 0, p["b"], p["c"]),
   [v(a=(3, 4), b=(3, 4), c=(3, 4)), v(a=(3, 1), b=(4,), c=(1, 1)), v(a=(7,), b=(7,), c=(1,))])
op("clamp", "clamp(a, min = {lo}, max = {hi})", lambda p, lo, hi: torch.clamp(p["a"], lo, hi),
   [v({"lo": -0.5, "hi": 0.5}, a=(3, 5)), v({"lo": 0.0, "hi": 1.0}, a=(2, 3, 4))])

# ---- reductions -------------------------------------------------------------------
R = [v({"axis": 0, "keepdims": "false"}, a=(5, 3)), v({"axis": 1, "keepdims": "true"}, a=(5, 3)),
     v({"axis": 2, "keepdims": "false"}, a=(2, 3, 7)), v({"axis": [0, 2], "keepdims": "false"}, a=(2, 3, 7)),
     v({"axis": 0, "keepdims": "true"}, a=(1, 4))]
kd = lambda s: s == "true"
op("sum", "sum(a)", lambda p: p["a"].sum(), [v(a=(7,)), v(a=(3, 5)), v(a=(2, 3, 4))])
op("sum_axis", "sum(a, axis = {axis}, keepdims = {keepdims})",
   lambda p, axis, keepdims: p["a"].sum(dim=axis, keepdim=kd(keepdims)), R)
op("mean", "mean(a, axis = {axis}, keepdims = {keepdims})",
   lambda p, axis, keepdims: p["a"].mean(dim=axis, keepdim=kd(keepdims)), R)
op("max", "max(a, axis = {axis}, keepdims = {keepdims})",
   lambda p, axis, keepdims: torch.amax(p["a"], dim=axis, keepdim=kd(keepdims)), R)
op("min", "min(a, axis = {axis}, keepdims = {keepdims})",
   lambda p, axis, keepdims: torch.amin(p["a"], dim=axis, keepdim=kd(keepdims)), R)
op("max_all", "max(a)", lambda p: p["a"].max(), [v(a=(3, 5)), v(a=(1,))])
op("sum_large", "sum(a, axis = 1)", lambda p: p["a"].sum(dim=1), [v(a=(3, 1000))])

# ---- shape ops --------------------------------------------------------------------
op("transpose", "transpose(a)", lambda p: p["a"].t(), [v(a=(3, 5)), v(a=(1, 4))])
op("transpose_perm", "transpose(a, {perm})", lambda p, perm: p["a"].permute(*perm),
   [v({"perm": [2, 0, 1]}, a=(2, 3, 4)), v({"perm": [0, 2, 1]}, a=(2, 3, 4)),
    v({"perm": [1, 0, 3, 2]}, a=(2, 1, 3, 2))])
op("reshape", "reshape(a, {shape}) * b", lambda p, shape: p["a"].reshape(shape) * p["b"],
   [v({"shape": [4, 3]}, a=(3, 4), b=(3,)), v({"shape": [-1]}, a=(2, 3, 4), b=(24,)),
    v({"shape": [2, -1, 2]}, a=(12,), b=(3, 1))])
op("flatten", "flatten(a, start = {start}) * b", lambda p, start: torch.flatten(p["a"], start) * p["b"],
   [v({"start": 1}, a=(2, 3, 4), b=(12,)), v({"start": 0}, a=(3, 5), b=(15,))])

# ---- constant and index tensors: the parameter a gives each a gradient to check ------
# The lengths of float aranges are torch's ceil((end - start) / step), values computed in
# double and rounded (-3 + 0.7 * i is not exact in binary).
AR = [v({"args": "5"}, a=(5,)), v({"args": "1, 2, 0.25"}, a=(4,)), v({"args": "5, 0, -2"}, a=(3,)),
      v({"args": "0, 1, 0.3"}, a=(4,)), v({"args": "-3, 4, 0.7"}, a=(10,)), v({"args": "2.5, 9"}, a=(7,))]
op("arange", "a * arange({args})", lambda p, args: p["a"] * torch.arange(*eval("(%s,)" % args), dtype=torch.float64),
   AR)
op("arange_i32", 'a * cast_f32(arange(2, 9, 3, dtype = "i32"))', lambda p: p["a"] * torch.arange(2, 9, 3).double(),
   [v(a=(3,))])
op("eye", "a * eye({n}, {m}) + a", lambda p, n, m: p["a"] * torch.eye(n, m, dtype=torch.float64) + p["a"],
   [v({"n": 3, "m": 3}, a=(3, 3)), v({"n": 2, "m": 5}, a=(2, 5)), v({"n": 4, "m": 1}, a=(4, 1))])
for fn in ("tril", "triu"):
    op(fn, fn + "(a, k = {k})", lambda p, k, fn=fn: getattr(torch, fn)(p["a"], diagonal=k),
       [v({"k": 0}, a=(4, 4)), v({"k": -1}, a=(3, 5)), v({"k": 2}, a=(2, 3, 4)), v({"k": 1}, a=(5, 2)),
        v({"k": -4}, a=(3, 3))])
op("expand", "expand(a, {sizes})", lambda p, sizes: p["a"].expand(*eval("(%s,)" % sizes)),
   [v({"sizes": "2, 3, 4"}, a=(3, 1)), v({"sizes": "3, -1"}, a=(4,)), v({"sizes": "[2, 5]"}, a=(1,)),
    v({"sizes": "-1, 3, -1"}, a=(2, 1, 4))])
op("zeros ones full", "a * full({dims}, value = 1.5) + ones({dims}) - zeros(({dims}))",
   lambda p, dims: p["a"] * torch.full(eval("(%s,)" % dims), 1.5, dtype=torch.float64) + 1,
   [v({"dims": "3, 4"}, a=(3, 4)), v({"dims": "2"}, a=(1,)), v({"dims": "2, 1, 3"}, a=(3,))])
op("full positional", "a * full((2, 3), -0.5)", lambda p: p["a"] * -0.5, [v(a=(2, 3))])
op("_like", "a * full_like(a, 3) + ones_like(a) + zeros_like(a)",
   lambda p: p["a"] * torch.full_like(p["a"], 3) + torch.ones_like(p["a"]) + torch.zeros_like(p["a"]), U[:3])

# ---- matrix products --------------------------------------------------------------
op("matmul", "a @ b", lambda p: p["a"] @ p["b"],
   [v(a=(3, 4), b=(4, 5)), v(a=(1, 7), b=(7, 3)), v(a=(6, 1), b=(1, 2)), v(a=(5, 9), b=(9, 1)),
    v(a=(2, 3, 4), b=(2, 4, 5)), v(a=(2, 3, 4), b=(4, 5)), v(a=(3, 4), b=(2, 4, 5)),
    v(a=(33, 70), b=(70, 19)), v(a=(2, 1, 3, 4), b=(3, 4, 2))])
op("matmul_transposed", "a @ transpose(b)", lambda p: p["a"] @ p["b"].t(),
   [v(a=(3, 4), b=(5, 4)), v(a=(17, 31), b=(9, 31))])
op("matmul_ta", "transpose(a) @ b", lambda p: p["a"].t() @ p["b"], [v(a=(4, 3), b=(4, 5))])

# ---- normalizing activations --------------------------------------------------------
op("softmax", "softmax(a, axis = {axis})", lambda p, axis: F.softmax(p["a"], dim=axis),
   [v({"axis": 1}, a=(3, 5)), v({"axis": 0}, a=(4, 3)), v({"axis": 1}, a=(2, 3, 4)), v({"axis": 2}, a=(2, 3, 4)),
    v({"axis": 0}, a=(1,))])
op("log_softmax", "log_softmax(a, axis = {axis})", lambda p, axis: F.log_softmax(p["a"], dim=axis),
   [v({"axis": 1}, a=(3, 5)), v({"axis": 0}, a=(4, 3)), v({"axis": 1}, a=(2, 3, 4)), v({"axis": 1}, a=(1, 1000))])
op("softmax_large", "softmax(30.0 * a, axis = 1)", lambda p: F.softmax(30.0 * p["a"], dim=1), [v(a=(4, 6))])

# ---- fused attention (ops_attention.c) -------------------------------------------------
# torch 1.13 has no F.scaled_dot_product_attention: the reference is its textbook form per
# head, the heads being column blocks of q, k and v (nn.MultiheadAttention's layout).
def _attention(q, k, v, heads=1, causal=False, mask=None, scale=None):
    *lead, t, e = q.shape
    s, ev = k.shape[-2], v.shape[-1]
    split = lambda x, w: x.reshape(*lead, x.shape[-2], heads, w // heads).transpose(-2, -3)
    qh, kh, vh = split(q, e), split(k, e), split(v, ev)  # [B.., heads, rows, width / heads]
    sc = (qh @ kh.transpose(-1, -2)) * (scale if scale is not None else (e // heads) ** -0.5)
    if mask is not None:  # broadcasts to [B.., T, S] (one head) or [B.., heads, T, S]
        sc = sc + (mask if heads > 1 else mask.reshape(*mask.shape[:-2], 1, *mask.shape[-2:]) if mask.dim() >= 2 else mask)
    if causal:
        sc = sc.masked_fill(torch.ones(t, s, dtype=torch.bool).tril().logical_not(), float("-inf"))
    out = F.softmax(sc, dim=-1) @ vh
    return out.transpose(-2, -3).reshape(*lead, t, ev)


_ATT_MASK = lambda t, s: torch.log(torch.ones(t, s, dtype=torch.float64).tril())  # 0 / -inf: the causal mask
op("attention", "attention(a, b, c{extra})", lambda p, extra, **kw: _attention(p["a"], p["b"], p["c"], **kw),
   [v({"extra": ""}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 6)),
    v({"extra": ""}, a=(3, 4), b=(6, 4), c=(6, 2)),
    v({"extra": ", scale = 0.25", "scale": 0.25}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 3)),
    v({"extra": ", causal = true", "causal": True}, a=(2, 4, 4), b=(2, 4, 4), c=(2, 4, 3)),
    v({"extra": ", causal = true", "causal": True}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 3)),
    v({"extra": ", heads = 2", "heads": 2}, a=(2, 3, 8), b=(2, 5, 8), c=(2, 5, 6)),
    v({"extra": ", heads = 4, causal = true", "heads": 4, "causal": True}, a=(2, 2, 6, 8), b=(2, 2, 6, 8),
      c=(2, 2, 6, 4))])
# masks: -inf entries (log of 0), a learned bias per head, a key-padding bias per sample; d's gradient is checked
op("attention masked", "attention(a, b, c, mask = d + log(tril(ones(3, 5))){extra})",
   lambda p, extra, **kw: _attention(p["a"], p["b"], p["c"], mask=p["d"] + _ATT_MASK(3, 5), **kw),
   [v({"extra": ""}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 6), d=(3, 5)),
    v({"extra": ", heads = 2", "heads": 2}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 6), d=(2, 1, 5))])
op("attention bias", "attention(a, b, c, mask = d{extra})",
   lambda p, extra, **kw: _attention(p["a"], p["b"], p["c"], mask=p["d"], **kw),
   [v({"extra": ", heads = 2", "heads": 2}, a=(2, 3, 8), b=(2, 5, 8), c=(2, 5, 6), d=(2, 3, 5)),
    v({"extra": ", heads = 2", "heads": 2}, a=(2, 3, 8), b=(2, 5, 8), c=(2, 5, 6), d=(2, 1, 1, 5)),
    v({"extra": ", causal = true", "causal": True}, a=(2, 4, 4), b=(2, 4, 4), c=(2, 4, 3), d=(2, 1, 4))])

# Attention written from primitives (pass_attention.c rewrites each of these into the fused op, as
# tests/e2e/attention_match.sh checks in the IR): scale forms, the causal mask before or after the
# scale and in masked_fill's form, heads as a leading axis, a key-padding bias; the reference is
# the same textbook form.
_SDPA = lambda q, k, v, scale, mask=None: F.softmax((q @ k.transpose(-1, -2)) * scale + (0 if mask is None else mask),
                                                    dim=-1) @ v
_CAUSAL = lambda t: torch.log(torch.ones(t, t, dtype=torch.float64).tril())  # 0 / -inf
op("attention composed", "softmax({scores}, axis = -1) @ c", lambda p, scores, scale, causal=False: _SDPA(
    p["a"], p["b"], p["c"], scale, _CAUSAL(p["a"].shape[-2]) if causal else None),
   [v({"scores": "a @ transpose(b) / sqrt(4.0)", "scale": 0.5}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 6)),
    v({"scores": "a @ transpose(b) * 0.25", "scale": 0.25}, a=(3, 4), b=(6, 4), c=(6, 2)),
    v({"scores": "0.25 * (a @ transpose(b))", "scale": 0.25}, a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 3)),
    v({"scores": "a @ transpose(b) * (1.0 / 3.0)", "scale": 1 / 3}, a=(2, 2, 3, 4), b=(2, 2, 5, 4), c=(2, 2, 5, 3)),
    v({"scores": "where(tril(ones(4, 4)), a @ transpose(b) / 2.0, full(4, 4, value = -1e9))", "scale": 0.5,
       "causal": True}, a=(2, 4, 4), b=(2, 4, 4), c=(2, 4, 3)),
    v({"scores": "where(tril(ones(4, 4)), a @ transpose(b), full(4, 4, value = -1e5)) * 0.5", "scale": 0.5,
       "causal": True}, a=(2, 2, 4, 4), b=(2, 2, 4, 4), c=(2, 2, 4, 3)),
    v({"scores": "where(triu(ones(5, 5), k = 1), full(5, 5, value = -1e9), a @ transpose(b) / 2.0)", "scale": 0.5,
       "causal": True}, a=(2, 5, 4), b=(2, 5, 4), c=(2, 5, 3)),
    v({"scores": "where(ones(3, 1) * arange(3) <= transpose(ones(1, 3) * arange(3)), a @ transpose(b) * 0.5, "
                 "log(zeros(3, 3)))", "scale": 0.5, "causal": True}, a=(3, 4), b=(3, 4), c=(3, 2))])
op("attention composed heads",
   "reshape(transpose(softmax(where(tril(ones(4, 4)), transpose(reshape(a, [2, 4, 2, 4]), [0, 2, 1, 3]) @ "
   "transpose(transpose(reshape(b, [2, 4, 2, 4]), [0, 2, 1, 3])) / sqrt(4.0), full(4, 4, value = -1e9)), axis = -1) "
   "@ transpose(reshape(c, [2, 4, 2, 3]), [0, 2, 1, 3]), [0, 2, 1, 3]), [2, 4, 6])",
   lambda p: _attention(p["a"], p["b"], p["c"], heads=2, causal=True), [v(a=(2, 4, 8), b=(2, 4, 8), c=(2, 4, 6))])
op("attention composed padding", "softmax(a @ transpose(b) / 2.0 + d, axis = -1) @ c",
   lambda p: _SDPA(p["a"], p["b"], p["c"], 0.5, p["d"]), [v(a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 6), d=(2, 1, 5))])
# near misses the pass must leave as primitives (attention_match.sh checks that it does): the scores
# used again (the ops harness writes `y = <expr>`, so the row starts its own statements), an upper mask
op("attention composed kept", "0.0\n    s = a @ transpose(b) / 2.0\n    y = softmax(s, axis = -1) @ c + mean(s)",
   lambda p: _SDPA(p["a"], p["b"], p["c"], 0.5) + (p["a"] @ p["b"].transpose(-1, -2) / 2).mean(),
   [v(a=(2, 3, 4), b=(2, 5, 4), c=(2, 5, 6))])
op("attention composed kept", "softmax(where(triu(ones(4, 4)), a @ transpose(b) / 2.0, full(4, 4, value = -1e9)), "
   "axis = -1) @ c", lambda p: _SDPA(p["a"], p["b"], p["c"], 0.5, torch.log(torch.ones(4, 4, dtype=torch.float64).triu())),
   [v(a=(2, 4, 4), b=(2, 4, 4), c=(2, 4, 3))])


# Multi-head attention = projections around attention(heads = h): nn.MultiheadAttention's functional form.
def _mha(p):
    w = lambda n: p[n + ".weight"]
    x = p["a"].transpose(0, 1)  # torch wants [T, B, E]
    y, _ = F.multi_head_attention_forward(
        x, x, x, 8, 2, None, torch.cat([p["q.bias"], p["k.bias"], p["v.bias"]]), None, None, False, 0.0,
        w("o"), p["o.bias"], training=False, need_weights=False, attn_mask=torch.ones(4, 4, dtype=torch.bool).triu(1),
        use_separate_proj_weight=True, q_proj_weight=w("q"), k_proj_weight=w("k"), v_proj_weight=w("v"))
    return y.transpose(0, 1)


op("attention mha", 'dense(attention(dense(a, 8, name = "q"), dense(a, 8, name = "k"), dense(a, 8, name = "v"), '
   'heads = 2, causal = true), 8, name = "o")', lambda p: _mha(p), [v(a=(3, 4, 8))])

# ---- stdlib blocks: parameters created by the block are inputs too ------------------
op("dense", "dense(a, {units})",
   lambda p, units: F.linear(p["a"], p["dense0.weight"], p["dense0.bias"]),
   [v({"units": 5}, a=(3, 4)), v({"units": 1}, a=(1, 7)), v({"units": 13}, a=(6, 1)),
    v({"units": 6}, a=(2, 5, 4)), v({"units": 3}, a=(2, 3, 2, 4))])
# Bahdanau attention (stdlib/recurrent.dln): context and weights of a query over a sequence.
def _additive(p, part, mask=None):
    q = F.linear(p["a"], p["additive_attention0.query.weight"])
    k = F.linear(p["b"], p["additive_attention0.key.weight"])
    e = F.linear(torch.tanh(q[:, None, :] + k), p["additive_attention0.score.weight"])[..., 0]
    if mask is not None:
        e = e + (mask - 1.0) * 1e9
    w = F.softmax(e, dim=1)
    return (w[..., None] * p["b"]).sum(1) if part == 0 else w


op("additive_attention", "additive_attention(a, b, 6)[{part}]", lambda p, part: _additive(p, part),
   [v({"part": 0}, a=(3, 4), b=(3, 5, 2)), v({"part": 1}, a=(2, 3), b=(2, 4, 3))])
op("additive_attention masked", "additive_attention(a, b, 5, mask = tril(ones(3, 4), k = 1))[0]",
   lambda p: _additive(p, 0, torch.tril(torch.ones(3, 4, dtype=p["a"].dtype), diagonal=1)),
   [v(a=(3, 4), b=(3, 4, 2))])
# Weight tying: two calls with one name are one tensor; its gradient sums both uses.
op("dense tied", 'dense(relu(dense(a, 4, name = "t")), 4, name = "t")',
   lambda p: F.linear(F.relu(F.linear(p["a"], p["t.weight"], p["t.bias"])), p["t.weight"], p["t.bias"]),
   [v(a=(3, 4))])
op("dense_nobias", "dense(a, {units}, use_bias = false)",
   lambda p, units: F.linear(p["a"], p["dense0.weight"]), [v({"units": 5}, a=(3, 4))])
op("mlp", "mlp(a, 8, 6, 3)",
   lambda p: F.linear(F.relu(F.linear(F.relu(F.linear(p["a"], p["mlp0.dense0.weight"], p["mlp0.dense0.bias"])),
                                      p["mlp0.dense1.weight"], p["mlp0.dense1.bias"])),
                      p["mlp0.dense2.weight"], p["mlp0.dense2.bias"]), [v(a=(4, 5)), v(a=(1, 3))])

# ---- normalization layers (stdlib/norm.dln) ----------------------------------------
op("layer_norm", "layer_norm(a, {f})",
   lambda p, f: F.layer_norm(p["a"], (f,), p["layer_norm0.weight"], p["layer_norm0.bias"], 1e-5),
   [v({"f": 5}, a=(3, 5)), v({"f": 4}, a=(2, 3, 4)), v({"f": 7}, a=(1, 7))],
   domain={"layer_norm0.weight": "pos"})
# the primitive itself (ops_norm.c): any rank, eps inside the root; the last shape is big
# enough for the kernels' threads and for rows that do not split evenly into dweight's parts
op("layer_normalize", "layer_normalize(a, b, c, eps = {eps})",
   lambda p, eps: F.layer_norm(p["a"], p["b"].shape, p["b"], p["c"], eps),
   [v({"eps": 1e-5}, a=(3, 5), b=(5,), c=(5,)), v({"eps": 0.1}, a=(2, 3, 4), b=(4,), c=(4,)),
    v({"eps": 1e-5}, a=(6,), b=(6,), c=(6,)), v({"eps": 1e-3}, a=(67, 500), b=(500,), c=(500,))])
op("group_norm", "group_norm(a, {g})",
   lambda p, g: F.group_norm(p["a"], g, p["group_norm0.weight"], p["group_norm0.bias"], 1e-5),
   [v({"g": 2}, a=(2, 4, 3, 3)), v({"g": 3}, a=(1, 3, 5, 2)), v({"g": 1}, a=(3, 2, 2, 2))])
op("instance_norm", "instance_norm(a)", lambda p: F.instance_norm(p["a"], eps=1e-5),
   [v(a=(2, 3, 4, 5)), v(a=(1, 2, 3, 3))])
op("instance_norm_affine", "instance_norm(a, affine = true)",
   lambda p: F.instance_norm(p["a"], weight=p["instance_norm0.weight"], bias=p["instance_norm0.bias"], eps=1e-5),
   [v(a=(2, 3, 4, 5))])
# AlexNet's LRN: odd and even sizes, a window wider than the channels, size 1, batch 1
op("local_response_norm", "local_response_norm(a, {size}, alpha = {alpha}, beta = {beta}, k = {k})",
   lambda p, size, alpha, beta, k: F.local_response_norm(p["a"], size, alpha=alpha, beta=beta, k=k),
   [v({"size": 5, "alpha": 0.5, "beta": 0.75, "k": 2.0}, a=(2, 7, 3, 4)),
    v({"size": 4, "alpha": 0.3, "beta": 0.75, "k": 1.0}, a=(3, 6, 2, 3)),
    v({"size": 9, "alpha": 1.0, "beta": 0.5, "k": 1.5}, a=(1, 3, 3, 3)),
    v({"size": 1, "alpha": 0.2, "beta": 1.0, "k": 1.0}, a=(2, 2, 2, 2))])


def _bn(name, training):
    def f(p, momentum=0.1):
        rm, rv = p[name + ".running_mean"].detach().clone(), p[name + ".running_var"].detach().clone()
        return F.batch_norm(p["a"], rm, rv, p[name + ".weight"], p[name + ".bias"], training=training,
                            momentum=momentum, eps=1e-5)
    return f


def _bn_state(name):
    def f(p, momentum=0.1):
        rm, rv = p[name + ".running_mean"].detach().clone(), p[name + ".running_var"].detach().clone()
        F.batch_norm(p["a"].detach(), rm, rv, None, None, training=True, momentum=momentum, eps=1e-5)
        return {name + ".running_mean": rm, name + ".running_var": rv}
    return f


BN_DOMAIN = {"batch_norm0.running_var": "pos", "batch_norm1d0.running_var": "pos"}
op("batch_norm", "batch_norm(a, momentum = {momentum})", _bn("batch_norm0", False),
   [v({"momentum": 0.1}, a=(4, 3, 5, 5)), v({"momentum": 0.3}, a=(2, 1, 3, 7)), v({"momentum": 0.1}, a=(1, 2, 3, 3))],
   domain=BN_DOMAIN, train_ref=_bn("batch_norm0", True), state=_bn_state("batch_norm0"))
op("batch_norm1d", "batch_norm1d(a, momentum = {momentum})", _bn("batch_norm1d0", False),
   [v({"momentum": 0.1}, a=(8, 5)), v({"momentum": 0.5}, a=(3, 2)), v({"momentum": 0.1}, a=(67, 40))],
   domain=BN_DOMAIN, train_ref=_bn("batch_norm1d0", True), state=_bn_state("batch_norm1d0"))
# bigger batch norms for the training kernels (runtime/batch_norm.c): planes longer than a vector
# with a tail (9 x 11), and one above the kernels' parallel size (64 x 8 x 8 x 9)
op("batch_norm_big", "batch_norm(a, momentum = {momentum})", _bn("batch_norm0", False),
   [v({"momentum": 0.1}, a=(5, 6, 9, 11)), v({"momentum": 0.2}, a=(64, 8, 8, 9))],
   domain=BN_DOMAIN, train_ref=_bn("batch_norm0", True), state=_bn_state("batch_norm0"))
# the primitives themselves (ops_bnorm.c): batch_stats = (mean, biased variance) per channel; batch_normalize
# with its own batch's statistics is F.batch_norm in training, gradients through the statistics included
op("batch_stats", "batch_stats(a)",
   lambda p: torch.stack([p["a"].mean(dim=[d for d in range(p["a"].dim()) if d != 1]),
                          p["a"].var(dim=[d for d in range(p["a"].dim()) if d != 1], unbiased=False)]),
   [v(a=(4, 3, 5, 5)), v(a=(6, 4)), v(a=(2, 3, 17)), v(a=(1, 2, 3, 3))])
op("batch_normalize", "batch_normalize(a, batch_stats(a), b, c, eps = {eps})",
   lambda p, eps: F.batch_norm(p["a"], None, None, p["b"], p["c"], training=True, eps=eps),
   [v({"eps": 1e-5}, a=(4, 3, 5, 5), b=(3,), c=(3,)), v({"eps": 0.1}, a=(6, 4), b=(4,), c=(4,)),
    v({"eps": 1e-3}, a=(3, 5, 17), b=(5,), c=(5,)), v({"eps": 1e-5}, a=(33, 7, 10, 13), b=(7,), c=(7,))])
# with statistics that are not x's own (here a constant pair): the plain rule, gradients to the statistics too
op("batch_normalize_given", "batch_normalize(a, d, b, c)",
   lambda p: (p["a"] - p["d"][0].reshape(1, -1, 1, 1)) / torch.sqrt(p["d"][1].reshape(1, -1, 1, 1) + 1e-5)
   * p["b"].reshape(1, -1, 1, 1) + p["c"].reshape(1, -1, 1, 1),
   [v(a=(2, 3, 4, 5), b=(3,), c=(3,), d=(2, 3))], domain={"d": "pos"})

# ---- convolution and pooling (stdlib/conv.dln over the conv/pool primitives) ---------------
CONV = lambda **kw: dict(dict(stride=1, pad=0, dil=1, groups=1), **kw)
op("conv2d", "conv2d(a, {out}, kernel = {k}, stride = {stride}, pad = {pad}, dilation = {dil}, groups = {groups})",
   lambda p, out, k, stride, pad, dil, groups: F.conv2d(p["a"], p["conv2d0.weight"], p["conv2d0.bias"], stride, pad,
                                                        dil, groups),
   [v(CONV(out=1, k=3), a=(1, 1, 5, 5)),
    v(CONV(out=4, k=3, stride=2, pad=1), a=(2, 3, 7, 6)),
    v(CONV(out=6, k=3, pad=2, dil=2, groups=2), a=(2, 4, 8, 8)),
    v(CONV(out=2, k=(3, 5), stride=(2, 1), pad=(1, 2)), a=(1, 3, 9, 7)),
    v(CONV(out=4, k=3, pad=1, groups=4), a=(2, 4, 6, 6)),
    v(CONV(out=5, k=1), a=(3, 8, 5, 5)),
    v(CONV(out=3, k=5, stride=3, pad=2), a=(2, 2, 11, 11)),
    v(CONV(out=16, k=3, pad=1), a=(2, 8, 12, 12))])
op("conv2d_nobias", "conv2d(a, {out}, kernel = {k}, use_bias = false)",
   lambda p, out, k: F.conv2d(p["a"], p["conv2d0.weight"]), [v(dict(out=3, k=2), a=(2, 2, 4, 5))])
# nn.Conv1d's own parameter names and shapes (weight [out, C/groups, k]): a state_dict loads as it is
op("conv1d", "conv1d(a, {out}, kernel = {k}, stride = {stride}, pad = {pad}, dilation = {d}, groups = {g})",
   lambda p, out, k, stride, pad, d, g: F.conv1d(p["a"], p["conv1d0.weight"], p["conv1d0.bias"], stride, pad, d, g),
   [v(dict(out=4, k=3, stride=2, pad=1, d=1, g=1), a=(2, 3, 10)), v(dict(out=1, k=1, stride=1, pad=0, d=1, g=1), a=(1, 1, 5)),
    v(dict(out=6, k=3, stride=1, pad=4, d=2, g=2), a=(2, 4, 9))])
op("conv_transpose2d",
   "conv_transpose2d(a, {out}, kernel = {k}, stride = {stride}, pad = {pad}, output_pad = {opad}, "
   "dilation = {dil}, groups = {groups})",
   lambda p, out, k, stride, pad, opad, dil, groups: F.conv_transpose2d(
       p["a"], p["conv_transpose2d0.weight"], p["conv_transpose2d0.bias"], stride, pad, opad, groups, dil),
   [v(CONV(out=2, k=2, stride=2, opad=0), a=(1, 3, 4, 4)),
    v(CONV(out=6, k=3, stride=2, pad=1, opad=1), a=(2, 4, 5, 3)),
    v(CONV(out=4, k=3, stride=1, pad=1, opad=0, dil=2, groups=2), a=(2, 2, 5, 5))])
op("maxpool", "maxpool(a, {k}, stride = {stride}, pad = {pad})",
   lambda p, k, stride, pad: F.max_pool2d(p["a"], k, stride, pad),
   [v(dict(k=2, stride=2, pad=0), a=(1, 1, 4, 4)), v(dict(k=3, stride=2, pad=1), a=(2, 3, 7, 7)),
    v(dict(k=2, stride=1, pad=0), a=(2, 2, 5, 6)), v(dict(k=(2, 3), stride=(2, 1), pad=(1, 1)), a=(1, 2, 5, 6))])
op("avgpool", "avgpool(a, {k}, stride = {stride}, pad = {pad})",
   lambda p, k, stride, pad: F.avg_pool2d(p["a"], k, stride, pad),
   [v(dict(k=2, stride=2, pad=0), a=(1, 1, 4, 4)), v(dict(k=3, stride=2, pad=1), a=(2, 3, 7, 7)),
    v(dict(k=2, stride=1, pad=0), a=(2, 2, 5, 6))])
# the primitives directly: asymmetric and "same" padding, pool dilation, exclusive averages
op("conv_pad4", "conv(a, b, stride = {stride}, pad = {pad})",
   lambda p, stride, pad: F.conv2d(F.pad(p["a"], (pad[2], pad[3], pad[0], pad[1])), p["b"], stride=stride),
   [v(dict(stride=1, pad=(0, 1, 2, 1)), a=(2, 3, 5, 6), b=(4, 3, 3, 3)),
    v(dict(stride=2, pad=(1, 0, 0, 2)), a=(1, 2, 7, 7), b=(3, 2, 2, 3))])
op("conv_same", 'conv(a, b, pad = "same", dilation = {dil})',
   lambda p, dil: F.conv2d(p["a"], p["b"], padding="same", dilation=dil),
   [v(dict(dil=1), a=(2, 3, 6, 5), b=(4, 3, 3, 3)), v(dict(dil=1), a=(1, 2, 6, 6), b=(2, 2, 4, 4)),
    v(dict(dil=2), a=(1, 2, 7, 6), b=(3, 2, 3, 2))])
op("max_pool2d_dilated", "max_pool2d(a, {k}, stride = {stride}, pad = {pad}, dilation = {dil})",
   lambda p, k, stride, pad, dil: F.max_pool2d(p["a"], k, stride, pad, dil),
   [v(dict(k=3, stride=1, pad=0, dil=2), a=(2, 2, 7, 7)), v(dict(k=2, stride=2, pad=1, dil=2), a=(1, 3, 8, 6))])
op("avg_pool2d_exclusive", "avg_pool2d(a, {k}, stride = {stride}, pad = {pad}, count_include_pad = false)",
   lambda p, k, stride, pad: F.avg_pool2d(p["a"], k, stride, pad, count_include_pad=False),
   [v(dict(k=3, stride=2, pad=1), a=(2, 3, 7, 7)), v(dict(k=2, stride=1, pad=1), a=(1, 1, 3, 4))])
op("adaptive_avg_pool2d", "adaptive_avg_pool2d(a, {size})",
   lambda p, size: F.adaptive_avg_pool2d(p["a"], size),
   [v(dict(size=(3, 2)), a=(2, 3, 7, 5)), v(dict(size=(1, 1)), a=(1, 2, 4, 4)), v(dict(size=(4, 4)), a=(1, 1, 6, 9))])
op("global_avg_pool", "global_avg_pool(a)", lambda p: p["a"].mean(dim=(2, 3)), [v(a=(2, 3, 4, 5)), v(a=(1, 1, 1, 1))])


def _block_ref(factory, prefix, training):
    """Reference for a stdlib block through an equivalent nn.Module whose
    state_dict names are the block's (parameters and buffers come from p)."""
    from torch.nn.utils.stateless import functional_call

    def f(p, **attrs):
        m = factory(**attrs).double().train(training)
        state = {k[len(prefix):]: (p[k] if not k.endswith(("running_mean", "running_var")) else p[k].detach().clone())
                 for k in p if k.startswith(prefix)}
        return functional_call(m, state, (p["a"],))
    return f


class _ConvBnRelu(torch.nn.Module):
    def __init__(self, cin, out):
        super().__init__()
        self.conv2d0 = torch.nn.Conv2d(cin, out, 3, 1, 1, bias=False)
        self.batch_norm0 = torch.nn.BatchNorm2d(out)

    def forward(self, x):
        return F.relu(self.batch_norm0(self.conv2d0(x)))


def _basic_block(cin, out, stride):
    import models
    return models.BasicBlock(cin, out, stride)


op("conv_bn_relu", "conv_bn_relu(a, {out})", _block_ref(_ConvBnRelu, "conv_bn_relu0.", False),
   [v(dict(out=4, cin=3), a=(2, 3, 5, 5))], domain={"conv_bn_relu0.batch_norm0.running_var": "pos"},
   train_ref=_block_ref(_ConvBnRelu, "conv_bn_relu0.", True))
op("basic_block", "basic_block(a, {out}, stride = {stride})", _block_ref(_basic_block, "basic_block0.", False),
   [v(dict(cin=4, out=4, stride=1), a=(2, 4, 6, 6)), v(dict(cin=3, out=8, stride=2), a=(2, 3, 7, 7))],
   domain={f"basic_block0.{bn}.running_var": "pos" for bn in ("batch_norm0", "batch_norm1", "shortcut_bn")},
   train_ref=_block_ref(_basic_block, "basic_block0.", True))

# ---- data movement ----------------------------------------------------------------
def _sl(p, axis, start, end, step):
    idx = [slice(None)] * p["a"].dim()
    idx[axis] = slice(start, end, step)
    return p["a"][tuple(idx)]


op("slice", "slice(a, {axis}, start = {start}, end = {end}, step = {step})", _sl,
   [v(dict(axis=0, start=1, end=3, step=1), a=(4, 3)), v(dict(axis=1, start=0, end=7, step=2), a=(2, 7)),
    v(dict(axis=2, start=1, end=5, step=3), a=(2, 3, 6)), v(dict(axis=1, start=-3, end=-1, step=1), a=(3, 5))])
op("concat", "concat([a, b], axis = {axis})", lambda p, axis: torch.cat([p["a"], p["b"]], axis),
   [v(dict(axis=0), a=(2, 3), b=(4, 3)), v(dict(axis=1), a=(2, 3), b=(2, 1)), v(dict(axis=1), a=(1, 2, 3, 3),
                                                                                 b=(1, 5, 3, 3))])
op("concat3", "concat([a, b, c], axis = 2)", lambda p: torch.cat([p["a"], p["b"], p["c"]], 2),
   [v(a=(2, 3, 1), b=(2, 3, 4), c=(2, 3, 2))])
op("stack", "stack([a, b], axis = {axis})", lambda p, axis: torch.stack([p["a"], p["b"]], axis),
   [v(dict(axis=0), a=(2, 3), b=(2, 3)), v(dict(axis=2), a=(2, 3), b=(2, 3))])
op("chunk", "concat(chunk(a, {n}, axis = 1), axis = 0)", lambda p, n: torch.cat(torch.chunk(p["a"], n, 1), 0),
   [v(dict(n=2), a=(2, 4)), v(dict(n=3), a=(1, 6, 2))])
op("squeeze", "squeeze(a, axis = 1) * b", lambda p: p["a"].squeeze(1) * p["b"], [v(a=(3, 1, 4), b=(4,))])
op("unsqueeze", "unsqueeze(a, 1) * b", lambda p: p["a"].unsqueeze(1) * p["b"], [v(a=(3, 4), b=(2, 1))])
op("pad", 'pad(a, {pads}, mode = "{mode}")', lambda p, pads, mode: F.pad(p["a"], pads, mode),
   [v(dict(pads=[1, 2], mode="constant"), a=(2, 3)), v(dict(pads=[2, 1, 1, 2], mode="reflect"), a=(1, 2, 5, 6)),
    v(dict(pads=[1, 1, 2, 0], mode="replicate"), a=(1, 2, 4, 4)), v(dict(pads=[1, 0], mode="reflect"), a=(2, 2, 3))])
op("pad_value", "pad(a, {pads}, value = {value})", lambda p, pads, value: F.pad(p["a"], pads, value=value),
   [v(dict(pads=[1, 0, 2, 1], value=0.5), a=(2, 3, 4))])
# i32 ids padded with a PAD id (a copy: no gradient to a; b's shows the positions)
op("pad i32", "cast_f32(pad(cast_i32(3 * a), {pads}, value = {value})) * b",
   lambda p, pads, value: F.pad((3 * p["a"]).int(), pads, value=value).double() * p["b"] + _noidx(p),
   [v(dict(pads=[1, 2], value=7), a=(2, 3), b=(2, 6)), v(dict(pads=[0, 1, 2, 0], value=-1), a=(2, 3, 4), b=(2, 5, 5)),
    v(dict(pads=[-1, 2], value=0), a=(3, 4), b=(3, 5))])
op("upsample", 'upsample(a, {scale}, mode = "{mode}")',
   lambda p, scale, mode: F.interpolate(p["a"], scale_factor=scale, mode=mode,
                                        align_corners=False if mode == "bilinear" else None),
   [v(dict(scale=2, mode="nearest"), a=(1, 2, 3, 4)), v(dict(scale=(2, 3), mode="nearest"), a=(2, 1, 3, 2)),
    v(dict(scale=2, mode="bilinear"), a=(1, 2, 3, 4)), v(dict(scale=3, mode="bilinear"), a=(2, 1, 4, 3))])
op("upsample_aligned", 'upsample(a, {scale}, mode = "bilinear", align_corners = true)',
   lambda p, scale: F.interpolate(p["a"], scale_factor=scale, mode="bilinear", align_corners=True),
   [v(dict(scale=2), a=(1, 2, 3, 4))])
# upsample to a size, including sizes that are no multiple of the input (FCN's crops, 7 -> 10)
_SIZE = [v(dict(size=(5, 3), mode="nearest", ac="false"), a=(2, 1, 3, 2)), v(dict(size=(7, 10), mode="nearest", ac="false"), a=(1, 2, 4, 7)),
         v(dict(size=(6, 8), mode="nearest", ac="false"), a=(1, 2, 3, 4)), v(dict(size=(5, 7), mode="bilinear", ac="false"), a=(2, 1, 3, 4)),
         v(dict(size=(10, 10), mode="bilinear", ac="false"), a=(1, 2, 7, 7)), v(dict(size=(5, 7), mode="bilinear", ac="true"), a=(1, 2, 3, 4)),
         v(dict(size=(2, 3), mode="bilinear", ac="false"), a=(1, 1, 4, 6))]
op("upsample_size", 'upsample(a, size = {size}, mode = "{mode}"' + '{acs})',
   lambda p, size, mode, ac, acs: F.interpolate(p["a"], size=size, mode=mode,
                                                align_corners=(ac == "true") if mode == "bilinear" else None),
   [(sh, dict(at, acs=", align_corners = true" if at["ac"] == "true" else "")) for sh, at in _SIZE])

# ---- more builtins: casts, counts, penalties, split, unpooling, second order ----------
op("cast_f32", "cast_f32(max_pool2d_with_indices(a, {k}, stride = {s})[1]) * b",  # the indices are an i32 source
   lambda p, k, s: F.max_pool2d(p["a"], k, s, return_indices=True)[1].double() * p["b"],
   [v(dict(k=2, s=2), a=(1, 2, 4, 4), b=(1,)), v(dict(k=3, s=2), a=(2, 3, 7, 6), b=(3, 1, 1))])
op("cast_i32", "cast_f32(cast_i32(a * 3.0)) * b",  # toward zero on both signs; no gradient to a
   lambda p: (p["a"] * 3.0).int().double() * p["b"],
   [v(a=(2, 5), b=(5,)), v(a=(1, 3, 4), b=(1,))])


def _count(shape, axes):
    n = 1
    for i in axes:
        n *= shape[i]
    return n


op("numel", "a / numel(a)", lambda p: p["a"] / p["a"].numel(), [v(a=(3, 5)), v(a=(2, 1, 7))])
op("numel", "a * numel(a, axis = {axis})", lambda p, axis: p["a"] * _count(p["a"].shape, axis),
   [v(dict(axis=[1]), a=(3, 5)), v(dict(axis=[0, 2]), a=(2, 3, 4))])
op("numel", "a * numel(x, axis = 0) + numel(x)", lambda p: p["a"] * 1 + 1, [v(a=(3, 4))])  # run-time N (= 1 here)
for name in ("l1_penalty", "l2_penalty"):
    f = torch.abs if name == "l1_penalty" else torch.square
    pen = lambda p, wo, f=f: sum(f(p[k]).sum() for k in "abc" if k in p and (wo == "false" or p[k].dim() >= 2))
    op(name, name + "(weights_only = {wo})", pen,
       [v(dict(wo="true"), a=(3, 4), b=(5,), c=(2, 1, 3)), v(dict(wo="false"), a=(3, 4), b=(5,), c=(2, 1, 3)),
        v(dict(wo="false"), a=(7,))])
    op(name, "a * " + name + "()", lambda p, pen=pen: p["a"] * pen(p, "true"), [v(a=(2, 3), b=(4,))])
op("split", "split(a, {sizes}, axis = {axis})[{i}] * split(a, {sizes}, axis = {axis})[{j}]",
   lambda p, sizes, axis, i, j: torch.split(p["a"], sizes, axis)[i] * torch.split(p["a"], sizes, axis)[j],
   [v(dict(sizes=2, axis=1, i=0, j=1), a=(3, 4)), v(dict(sizes=[1, 3, 1], axis=0, i=0, j=2), a=(5, 2)),
    v(dict(sizes=3, axis=2, i=0, j=2), a=(2, 3, 7)), v(dict(sizes=[2, 3], axis=-1, i=1, j=1), a=(2, 5))])
op("conv_transpose", "conv_transpose(a, b, stride = {stride}, pad = {pad}, output_pad = {opad}, dilation = {dil}, "
   "groups = {groups})",
   lambda p, stride, pad, opad, dil, groups: F.conv_transpose2d(p["a"], p["b"], None, stride, pad, opad, groups, dil),
   [v(CONV(opad=0), a=(1, 2, 4, 5), b=(2, 3, 3, 3)),
    v(CONV(stride=2, pad=1, opad=1), a=(2, 3, 4, 4), b=(3, 2, 3, 3)),
    v(CONV(stride=(2, 3), pad=(1, 0), opad=(0, 2)), a=(1, 2, 3, 4), b=(2, 4, 2, 3)),
    v(CONV(stride=3, pad=2, opad=2, dil=2, groups=3), a=(2, 6, 3, 3), b=(6, 2, 3, 3)),
    v(CONV(opad=0), a=(1, 1, 1, 1), b=(1, 1, 2, 2))])


def _unpool(p, k, s, pad, size, scaled=True):
    y, i = F.max_pool2d(p["a"], k, s, pad, return_indices=True)
    return F.max_unpool2d(y * p["b"] if scaled else y, i, k, s, pad,
                          output_size=(size, size) if isinstance(size, int) else size)


POOL_IDX = "max_pool2d_with_indices(a, {k}, stride = {s}, pad = {pad})"
# non-overlapping windows: distinct indices, so the pooled values may be scaled before unpooling
op("max_unpool2d", "max_unpool2d(%s[0] * b, %s[1], {size})" % (POOL_IDX, POOL_IDX), _unpool,
   [v(dict(k=2, s=2, pad=0, size=4), a=(1, 2, 4, 4), b=(1,)),
    v(dict(k=2, s=2, pad=0, size=(5, 7)), a=(2, 3, 5, 7), b=(3, 1, 1)),
    v(dict(k=(2, 3), s=(2, 3), pad=(1, 1), size=(6, 6)), a=(1, 2, 6, 6), b=(2, 1, 1))])
# overlapping windows: an index can repeat, with the same value, as in PyTorch
op("max_unpool2d", "max_unpool2d(%s[0], %s[1], {size})" % (POOL_IDX, POOL_IDX),
   lambda p, **at: _unpool(p, scaled=False, **at),
   [v(dict(k=3, s=2, pad=1, size=7), a=(2, 2, 7, 7)), v(dict(k=3, s=1, pad=0, size=(5, 6)), a=(1, 2, 5, 6))])


def _grad(f, wrt):
    """grad(y, x) as a value: the reference keeps the graph, so the projected
    loss is differentiated through it (second order), as dlnc's train step is."""
    return lambda p: torch.autograd.grad(f(p), p[wrt], create_graph=True)[0]


op("grad", "grad(sum(a * a * b), a)", _grad(lambda p: (p["a"] * p["a"] * p["b"]).sum(), "a"),
   [v(a=(3, 4), b=(4,)), v(a=(2, 3, 1), b=(5,))])
op("grad", "grad(sum(tanh(a @ b)), b)", _grad(lambda p: torch.tanh(p["a"] @ p["b"]).sum(), "b"),
   [v(a=(3, 4), b=(4, 5))])
op("grad", "grad(mean(log_softmax(a, axis = 1) * b), a)",
   _grad(lambda p: (F.log_softmax(p["a"], 1) * p["b"]).mean(), "a"), [v(a=(3, 5), b=(3, 5))])
op("grad", "a + 0.1 * grad(sum(sigmoid(a) * b), a)",
   lambda p: p["a"] + 0.1 * _grad(lambda q: (torch.sigmoid(q["a"]) * q["b"]).sum(), "a")(p), [v(a=(4, 3), b=(3,))])
op("grad", "grad(sum(square(conv(a, b, pad = 1))), b)",
   _grad(lambda p: F.conv2d(p["a"], p["b"], padding=1).square().sum(), "b"), [v(a=(2, 2, 5, 5), b=(3, 2, 3, 3))])


def _wgan_gp_penalty(p):
    """WGAN-GP's gradient penalty (Gulrajani et al. 2017) at interpolates a of a
    small dense critic: its value, and the second-order gradients of every
    critic parameter and of a."""
    critic = lambda x: F.linear(F.leaky_relu(F.linear(x, p["dense0.weight"], p["dense0.bias"]), 0.2),
                                p["dense1.weight"], p["dense1.bias"])
    g = torch.autograd.grad(critic(p["a"]).sum(), p["a"], create_graph=True)[0]
    return ((g.square().sum(dim=1).sqrt() - 1) ** 2).mean()


op("grad", "mean((sqrt(sum(grad(sum(dense(leaky_relu(dense(a, 6), 0.2), 1)), a) ** 2, axis = 1)) - 1.0) ** 2)",
   _wgan_gp_penalty, [v(a=(4, 5)), v(a=(3, 7))])
op("grad", "grad(sum(max_pool2d(a, 2) * b), a)", _grad(lambda p: (F.max_pool2d(p["a"], 2) * p["b"]).sum(), "a"),
   [v(a=(1, 2, 4, 5), b=(1, 2, 2, 2))])


# ---- more stdlib blocks (stdlib/blocks.dln), functional references -------------------
def _bnf(p, name, x, training):
    return F.batch_norm(x, p[name + ".running_mean"].detach().clone(), p[name + ".running_var"].detach().clone(),
                        p[name + ".weight"], p[name + ".bias"], training=training, eps=1e-5)


def _cbr(p, name, x, training, stride=1, pad=1, groups=1):
    """stdlib conv_bn_relu: conv2d without bias, batch norm, relu."""
    return F.relu(_bnf(p, name + ".batch_norm0", F.conv2d(x, p[name + ".conv2d0.weight"], None, stride, pad, 1, groups),
                       training))


def _modes(f):
    """ref (eval mode) and train_ref of a reference f(p, training, **attrs)."""
    return dict(ref=lambda p, **at: f(p, False, **at), train_ref=lambda p, **at: f(p, True, **at))


def _rv(*bns):
    """Batch-norm running variances are drawn positive."""
    return {b + ".running_var": "pos" for b in bns}


def _bottleneck(p, training, out, stride, exp):
    P, x = "bottleneck0.", p["a"]
    h = F.relu(_bnf(p, P + "batch_norm0", F.conv2d(x, p[P + "conv2d0.weight"]), training))
    h = F.relu(_bnf(p, P + "batch_norm1", F.conv2d(h, p[P + "conv2d1.weight"], None, stride, 1), training))
    h = _bnf(p, P + "batch_norm2", F.conv2d(h, p[P + "conv2d2.weight"]), training)
    s = x
    if stride != 1 or out * exp != x.shape[1]:
        s = _bnf(p, P + "shortcut_bn", F.conv2d(x, p[P + "shortcut.weight"], None, stride), training)
    return F.relu(h + s)


op("bottleneck", "bottleneck(a, {out}, stride = {stride}, expansion = {exp})", variants=[
    v(dict(out=2, stride=1, exp=4), a=(2, 8, 4, 4)), v(dict(out=2, stride=2, exp=4), a=(2, 3, 5, 5)),
    v(dict(out=3, stride=1, exp=2), a=(2, 4, 3, 3))],
   domain=_rv(*(f"bottleneck0.{b}" for b in ("batch_norm0", "batch_norm1", "batch_norm2", "shortcut_bn"))),
   **_modes(_bottleneck))


def _vgg_stage(p, training, out, convs, bn):
    h = p["a"]
    for i in range(convs):
        h = F.conv2d(h, p[f"vgg_stage0.conv2d{i}.weight"], p.get(f"vgg_stage0.conv2d{i}.bias"), 1, 1)
        h = F.relu(_bnf(p, f"vgg_stage0.batch_norm{i}", h, training) if bn == "true" else h)
    return F.max_pool2d(h, 2)


op("vgg_stage", "vgg_stage(a, {out}, convs = {convs}, bn = {bn})", variants=[
    v(dict(out=3, convs=2, bn="true"), a=(2, 2, 6, 6)), v(dict(out=4, convs=1, bn="false"), a=(1, 3, 5, 7)),
    v(dict(out=2, convs=3, bn="true"), a=(2, 1, 4, 4))],
   domain=_rv(*(f"vgg_stage0.batch_norm{i}" for i in range(3))), **_modes(_vgg_stage))


def _inception(p, training, **_):
    P, x = "inception0.conv_bn_relu", p["a"]
    b1 = _cbr(p, P + "0", x, training, pad=0)
    b2 = _cbr(p, P + "2", _cbr(p, P + "1", x, training, pad=0), training, pad=1)
    b3 = _cbr(p, P + "4", _cbr(p, P + "3", x, training, pad=0), training, pad=2)
    b4 = _cbr(p, P + "5", F.max_pool2d(x, 3, 1, 1), training, pad=0)
    return torch.cat([b1, b2, b3, b4], 1)


op("inception", "inception(a, {c1}, {c3r}, {c3}, {c5r}, {c5}, {pp})", variants=[
    v(dict(c1=2, c3r=2, c3=3, c5r=1, c5=2, pp=2), a=(2, 3, 5, 5)),
    v(dict(c1=1, c3r=3, c3=2, c5r=2, c5=1, pp=3), a=(2, 4, 6, 4))],
   domain=_rv(*(f"inception0.conv_bn_relu{i}.batch_norm0" for i in range(6))), **_modes(_inception))


def _dense_block(p, training, layers, growth):
    h = p["a"]
    for i in range(layers):
        new = F.conv2d(F.relu(_bnf(p, f"dense_block0.batch_norm{i}", h, training)), p[f"dense_block0.conv2d{i}.weight"],
                       None, 1, 1)
        h = torch.cat([h, new], 1)
    return h


op("dense_block", "dense_block(a, {layers}, {growth})", variants=[
    v(dict(layers=2, growth=3), a=(2, 2, 4, 4)), v(dict(layers=3, growth=2), a=(2, 3, 5, 3)),
    v(dict(layers=1, growth=4), a=(3, 1, 3, 3))],
   domain=_rv(*(f"dense_block0.batch_norm{i}" for i in range(3))), **_modes(_dense_block), fwd_tol=5e-5,
   why="the training-mode check compares sum(output * R), which can cancel to ~0.4 from terms of ~5 "
       "(seed 1279: dlnc 1.3e-5 off, PyTorch's own float32 7e-6); the outputs themselves agree to 2e-7")
op("transition", "transition(a, {out})", variants=[v(dict(out=3), a=(2, 4, 4, 4)), v(dict(out=2), a=(2, 3, 5, 7))],
   domain=_rv("transition0.batch_norm0"),
   **_modes(lambda p, training, out: F.avg_pool2d(F.conv2d(F.relu(_bnf(p, "transition0.batch_norm0", p["a"], training)),
                                                           p["transition0.conv2d0.weight"]), 2)))
op("depthwise_separable", "depthwise_separable(a, {out}, stride = {stride})", variants=[
    v(dict(out=5, stride=1), a=(2, 3, 5, 5)), v(dict(out=4, stride=2), a=(2, 4, 6, 5))],
   domain=_rv(*(f"depthwise_separable0.conv_bn_relu{i}.batch_norm0" for i in range(2))),
   **_modes(lambda p, training, out, stride: _cbr(
       p, "depthwise_separable0.conv_bn_relu1",
       _cbr(p, "depthwise_separable0.conv_bn_relu0", p["a"], training, stride, 1, p["a"].shape[1]), training, pad=0)))


def _squeeze_excite(p, reduction, squeeze, act, gate="sigmoid"):
    P, x = "squeeze_excite0.", p["a"]
    s = F.linear(x.mean(dim=(2, 3)), p[P + "dense0.weight"], p[P + "dense0.bias"])
    s = F.relu(s) if act == "relu" else F.silu(s)
    s = F.linear(s, p[P + "dense1.weight"], p[P + "dense1.bias"])
    return x * (torch.sigmoid(s) if gate == "sigmoid" else F.hardsigmoid(s))[:, :, None, None]


# squeeze = 2, "silu": EfficientNet's MBConv (a quarter of the block's input channels, not of the expanded ones);
# gate "hard_sigmoid": MobileNetV3's (torchvision's SqueezeExcitation(scale_activation = nn.Hardsigmoid))
op("squeeze_excite", 'squeeze_excite(a, reduction = {reduction}, squeeze = {squeeze}, activation = "{act}")', _squeeze_excite,
   [v(dict(reduction=4, squeeze=0, act="relu"), a=(2, 8, 3, 3)), v(dict(reduction=2, squeeze=0, act="relu"), a=(3, 6, 4, 5)),
    v(dict(reduction=1, squeeze=0, act="relu"), a=(1, 3, 2, 2)), v(dict(reduction=4, squeeze=2, act="silu"), a=(2, 24, 3, 3))])
op("squeeze_excite", 'squeeze_excite(a, squeeze = {squeeze}, gate = "{gate}")',
   lambda p, squeeze, gate: _squeeze_excite(p, 4, squeeze, "relu", gate),
   [v(dict(squeeze=4, gate="hard_sigmoid"), a=(2, 8, 3, 3))])


def _unet_down(p, training, out, k):
    h = _cbr(p, "unet_down0.conv_bn_relu1", _cbr(p, "unet_down0.conv_bn_relu0", p["a"], training), training)
    return (h, F.max_pool2d(h, 2))[k]


op("unet_down", "unet_down(a, {out})[{k}]", variants=[  # both results: the skip features and the pooled map
    v(dict(out=3, k=0), a=(2, 2, 6, 6)), v(dict(out=3, k=1), a=(2, 2, 6, 6)), v(dict(out=2, k=1), a=(2, 3, 5, 7))],
   domain=_rv(*(f"unet_down0.conv_bn_relu{i}.batch_norm0" for i in range(2))), **_modes(_unet_down))


def _unet_up(p, training, out):
    h = torch.cat([F.interpolate(p["a"], scale_factor=2, mode="nearest"), p["b"]], 1)
    return _cbr(p, "unet_up0.conv_bn_relu1", _cbr(p, "unet_up0.conv_bn_relu0", h, training), training)


op("unet_up", "unet_up(a, b, {out})", variants=[
    v(dict(out=3), a=(2, 4, 3, 3), b=(2, 2, 6, 6)), v(dict(out=2), a=(2, 2, 2, 3), b=(2, 3, 4, 6))],
   domain=_rv(*(f"unet_up0.conv_bn_relu{i}.batch_norm0" for i in range(2))), **_modes(_unet_up))

# ---- generative models (stdlib/generative.dln) ------------------------------------------
_noidx = lambda p: 0 * p["a"].sum()  # an index has no gradient: zeros, as autograd would give
op("argmax", "cast_f32(argmax(a, axis = {axis}))", lambda p, axis: p["a"].argmax(axis).double() + _noidx(p),
   [v(dict(axis=1), a=(4, 7)), v(dict(axis=0), a=(5, 3)), v(dict(axis=2), a=(2, 3, 4)), v(dict(axis=1), a=(2, 1, 3))])
op("argmin", "cast_f32(argmin(a, axis = {axis}))", lambda p, axis: p["a"].argmin(axis).double() + _noidx(p),
   [v(dict(axis=1), a=(4, 7)), v(dict(axis=0), a=(2, 5, 3))])
op("argmax take", "take(b, argmax(a, axis = 1))", lambda p: p["b"][p["a"].argmax(1)] + _noidx(p), [v(a=(6, 4), b=(4, 3))])
# sort / topk: values (gradient to the picked positions) and positions; torch.sort(stable=True) is the
# order for ties too (round(3 * a) makes them), and topk's "lower position first" is that order's prefix.
_SORT = [v(dict(axis=1, d="false"), a=(4, 7)), v(dict(axis=0, d="true"), a=(5, 3)), v(dict(axis=2, d="true"), a=(2, 3, 6)),
         v(dict(axis=1, d="false"), a=(2, 1, 3))]
_sort = lambda p, x, axis, d: torch.sort(x, dim=axis, descending=d == "true", stable=True)
op("sort", "sort(a, axis = {axis}, descending = {d})[0]", lambda p, axis, d: _sort(p, p["a"], axis, d).values, _SORT)
op("sort indices", "cast_f32(sort(a, axis = {axis}, descending = {d})[1])",
   lambda p, axis, d: _sort(p, p["a"], axis, d).indices.double() + _noidx(p), _SORT)
op("argsort ties", "cast_f32(argsort(round(3 * a), axis = {axis}, descending = {d}))",
   lambda p, axis, d: _sort(p, torch.round(3 * p["a"]), axis, d).indices.double() + _noidx(p), _SORT)
_TOPK = [v(dict(k=3, axis=-1, l="true"), a=(4, 7)), v(dict(k=1, axis=0, l="false"), a=(5, 3)),
         v(dict(k=2, axis=1, l="true"), a=(2, 3, 4)), v(dict(k=5, axis=1, l="false"), a=(3, 5))]
_topk = lambda p, x, k, axis, l: torch.topk(x, k, dim=axis, largest=l == "true")
op("topk", "topk(a, {k}, axis = {axis}, largest = {l})[0]", lambda p, k, axis, l: _topk(p, p["a"], k, axis, l).values, _TOPK)
op("topk indices", "cast_f32(topk(a, {k}, axis = {axis}, largest = {l})[1])",
   lambda p, k, axis, l: _topk(p, p["a"], k, axis, l).indices.double() + _noidx(p), _TOPK)
op("topk ties", "cast_f32(topk(round(3 * a), {k}, axis = {axis}, largest = {l})[1])",
   lambda p, k, axis, l: _sort(p, torch.round(3 * p["a"]), axis, l).indices.narrow(axis, 0, k).double() + _noidx(p), _TOPK)
op("topk values", "topk(a, 2)[0] * b", lambda p: torch.topk(p["a"], 2).values * p["b"], [v(a=(3, 6), b=(3, 2))])
op("cumsum", "cumsum(a, {axis})", lambda p, axis: torch.cumsum(p["a"], axis),
   [v(dict(axis=0), a=(7,)), v(dict(axis=1), a=(3, 5)), v(dict(axis=0), a=(4, 3)), v(dict(axis=-2), a=(2, 3, 4))])
op("cumprod", "cumprod(a, {axis})", lambda p, axis: torch.cumprod(p["a"], axis),
   [v(dict(axis=0), a=(7,)), v(dict(axis=1), a=(3, 5)), v(dict(axis=-2), a=(2, 3, 4))])
# one exact zero per row (its minimum subtracted) with a gradient through it: torch's backward is exact there,
# where reverse_cumsum(g * y) / x would divide 0 by 0
op("cumprod zeros", "cumprod(a - min(a, axis = {axis}, keepdims = true), {axis})",
   lambda p, axis: torch.cumprod(p["a"] - p["a"].amin(axis, keepdim=True), axis),
   [v(dict(axis=1), a=(3, 5)), v(dict(axis=0), a=(4, 2, 3))])
op("cumprod two zeros", "cumprod((a - min(a, axis = 1, keepdims = true)) * (max(a, axis = 1, keepdims = true) - a), 1)",
   lambda p: torch.cumprod((p["a"] - p["a"].amin(1, keepdim=True)) * (p["a"].amax(1, keepdim=True) - p["a"]), 1),
   [v(a=(3, 6)), v(a=(2, 4, 3))])
op("flip", "flip(a, {axis}) * b", lambda p, axis: torch.flip(p["a"], [axis] if isinstance(axis, int) else axis) * p["b"],
   [v(dict(axis=0), a=(7,), b=(7,)), v(dict(axis=-1), a=(3, 5), b=(3, 5)), v(dict(axis=[0, 2]), a=(2, 3, 4), b=(2, 3, 4)),
    v(dict(axis=[1, 0]), a=(3, 4), b=(3, 4))])
op("flip i32", "cast_f32(flip(cast_i32(3 * a), {axis})) + a", lambda p, axis: torch.flip((3 * p["a"]).int(), [axis]).double() + p["a"],
   [v(dict(axis=1), a=(3, 5))])
op("var", "var(a, axis = {axis}, unbiased = {u}, keepdims = {k})",
   lambda p, axis, u, k: p["a"].var(dim=axis, unbiased=u == "true", keepdim=k == "true"),
   [v(dict(axis=1, u="true", k="false"), a=(3, 5)), v(dict(axis=0, u="false", k="true"), a=(4, 3)),
    v(dict(axis=[0, 2], u="true", k="true"), a=(2, 3, 4))])
op("var all", "var(a) + std(a, unbiased = false)", lambda p: p["a"].var() + p["a"].std(unbiased=False), [v(a=(3, 4))])
op("std", "std(a, axis = {axis})", lambda p, axis: p["a"].std(dim=axis), [v(dict(axis=-1), a=(3, 5)), v(dict(axis=1), a=(2, 4, 3))])
op("masked_fill", "softmax(masked_fill(a, triu(ones(4, 4), k = 1), -inf), axis = 1) * b",
   lambda p: torch.softmax(p["a"].masked_fill(torch.triu(torch.ones(4, 4, dtype=torch.float64), 1).bool(), -math.inf), 1) * p["b"],
   [v(a=(4, 4), b=(4, 4)), v(a=(2, 4, 4), b=(2, 4, 4))])
op("masked_fill value", "masked_fill(a, b > 0.0, 2.5)", lambda p: p["a"].masked_fill(p["b"] > 0, 2.5) + 0 * p["b"],
   [v(a=(3, 5), b=(3, 5)), v(a=(2, 3, 4), b=(3, 1))])
op("ceil", "ceil(3 * a)", lambda p: torch.ceil(3 * p["a"]), U[:3])
op("cast_i32", "cast_f32(cast_i32(3 * a))", lambda p: (3 * p["a"]).int().double() + _noidx(p), U[:3])
op("reparameterize", "reparameterize(a, b, noise = c, sample = true)",  # the noise as an input: deterministic
   lambda p: p["a"] + torch.exp(0.5 * p["b"]) * p["c"], [v(a=(4, 3), b=(4, 3), c=(4, 3)), v(a=(2, 3, 2), b=(2, 3, 2), c=(2, 3, 2))])
op("kl_normal", "kl_normal(a, b)", lambda p: -0.5 * (1 + p["b"] - p["a"] ** 2 - p["b"].exp()).sum() / p["a"].shape[0],
   [v(a=(4, 3), b=(4, 3)), v(a=(2, 3, 2, 2), b=(2, 3, 2, 2)), v(a=(1, 5), b=(1, 5))])


def _vae(p):
    """A VAE step's loss: encoder heads mu and logvar, the reparameterized
    sample with the noise b given, a decoder, Bernoulli likelihood + KL."""
    mu = F.linear(p["a"], p["mu.weight"], p["mu.bias"])
    lv = F.linear(p["a"], p["lv.weight"], p["lv.bias"])
    logits = F.linear(mu + torch.exp(0.5 * lv) * p["b"], p["dec.weight"], p["dec.bias"])
    rec = F.binary_cross_entropy_with_logits(logits, torch.sigmoid(p["a"]), reduction="sum") / p["a"].shape[0]
    return rec - 0.5 * (1 + lv - mu ** 2 - lv.exp()).sum() / p["a"].shape[0]


op("vae step", 'bce_with_logits(dense(reparameterize(dense(a, 2, name = "mu"), dense(a, 2, name = "lv"), noise = b, '
   'sample = true), 6, name = "dec"), sigmoid(a)) * 6 + kl_normal(dense(a, 2, name = "mu"), dense(a, 2, name = "lv"))',
   _vae, [v(a=(4, 6), b=(4, 2))])


def _masked_conv(p, kh, kw, type):
    """PixelCNN's MaskedConv2d: an nn.Conv2d whose weight is multiplied by the
    mask before every forward (van den Oord et al.)."""
    w = p["masked_conv2d0.weight"]
    mask = torch.ones_like(w)
    mask[:, :, kh // 2, kw // 2 + (type == "B"):] = 0
    mask[:, :, kh // 2 + 1:] = 0
    return F.conv2d(p["a"], w * mask, p["masked_conv2d0.bias"], padding=(kh // 2, kw // 2))


op("masked_conv2d", 'masked_conv2d(a, {out}, kernel = ({kh}, {kw}), mask_type = "{type}")',
   lambda p, out, kh, kw, type: _masked_conv(p, kh, kw, type),
   [v(dict(out=3, kh=3, kw=3, type="A"), a=(2, 1, 5, 6)), v(dict(out=2, kh=5, kw=5, type="B"), a=(2, 3, 6, 5)),
    v(dict(out=4, kh=3, kw=5, type="B"), a=(1, 2, 4, 4)), v(dict(out=2, kh=7, kw=7, type="A"), a=(2, 2, 4, 5))])


def _vq(p, part, codes, beta, cf):
    """VQ-VAE's quantizer as the reference implementations write it: nearest
    code by squared distance (argmin), straight-through, F.mse_loss losses."""
    z, E = p["a"], p["vector_quantize0.codebook"]
    zl = z.permute(0, 2, 3, 1) if cf else z
    d = (zl ** 2).sum(-1, keepdim=True) - 2 * zl @ E.t() + (E ** 2).sum(1)
    idx = d.argmin(-1)
    q = E[idx].permute(0, 3, 1, 2) if cf else E[idx]
    unused = 0 * (z.sum() + E.sum())  # the index has no gradient: zeros, as autograd would give
    return [z + (q - z).detach(), beta * F.mse_loss(z, q.detach()), F.mse_loss(z.detach(), q), idx.double() + unused][part]


_cast = lambda part: "cast_f32" if part == 3 else ""  # the index is i32
op("vector_quantize", "{wrap}(vector_quantize(a, {codes}, beta = {beta}, channels_first = {cf})[{part}])",
   lambda p, codes, beta, cf, part, wrap: _vq(p, part, codes, beta, cf == "true"),
   [v(dict(codes=5, beta=0.25, cf="true", part=k, wrap=_cast(k)), a=(2, 3, 4, 5)) for k in range(4)]
   + [v(dict(codes=7, beta=0.5, cf="false", part=k, wrap=_cast(k)), a=(3, 4, 2)) for k in range(4)]
   + [v(dict(codes=1, beta=1.0, cf="false", part=0, wrap=""), a=(4, 3))])


def _coupling(p, x, hidden, flip, inverse, name="affine_coupling0"):
    """RealNVP's affine coupling with an nn.Sequential(Linear, ReLU, Linear,
    ReLU, Linear) giving s (through tanh) and t."""
    cut = x.shape[1] // 2
    a, b = (x[:, cut:], x[:, :cut]) if flip else (x[:, :cut], x[:, cut:])
    lin = lambda h, i: F.linear(h, p[f"{name}.net.{i}.weight"], p[f"{name}.net.{i}.bias"])
    st = lin(F.relu(lin(F.relu(lin(a, 0)), 2)), 4)
    s, t = torch.tanh(st[:, :b.shape[1]]), st[:, b.shape[1]:]
    b = (b - t) * torch.exp(-s) if inverse else b * torch.exp(s) + t
    y = torch.cat([b, a] if flip else [a, b], 1)
    return y, (-s if inverse else s).sum(1)


op("affine_coupling", "affine_coupling(a, {hidden}, flip = {flip}, inverse = {inverse})[{part}]",
   lambda p, hidden, flip, inverse, part: _coupling(p, p["a"], hidden, flip == "true", inverse == "true")[part],
   [v(dict(hidden=5, flip=f, inverse=i, part=k), a=(3, 6)) for f in ("false", "true") for i in ("false", "true")
    for k in (0, 1)] + [v(dict(hidden=4, flip="true", inverse="false", part=0), a=(2, 5))])
# inverse(forward(x)) == x: compared with x itself (and gradients: the identity's, none for the network)
op("affine_coupling inverse", 'affine_coupling(affine_coupling(a, 6, flip = {flip}, name = "c")[0], 6, flip = {flip}, '
   'inverse = true, name = "c")[0]', lambda p, flip: p["a"] + 0 * sum(p[k].sum() for k in p if k.startswith("c.")),
   [v(dict(flip="false"), a=(3, 4)), v(dict(flip="true"), a=(2, 7))])


def _ddpm(T, part):
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    return [betas, 1 - betas, torch.cumprod(1 - betas, 0)][part]


op("ddpm_schedule", "ddpm_schedule({T})[{part}] * a", lambda p, T, part: _ddpm(T, part) * p["a"],
   [v(dict(T=50, part=0), a=(1,)), v(dict(T=50, part=1), a=(1,)), v(dict(T=1000, part=2), a=(1,)),
    v(dict(T=7, part=2), a=(7,))])


def _timestep_embedding(t, dim):
    """get_timestep_embedding of the DDPM code (Ho et al.), in PyTorch."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float64) * -(math.log(10000) / (half - 1)))
    args = t.double()[:, None] * freqs[None, :]
    return F.pad(torch.cat([torch.sin(args), torch.cos(args)], 1), (0, dim % 2))


op("timestep_embedding", 'timestep_embedding(arange(0, {end}, {step}, dtype = "i32"), {dim}) * a',
   lambda p, end, step, dim: _timestep_embedding(torch.arange(0, end, step), dim) * p["a"],
   [v(dict(end=1000, step=97, dim=8), a=(8,)), v(dict(end=20, step=3, dim=7), a=(7,))])
op("timestep_embedding", 'timestep_embedding(arange(0, {end}, {step}) * 0.37, {dim}) * a',   # a continuous t: f32[N]
   lambda p, end, step, dim: _timestep_embedding(torch.arange(0, end, step).double() * 0.37, dim) * p["a"],
   [v(dict(end=20, step=3, dim=8), a=(7, 8))])
op("q_sample", 'q_sample(a, arange(0, {n} * 3, 3, dtype = "i32"), b, ddpm_schedule({T})[2])',
   lambda p, n, T: _ddpm(T, 2)[torch.arange(0, n * 3, 3)].sqrt()[:, None, None, None] * p["a"]
   + (1 - _ddpm(T, 2)[torch.arange(0, n * 3, 3)]).sqrt()[:, None, None, None] * p["b"],
   [v(dict(n=3, T=10), a=(3, 1, 2, 2), b=(3, 1, 2, 2)), v(dict(n=2, T=100), a=(2, 3, 2, 1), b=(2, 3, 2, 1))])

# ---- losses (stdlib/losses.dln) -----------------------------------------------------
LS = [(1, 3), (4, 10), (7, 5)]
loss("cross_entropy", "cross_entropy(output, label)", lambda z, t: F.cross_entropy(z, t), LS, label="class")
loss("nll", "nll(log_softmax(output, axis = 1), label)", lambda z, t: F.nll_loss(F.log_softmax(z, 1), t),
     LS, label="class")
# Classes on the last axis over every position: [1, B, C] logits with [1, B] targets, and [B, 1, C] with
# [B, 1], equal PyTorch's F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1)).
loss("cross_entropy_seq", "cross_entropy(unsqueeze(output, 0), unsqueeze(label, 0))",
     lambda z, t: F.cross_entropy(z, t), LS, label="class")
loss("cross_entropy_seq", "cross_entropy(unsqueeze(output, 1), unsqueeze(label, 1))",
     lambda z, t: F.cross_entropy(z, t), LS[1:], label="class")
# ignore_index = a class that occurs (-100, the default, never does among labels drawn in [0, C))
loss("cross_entropy_ignore", "cross_entropy(output, label, ignore_index = 1)",
     lambda z, t: F.cross_entropy(z, t, ignore_index=1), LS[1:], label="class")
loss("cross_entropy_mask", "cross_entropy(output, label, mask = cast_f32(label) * 0.25 + 0.5)",
     lambda z, t: (F.cross_entropy(z, t, reduction="none") * (t * 0.25 + 0.5)).sum() / (t * 0.25 + 0.5).sum(),
     LS, label="class")
# PyTorch's layout, classes on axis 1: [N, C, H, W] logits with [N, H, W] targets (segmentation, 255 the
# ignored label of VOC-style masks) and [N, C, L] with [N, L]; classes_last moves them to the end.
loss("cross_entropy_pixels", "cross_entropy(transpose(unsqueeze(unsqueeze(output, 0), 2), [0, 3, 1, 2]), "
     "unsqueeze(unsqueeze(label, 0), 2), ignore_index = 1)",
     lambda z, t: F.cross_entropy(z.T[None, :, :, None], t[None, :, None], ignore_index=1), LS[1:], label="class")
loss("cross_entropy_pixels", "cross_entropy(transpose(unsqueeze(output, 0), [0, 2, 1]), unsqueeze(label, 0), "
     "label_smoothing = 0.1)",
     lambda z, t: F.cross_entropy(z.T[None], t[None], label_smoothing=0.1), LS[1:], label="class")
# per-class weights (torch's weight=) through class_weight(label, [...]) as the mask
W5, W10 = [0.5, 2.0, 1.0, 3.0, 0.25], [0.5, 1.0, 2.0, 0.1, 1.5, 3.0, 0.25, 1.0, 0.75, 2.5]
loss("cross_entropy_class_weight", f"cross_entropy(output, label, mask = class_weight(label, {W5}))",
     lambda z, t: F.cross_entropy(z, t, weight=torch.tensor(W5, dtype=z.dtype)), [(7, 5)], label="class")
loss("cross_entropy_class_weight", f"cross_entropy(output, label, mask = class_weight(label, {W10}))",
     lambda z, t: F.cross_entropy(z, t, weight=torch.tensor(W10, dtype=z.dtype)), [(4, 10)], label="class")
loss("cross_entropy_smooth", "cross_entropy(output, label, label_smoothing = 0.1)",
     lambda z, t: F.cross_entropy(z, t, label_smoothing=0.1), LS, label="class")
loss("cross_entropy_smooth", "cross_entropy(unsqueeze(output, 0), unsqueeze(label, 0), label_smoothing = 0.2, ignore_index = 2)",
     lambda z, t: F.cross_entropy(z, t, label_smoothing=0.2, ignore_index=2), LS[1:], label="class")
loss("nll_ignore", "nll(log_softmax(output, axis = 1), label, ignore_index = 0)",
     lambda z, t: F.nll_loss(F.log_softmax(z, 1), t, ignore_index=0), LS[1:], label="class")
loss("mse", "mse(output, label)", lambda z, t: F.mse_loss(z, t), LS, label="dense")
loss("l1", "l1(output, label)", lambda z, t: F.l1_loss(z, t), LS, label="dense")
loss("mae", "mae(output, label)", lambda z, t: F.l1_loss(z, t), LS[:1], label="dense")
loss("huber", "huber(output, label, delta = 1.0)", lambda z, t: F.huber_loss(z, t, delta=1.0), LS, label="dense")
loss("huber_d", "huber(output, label, delta = 0.3)", lambda z, t: F.huber_loss(z, t, delta=0.3), LS[1:2],
     label="dense")
loss("msle", "msle(output, label)", lambda z, t: F.mse_loss(torch.log1p(z), torch.log1p(t)), LS, label="dense",
     domain="pos", label_domain="pos")
loss("bce", "bce(output, label)", lambda z, t: F.binary_cross_entropy(z, t), LS, label="dense",
     domain="prob", label_domain="prob")
loss("bce_with_logits", "bce_with_logits(output, label)", lambda z, t: F.binary_cross_entropy_with_logits(z, t),
     LS, label="dense", label_domain="prob")
def _nt_xent(z1, z2, t):
    """SimCLR's NT-Xent written out in plain torch (no dlnc-specific trick):
    F.normalize, the full similarity matrix, the diagonal masked to -inf."""
    z = F.normalize(torch.cat([z1, z2], 0), dim=1)
    s = (z @ z.T / t).masked_fill(torch.eye(z.shape[0], dtype=torch.bool), float("-inf"))
    b = z1.shape[0]
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)])
    return F.cross_entropy(s, target)


op("nt_xent", "nt_xent(a, b, temperature = {t})", lambda p, t: _nt_xent(p["a"], p["b"], t),
   [v(dict(t=0.5), a=(6, 4), b=(6, 4)), v(dict(t=0.1), a=(3, 8), b=(3, 8)), v(dict(t=1.0), a=(1, 5), b=(1, 5))])
# the batch of run-time size N (the model's output is f32[N, C]): dz1 with the label as the second view, dz2
# with it as the first, at two temperatures
loss("nt_xent_batch", "nt_xent(output, label, temperature = 0.5)", lambda z, t: _nt_xent(z, t, 0.5), LS,
     label="dense")
loss("nt_xent_batch_z2", "nt_xent(label, output, temperature = 0.1)", lambda z, t: _nt_xent(t, z, 0.1), LS,
     label="dense")


def _clip(a, b, s=1.0):
    """CLIP's loss as open_clip's ClipLoss writes it: the [B, B] logits, cross-entropy over rows and columns."""
    logits = s * a @ b.T
    labels = torch.arange(a.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


op("clip_loss", "clip_loss(a, b, logit_scale = {s})", lambda p, s: _clip(p["a"], p["b"], s),
   [v(dict(s=1.0), a=(6, 4), b=(6, 4)), v(dict(s=14.3), a=(3, 8), b=(3, 8)), v(dict(s=2.0), a=(1, 5), b=(1, 5))])
# the batch of run-time size N: da with the label as the text side, db with it as the image side
loss("clip_loss_batch", "clip_loss(output, label, logit_scale = 3.0)", lambda z, t: _clip(z, t, 3.0), LS, label="dense")
loss("clip_loss_batch_b", "clip_loss(label, output)", lambda z, t: _clip(t, z), LS, label="dense")

loss("soft_cross_entropy", "soft_cross_entropy(output, label)", lambda z, t: F.cross_entropy(z, t), LS,
     label="dense", label_domain="prob")  # rows of probabilities need not sum to 1 (the formula is linear in t)

# inverse and logabsdet (Glow's 1x1 convolution): shifted by 3 I to stay well conditioned; a negative
# determinant (odd size, shifted by -3 I); a batch of matrices; 1x1; the gradient of log|det| is W^-T
_I = lambda n, k: k * torch.eye(n, dtype=torch.float64)                 # noqa: E731
op("inverse", "inverse(a + 3.0 * eye(4))", lambda p: torch.linalg.inv(p["a"] + _I(4, 3)), [v(a=(4, 4)), v(a=(2, 3, 4, 4))])
op("inverse", "inverse(a)", lambda p: torch.linalg.inv(p["a"]), [v(a=(1, 1))], domain={"a": "pos"})
op("logabsdet", "logabsdet(a + 3.0 * eye(4))", lambda p: torch.linalg.slogdet(p["a"] + _I(4, 3)).logabsdet,
   [v(a=(4, 4)), v(a=(3, 4, 4))])
op("logabsdet", "logabsdet(a - 3.0 * eye(3))", lambda p: torch.linalg.slogdet(p["a"] - _I(3, 3)).logabsdet,
   [v(a=(2, 3, 3))])
op("logabsdet", "logabsdet(a)", lambda p: torch.linalg.slogdet(p["a"]).logabsdet, [v(a=(1, 1))], domain={"a": "pos"})

# kl_div (distillation): every reduction, zero targets (xlogy: the term is 0, no NaN), log_target, and the
# gradient with respect to a target that is itself computed (a teacher trained jointly)
for red in ("mean", "batchmean", "sum"):
    loss(f"kl_div_{red}", f'kl_div(log_softmax(output, axis = 1), label, reduction = "{red}")',
         lambda z, t, red=red: F.kl_div(F.log_softmax(z, 1), t, reduction=red), LS, label="dense", label_domain="prob")
loss("kl_div_zero_target", 'kl_div(log_softmax(output, axis = 1), label * (label > 0.5), reduction = "batchmean")',
     lambda z, t: F.kl_div(F.log_softmax(z, 1), t * (t > 0.5), reduction="batchmean"), LS, label="dense",
     label_domain="prob")
loss("kl_div_log_target", 'kl_div(log_softmax(output, axis = 1), log(label), log_target = true)',
     lambda z, t: F.kl_div(F.log_softmax(z, 1), torch.log(t), log_target=True), LS, label="dense", label_domain="prob")
op("kl_div_none", 'kl_div(log_softmax(a, axis = 1), softmax(b, axis = 1), reduction = "none")',
   lambda p: F.kl_div(F.log_softmax(p["a"], 1), F.softmax(p["b"], 1), reduction="none"),
   [v(a=(3, 5), b=(3, 5)), v(a=(1, 7), b=(1, 7))])

# ---- detection losses (stdlib/detection.dln) ------------------------------------------------
# torchvision is not importable by /usr/bin/python3 here, so the references are torchvision.ops'
# own code (0.15: focal_loss.py, boxes.py, giou_loss.py), copied in plain torch.
def _tv_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def _tv_box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter / (area1[:, None] + area2 - inter)


def _tv_giou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    iouk = intsctk / (unionk + eps)
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    loss = 1 - (iouk - ((area_c - unionk) / (area_c + eps)))
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


# Valid boxes from free parameters: corner (x1, y1), then (x2, y2) = corner + exp(size); 0.5 * a
# keeps them overlapping about half the time, so both sides of every max/min and relu are seen.
_BOX = "concat([slice({t}, -1, 0, 2) * 0.5, slice({t}, -1, 0, 2) * 0.5 + exp(slice({t}, -1, 2, 4))], axis = -1)"
_box = lambda t: torch.cat([t[..., :2] * 0.5, t[..., :2] * 0.5 + t[..., 2:].exp()], -1)
op("focal_loss", 'focal_loss(a, b, alpha = {alpha}, gamma = {gamma}, reduction = "{r}")',
   lambda p, alpha, gamma, r: _tv_sigmoid_focal_loss(p["a"], p["b"], alpha, gamma, r),
   [v(dict(alpha=0.25, gamma=2.0, r="mean"), a=(4, 3), b=(4, 3)), v(dict(alpha=0.5, gamma=0.0, r="sum"), a=(5,), b=(5,)),
    v(dict(alpha=-1.0, gamma=1.5, r="none"), a=(2, 3, 2), b=(2, 3, 2)), v(dict(alpha=0.25, gamma=3.0, r="mean"), a=(6, 2), b=(6, 2))],
   domain={"b": "prob"})
op("focal_loss hard", "focal_loss(a, round(b))", lambda p: _tv_sigmoid_focal_loss(p["a"], torch.round(p["b"]), reduction="mean"),
   [v(a=(4, 5), b=(4, 5))], domain={"b": "prob"})
op("smooth_l1", 'smooth_l1(a, b, beta = {beta}, reduction = "{r}")',
   lambda p, beta, r: F.smooth_l1_loss(p["a"], p["b"], beta=beta, reduction=r),
   [v(dict(beta=1.0, r="mean"), a=(4, 3), b=(4, 3)), v(dict(beta=0.3, r="sum"), a=(7,), b=(7,)),
    v(dict(beta=0.0, r="mean"), a=(3, 4), b=(3, 4)), v(dict(beta=2.0, r="none"), a=(2, 3, 2), b=(3, 2))])
op("box_iou", "box_iou(" + _BOX.format(t="a") + ", " + _BOX.format(t="b") + ")",
   lambda p: _tv_box_iou(_box(p["a"]), _box(p["b"])), [v(a=(5, 4), b=(3, 4)), v(a=(2, 4), b=(6, 4))])
op("giou_loss", "giou_loss(" + _BOX.format(t="a") + ", " + _BOX.format(t="b") + ', reduction = "{r}")',
   lambda p, r: _tv_giou_loss(_box(p["a"]), _box(p["b"]), r),
   [v(dict(r="none"), a=(6, 4), b=(6, 4)), v(dict(r="mean"), a=(2, 3, 4), b=(2, 3, 4)), v(dict(r="sum"), a=(5, 4), b=(1, 4))])

# RoI Align: torchvision.ops.roi_align's CPU kernel (roi_align_kernel.cpp) written out in plain torch,
# per box and bin, so autograd gives its gradient for x; the boxes get none (torchvision's rois
# neither), hence the 0 * sum(b) in both, so b's zero gradient is compared too. Boxes inside a
# 7 x 6 map from b: corner 4 sigmoid(b), size 0.5 + 3 sigmoid(b).
def _tv_roi_align(x, boxes, out, scale, sr, aligned):
    N, C, H, W = x.shape
    PH, PW = out
    res = []
    for n in range(N):
        for r in range(boxes.shape[1]):
            bx = [float(t) for t in boxes[n, r].detach()]
            off = 0.5 if aligned else 0.0
            x1, y1 = bx[0] * scale - off, bx[1] * scale - off
            rw, rh = bx[2] * scale - off - x1, bx[3] * scale - off - y1
            if not aligned:
                rw, rh = max(rw, 1.0), max(rh, 1.0)
            bw, bh = rw / PW, rh / PH
            sh = sr if sr > 0 else math.ceil(rh / PH)
            sw = sr if sr > 0 else math.ceil(rw / PW)
            count = max(sh * sw, 1)
            cells = []
            for ph in range(PH):
                for pw in range(PW):
                    acc = torch.zeros(C, dtype=x.dtype)
                    for iy in range(sh):
                        for ix in range(sw):
                            yy = y1 + ph * bh + (iy + 0.5) * bh / sh
                            xx = x1 + pw * bw + (ix + 0.5) * bw / sw
                            if yy < -1.0 or yy > H or xx < -1.0 or xx > W:
                                continue
                            yy, xx = max(yy, 0.0), max(xx, 0.0)
                            y0, x0 = int(yy), int(xx)
                            if y0 >= H - 1:
                                y0 = y1_ = H - 1
                                yy = float(y0)
                            else:
                                y1_ = y0 + 1
                            if x0 >= W - 1:
                                x0 = x1_ = W - 1
                                xx = float(x0)
                            else:
                                x1_ = x0 + 1
                            ly, lx = yy - y0, xx - x0
                            acc = acc + (1 - ly) * (1 - lx) * x[n, :, y0, x0] + (1 - ly) * lx * x[n, :, y0, x1_] \
                                + ly * (1 - lx) * x[n, :, y1_, x0] + ly * lx * x[n, :, y1_, x1_]
                    cells.append(acc / count)
            res.append(torch.stack(cells, -1).reshape(C, PH, PW))
    return torch.stack(res).reshape(N, boxes.shape[1], C, PH, PW)


_ROI_BOX = ("concat([4.0 * sigmoid(slice(b, -1, 0, 2)), 4.0 * sigmoid(slice(b, -1, 0, 2)) + 0.5 + "
            "3.0 * sigmoid(slice(b, -1, 2, 4))], axis = -1)")
_roi_box = lambda b: torch.cat([4 * torch.sigmoid(b[..., :2]), 4 * torch.sigmoid(b[..., :2]) + 0.5 + 3 * torch.sigmoid(b[..., 2:])], -1)
op("roi_align", "roi_align(a, " + _ROI_BOX + ", {out}, spatial_scale = {scale}, sampling_ratio = {sr}, aligned = {al}) + "
   "0.0 * sum(b)",
   lambda p, out, scale, sr, al: _tv_roi_align(p["a"], _roi_box(p["b"]), out if isinstance(out, tuple) else (out, out),
                                               scale, sr, al == "true") + 0.0 * p["b"].sum(),
   [v(dict(out=(2, 3), scale=1.0, sr=2, al="false"), a=(2, 2, 7, 6), b=(2, 3, 4)),
    v(dict(out=2, scale=1.0, sr=-1, al="true"), a=(1, 3, 7, 6), b=(1, 2, 4)),
    v(dict(out=(3, 2), scale=0.5, sr=0, al="false"), a=(2, 1, 7, 6), b=(2, 2, 4)),
    v(dict(out=1, scale=1.0, sr=3, al="true"), a=(3, 2, 7, 6), b=(3, 1, 4))])

# grid_sample: F.grid_sample itself, every mode x padding x align_corners, the grid drawn standard
# normal so about a third of its points fall outside [-1, 1] (zeros: partly or wholly outside the
# image; border: clamped, with zero grid gradient there). nearest's grid gradient is 0 on both sides.
# affine_grid: F.affine_grid, alone and feeding grid_sample (the STN pair), gradient into theta.
op("grid_sample", 'grid_sample(a, b, mode = "{mode}", padding_mode = "{pad}", align_corners = {al})',
   lambda p, mode, pad, al: F.grid_sample(p["a"], p["b"], mode=mode, padding_mode=pad, align_corners=al == "true"),
   [v(dict(mode=m, pad=pd, al=al), a=(2, 3, 5, 6), b=(2, 4, 3, 2))
    for m in ("bilinear", "nearest") for pd in ("zeros", "border") for al in ("false", "true")])
op("affine_grid", "affine_grid(a, [{n}, 3, {h}, {w}], align_corners = {al})",
   lambda p, n, h, w, al: F.affine_grid(p["a"], (n, 3, h, w), align_corners=al == "true"),
   [v(dict(n=2, h=4, w=5, al="false"), a=(2, 2, 3)), v(dict(n=1, h=3, w=1, al="true"), a=(1, 2, 3)),
    v(dict(n=3, h=1, w=4, al="false"), a=(3, 2, 3))])
op("affine_grid", 'grid_sample(a, affine_grid(b, [2, 3, 4, 3], align_corners = {al}), padding_mode = "{pad}", '
   "align_corners = {al})",
   lambda p, al, pad: F.grid_sample(p["a"], F.affine_grid(p["b"], (2, 3, 4, 3), align_corners=al == "true"),
                                    padding_mode=pad, align_corners=al == "true"),
   [v(dict(al=al, pad=pd), a=(2, 3, 5, 6), b=(2, 2, 3)) for al in ("false", "true") for pd in ("zeros", "border")])

# RoI pooling: torchvision.ops.roi_pool's CPU kernel (roi_pool_kernel.cpp) written out in plain torch:
# corners times the scale rounded half away from zero (std::round; torch.round would round half to
# even), at least 1 x 1, bins from floor / ceil of multiples of the bin size in float32 as the
# kernel's T, clipped to the map; the max of each bin (autograd sends its gradient to the maximum),
# 0 for an empty bin. Boxes from b as for roi_align; scale 2 puts them partly off the 7 x 6 map.
def _tv_roi_pool(x, boxes, out, scale):
    N, C, H, W = x.shape
    PH, PW = out
    f32 = lambda v: float(torch.tensor(v, dtype=torch.float32))
    rnd = lambda v: int(math.copysign(math.floor(abs(v) + 0.5), v))
    res = []
    for n in range(N):
        for r in range(boxes.shape[1]):
            x1, y1, x2, y2 = [rnd(f32(f32(float(t)) * scale)) for t in boxes[n, r].detach()]
            bh, bw = f32(max(y2 - y1 + 1, 1) / PH), f32(max(x2 - x1 + 1, 1) / PW)
            cells = []
            for ph in range(PH):
                for pw in range(PW):
                    h0 = min(max(math.floor(f32(ph * bh)) + y1, 0), H)
                    h1 = min(max(math.ceil(f32((ph + 1) * bh)) + y1, 0), H)
                    w0 = min(max(math.floor(f32(pw * bw)) + x1, 0), W)
                    w1 = min(max(math.ceil(f32((pw + 1) * bw)) + x1, 0), W)
                    if h1 <= h0 or w1 <= w0:
                        cells.append(torch.zeros(C, dtype=x.dtype))
                    else:
                        cells.append(x[n, :, h0:h1, w0:w1].reshape(C, -1).max(1).values)
            res.append(torch.stack(cells, -1).reshape(C, PH, PW))
    return torch.stack(res).reshape(N, boxes.shape[1], C, PH, PW)


op("roi_pool", "roi_pool(a, " + _ROI_BOX + ", {out}, spatial_scale = {scale}) + 0.0 * sum(b)",
   lambda p, out, scale: _tv_roi_pool(p["a"], _roi_box(p["b"]), out if isinstance(out, tuple) else (out, out), scale)
   + 0.0 * p["b"].sum(),
   [v(dict(out=(2, 3), scale=1.0), a=(2, 2, 7, 6), b=(2, 3, 4)),
    v(dict(out=2, scale=0.5), a=(1, 3, 7, 6), b=(1, 2, 4)),
    v(dict(out=(3, 2), scale=2.0), a=(2, 1, 7, 6), b=(2, 2, 4)),
    v(dict(out=1, scale=1.0), a=(3, 2, 7, 6), b=(3, 1, 4))])

# NMS: torchvision is not importable here, so torchvision.ops.nms's CPU kernel (nms_kernel.cpp)
# written out in plain torch: a stable sort by score, then each box not yet suppressed is kept and
# suppresses the later ones whose IoU with it is > iou. batched_nms is torchvision's offset trick
# (each class's boxes shifted by class * (largest coordinate + 1), so classes never overlap).
# score_threshold and max_out filter before and cut after, as the op documents. The mask has no
# gradient (0 * sum in both). Boxes from b as for roi_align, scores a, classes argmax(c).
def _tv_nms(boxes, scores, thr):
    order = scores.sort(descending=True, stable=True).indices.tolist()
    b = boxes.detach().tolist()
    area = [(x[2] - x[0]) * (x[3] - x[1]) for x in b]
    gone, keep = set(), []
    for k, i in enumerate(order):
        if i in gone:
            continue
        keep.append(i)
        for j in order[k + 1:]:
            if j in gone:
                continue
            w = max(min(b[i][2], b[j][2]) - max(b[i][0], b[j][0]), 0.0)
            h = max(min(b[i][3], b[j][3]) - max(b[i][1], b[j][1]), 0.0)
            if w * h / (area[i] + area[j] - w * h) > thr:
                gone.add(j)
    return keep


def _nms_mask(boxes, scores, iou, st=None, mo=None, cls=None):
    out = torch.zeros(scores.shape, dtype=torch.float64)
    for n in range(scores.shape[0]):
        idx = [i for i in range(scores.shape[1]) if st is None or float(scores[n, i]) >= st]
        bx = boxes[n, idx].detach()
        if cls is not None:
            bx = bx + (cls[n, idx].double() * (bx.max() + 1))[:, None]
        kept = [idx[k] for k in _tv_nms(bx, scores[n, idx].detach(), iou)]
        out[n, kept[:mo]] = 1.0
    return out


_NMS_BOX = _ROI_BOX.replace("(b,", "(a,")
_nms_zero = lambda p: 0.0 * sum(t.sum() for t in p.values())
op("nms", "nms(" + _NMS_BOX + ", b, iou = {iou}) + 0.0 * sum(a) + 0.0 * sum(b)",
   lambda p, iou: _nms_mask(_roi_box(p["a"]), p["b"], iou) + _nms_zero(p),
   [v(dict(iou=0.5), a=(2, 8, 4), b=(2, 8)), v(dict(iou=0.1), a=(3, 6, 4), b=(3, 6)), v(dict(iou=0.0), a=(1, 5, 4), b=(1, 5))])
op("nms batched", "nms(" + _NMS_BOX + ", b, iou = {iou}, score_threshold = {st}, max_out = {mo}, "
   "class_ids = argmax(c, axis = 2)) + 0.0 * sum(a) + 0.0 * sum(b) + 0.0 * sum(c)",
   lambda p, iou, st, mo: _nms_mask(_roi_box(p["a"]), p["b"], iou, st, mo, p["c"].argmax(2)) + _nms_zero(p),
   [v(dict(iou=0.3, st=-0.5, mo=4), a=(2, 12, 4), b=(2, 12), c=(2, 12, 2)),
    v(dict(iou=0.2, st=0.0, mo=9), a=(2, 12, 4), b=(2, 12), c=(2, 12, 2))])

# ---- integer indices: take, scatter_add (the label is the index) ----------------------
# take(zᵀz, t) picks rows of a C x C table, so any class label is in range; take(z, t) picks rows (B >= C).
loss("take", "sum(take(transpose(output) @ output, label) * output)", lambda z, t: ((z.t() @ z)[t] * z).sum(), LS,
     label="class")
loss("take", "sum(take(output, label) ** 2)", lambda z, t: (F.embedding(t, z) ** 2).sum(), [(7, 5)], label="class")
loss("scatter_add", "sum(scatter_add(output, label, 10) ** 2)",
     lambda z, t: (torch.zeros(10, z.shape[1], dtype=z.dtype).index_add(0, t, z) ** 2).sum(), LS, label="class")


# ---- graphs (stdlib/graph.dln): message passing over an edge list ------------------------
# N graphs of V nodes, x = a: f32[N, V, F]; the edges' sources and targets are argmaxes of b
# and c (f32[N, E, V]): random node indices, repeats and self-loops included, so degrees vary.
# The references are plain torch: index_add_ per graph, no torch_geometric.
_SRC, _DST = 'argmax(b, axis = 2)', 'argmax(c, axis = 2)'
_G = [v(a=(1, 6, 3), b=(1, 11, 6), c=(1, 11, 6)), v(a=(2, 5, 4), b=(2, 7, 5), c=(2, 7, 5)),
      v(a=(1, 4, 1), b=(1, 1, 4), c=(1, 1, 4))]


def _edges(p):
    return p["b"].argmax(2), p["c"].argmax(2)


def _per_graph(p, f):
    """f(x_n, src_n, dst_n) stacked over the N graphs, plus the zero gradient of the index inputs."""
    src, dst = _edges(p)
    return torch.stack([f(p["a"][n], src[n], dst[n]) for n in range(p["a"].shape[0])]) + 0 * (p["b"].sum() + p["c"].sum())


def _scatter_rows(m, dst, V):
    return torch.zeros(V, m.shape[1], dtype=m.dtype).index_add_(0, dst, m)


def _in_degree(dst, V):
    return torch.zeros(V, dtype=torch.float64).index_add_(0, dst, torch.ones(dst.shape[0], dtype=torch.float64))


def _gcn(x, src, dst, W, b):
    """GCNConv: D^-1/2 (A + I) D^-1/2 x W^T + b, D the in-degree plus the self-loop."""
    h, dis = x @ W.t(), (_in_degree(dst, x.shape[0]) + 1).pow(-0.5)
    return _scatter_rows(h[src] * (dis[src] * dis[dst])[:, None], dst, x.shape[0]) + h * (dis * dis)[:, None] + b


def _mean_neighbors(x, src, dst):
    return _scatter_rows(x[src], dst, x.shape[0]) / _in_degree(dst, x.shape[0]).clamp(min=1)[:, None]


op("scatter_add axis", f"scatter_add(a, expand(unsqueeze({_DST}, 2), -1, -1, {{F}}), {{size}}, axis = 1)",
   lambda p, F, size: torch.zeros(p["a"].shape[0], size, F, dtype=p["a"].dtype).scatter_add(
       1, p["c"].argmax(2)[..., None].expand(-1, -1, F), p["a"]) + 0 * p["c"].sum(),
   [v(dict(F=3, size=6), a=(1, 11, 3), c=(1, 11, 6)), v(dict(F=1, size=4), a=(2, 5, 1), c=(2, 5, 4))])
op("scatter_max axis", f"scatter_max(a, expand(unsqueeze({_DST}, 2), -1, -1, {{F}}), {{size}}, axis = 1)",
   lambda p, F, size: torch.zeros(p["a"].shape[0], size, F, dtype=p["a"].dtype).scatter_reduce(
       1, p["c"].argmax(2)[..., None].expand(-1, -1, F), p["a"], "amax", include_self=False) + 0 * p["c"].sum(),
   [v(dict(F=3, size=6), a=(1, 11, 3), c=(1, 11, 6)), v(dict(F=1, size=7), a=(2, 5, 1), c=(2, 5, 7))])
op("in_degree", f"in_degree({_DST}, 6) * a", lambda p: _in_degree(p["c"].argmax(2)[0], 6) * p["a"] + 0 * p["c"].sum(),
   [v(a=(1, 6), c=(1, 11, 6))])
op("sum_neighbors", f"sum_neighbors(a, {_SRC}, {_DST})",
   lambda p: _per_graph(p, lambda x, s, d: _scatter_rows(x[s], d, x.shape[0])), _G)
op("mean_neighbors", f"mean_neighbors(a, {_SRC}, {_DST})", lambda p: _per_graph(p, _mean_neighbors), _G)
op("gcn_conv", f"gcn_conv(a, {_SRC}, {_DST}, {{out}})",
   lambda p, out: _per_graph(p, lambda x, s, d: _gcn(x, s, d, p["gcn_conv0.lin.weight"], p["gcn_conv0.bias"])),
   [v(dict(out=4), **_G[0][0]), v(dict(out=3), **_G[1][0]), v(dict(out=1), **_G[2][0])])
op("sage_conv", f"sage_conv(a, {_SRC}, {_DST}, {{out}})",
   lambda p, out: _per_graph(p, lambda x, s, d: _mean_neighbors(x, s, d) @ p["sage_conv0.lin_l.weight"].t()
                             + p["sage_conv0.lin_l.bias"] + x @ p["sage_conv0.lin_r.weight"].t()),
   [v(dict(out=4), **_G[0][0]), v(dict(out=2), **_G[1][0])])

loss("pick", "sum(pick(output, label) ** 2)", lambda z, t: (z.gather(1, t[:, None]) ** 2).sum(), LS, label="class")
loss("pick", "sum(pick(output, label, ignore_index = 1) ** 2)",
     lambda z, t: torch.where(t != 1, z.gather(1, t[:, None])[:, 0], 0.0).pow(2).sum(), LS[1:], label="class")
loss("one_hot", "-sum(one_hot(label, 10) * log_softmax(output, axis = 1))",
     lambda z, t: -(F.one_hot(t, 10).double() * F.log_softmax(z, 1)).sum(), [(4, 10), (2, 10)], label="class")
loss("one_hot", "sum(one_hot(unsqueeze(label, 0), 5) * unsqueeze(output, 0) ** 2)",
     lambda z, t: (F.one_hot(t, 5).double() * z ** 2).sum(), [(7, 5)], label="class")
loss("embedding", "sum(embedding(label, 12, 5) * output)",
     lambda z, t, p: (F.embedding(t, p["embedding0.weight"]) * z).sum(), [(4, 5), (7, 5)], label="class", params=True)
loss("embedding", "sum(embedding(unsqueeze(label, 1), 12, 3) ** 2) + sum(output)",
     lambda z, t, p: (F.embedding(t[:, None], p["embedding0.weight"]) ** 2).sum() + z.sum(), LS, label="class",
     params=True)
loss("embedding", "sum(embedding(label, 5, 5, padding_idx = 2) * output)",
     lambda z, t, p: (F.embedding(t, p["embedding0.weight"] * (torch.arange(5) != 2)[:, None], padding_idx=2) * z).sum(),
     [(7, 5)], label="class", params=True)

loss("gather", "sum(gather(output, unsqueeze(label, 1), 1) ** 2)", lambda z, t: (z.gather(1, t[:, None]) ** 2).sum(),
     LS, label="class")
loss("gather", "sum(gather(transpose(output), reshape(label, [1, -1]), 0) ** 2)",
     lambda z, t: (z.t().gather(0, t[None, :]) ** 2).sum(), LS[1:], label="class")
loss("gather", "sum(exp(gather(unsqueeze(output, 2), reshape(label, [-1, 1, 1]), 1)))",
     lambda z, t: torch.exp(z[:, :, None].gather(1, t[:, None, None])).sum(), LS[1:], label="class")


def by_op(cases):
    out = {}
    for c in cases:
        out.setdefault(c.op, []).append(c)
    return out

