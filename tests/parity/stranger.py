"""stranger.py — course models written from docs/language.md alone, by a tester
who had not read the compiler, each against a PyTorch twin: a BERT-style
masked LM (embedding, learned positions, two pre-norm GELU encoder layers
with a key padding mask made from the tokens by `tokens == 0`, cross_entropy with the mlm
mask), a VQ-VAE quantizer written from primitives (argmin over distances,
take, with_grad straight-through, codebook and commitment losses), a graph
network's message passing from gather and scatter_add along axis 1 (with
expanded edge indices) on a graph whose V and E are run-time sizes, and an
input-gradient penalty (grad of a score with respect to the input inside the
loss: second order). The same weights on both sides (drawn by torch, set
through <model>_param; the BERT twin is nn.TransformerEncoderLayer's
norm-first path written with F.multi_head_attention_forward); the training loss
and every parameter's gradient of one step. Reference in float64; tolerance
1e-5 (loss) and 1e-4 (gradients), as models.py."""
import ctypes

import numpy as np
import torch
import torch.nn.functional as F

from harness import Desc, ParamInfo, load_lib, last_error, rel_err

LOSS_TOL, GRAD_TOL = 1e-5, 1e-4

BERT_DLN = """
model bert(tokens: i32[N, 16]) -> f32[N, 16, 11] {
    pad = tokens == 0                                         # id 0 is padding: keys to ignore (i32 compared)
    h = embedding(tokens, 11, 32) |> learned_positions(16)
    repeat 2 {
        h = transformer_encoder_layer(h, 4, ff = 64, dropout = 0.0, activation = "gelu",
                                      norm_first = true, key_padding_mask = pad)
    }
    return dense(layer_norm(h, 32), 11)
}
train bert {
    data  = tokens("unused.txt", batch = 8, seq_len = 16, vocab = 10, mlm = 0.15)
    loss  = cross_entropy(output, targets, mask = mlm_mask)
    optim = sgd(lr = 0.1)
}
"""

VQ_DLN = """
model vq2(image: f32[N, 1, 8, 8]) -> (recon: f32[N, 1, 8, 8], z: f32[N, 16, 4], zq: f32[N, 16, 4]) {
    param codebook: f32[6, 4] = uniform(low = -0.5, high = 0.5)
    z = conv2d(image, 4, kernel = 4, stride = 2, pad = 1)                 # [N, 4, 4, 4]
    zf = transpose(reshape(z, [N, 4, 16]))                                # [N, 16, 4]
    dist = sum(zf ** 2, axis = 2, keepdims = true) - 2.0 * (zf @ transpose(codebook)) + sum(codebook ** 2, axis = 1)
    zq = take(codebook, argmin(dist))                                     # the nearest code
    st = with_grad(zq, zf)                                                # straight-through
    d = conv_transpose2d(reshape(transpose(st), [N, 4, 4, 4]), 1)
    return d, zf, zq
}
train vq2 {
    data  = csv("unused.csv", batch = 8, classify = false)
    loss  = mse(recon, image) + mse(stop_grad(z), zq) + 0.25 * mse(z, stop_grad(zq))
    optim = sgd(lr = 0.1)
}
"""

GNN_DLN = """
model gnn(features: f32[N, V, 5], src: i32[N, E], dst: i32[N, E]) -> f32[N, V, 3] {
    h = dense(features, 8) |> relu
    repeat 2 {
        m = gather(h, expand(unsqueeze(src, 2), [N, E, 8]), 1)                 # source features per edge
        agg = scatter_add(m, expand(unsqueeze(dst, 2), [N, E, 8]), V, axis = 1)  # summed at the targets
        h = relu(dense(agg + h, 8))
    }
    return dense(h, 3)
}
train gnn {
    data  = sbm(nodes = 40, classes = 3, features = 5, train_per_class = 2, val = 4, test = 4)
    loss  = cross_entropy(output, label, mask = mask)
    optim = sgd(lr = 0.1)
}
"""

SAL_DLN = """
model sal(x: f32[N, 1, 6, 6]) -> (logits: f32[N, 4], gx: f32[N, 1, 6, 6]) {
    h = conv2d(x, 3, pad = 1) |> tanh |> maxpool(2) |> flatten |> dense(4)
    return h, grad(sum(max(h, axis = 1)), x)                             # saliency of the top class
}
train sal {
    data  = csv("unused.csv", batch = 8)
    loss  = cross_entropy(logits, label) + 0.1 * mean(gx ** 2)
    optim = sgd(lr = 0.1)
}
"""


class General:
    """A generated model of the general form driven through its C API:
    create(max_batch, max symbols...), train_step(m, inputs..., fields..., n, symbols...)."""

    def __init__(self, lib, name, bounds):
        self.lib, self.name = lib, name
        create = getattr(lib, f"{name}_create")
        create.restype, create.argtypes = ctypes.c_void_p, [ctypes.c_int64] * len(bounds)
        self.m = create(*bounds)
        if not self.m:
            raise RuntimeError(f"{name}_create failed: {last_error(lib)}")
        num = getattr(lib, f"{name}_num_params")
        info = getattr(lib, f"{name}_param_info")
        num.restype, info.restype, info.argtypes = ctypes.c_int, ctypes.POINTER(ParamInfo), [ctypes.c_int]
        self.params = {}
        for i in range(num()):
            p = info(i).contents
            self.params[p.name.decode()] = (tuple(p.shape[k] for k in range(p.rank)), bool(p.trainable))
        for s in ("param", "grad"):
            f = getattr(lib, f"{name}_{s}")
            f.restype, f.argtypes = ctypes.POINTER(ctypes.c_float), [ctypes.c_void_p, ctypes.c_char_p]

    def set_param(self, k, v):
        a = np.ascontiguousarray(v, dtype=np.float32)
        ctypes.memmove(getattr(self.lib, f"{self.name}_param")(self.m, k.encode()), a.ctypes.data, a.nbytes)

    def grad(self, k):
        shape = self.params[k][0]
        p = getattr(self.lib, f"{self.name}_grad")(self.m, k.encode())
        return np.ctypeslib.as_array(p, shape=(int(np.prod(shape)),)).copy().reshape(shape)

    def train_step(self, arrays, n, symbols=()):
        f = getattr(self.lib, f"{self.name}_train_step")
        f.restype = ctypes.c_float
        f.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * len(arrays) + [ctypes.c_int64] * (1 + len(symbols))
        arrays = [np.ascontiguousarray(a) for a in arrays]
        return f(self.m, *[a.ctypes.data for a in arrays], n, *symbols)

    def close(self):
        f = getattr(self.lib, f"{self.name}_free")
        f.argtypes = [ctypes.c_void_p]
        f(self.m)


def draw_params(m, seed):
    """Every trainable parameter U(-1, 1)/sqrt(fan_in), norm weights around 1: float32 bits on both sides."""
    g = torch.Generator().manual_seed(seed)
    p = {}
    for k, (shape, trainable) in m.params.items():
        if not trainable:
            continue                                    # buffers (running statistics) keep their init
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 4
        v = (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) / fan_in ** 0.5
        if "norm" in k and k.endswith("weight"):
            v = v + 1.0
        v = v.float().double()
        m.set_param(k, v.numpy())
        p[k] = v.requires_grad_(True)
    return p


def bert_loss(p, tok, tgt, mask):
    t = torch.from_numpy(tok).long()
    h = F.embedding(t, p["embedding0.weight"]) + p["learned_positions0.weight"][: t.shape[1]]
    for i in range(2):
        h = _encoder_layer(h, p, f"transformer_encoder_layer{i}.", t == 0)
    logits = F.linear(F.layer_norm(h, (32,), p["layer_norm0.weight"], p["layer_norm0.bias"]),
                      p["dense0.weight"], p["dense0.bias"])
    nll = F.cross_entropy(logits.reshape(-1, 11), torch.from_numpy(tgt).long().reshape(-1), reduction="none")
    w = torch.from_numpy(mask).double().reshape(-1)
    return (nll * w).sum() / w.sum()


def _encoder_layer(x, p, pre, pad):
    """nn.TransformerEncoderLayer(norm_first=True, gelu) as F.multi_head_attention_forward
    with this dict's tensors, so the gradients reach them."""
    a = F.layer_norm(x, (32,), p[pre + "norm1.weight"], p[pre + "norm1.bias"])
    a = a.transpose(0, 1)
    att, _ = F.multi_head_attention_forward(
        a, a, a, 32, 4, p[pre + "self_attn.in_proj_weight"], p[pre + "self_attn.in_proj_bias"], None, None, False,
        0.0, p[pre + "self_attn.out_proj.weight"], p[pre + "self_attn.out_proj.bias"], training=True,
        key_padding_mask=pad, need_weights=False)
    x = x + att.transpose(0, 1)
    f = F.layer_norm(x, (32,), p[pre + "norm2.weight"], p[pre + "norm2.bias"])
    f = F.linear(F.gelu(F.linear(f, p[pre + "linear1.weight"], p[pre + "linear1.bias"])),
                 p[pre + "linear2.weight"], p[pre + "linear2.bias"])
    return x + f


def vq_loss(p, x):
    z = F.conv2d(x, p["conv2d0.weight"], p["conv2d0.bias"], stride=2, padding=1)
    zf = z.reshape(-1, 4, 16).transpose(1, 2)
    cb = p["codebook"]
    dist = (zf ** 2).sum(2, keepdim=True) - 2 * zf @ cb.T + (cb ** 2).sum(1)
    zq = cb[dist.argmin(-1)]
    st = zf + (zq - zf).detach()
    d = F.conv_transpose2d(st.transpose(1, 2).reshape(-1, 4, 4, 4), p["conv_transpose2d0.weight"],
                           p["conv_transpose2d0.bias"], stride=2)
    return F.mse_loss(d, x) + F.mse_loss(zf.detach(), zq) + 0.25 * F.mse_loss(zf, zq.detach())


def gnn_loss(p, feat, src, dst, label, mask):
    h = F.relu(F.linear(feat, p["dense0.weight"], p["dense0.bias"]))
    s, d = torch.from_numpy(src).long(), torch.from_numpy(dst).long()
    for i in (1, 2):
        m = torch.gather(h, 1, s.unsqueeze(2).expand(-1, -1, 8))
        agg = torch.zeros_like(h).scatter_add(1, d.unsqueeze(2).expand(-1, -1, 8), m)
        h = F.relu(F.linear(agg + h, p[f"dense{i}.weight"], p[f"dense{i}.bias"]))
    out = F.linear(h, p["dense3.weight"], p["dense3.bias"])
    nll = F.cross_entropy(out.reshape(-1, 3), torch.from_numpy(label).long().reshape(-1), reduction="none")
    w = torch.from_numpy(mask).double().reshape(-1)
    return (nll * w).sum() / w.sum()


def sal_loss(p, x, y):
    x = x.clone().requires_grad_(True)
    h = F.max_pool2d(torch.tanh(F.conv2d(x, p["conv2d0.weight"], p["conv2d0.bias"], padding=1)), 2)
    h = F.linear(h.flatten(1), p["dense0.weight"], p["dense0.bias"])
    (gx,) = torch.autograd.grad(h.max(1).values.sum(), x, create_graph=True)
    return F.cross_entropy(h, y) + 0.1 * (gx ** 2).mean()


def step_errors(m, p, arrays, n, symbols, loss_fn):
    """One train step of m and torch's loss of p: (our loss, torch's, the loss's error, the worst gradient's)."""
    ours = m.train_step(arrays, n, symbols)
    ref = loss_fn(p)
    grads = torch.autograd.grad(ref, list(p.values()), allow_unused=True)
    e_loss = rel_err(np.float64(ours), ref.item())
    e_grad = max(rel_err(m.grad(k), (g if g is not None else torch.zeros_like(p[k])).numpy())
                 for k, g in zip(p, grads))
    return ours, ref, e_loss, e_grad


def _check(build, name, src, bounds, seed, make):
    """Compiles, sets torch's weights, runs one train step on both sides: one table row."""
    so, err = build.compile_dln(src, name)
    if so is None:
        return dict(case=Desc(f"{name}: compile"), fwd=float("nan"), grad=float("nan"), ok=False, detail=err)
    m = General(load_lib(so), name, bounds)
    p = draw_params(m, seed)
    ours, ref, e_loss, e_grad = step_errors(m, p, *make())
    m.close()
    ok = e_loss <= LOSS_TOL and e_grad <= GRAD_TOL
    return dict(case=Desc(f"{name}: one training step's loss and every gradient"), fwd=e_loss, grad=e_grad, ok=ok,
                detail=None if ok else f"loss {ours} vs torch {ref.item()}")


def _bert_batch():
    rng = np.random.default_rng(1)
    tok = rng.integers(1, 11, size=(8, 16)).astype(np.int32)
    tok[:, 12:] = np.where(rng.random((8, 4)) < 0.6, 0, tok[:, 12:])    # padding at the ends
    tgt = rng.integers(0, 10, size=(8, 16)).astype(np.int32)
    mask = (rng.random((8, 16)) < 0.3).astype(np.float32)
    mask[:, 0] = 1.0
    return [tok, tgt, mask], 8, (), lambda p: bert_loss(p, tok, tgt, mask)


def _vq_batch():
    x = np.random.default_rng(2).standard_normal((8, 1, 8, 8)).astype(np.float32)
    return [x], 8, (), lambda p: vq_loss(p, torch.tensor(x, dtype=torch.float64))


def _gnn_batch():
    rng = np.random.default_rng(3)
    V, pairs = 9, [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 4), (7, 8), (1, 7), (2, 2 + 3)]
    src = np.array([[a for u, v in pairs for a in (u, v)]], dtype=np.int32)
    dst = np.array([[b for u, v in pairs for b in (v, u)]], dtype=np.int32)
    feat = rng.standard_normal((1, V, 5)).astype(np.float32)
    label = rng.integers(0, 3, size=(1, V)).astype(np.int32)
    mask = (rng.random((1, V)) < 0.6).astype(np.float32)
    mask[0, 0] = 1.0
    ft = torch.tensor(feat, dtype=torch.float64)
    return [feat, src, dst, label, mask], 1, (V, src.shape[1]), lambda p: gnn_loss(p, ft, src, dst, label, mask)


def classes_batch(seed, shape, classes, loss):
    """Inputs N(0, 1) shaped `shape` and i32 class labels: a row's arrays, n, symbols
    and its torch loss of (params, x in float64, labels)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, classes, size=shape[0]).astype(np.int32)
    return [x, y], shape[0], (), lambda p: loss(p, torch.tensor(x, dtype=torch.float64), torch.from_numpy(y).long())


def _sal_batch():
    return classes_batch(4, (8, 1, 6, 6), 4, sal_loss)


ARGMAX_DLN = """
model am(x: f32[N, 3, 5]) -> (y: f32[N, 3, 5], codes: i32[N, 3]) {
    return relu(x), argmax(x * 2.0)                                 # a computed i32 output
}
"""


def _i32_output(build):
    """A computed i32 output (argmax) through the general forward, against torch.argmax."""
    so, err = build.compile_dln(ARGMAX_DLN, "am")
    if so is None:
        return dict(case=Desc("am: compile"), fwd=float("nan"), grad=None, ok=False, detail=err)
    lib = load_lib(so)
    lib.am_create.restype, lib.am_create.argtypes = ctypes.c_void_p, [ctypes.c_int64]
    lib.am_forward.restype = None
    lib.am_forward.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64]
    lib.am_free.argtypes = [ctypes.c_void_p]
    m = lib.am_create(7)
    x = np.random.default_rng(5).standard_normal((7, 3, 5)).astype(np.float32)
    x[0, 0, 1] = x[0, 0, 3] = 9.0                                     # a tie: the first, as torch
    y, codes = np.zeros_like(x), np.full((7, 3), -1, dtype=np.int32)
    lib.am_forward(m, x.ctypes.data, y.ctypes.data, codes.ctypes.data, 7)
    lib.am_free(m)
    want = torch.from_numpy(x).argmax(-1).numpy()
    bad = int(np.sum(codes != want))
    return dict(case=Desc("am: a computed i32 output (argmax) of the general forward"), fwd=float(bad), grad=None,
                ok=bad == 0 and np.array_equal(y, np.maximum(x, 0)), detail=None if bad == 0 else f"{codes} vs {want}")


def run(build):
    rows = [_i32_output(build), _check(build, "bert", BERT_DLN, (8,), 10, _bert_batch),
            _check(build, "vq2", VQ_DLN, (8,), 11, _vq_batch),
            _check(build, "gnn", GNN_DLN, (1, 9, 20), 12, _gnn_batch),
            _check(build, "sal", SAL_DLN, (8,), 13, _sal_batch)]
    import stranger2                                    # the second round, written the same way
    import stranger3                                    # the third: optimizers, schedules, activations, transfer
    import stranger4                                    # the fourth: generative, graph and training-technique models
    import stranger5                                    # the fifth: sequences, attention, modern vision
    import stranger6                                    # the sixth: the rest of the course
    import stranger7                                    # the seventh: attention, sequences, self-supervision
    import stranger8                                    # the eighth: vision, generative and graph models
    import stranger9                                    # the ninth: sequence, attention, self-supervised and RL models
    import stranger10                                   # the tenth: capsules, point clouds, NeRF, RBM, GIN, R-GCN
    import stn                                          # a spatial transformer network (affine_grid, grid_sample)
    import stranger11                                   # the eleventh: tied LM, seq2seq attention, PPO, meta, SSL
    import stranger12                                   # the twelfth: detection, generative, efficient vision, graphs
    import stranger13                                   # the thirteenth: style, perceptual, conditioning, set losses
    import stranger14                                   # the fourteenth: recommenders, TransE, R1, Performer, gPool
    import stranger15                                   # the fifteenth: SimSiam, BiGRU tagger, SupCon, FixMatch, Lovasz
    import gaps                                         # gaps3: concat along the batch axis, ...
    import relu6_bn                                     # conv -> batch norm -> relu6, the mask read in batch norm's backward
    return [("models from the docs", rows + stranger2.run(build)), ("settings from the docs", stranger3.run(build)),
            ("techniques from the docs", stranger4.run(build)),
            ("sequences and vision from the docs", stranger5.run(build)),
            ("the rest of the course from the docs", stranger6.run(build)),
            ("attention, sequences and self-supervision from the docs", stranger7.run(build)),
            ("vision, generative and graph models from the docs", stranger8.run(build)),
            ("sequence, attention, self-supervised and RL models from the docs", stranger9.run(build)),
            ("capsules, point clouds, NeRF, RBM, GIN, R-GCN from the docs", stranger10.run(build)),
            ("a spatial transformer network from the docs", stn.run(build)),
            ("tied LM, Bahdanau seq2seq, PPO, prototypes, VICReg, Linformer, ODE, hypernetwork from the docs",
             stranger11.run(build)),
            ("detection, generative, efficient vision, explainability and graph models from the docs",
             stranger12.run(build)),
            ("DeepDream, SRGAN, FiLM, Deep SVDD, DETR, MDN, batch-hard triplet, Pix2Pix U-Net, MC dropout from the docs",
             stranger13.run(build)),
            ("recommenders (NCF, MF, Wide & Deep, DeepFM, DCN), TransE, sparse AE, highway, R1, LSGAN, Performer, "
             "Graph U-Net, center loss, attention gate from the docs", stranger14.run(build)),
            ("SimSiam, BiGRU tagger, Gumbel-softmax VAE, SupCon, FixMatch, Lovasz hinge from the docs",
             stranger15.run(build)),
            ("language gaps closed (gaps3)", gaps.run(build)),
            ("conv -> batch norm -> relu6 (the ReLU6 mask in batch norm's backward)", relu6_bn.run(build))]
