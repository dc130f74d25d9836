"""ops.py — runs the op, block and loss rows of cases.py against PyTorch.

Each case becomes one tiny model whose inputs are parameters:

    model c17(x: f32[N, 1]) {
        param a: f32[3, 4] = zeros
        return reshape(<expr>, [1, -1]) + 0.0 * x      # batch dimension first
    }
    train c17 { ... loss = sum(output * label) ... }   # label = random projection R

With the learning rate set to 0, one train_step leaves the parameters alone
and leaves d(sum(out * R))/d(param) in each gradient buffer — the vector-
Jacobian product PyTorch's autograd computes for the same R. Loss rows use
`x @ z` fed the identity matrix, which reproduces z exactly, so the loss sees
arbitrary logits/predictions of batch B and the gradient w.r.t. z is the
loss's own. References run in float64 from the same float32 inputs, so the
error measured is dlnc's float32 error alone.
"""
import re

import numpy as np
import torch

from harness import Model, load_lib, rel_err

CHUNK = 40
# Compile errors that mean "this op is in the table but its backend has not
# landed yet" (a transient state while an op is being added): such a case is
# reported as skipped; any other compile error, including an unknown
# function (a typo in a row, or an op that was removed), fails it.
NOT_YET = ("has no C emitter", "emitter's op table is incomplete")


def draw(domain, shape, rng):
    shape = tuple(shape)
    if domain == "pos":
        a = rng.uniform(0.5, 2.0, shape)
    elif domain == "prob":
        a = rng.uniform(0.05, 0.95, shape)
    elif domain == "away":
        r = rng.standard_normal(shape)
        a = np.sign(r) * (0.5 + np.abs(r))
    else:
        a = rng.standard_normal(shape)
    return np.asarray(a, dtype=np.float32)


def _train_section(name, classify, loss_expr):
    return (f"train {name} {{\n    data = csv(\"/dev/null\", batch = 1, classify = {classify})\n"
            f"    loss = {loss_expr}\n    optim = sgd(lr = 0.1)\n    epochs = 1\n}}\n")


def op_source(name, case):
    params = "".join(f"    param {k}: f32[{', '.join(map(str, s))}] = zeros\n" for k, s in case.inputs.items())
    return (f"model {name}(x: f32[N, 1]) {{\n{params}    y = {case.expr()}\n"
            f"    return reshape(y, [1, -1]) + 0.0 * x\n}}\n" + _train_section(name, "false", "sum(output * label)"))


def loss_source(name, case):
    b, c = case.inputs["z"]
    return (f"model {name}(x: f32[N, {b}]) {{\n    param z: f32[{b}, {c}] = zeros\n    return x @ z\n}}\n"
            + _train_section(name, "true" if case.label == "class" else "false", case.expr()))


def source(name, case):
    return loss_source(name, case) if case.kind == "loss" else op_source(name, case)


def run_one(lib, name, case, seed):
    """Returns (forward error, gradient error, detail text or None)."""
    rng = np.random.default_rng(seed)
    m = Model(lib, name, max_batch=max(1, case.inputs["z"][0]) if case.kind == "loss" else 1,
              class_labels=case.label == "class")
    try:
        vals = {}
        for pname, (shape, trainable) in sorted(m.params.items()):
            vals[pname] = draw(case.domain.get(pname, "n"), shape, rng)
            m.set_param(pname, vals[pname])
        m.set_lr(0.0)
        # buffers (running statistics) are inputs without gradients
        tp = {k: torch.tensor(a, dtype=torch.float64, requires_grad=m.params[k][1]) for k, a in vals.items()}
        if case.kind == "loss":
            return _run_loss(m, case, vals, tp, rng)
        out = _tensor(case.ref(tp, **case.attrs))
        k = out.numel()
        proj = draw("n", (1, k), rng)
        x = np.zeros((1, 1), dtype=np.float32)
        ours = m.forward(x, (1, k))
        ferr = rel_err(ours.reshape(out.shape), out.detach().numpy())
        out_train = _tensor(case.train_ref(tp, **case.attrs)) if case.train_ref else out
        loss_ref = (out_train.reshape(1, k) * torch.tensor(proj, dtype=torch.float64)).sum()
        loss = m.train_step(x, proj)
        ferr = max(ferr, rel_err(np.float64(loss), loss_ref.item()))
        detail = None
        if case.state:
            for name, want in case.state(tp, **case.attrs).items():
                e = rel_err(m.get(name), want.numpy())
                if e > case.fwd_tol:
                    detail = f"buffer {name} after one training step differs by {e:.1e}"
                ferr = max(ferr, e)
        gerr, gdetail = _grad_errors(m, tp, loss_ref)
        return ferr, gerr, detail or gdetail
    finally:
        m.close()


def _run_loss(m, case, vals, tp, rng):
    b, c = case.inputs["z"]
    if case.label == "class":
        y = rng.integers(0, c, size=(b,)).astype(np.int32)
        ty = torch.tensor(y, dtype=torch.int64)
    else:
        y = draw(case.domain.get("label", "n"), (b, c), rng)
        ty = torch.tensor(y, dtype=torch.float64)
    x = np.eye(b, dtype=np.float32)
    loss_ref = case.ref(tp["z"], ty, tp) if case.with_params else case.ref(tp["z"], ty)
    eval_loss, _ = m.eval_step(x, y)
    loss = m.train_step(x, y)
    ferr = max(rel_err(np.float64(loss), loss_ref.item()), rel_err(np.float64(eval_loss), loss_ref.item()))
    gerr, detail = _grad_errors(m, tp, loss_ref)
    return ferr, gerr, detail


def _tensor(out):
    return out if torch.is_tensor(out) else torch.tensor(out, dtype=torch.float64)


def _grad_errors(m, tp, loss_ref):
    names = sorted(k for k in tp if tp[k].requires_grad)
    grads = torch.autograd.grad(loss_ref, [tp[k] for k in names], allow_unused=True)
    worst, detail = 0.0, None
    for k, g in zip(names, grads):
        ref = np.zeros(tp[k].shape) if g is None else g.numpy()
        ours = m.get(k, grad=True)
        if ours is None:
            return float("inf"), f"no gradient for parameter '{k}'"
        e = rel_err(ours, ref)
        if e > worst:
            worst, detail = e, f"worst gradient: {k}"
    return worst, detail


def run_cases(build, cases, seed=1234):
    """Compiles the cases in chunks (two C compiles in flight) and runs them.
    Returns one result dict per case, in order."""
    results = [None] * len(cases)
    chunks = [list(range(i, min(i + CHUNK, len(cases)))) for i in range(0, len(cases), CHUNK)]
    pending = []
    for ci, idx in enumerate(chunks):
        idx = _drop_dlnc_failures(build, cases, idx, results, f"ops{ci}")
        src = "".join(source(f"c{i}", cases[i]) for i in idx)
        pending.append((idx, build.start_compile(src, f"ops{ci}")))
        if len(pending) == 2 or ci == len(chunks) - 1:
            for idx_done, h in pending:
                so, err = build.finish_compile(h)
                _run_chunk(build, cases, idx_done, so, err, results, seed)
            pending = []
    return results


def _drop_dlnc_failures(build, cases, idx, results, tag):
    """Runs dlnc alone on the chunk; the cases its errors point into (by line)
    are recorded as failed or skipped and left out of the chunk."""
    for _ in range(3):
        spans, src, line = [], [], 1
        for i in idx:
            text = source(f"c{i}", cases[i])
            spans.append((line, line + text.count("\n"), i))
            line += text.count("\n")
            src.append(text)
        err = build.check_dln("".join(src), tag)
        if err is None:
            return idx
        bad = {}
        for ln in err.splitlines():
            m = re.match(r"[^:]*\.dln:(\d+):\d+: error: (.*)", ln)
            if m:
                n = int(m.group(1))
                for a, b, i in spans:
                    if a <= n < b:
                        bad.setdefault(i, []).append(f"line {n - a + 1}: {m.group(2)}")
        if not bad:
            return idx  # not attributable: _run_chunk compiles case by case
        for i, msgs in bad.items():
            text = "dlnc: " + "\n".join(msgs) + "\n" + source(f"c{i}", cases[i]).rstrip()
            skip = any(s in text for s in NOT_YET)
            results[i] = dict(case=cases[i], fwd=None if skip else float("nan"), grad=None if skip else float("nan"),
                              ok=False, skip=skip, detail=text)
        idx = [i for i in idx if i not in bad]
    return idx


def _run_chunk(build, cases, idx, so, err, results, seed):
    if not idx:
        return
    if so is None:
        # One case broke the batch: compile each alone to find and report it.
        for i in idx:
            so1, err1 = build.compile_dln(source(f"c{i}", cases[i]), f"case{i}")
            if so1 is None:
                skip = any(s in err1 for s in NOT_YET)
                results[i] = dict(case=cases[i], fwd=None if skip else float("nan"), grad=None if skip else float("nan"),
                                  ok=False, skip=skip, detail=err1)
            else:
                _run_in(load_lib(so1), cases, [i], results, seed)
        return
    _run_in(load_lib(so), cases, idx, results, seed)


def _run_in(lib, cases, idx, results, seed):
    for i in idx:
        c = cases[i]
        try:
            ferr, gerr, detail = run_one(lib, f"c{i}", c, seed + i)
            ok = ferr <= c.fwd_tol and gerr <= c.grad_tol
        except Exception as e:  # a crash in one case is that case's failure
            ferr, gerr, detail, ok = float("nan"), float("nan"), f"{type(e).__name__}: {e}", False
        results[i] = dict(case=c, fwd=ferr, grad=gerr, ok=ok, detail=detail, seed=seed + i)
