"""init_recurrent.py — the initializer arguments of the stdlib rnn, lstm and
gru (init, recurrent_init, bias_init, lstm's forget_bias) against the same
recipes applied to torch's nn.RNN, nn.LSTM and nn.GRU.

The common recipe — orthogonal recurrent weights, forget-gate bias 1:

    lstm(x, H, recurrent_init = orthogonal(), forget_bias = 1.0)

against

    lstm = nn.LSTM(I, H, batch_first=True)
    for name, p in lstm.named_parameters():
        if "weight_hh" in name: nn.init.orthogonal_(p)
        elif "bias" in name: nn.init.zeros_(p)
    lstm.bias_ih_l0.data[H:2 * H] = 1

Our generator is not torch's: random weights compare by distribution
(orthogonal: the Gram matrix against I below 1e-5 and the entries' std
within 6% of 1/√rows; uniform and xavier_uniform: every value inside the
bound and the std within 5% of bound/√3, ours and torch's alike);
deterministic ones (the biases) must equal torch's exactly.
"""
import math

import numpy as np
import torch

from harness import Model, load_lib
from init import _Desc
from init_structured import ortho_props

I_, H = 32, 64
SOURCE = f"""model recurrent_init(x: f32[N, 5, {I_}]) -> f32 {{
    a = lstm(x, {H}, recurrent_init = orthogonal(), forget_bias = 1.0, name = "l")
    b = gru(x, {H}, init = xavier_uniform(), bias_init = zeros, name = "g")
    c = rnn(x, {H}, bias_init = 0.5, name = "r")
    d = lstm(x, {H}, name = "d")
    return a + b + c + d
}}
"""


def torch_modules():
    """The same recipes, applied to torch's modules."""
    torch.manual_seed(7)
    nn, init = torch.nn, torch.nn.init
    lstm, gru, rnn, dflt = (nn.LSTM(I_, H, batch_first=True), nn.GRU(I_, H, batch_first=True),
                            nn.RNN(I_, H, batch_first=True), nn.LSTM(I_, H, batch_first=True))
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if "weight_hh" in name:
                init.orthogonal_(p)
            elif "bias" in name:
                init.zeros_(p)
        lstm.bias_ih_l0[H:2 * H] = 1
        for name, p in gru.named_parameters():
            (init.xavier_uniform_ if "weight" in name else init.zeros_)(p)
        for name, p in rnn.named_parameters():
            if "bias" in name:
                init.constant_(p, 0.5)
    return {"l": lstm, "g": gru, "r": rnn, "d": dflt}


def uniform_props(w, bound):
    w = np.asarray(w, dtype=np.float64)
    inside = bool(np.abs(w).max() <= bound * (1 + 1e-6))
    return inside, abs(w.std() - bound / math.sqrt(3)) / (bound / math.sqrt(3))


def run(build):
    so, err = build.compile_dln(SOURCE, "init_recurrent")
    groups = {}

    def add(desc, e, ok, detail=None):
        groups.setdefault("init recurrent", []).append(dict(case=_Desc(desc), fwd=e, grad=None, ok=ok, detail=detail))

    if err:
        add("rnn/lstm/gru initializer arguments", float("nan"), False, err)
        return list(groups.items())
    m = Model(load_lib(so), "recurrent_init", 1)
    m.init_(m.m, 7)
    mods = torch_modules()
    k = 1 / math.sqrt(H)
    for prefix, what in (("l", "lstm(recurrent_init = orthogonal(), forget_bias = 1.0)"),
                         ("g", "gru(init = xavier_uniform(), bias_init = zeros)"),
                         ("r", "rnn(bias_init = 0.5)"), ("d", "lstm() (PyTorch's default)")):
        for pname, ref in mods[prefix].named_parameters():
            ours, ref = m.get(f"{prefix}.{pname}"), ref.detach().numpy()
            desc = f"{what}: {pname}{list(ref.shape)}"
            if ours.shape != ref.shape:
                add(desc, float("nan"), False, f"shape {ours.shape} vs torch's {ref.shape}")
                continue
            if prefix == "l" and "weight_hh" in pname:
                errs = []
                for w in (ours, ref):
                    g, sd = ortho_props(w)
                    errs.append((float(np.abs(g - np.eye(g.shape[0])).max()), abs(sd - 1 / math.sqrt(w.shape[0])) * math.sqrt(w.shape[0])))
                ok = all(eo < 1e-5 and es < 0.06 for eo, es in errs)
                add(desc + " orthogonal", errs[0][0], ok, None if ok else f"ours/torch (|Gram - I|, std err): {errs}")
            elif prefix == "l" and "bias" in pname or prefix in "gr" and "bias" in pname:
                e = float(np.abs(ours - ref).max())
                add(desc + " == torch's (deterministic)", e, e == 0.0)
            else:
                bound = math.sqrt(6 / (ref.shape[0] + ref.shape[1])) if prefix == "g" else k
                props = [uniform_props(w, bound) for w in (ours, ref)]
                ok = all(inside and e < 0.05 for inside, e in props)
                add(desc + f" U(±{bound:.4g}) by distribution", props[0][1], ok,
                    None if ok else f"ours/torch (inside, std rel err): {props}")
    m.close()
    return list(groups.items())
