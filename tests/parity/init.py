"""init.py — parameter initializers against torch.nn.init and against the
table in docs/language.md.

Random draws cannot be compared number by number (our generator is not
torch's), so each case compares the distribution: for a uniform initializer
the largest |w| (with 9,000+ draws it lies within 0.2% of the bound) and the
standard deviation, for a normal one the standard deviation and the mean. Each
statistic is checked three ways, so none of the three can drift alone:
  ours  vs the formula the docs state (parsed from the docs' table and
        evaluated, with the defaults the docs print, e.g. `gain = √2`),
  torch vs the same formula (the docs say what PyTorch does),
  ours  vs torch.
Tolerances: bound 0.3%, standard deviation 4% (its standard error at 9,216
draws is 0.74%), mean 5 standard errors. A gain off by √2 is a 41% error.
"""
import math
import os
import re

import numpy as np
import torch

from harness import Model, load_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs", "language.md")
BOUND_TOL, STD_TOL = 3e-3, 4e-2

# (shape, fan_in, fan_out) — a dense weight and a 3x3 conv weight (receptive field 9)
SHAPES = [((256, 96), 96, 256), ((64, 16, 3, 3), 144, 576)]

# torch.nn.init equivalent of each documented initializer, given the gain we pass
# explicitly (None: the docs' default). LeCun is Kaiming with gain 1 ('linear').
I = torch.nn.init
TORCH = {
    "lecun_uniform": lambda t, g: I.kaiming_uniform_(t, nonlinearity="linear"),
    "lecun_normal": lambda t, g: I.kaiming_normal_(t, nonlinearity="linear"),
    "xavier_uniform": lambda t, g: I.xavier_uniform_(t, gain=1.0 if g is None else g),
    "xavier_normal": lambda t, g: I.xavier_normal_(t, gain=1.0 if g is None else g),
    "he_uniform": lambda t, g: (I.kaiming_uniform_(t, nonlinearity="relu") if g is None else
                                I.kaiming_uniform_(t, nonlinearity="linear").mul_(g)),
    "he_normal": lambda t, g: (I.kaiming_normal_(t, nonlinearity="relu") if g is None else
                               I.kaiming_normal_(t, nonlinearity="linear").mul_(g)),
}
ALIAS = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
         "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}


class _Desc:
    def __init__(self, text):
        self.text = text

    def describe(self):
        return self.text


def doc_rows():
    """The fan-based rows of the docs' initializer table: a list of
    (names, defaults {arg: value}, bound formula, std formula)."""
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    sec = text.split("### Initializers", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in sec.splitlines():
        if not line.startswith("| `") or "bound" not in line:
            continue
        names_col, formula = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`(\w+)\(", names_col)
        names += [n.replace("*", s) for n in re.findall(r"`(\w+_\*)`", names_col)
                  for s in ("uniform", "normal")]
        defaults = {k: _num(v) for k, v in re.findall(r"(\w+) = ([^,)`]+)", names_col)}
        m = re.match(r"bound (.+); std (.+)$", formula)
        if not m:
            raise ValueError(f"docs/language.md: cannot read the initializer row: {line}")
        rows.append((names, defaults, _expr(m.group(1)), _expr(m.group(2))))
    if not rows:
        raise ValueError("docs/language.md: no initializer table found")
    return rows


def _num(s):
    return eval(_expr(s), {"sqrt": math.sqrt})


def _expr(s):
    """The docs' math (·, √x, √(...)) as a Python expression."""
    s = s.replace("·", "*").replace("√(", "sqrt(")
    return re.sub(r"√(\w+)", r"sqrt(\1)", s)


def _eval(expr, fan_in, fan_out, gain):
    return eval(expr, {"sqrt": math.sqrt}, {"fan_in": fan_in, "fan_out": fan_out, "gain": gain})


def cases():
    """(param name, initializer text, docs name, gain or None, shape, fans, bound expr, std expr)."""
    out = []
    for names, defaults, bound, std in doc_rows():
        for name in names:
            for gain in ([None, 0.5] if "gain" in defaults else [None]):
                for si, (shape, fi, fo) in enumerate(SHAPES):
                    call = f"{name}()" if gain is None else f"{name}(gain = {gain})"
                    g = defaults.get("gain", 1.0) if gain is None else gain
                    out.append((f"p{len(out)}", call, name, gain, shape, fi, fo,
                                _eval(bound, fi, fo, g), _eval(std, fi, fo, g)))
    return out


def stats(w, uniform):
    w = np.asarray(w, dtype=np.float64).ravel()
    return dict(bound=float(np.abs(w).max()) if uniform else None, std=float(w.std()), mean=float(w.mean()), n=w.size)


def compare(ours, ref, uniform, bound, std):
    """Largest relative error of ours and of torch's draw against the documented
    statistic, and ours against torch. Returns (worst error, ok, text)."""
    errs, ok = [], True
    for who, s in (("ours", ours), ("torch", ref)):
        if uniform:
            e = abs(s["bound"] - bound) / bound
            errs.append(e)
            ok &= e <= BOUND_TOL
            e2 = abs(s["std"] - bound / math.sqrt(3)) / (bound / math.sqrt(3))
        else:
            e2 = abs(s["std"] - std) / std
        errs.append(e2)
        ok &= e2 <= STD_TOL
        sd = bound / math.sqrt(3) if uniform else std
        ok &= abs(s["mean"]) <= 5 * sd / math.sqrt(s["n"])
    e3 = abs(ours["std"] - ref["std"]) / ref["std"]
    ok &= e3 <= 2 * STD_TOL
    text = (f"ours bound {ours['bound']} std {ours['std']:.5g} mean {ours['mean']:.3g}; torch bound {ref['bound']} "
            f"std {ref['std']:.5g}; docs bound {bound} std {std}")
    return max(errs + [e3]), ok, text


def run(build):
    cs = cases()
    # Plain forms too: dense and conv2d with their defaults, a rank-2 param with no
    # initializer (the docs: he_uniform()), and the fixed-distribution initializers.
    lines = [f"    param {p}: f32[{', '.join(map(str, shape))}] = {call}"
             for p, call, _, _, shape, _, _, _, _ in cs]
    lines += ["    param bare: f32[256, 96]",
              "    param nrm: f32[128, 100] = normal(mean = 0.5, std = 0.2)",
              "    param uni: f32[128, 100] = uniform(low = -0.3, high = 0.7)",
              "    param cst: f32[3, 5] = constant(2.5)",
              "    param one: f32[7] = ones",
              "    param zer: f32[3, 3] = zeros"]
    uses = " + ".join(f"sum({p})" for p in [c[0] for c in cs] + ["bare", "nrm", "uni", "cst", "one", "zer"])
    src = ("model inits(x: f32[N, 16, 8, 8]) -> f32[N, 10] {\n" + "\n".join(lines) +
           "\n    h = conv2d(x, 64, kernel = 3, name = \"conv\") |> flatten\n"
           "    h = dense(h, 300, name = \"fc1\")\n"
           f"    return dense(h, 10, name = \"fc2\") + {uses}\n}}\n")
    so, err = build.compile_dln(src, "init")
    groups = {}
    if err:
        groups["init"] = [dict(case=_Desc("initializer model"), fwd=float("nan"), grad=None, ok=False, detail=err)]
        return list(groups.items())
    m = Model(load_lib(so), "inits", 1)
    m.init_(m.m, 7)
    torch.manual_seed(7)

    def add(group, desc, err, ok, detail=None):
        groups.setdefault(group, []).append(dict(case=_Desc(desc), fwd=err, grad=None, ok=ok, detail=detail))

    for p, call, name, gain, shape, fi, fo, bound, std in cs:
        uniform = name.endswith("uniform")
        ref = torch.empty(shape)
        TORCH[ALIAS.get(name, name)](ref, gain)
        e, ok, text = compare(stats(m.get(p), uniform), stats(ref.numpy(), uniform), uniform, bound, std)
        add("init " + ALIAS.get(name, name), f"param {p}: f32{list(shape)} = {call} (fan_in {fi}, fan_out {fo})",
            e, ok, None if ok else text)
    # Defaults of the stdlib layers and of a bare param: PyTorch's kaiming_uniform_(nonlinearity='relu').
    for p, shape, fi in (("conv.weight", (64, 16, 3, 3), 144), ("fc1.weight", (300, 64 * 6 * 6), 64 * 36),
                         ("fc2.weight", (10, 300), 300), ("bare", (256, 96), 96)):
        ref = torch.empty(shape)
        I.kaiming_uniform_(ref, nonlinearity="relu")
        bound = math.sqrt(2) * math.sqrt(3 / fi)
        e, ok, text = compare(stats(m.get(p), True), stats(ref.numpy(), True), True, bound, None)
        add("init defaults", f"{p} {list(shape)} default = he_uniform(gain = sqrt 2), fan_in {fi}", e, ok,
            None if ok else text)
    for p, uniform, lo_or_mean, hi_or_std in (("nrm", False, 0.5, 0.2), ("uni", True, -0.3, 0.7)):
        w = m.get(p).astype(np.float64)
        ref = torch.empty(w.shape)
        (I.uniform_(ref, lo_or_mean, hi_or_std) if uniform else I.normal_(ref, lo_or_mean, hi_or_std))
        if uniform:
            e = max(abs(w.min() - lo_or_mean), abs(w.max() - hi_or_std)) / (hi_or_std - lo_or_mean)
            ok = e <= BOUND_TOL and w.min() >= lo_or_mean and w.max() < hi_or_std
        else:
            e = max(abs(w.std() - hi_or_std) / hi_or_std, abs(w.mean() - lo_or_mean) / hi_or_std)
            ok = e <= STD_TOL
        e_t = abs(w.std() - ref.std().item()) / ref.std().item()
        add("init fixed", f"{p} = {'uniform' if uniform else 'normal'}({lo_or_mean}, {hi_or_std})", max(e, e_t),
            ok and e_t <= 2 * STD_TOL)
    for p, val in (("cst", 2.5), ("one", 1.0), ("zer", 0.0)):
        w = m.get(p)
        e = float(np.abs(w - val).max())
        add("init fixed", f"{p} = {val}", e, e == 0.0)
    m.close()
    return list(groups.items())
