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
import torch
import torch.nn.functional as F


class Case:
    def __init__(self, op, dln, ref, inputs, attrs, domain, fwd_tol, grad_tol, why, kind="op", label=None,
                 train_ref=None, state=None):
        self.op, self.dln, self.ref = op, dln, ref
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


def loss(name, dln, ref, shapes, label, domain="n", label_domain="n", fwd_tol=1e-5, grad_tol=1e-4, why=None):
    """A loss over output z (B x C logits/predictions) and the label (class
    indices or a dense target). The model is `x @ z` fed the identity, so the
    output equals z exactly and the gradient w.r.t. z is the loss's gradient."""
    for s in shapes:
        LOSSES.append(Case(name, dln, ref, {"z": s}, {}, {"z": domain, "label": label_domain},
                           fwd_tol, grad_tol, why, kind="loss", label=label))


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
op("sqrt", "sqrt(a)", lambda p: torch.sqrt(p["a"]), U, domain={"a": "pos"})
op("abs", "abs(a)", lambda p: torch.abs(p["a"]), U)
op("sign", "sign(a)", lambda p: torch.sign(p["a"]), U[:3])
op("relu", "relu(a)", lambda p: F.relu(p["a"]), U)
op("leaky_relu", "leaky_relu(a, slope = {slope})", lambda p, slope: F.leaky_relu(p["a"], slope),
   [v({"slope": 0.01}, a=(3, 5)), v({"slope": 0.2}, a=(2, 3, 4)), v({"slope": 0.3}, a=(1,))])
op("elu", "elu(a, alpha = {alpha})", lambda p, alpha: F.elu(p["a"], alpha),
   [v({"alpha": 1.0}, a=(3, 5)), v({"alpha": 0.5}, a=(2, 3, 4)), v({"alpha": 1.7}, a=(7,))])
op("sigmoid", "sigmoid(a)", lambda p: torch.sigmoid(p["a"]), U)
op("tanh", "tanh(a)", lambda p: torch.tanh(p["a"]), U)
op("gelu", "gelu(a)", lambda p: F.gelu(p["a"]), U)
op("square", "square(a)", lambda p: p["a"] * p["a"], U[:3])
op("silu", "silu(a)", lambda p: F.silu(p["a"]), U[:4])
op("swish", "swish(a)", lambda p: F.silu(p["a"]), U[2:3])
op("softplus", "softplus(a)", lambda p: F.softplus(p["a"]), U[:4])
op("selu", "selu(a)", lambda p: F.selu(p["a"]), U[:4])
op("relu6", "relu6(4.0 * a)", lambda p: F.relu6(4.0 * p["a"]), U[:4])
op("hard_sigmoid", "hard_sigmoid(4.0 * a)", lambda p: F.hardsigmoid(4.0 * p["a"]), U[:4])
op("stop_grad", "stop_grad(a) * a", lambda p: p["a"].detach() * p["a"], U[1:3])

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

# ---- stdlib blocks: parameters created by the block are inputs too ------------------
op("dense", "dense(a, {units})",
   lambda p, units: F.linear(p["a"], p["dense0.weight"], p["dense0.bias"]),
   [v({"units": 5}, a=(3, 4)), v({"units": 1}, a=(1, 7)), v({"units": 13}, a=(6, 1))])
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
op("group_norm", "group_norm(a, {g})",
   lambda p, g: F.group_norm(p["a"], g, p["group_norm0.weight"], p["group_norm0.bias"], 1e-5),
   [v({"g": 2}, a=(2, 4, 3, 3)), v({"g": 3}, a=(1, 3, 5, 2)), v({"g": 1}, a=(3, 2, 2, 2))])
op("instance_norm", "instance_norm(a)", lambda p: F.instance_norm(p["a"], eps=1e-5),
   [v(a=(2, 3, 4, 5)), v(a=(1, 2, 3, 3))])
op("instance_norm_affine", "instance_norm(a, affine = true)",
   lambda p: F.instance_norm(p["a"], weight=p["instance_norm0.weight"], bias=p["instance_norm0.bias"], eps=1e-5),
   [v(a=(2, 3, 4, 5))])


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
   [v({"momentum": 0.1}, a=(8, 5)), v({"momentum": 0.5}, a=(3, 2))],
   domain=BN_DOMAIN, train_ref=_bn("batch_norm1d0", True), state=_bn_state("batch_norm1d0"))

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
op("conv1d", "conv1d(a, {out}, kernel = {k}, stride = {stride}, pad = {pad})",
   lambda p, out, k, stride, pad: F.conv1d(p["a"], p["conv1d0.conv.weight"].squeeze(2), p["conv1d0.conv.bias"],
                                           stride, pad),
   [v(dict(out=4, k=3, stride=2, pad=1), a=(2, 3, 10)), v(dict(out=1, k=1, stride=1, pad=0), a=(1, 1, 5))])
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
op("upsample", 'upsample(a, {scale}, mode = "{mode}")',
   lambda p, scale, mode: F.interpolate(p["a"], scale_factor=scale, mode=mode,
                                        align_corners=False if mode == "bilinear" else None),
   [v(dict(scale=2, mode="nearest"), a=(1, 2, 3, 4)), v(dict(scale=(2, 3), mode="nearest"), a=(2, 1, 3, 2)),
    v(dict(scale=2, mode="bilinear"), a=(1, 2, 3, 4)), v(dict(scale=3, mode="bilinear"), a=(2, 1, 4, 3))])
op("upsample_aligned", 'upsample(a, {scale}, mode = "bilinear", align_corners = true)',
   lambda p, scale: F.interpolate(p["a"], scale_factor=scale, mode="bilinear", align_corners=True),
   [v(dict(scale=2), a=(1, 2, 3, 4))])

# ---- losses (stdlib/losses.dln) -----------------------------------------------------
LS = [(1, 3), (4, 10), (7, 5)]
loss("cross_entropy", "cross_entropy(output, label)", lambda z, t: F.cross_entropy(z, t), LS, label="class")
loss("nll", "nll(log_softmax(output, axis = 1), label)", lambda z, t: F.nll_loss(F.log_softmax(z, 1), t),
     LS, label="class")
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


def by_op(cases):
    out = {}
    for c in cases:
        out.setdefault(c.op, []).append(c)
    return out

