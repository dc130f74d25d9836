"""interchange.py — checkpoints move between dlnc and PyTorch both ways.

For every model of models.py that compiles:
  dlnc -> torch  the generated code initializes itself (<model>_init) and
                 saves (<model>_save); a small reader (harness.st_read, no
                 safetensors package) checks the file's layout (F32, offsets
                 contiguous and in bounds), and torch's load_state_dict(strict)
                 accepts it; the values are bit-identical and the torch model
                 computes the same eval-mode logits.
  torch -> dlnc  torch's state_dict written by harness.st_write loads with
                 <model>_load; values bit-identical, same logits.
  errors         a file with one tensor of the wrong shape, or one missing,
                 is refused (-1) with a message naming the tensor.
"""
import json
import os
import struct

import numpy as np
import torch

import models
from harness import Model, last_error, load_lib, rel_err, st_read, st_write


class _Desc:
    def __init__(self, text):
        self.text, self.fwd_tol, self.grad_tol = text, 1e-5, 0.0

    def describe(self):
        return self.text


def check_layout(path):
    """The header's data_offsets tile the body exactly, in order, with no gaps."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    pos = 0
    for a, b in spans:
        if a != pos:
            return f"gap or overlap at byte {pos} (next tensor starts at {a})"
        pos = b
    if pos != len(data) - 8 - hlen:
        return f"tensors end at {pos}, body is {len(data) - 8 - hlen} bytes"
    return None


def run_one(build, name, make, in_shape):
    rows = []
    so, err = models.compile_model(build, name)
    if so is None:
        skip = models.not_yet(err)
        return [dict(case=_Desc(f"{name}: interchange: {err.splitlines()[0]}"), fwd=None if skip else float("nan"),
                     grad=None, ok=False, skip=skip, detail=err)]
    lib = load_lib(so)
    m = Model(lib, name, max_batch=4, class_labels=True)
    T = lambda a: torch.tensor(a, dtype=torch.float64)
    x = models.make_input(name, np.random.default_rng(7), (4,) + in_shape)
    try:
        # dlnc -> torch
        m.init_(m.m, 42)
        path = os.path.join(build.work, f"{name}_dlnc.safetensors")
        ok = m.save(path) == 0
        problem = None if ok else f"save failed: {last_error(lib)}"
        if ok:
            problem = check_layout(path)
        ref = make().double()
        if problem is None:
            sd = {k: v.double() for k, v in st_read(path).items()}
            missing, unexpected = ref.load_state_dict(sd, strict=False)
            missing = [k for k in missing if not k.endswith("num_batches_tracked")]
            if missing or unexpected:
                problem = f"torch load_state_dict: missing {missing[:5]}, unexpected {unexpected[:5]}"
        err_vals = err_out = float("nan")
        if problem is None:
            err_vals = max(float(np.max(np.abs(m.get(k) - v.numpy()))) for k, v in sd.items())
            ref.eval()
            with torch.no_grad():
                err_out = rel_err(m.forward(x, (4, 10)), ref(T(x)).numpy())
        rows.append(dict(case=_Desc(f"{name}: checkpoint written by dlnc, loaded by torch ({len(m.params)} tensors)"),
                         fwd=err_out, grad=None, ok=problem is None and err_vals == 0 and err_out <= 1e-5,
                         detail=problem or f"max value difference {err_vals}"))
        # torch -> dlnc
        torch.manual_seed(3)
        ref = make()
        sd = models.state_for_dlnc(ref)
        for k, v in sd.items():
            if k.endswith("running_var"):  # non-trivial statistics, so eval mode uses them
                v.uniform_(0.5, 2.0)
            elif k.endswith("running_mean"):
                v.normal_()
        path = os.path.join(build.work, f"{name}_torch.safetensors")
        st_write(path, sd)
        problem = None if m.load(path) == 0 else f"load failed: {last_error(lib)}"
        err_vals = err_out = float("nan")
        if problem is None:
            err_vals = max(float(np.max(np.abs(m.get(k) - v.numpy()))) for k, v in sd.items())
            ref = ref.double().eval()
            with torch.no_grad():
                err_out = rel_err(m.forward(x, (4, 10)), ref(T(x)).numpy())
        rows.append(dict(case=_Desc(f"{name}: checkpoint written by torch, loaded by dlnc"), fwd=err_out, grad=None,
                         ok=problem is None and err_vals == 0 and err_out <= 1e-5,
                         detail=problem or f"max value difference {err_vals}"))
        # a wrong shape and a missing tensor are refused, naming the tensor
        first = sorted(sd)[0]
        bad = dict(sd)
        bad[first] = torch.zeros(tuple(sd[first].shape) + (2,))
        st_write(path, bad)
        r1, e1 = m.load(path), last_error(lib)
        del bad[first]
        st_write(path, bad)
        r2, e2 = m.load(path), last_error(lib)
        ok = r1 != 0 and r2 != 0 and first in e1 and first in e2
        rows.append(dict(case=_Desc(f"{name}: mismatched checkpoints refused"), fwd=None, grad=None, ok=ok,
                         detail=f"wrong shape -> {r1} '{e1}'; missing -> {r2} '{e2}'"))
    except Exception as e:
        rows.append(dict(case=_Desc(f"{name}: interchange: {type(e).__name__}"), fwd=float("nan"), grad=None,
                         ok=False, detail=str(e)))
    finally:
        m.close()
    return rows


def run(build):
    return [("interchange " + name, run_one(build, name, make, in_shape))
            for name, _, make, in_shape, _, _ in models.MODELS]
