"""A small GPT against PyTorch: token inputs, per-position targets, run-time T.

The model is written with the standard library (embedding, learned_positions,
transformer_encoder_layer with norm_first and causal attention, layer_norm,
dense); the PyTorch twin is nn.Embedding, nn.TransformerEncoderLayer and
nn.Linear under the same attribute names, so its state_dict is the dlnc
checkpoint. Checked, in float64 on the PyTorch side:
  - eval-mode logits at two sequence lengths from one build (T = 8 and 5);
  - the incremental form (gpt_decode, the key/value cache) position by
    position against PyTorch's full-sequence logits;
  - the training loss and every parameter's gradient at step 1;
  - 20 SGD steps with momentum on fresh batches: every parameter after them,
    and the eval logits, within 4x PyTorch's own float32-vs-float64 drift;
  - beam search (`dlnc sample --beam K`): libdlnrt's dl_beam_step over
    gpt_forward's logits at batch K, against docs/language.md's plain-PyTorch
    reference over the twin: the same beams, their sums within 1e-5.
SGD rather than Adam for the reason models.py gives: the key projection's
bias has an exactly zero gradient (softmax ignores a constant per row), and
Adam would scale its rounding noise up to full steps.
"""
import copy
import ctypes
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness import F32P, last_error, load_lib, rel_err, st_write

BEAM_K, BEAM_L, BEAM_TOL = 4, 10, 1e-5

V, D, TMAX, BATCH, STEPS = 11, 16, 8, 4, 20
FWD_TOL, GRAD_TOL, TRAIN_TOL = 1e-5, 1e-4, 1e-4

GPT_DLN = f"""model gpt(tokens: i32[N, T]) -> f32[N, T, {V}] {{
    h = embedding(tokens, {V}, {D}) |> learned_positions({TMAX})
    repeat 2 {{
        h = transformer_encoder_layer(h, 2, ff = 32, dropout = 0.0, activation = "gelu", norm_first = true, causal = true)
    }}
    return layer_norm(h, {D}) |> dense({V})
}}
train gpt {{
    data  = tokens("/dev/null", batch = {BATCH}, seq_len = {TMAX}, vocab = {V})
    loss  = cross_entropy(output, targets)
    optim = sgd(lr = 0.05, momentum = 0.9)
    epochs = 1
}}
"""


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding0 = nn.Embedding(V, D)
        self.learned_positions0 = nn.Embedding(TMAX, D)
        for i in range(2):
            setattr(self, f"transformer_encoder_layer{i}",
                    nn.TransformerEncoderLayer(D, 2, 32, dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True))
        self.layer_norm0 = nn.LayerNorm(D)
        self.dense0 = nn.Linear(D, V)

    def forward(self, t):
        T = t.shape[1]
        mask = torch.triu(torch.full((T, T), float("-inf"), dtype=self.dense0.weight.dtype), 1)
        h = self.embedding0(t) + self.learned_positions0(torch.arange(T))
        for i in range(2):
            h = getattr(self, f"transformer_encoder_layer{i}")(h, src_mask=mask)
        return self.dense0(self.layer_norm0(h))


class GPTLib:
    """gpt_* of the built model through ctypes (the general API: tokens, targets, n, T)."""

    def __init__(self, lib):
        self.lib = lib
        I32P = ctypes.POINTER(ctypes.c_int32)
        i64, vp = ctypes.c_int64, ctypes.c_void_p

        def fn(name, res, args):
            f = getattr(lib, "gpt_" + name)
            f.restype, f.argtypes = res, args
            return f
        self.forward_ = fn("forward", None, [vp, I32P, F32P, i64, i64])
        self.decode_ = fn("decode", None, [vp, I32P, F32P, i64, i64, i64])
        self.train_step_ = fn("train_step", ctypes.c_float, [vp, I32P, I32P, i64, i64])
        self.param_ = fn("param", F32P, [vp, ctypes.c_char_p])
        self.grad_ = fn("grad", F32P, [vp, ctypes.c_char_p])
        self.load_ = fn("load", ctypes.c_int, [vp, ctypes.c_char_p])
        self.m = fn("create", vp, [i64, i64])(BATCH, TMAX)
        if not self.m:
            raise RuntimeError(f"gpt_create: {last_error(lib)}")
        self.I32P = I32P

    def _i32(self, a):
        a = np.ascontiguousarray(a, dtype=np.int32)
        return a, a.ctypes.data_as(self.I32P)

    def forward(self, tok):
        a, p = self._i32(tok)
        out = np.zeros(tok.shape + (V,), dtype=np.float32)
        self.forward_(self.m, p, out.ctypes.data_as(F32P), tok.shape[0], tok.shape[1])
        return out

    def decode(self, tok, pos):
        a, p = self._i32(tok)
        out = np.zeros(tok.shape + (V,), dtype=np.float32)
        self.decode_(self.m, p, out.ctypes.data_as(F32P), tok.shape[0], tok.shape[1], pos)
        return out

    def train_step(self, tok, tgt):
        a, p = self._i32(tok)
        b, q = self._i32(tgt)
        return self.train_step_(self.m, p, q, tok.shape[0], tok.shape[1])

    def get(self, name, shape, grad=False):
        ptr = (self.grad_ if grad else self.param_)(self.m, name.encode())
        if not ptr:
            return None
        return np.ctypeslib.as_array(ptr, shape=(int(np.prod(shape)),)).copy().reshape(shape)


def beam_torch(ref, prompt, K, L, context=TMAX):
    """docs/language.md's reference, as written there."""
    beams = [(0.0, list(prompt))]
    for _ in range(L):
        cand = []
        for rank, (s, ids) in enumerate(beams):
            with torch.no_grad():
                logp = ref(torch.tensor([ids[-context:]]))[0, -1].double().log_softmax(-1)
            cand += [(s + logp[v].item(), rank, v) for v in range(V) if logp[v] > float("-inf")]
        cand.sort(key=lambda c: (-c[0], c[1], c[2]))
        beams = [(s, beams[r][1] + [v]) for s, r, v in cand[:K]]
    return beams


def beam_ours(g, rt, prompt, K, L, context=TMAX):
    """dl_beam_step (libdlnrt.so) over the built model's logits, the beams at batch K."""
    I, D = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double)
    step = rt.dl_beam_step
    step.restype = ctypes.c_int
    step.argtypes = [D, ctypes.c_int, F32P, ctypes.c_int64, ctypes.c_int, ctypes.c_int, D, I, I, D]
    beams, scores = [list(prompt)], np.zeros(K)
    for _ in range(L):
        t = min(len(beams[0]), context)
        logits = np.ascontiguousarray(g.forward(np.array([b[-t:] for b in beams]))[:, -1, :])
        par, tok = np.zeros(K, dtype=np.intc), np.zeros(K, dtype=np.intc)
        nxt, scratch = np.zeros(K), np.zeros(V)
        n = step(scores.ctypes.data_as(D), len(beams), logits.ctypes.data_as(F32P), V, V, K,
                 scratch.ctypes.data_as(D), par.ctypes.data_as(I), tok.ctypes.data_as(I), nxt.ctypes.data_as(D))
        if n < 1:
            raise RuntimeError("dl_beam_step failed")
        beams = [beams[par[j]] + [int(tok[j])] for j in range(n)]
        scores = np.concatenate([nxt[:n], np.zeros(K - n)])
    return [(scores[j], beams[j]) for j in range(len(beams))]


def _row(text, fwd=None, grad=None, ok=True, detail=None):
    class Desc:
        op = "gpt"

        def describe(self):
            return text
    return dict(case=Desc(), fwd=fwd, grad=grad, ok=ok, detail=detail)


def run(build):
    so, err = build.compile_dln(GPT_DLN, "gpt")
    if so is None:
        return [("gpt", [_row("gpt: compile", float("nan"), ok=False, detail=err)])]
    g = GPTLib(load_lib(so))
    torch.manual_seed(3)
    ref = GPT().double()
    rows = []
    sd = ref.state_dict()
    path = os.path.join(build.work, "gpt_torch_init.safetensors")
    st_write(path, sd)
    if g.load_(g.m, path.encode()) != 0:
        return [("gpt", [_row("gpt: load PyTorch's state_dict", float("nan"), ok=False, detail=last_error(g.lib))])]
    rng = np.random.default_rng(5)
    T64 = lambda a: torch.tensor(a, dtype=torch.long)

    # 1. eval-mode logits at two lengths, and the incremental form
    ref.eval()
    e_fwd = 0.0
    for t in (TMAX, 5):
        tok = rng.integers(0, V, size=(BATCH, t))
        with torch.no_grad():
            want = ref(T64(tok)).numpy()
        e_fwd = max(e_fwd, rel_err(g.forward(tok), want))
    rows.append(_row(f"gpt: eval-mode logits at T = {TMAX} and 5 (one build)", e_fwd, ok=e_fwd <= FWD_TOL))
    tok = rng.integers(0, V, size=(BATCH, TMAX))
    with torch.no_grad():
        want = ref(T64(tok)).numpy()
    got = np.concatenate([g.decode(tok[:, :3], 0)] + [g.decode(tok[:, p:p + 1], p) for p in range(3, TMAX)], axis=1)
    e_dec = rel_err(got, want)
    rows.append(_row("gpt: gpt_decode (a 3-token prompt, then one position at a time) vs full-sequence logits",
                     e_dec, ok=e_dec <= FWD_TOL))

    # 2. step 1: loss and every gradient
    ref.train()
    ref32 = copy.deepcopy(ref).float()
    opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    opt32 = torch.optim.SGD(ref32.parameters(), lr=0.05, momentum=0.9)
    batches = [(rng.integers(0, V, size=(BATCH, TMAX)), rng.integers(0, V, size=(BATCH, TMAX)))
               for _ in range(STEPS + 1)]
    e_loss, e_grad, worst_name, e32 = 0.0, 0.0, None, 0.0
    for k, (x, y) in enumerate(batches[:STEPS]):
        for model, o in ((ref, opt), (ref32, opt32)):
            o.zero_grad()
            loss = F.cross_entropy(model(T64(x)).reshape(-1, V), T64(y).reshape(-1))
            loss.backward()
            if model is ref:
                lt = loss.item()
            else:
                e32 = max(e32, rel_err(np.float64(loss.item()), lt))
        ours = g.train_step(x, y)
        e_loss = max(e_loss, rel_err(np.float64(ours), lt))
        if k == 0:
            for pname, p in ref.named_parameters():
                e = rel_err(g.get(pname, tuple(p.shape), grad=True), p.grad.numpy())
                if e > e_grad:
                    e_grad, worst_name = e, pname
            rows.append(_row(f"gpt: training loss and the gradients of all {sum(1 for _ in ref.parameters())} "
                             f"parameters (step 1)", e_loss, e_grad, ok=e_loss <= FWD_TOL and e_grad <= GRAD_TOL,
                             detail=f"worst: {worst_name}"))
        opt.step()
        opt32.step()

    # 3. after 20 steps: every parameter, then the eval logits
    worst, worst_name = 0.0, None
    sd32 = ref32.state_dict()
    for pname, v in ref.state_dict().items():
        e = rel_err(g.get(pname, tuple(v.shape)), v.numpy())
        e32 = max(e32, rel_err(sd32[pname].numpy(), v.numpy()))
        if e > worst:
            worst, worst_name = e, pname
    ref.eval()
    ref32.eval()
    xl, _ = batches[STEPS]
    with torch.no_grad():
        logits = ref(T64(xl)).numpy()
        e32 = max(e32, rel_err(ref32(T64(xl)).numpy(), logits))
    e_out = rel_err(g.forward(xl), logits)
    tol = max(TRAIN_TOL, 4 * e32)
    e20 = max(worst, e_out, e_loss)
    rows.append(_row(f"gpt: {STEPS} SGD steps: losses, every parameter, then eval logits (tolerance {tol:.1e}: 4x "
                     f"PyTorch's own float32 drift)", e20, worst, ok=e20 <= tol,
                     detail=f"worst parameter {worst_name} {worst:.1e}; losses {e_loss:.1e}; logits {e_out:.1e}"))

    # 4. beam search over the trained weights, past the context (prompt 3 + 10 > TMAX)
    rt = ctypes.CDLL(os.path.abspath(build.rt_shared))
    prompt = [int(x) for x in xl[0, :3]]
    want, got = beam_torch(ref, prompt, BEAM_K, BEAM_L), beam_ours(g, rt, prompt, BEAM_K, BEAM_L)
    same = [w[1] for w in want] == [o[1] for o in got]
    e_beam = max(abs(w[0] - o[0]) for w, o in zip(want, got))
    rows.append(_row(f"gpt: beam search K = {BEAM_K}, {BEAM_L} tokens (dl_beam_step on gpt_forward at batch K) vs "
                     f"docs/language.md's PyTorch reference: the same beams, sums", e_beam,
                     ok=same and e_beam <= BEAM_TOL, detail=f"best {want[0][1]} log p {want[0][0]:.6f}"))
    greedy = beam_torch(ref, prompt, 1, BEAM_L)[0]
    rows[-1]["remark"] = (f"gpt beam K = {BEAM_K}: the same {len(got)} beams, sums within {e_beam:.1e}; best "
                          f"{got[0][1][3:]} log p {got[0][0]:.6f} (greedy {greedy[1][3:]} {greedy[0]:.6f})")
    return [("gpt", rows)]
