"""corpus.py — every op in every position compiles with -Wall -Wextra -Werror.

The parity cases (cases.py, transformer.py) put each builtin, stdlib block and loss in forward
position (forward, eval and train graphs) and its VJP in backward position.
This section takes the same rows and puts them where only gradients-as-values
reach: `grad(...)` inside the model (the VJP kernels then run in the forward
and eval graphs, as in Grad-CAM, saliency and FGSM) and, through training,
the VJP of the VJP (second order, as in WGAN-GP's gradient penalty):

    y = <the case's expression over parameters a, b, ...>
    g = grad(sum(y * y), a)           # the VJP, in forward position
    h = mean(grad(sum(y), a))         # the VJP of a plain sum: a broadcast scalar
    return ... + sum(g) + h           # train_step differentiates g: second order

A loss row becomes `loss = L + sum(grad(L, output) * grad(L, output))`.

A case passes when dlnc rejects it with a GCC-style error (file:line:col, no
"internal error") or accepts it and the C compiles with -Werror. Ops whose
second order dlnc refuses are listed in the report, not failed: a clear
refusal is allowed, C that does not compile never is.
"""
import re

import cases as case_table
import transformer
from ops import _train_section

CHUNK = 24


class _Desc:
    def __init__(self, case, src):
        self.case, self.src = case, src

    def describe(self):
        return f"second order / grad as a value: {self.case.describe()}"


def _params(case):
    return "".join(f"    param {k}: f32[{', '.join(map(str, s))}] = normal()\n" for k, s in case.inputs.items())


def source(name, case):
    if case.kind == "loss":
        b, c = case.inputs["z"]
        L = case.expr()
        return (f"model {name}(x: f32[N, {b}]) {{\n    param z: f32[{b}, {c}] = normal()\n    return x @ z\n}}\n"
                + _train_section(name, "true" if case.label == "class" else "false",
                                 f"{L} + sum(grad({L}, output) * grad({L}, output))"))
    wrt = next(iter(case.inputs))
    return (f"model {name}(x: f32[N, 1]) {{\n{_params(case)}    y = {case.expr()}\n"
            f"    g = grad(sum(y * y), {wrt})\n    h = mean(grad(sum(y), {wrt}))\n"
            f"    return reshape(y, [1, -1]) + 0.0 * x + sum(g) + h\n}}\n"
            + _train_section(name, "false", "sum(output * label)"))


def _first_variants():
    seen, out = set(), []
    for c in case_table.OPS + case_table.LOSSES + transformer.CASES:
        key = (c.op, c.dln)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


GCC_STYLE = re.compile(r"^[^:\n]+\.dln:\d+:\d+: error: ", re.M)


def _check_dlnc_error(err):
    """A refusal is fine only if it is a located error and not an internal one."""
    return bool(GCC_STYLE.search(err)) and "internal error" not in err


def run(build):
    cs = _first_variants()
    results = []
    refused = []
    for start in range(0, len(cs), CHUNK):
        idx = list(range(start, min(start + CHUNK, len(cs))))
        # dlnc alone first: cases it refuses are judged by their message and left out.
        ok_idx = []
        for i in idx:
            src = source(f"s{i}", cs[i])
            err = build.check_dln(src, f"corpus{i}")
            if err is None:
                ok_idx.append(i)
            elif _check_dlnc_error(err):
                refused.append(cs[i].op)
                results.append(dict(case=_Desc(cs[i], src), fwd=None, grad=None, ok=True))
            else:
                results.append(dict(case=_Desc(cs[i], src), fwd=float("nan"), grad=None, ok=False,
                                    detail="dlnc failed without a located error:\n" + err + "\n" + src))
        src = "".join(source(f"s{i}", cs[i]) for i in ok_idx)
        so, err = build.compile_dln(src, f"corpus_chunk{start}")
        if so is not None:
            results += [dict(case=_Desc(cs[i], None), fwd=None, grad=None, ok=True) for i in ok_idx]
            continue
        for i in ok_idx:  # attribute the failure
            s1 = source(f"s{i}", cs[i])
            so1, err1 = build.compile_dln(s1, f"corpus_case{i}")
            results.append(dict(case=_Desc(cs[i], s1), fwd=None if so1 else float("nan"), grad=None,
                                ok=so1 is not None, detail=None if so1 else f"{err1}\n{s1}"))
    if refused:
        print(f"corpus: dlnc refuses second order (clearly) for: {', '.join(sorted(set(refused)))}")
    return [("-Werror: grad as value, 2nd order", results)]

