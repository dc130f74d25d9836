#!/usr/bin/python3
"""run.py — the PyTorch parity suite: dlnc against torch, op by op, optimizer
by optimizer, model by model.

    /usr/bin/python3 tests/parity/run.py [BUILD_DIR] [--only SECTION,...] [--keep]

Sections: ops (cases.py: primitive ops, stdlib blocks, losses), transformers
(transformer.py: stdlib/transformer.dln against PyTorch's modules), opsb
(opsb.py: einsum, pixel_shuffle, the 1-D pools, conv_transpose1d), init
(initializers against torch.nn.init and the docs' table; init_structured.py:
orthogonal, trunc_normal, sparse, dirac, eye against torch's; init_recurrent.py:
rnn/lstm/gru's init, recurrent_init, bias_init, forget_bias against the same
recipes on torch's modules), corpus (every
case again with grad() as a value and second order: the C must pass -Werror), optim
(optimizers and LR schedules against torch.optim), models (MLP, LeNet-5,
ResNet-20, LSTM/GRU/RNN: logits, loss, gradients, 20 training steps, batch-norm state), gan (gan.py:
a GAN's discriminator and generator steps: losses, gradients, updates), vae (vae.py:
a whole small VAE: 5 Adam steps' losses, every gradient, every parameter after), explain (explain.py: dlnc explain's FGSM and PGD
accuracies on the test set against the same attacks in torch), advtrain (advtrain.py:
one FGSM and one PGD adversarial training step of a batch-norm classifier against torch),
interchange (safetensors both ways), course (course.py: GoogLeNet's auxiliary loss and
PSPNet's pyramid pooling, one training step of each against torch), stranger
(stranger.py: models written from docs/language.md alone — a BERT-style masked
LM, a VQ-VAE quantizer from primitives, gather/scatter message passing, an
input-gradient penalty — one training step each against torch). Ends with a table — op or model, cases,
max forward error, max gradient error, pass/fail — then the line
`parity: N passed, N failed`. Failing cases print what reproduces them.

Why Python drives: PyTorch is the oracle and lives in Python; ctypes calls
the generated C directly, so no C driver has to be generated per case.
"""
import math
import os
import shutil
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy  # noqa: F401
    import torch
except ImportError as e:  # CI must fail loudly, never skip
    print(f"parity: cannot import {e.name} in {sys.executable}: install python3-torch and python3-numpy")
    print("parity: 0 passed, 1 failed")
    sys.exit(1)

import cases as case_table  # noqa: E402
import harness  # noqa: E402
import ops  # noqa: E402

SECTIONS = ["ops", "transformers", "opsb", "corpus", "init", "optim", "metrics", "detect", "models", "gpt", "gan", "vae", "explain", "advtrain", "interchange", "course", "stranger", "accumulate", "lookahead"]


def fmt(e):
    if e is None:
        return "-"
    if isinstance(e, float) and math.isnan(e):
        return "n/a"
    return f"{e:.1e}"


def main(argv):
    build_dir, only, keep = "build", SECTIONS, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--only":
            only = argv[i + 1].split(",")
            i += 1
        elif a == "--keep":
            keep = True
        else:
            build_dir = a
        i += 1
    warnings.filterwarnings("ignore", category=UserWarning)  # torch's notes on padding="same", SequentialLR
    torch.set_num_threads(2)
    torch.manual_seed(0)
    build = harness.Build(build_dir)
    t0 = time.time()
    rows = []  # (group, results list)
    if "ops" in only:
        all_cases = case_table.OPS + case_table.LOSSES
        res = ops.run_cases(build, all_cases)
        for name, group in group_by(res):
            rows.append((name, group))
    if "transformers" in only:
        import transformer
        rows += group_by(ops.run_cases(build, transformer.CASES))
    if "opsb" in only:
        import opsb
        rows += group_by(ops.run_cases(build, opsb.CASES))
    if "corpus" in only:
        import corpus
        rows += corpus.run(build)
    if "init" in only:
        import init
        rows += init.run(build)
        import init_structured
        rows += init_structured.run(build)
        import init_recurrent
        rows += init_recurrent.run(build)
    if "optim" in only:
        import optim
        rows += optim.run(build)
    if "metrics" in only:
        import metrics
        rows += metrics.run(build)
    if "detect" in only:
        import detect
        rows += detect.run(build)
    if "models" in only:
        import models
        rows += models.run(build)
    if "gpt" in only:
        import gpt
        rows += gpt.run(build)
    if "gan" in only:
        import gan
        rows += gan.run(build)
    if "vae" in only:
        import vae
        rows += vae.run(build)
    if "explain" in only:
        import explain
        rows += explain.run(build)
    if "advtrain" in only:
        import advtrain
        rows += advtrain.run(build)
    if "interchange" in only:
        import interchange
        rows += interchange.run(build)
    if "course" in only:
        import course
        rows += course.run(build)
    if "stranger" in only:
        import stranger
        rows += stranger.run(build)
    if "accumulate" in only:
        import accumulate
        rows += accumulate.run(build)
    if "lookahead" in only:
        import lookahead
        rows += lookahead.run(build)
    report(rows)
    n_pass = sum(1 for _, g in rows for r in g if r["ok"])
    n_fail = sum(1 for _, g in rows for r in g if not r["ok"] and not r.get("skip"))
    n_skip = sum(1 for _, g in rows for r in g if r.get("skip"))
    if n_skip:
        print(f"({n_skip} skipped: not available yet)")
    print(f"({time.time() - t0:.0f} s; work dir {build.work}{'' if keep else ', removed'})")
    if not keep:
        shutil.rmtree(build.work, ignore_errors=True)
    print(f"parity: {n_pass} passed, {n_fail} failed")
    return 0 if n_fail == 0 else 1


def group_by(results):
    out = {}
    for r in results:
        out.setdefault(r["case"].op, []).append(r)
    return list(out.items())


def report(rows):
    failures = [(name, r) for name, g in rows for r in g if not r["ok"] and not r.get("skip")]
    if failures:
        print("== failing cases ==")
        for name, r in failures:
            c = r.get("case")
            what = c.describe() if hasattr(c, "describe") else str(c)
            tol = f" (tolerances fwd {c.fwd_tol:g}, grad {c.grad_tol:g})" if hasattr(c, "fwd_tol") else ""
            seed = f", inputs from seed {r['seed']}" if "seed" in r else ""
            print(f"FAIL {what}\n     fwd err {fmt(r['fwd'])}, grad err {fmt(r['grad'])}{tol}{seed}")
            if r.get("detail"):
                lines = str(r["detail"]).splitlines()
                print("     " + "\n     ".join(lines[:8] + (["..."] if len(lines) > 8 else [])))
    remarks = [r["remark"] for _, g in rows for r in g if r.get("remark")]
    if remarks:
        print("== remarks ==")
        print("\n".join(remarks))
    print("== parity with PyTorch ==")
    print(f"{'op / model':<24} {'cases':>5} {'max fwd err':>12} {'max grad err':>12}  result")
    for name, g in rows:
        skip = all(r.get("skip") for r in g)
        fw = [r["fwd"] for r in g if r.get("fwd") is not None and not r.get("skip")]
        gr = [r["grad"] for r in g if r.get("grad") is not None and not r.get("skip")]
        nf = sum(1 for r in g if not r["ok"] and not r.get("skip"))
        status = "skip (not available yet)" if skip else ("pass" if nf == 0 else f"FAIL ({nf})")
        print(f"{name:<24} {len(g):>5} {fmt(maxnan(fw)):>12} {fmt(maxnan(gr)):>12}  {status}")


def maxnan(xs):
    if not xs:
        return None
    if any(isinstance(x, float) and math.isnan(x) for x in xs):
        return float("nan")
    return max(xs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
