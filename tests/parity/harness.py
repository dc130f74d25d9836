"""harness.py — compile .dln models with dlnc, load them with ctypes, compare.

Why this shape: the parity suite must exercise exactly what users ship (the
C that dlnc emits, built by the system compiler, linked with libdlnrt), so it
never goes through the interpreter. Compiles dominate the run time, so many
tiny models share one .dln file and one shared object; when such a batch does
not compile, its cases are retried one by one so a single bad case is
reported as itself instead of taking its neighbours down.

Also here: a dependency-free safetensors reader/writer (the format is an
8-byte little-endian header length, a JSON header, then raw data) used for
the interchange checks, and the error measures every section reports.
"""
import ctypes
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

F32P = ctypes.POINTER(ctypes.c_float)


class ParamInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("rank", ctypes.c_int), ("shape", ctypes.c_int64 * 8),
                ("numel", ctypes.c_int64), ("trainable", ctypes.c_int)]


class Build:
    """Where dlnc, the runtime and a scratch directory are."""

    def __init__(self, build_dir, work=None):
        self.build = os.path.abspath(build_dir)
        self.dlnc = os.path.join(self.build, "dlnc")
        self.rt_static = os.path.join(self.build, "libdlnrt.a")
        self.rt_shared = os.path.join(self.build, "libdlnrt.so")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.rt_include = os.path.join(root, "runtime")
        self.work = work or tempfile.mkdtemp(prefix="dlnc_parity_")
        for f in (self.dlnc, self.rt_static, self.rt_shared):
            if not os.path.exists(f):
                raise SystemExit(f"parity: {f} is missing; run `make` first")
        self._count = 0

    def _dlnc(self, source, tag):
        """Writes source to a fresh <tag>_<n>.dln and runs dlnc on it: (base path, None) or (base, error text)."""
        self._count += 1
        base = os.path.join(self.work, f"{tag}_{self._count}")
        with open(base + ".dln", "w") as f:
            f.write(source)
        r = subprocess.run([self.dlnc, base + ".dln", "-o", base + ".c"], capture_output=True, text=True)
        return base, None if r.returncode == 0 else "dlnc: " + (r.stderr or r.stdout).strip()

    def compile_dln(self, source, tag):
        """dlnc + cc: returns (path of the .so, None) or (None, error text)."""
        base, err = self._dlnc(source, tag)
        return (None, err) if err else self._cc(base)

    def check_dln(self, source, tag):
        """dlnc alone (no C compile): None if it accepts the source, else its errors."""
        path = os.path.join(self.work, f"{tag}_check.dln")
        with open(path, "w") as f:
            f.write(source)
        r = subprocess.run([self.dlnc, path, "-o", os.path.join(self.work, f"{tag}_check.c")],
                           capture_output=True, text=True)
        return None if r.returncode == 0 else (r.stderr or r.stdout)

    def start_compile(self, source, tag):
        """Like compile_dln, but the C compiler runs in the background; call
        finish_compile(handle) for the result (lets two builds share the cores)."""
        base, err = self._dlnc(source, tag)
        if err:
            return (base, None, err)
        p = subprocess.Popen(self._cc_cmd(base), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return (base, p, None)

    def finish_compile(self, handle):
        base, p, err = handle
        if p is None:
            return None, err
        out, _ = p.communicate()
        if p.returncode != 0:
            return None, "cc: " + out.strip()[:2000]
        return base + ".so", None

    def _cc_cmd(self, base):
        return ["cc", "-std=c11", "-O2", "-fopenmp", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror",
                "-I" + self.rt_include, "-I" + os.path.dirname(base), base + ".c", "-o", base + ".so",
                self.rt_static, "-lz", "-lm"]

    def _cc(self, base):
        r = subprocess.run(self._cc_cmd(base), capture_output=True, text=True)
        if r.returncode != 0:
            return None, "cc: " + (r.stderr or r.stdout).strip()[:2000]
        return base + ".so", None


class Model:
    """One generated model inside a loaded shared object, driven through its
    C API (<name>_create, _forward, _train_step, _param, _grad, ...)."""

    def __init__(self, lib, name, max_batch, class_labels=False):
        self.lib, self.name, self.class_labels = lib, name, class_labels
        fn = lambda s, res, args: self._fn(s, res, args)
        self.create = fn("create", ctypes.c_void_p, [ctypes.c_int64])
        self.free_ = fn("free", None, [ctypes.c_void_p])
        self.init_ = fn("init", None, [ctypes.c_void_p, ctypes.c_uint64])
        self.forward_ = fn("forward", None, [ctypes.c_void_p, F32P, F32P, ctypes.c_int64])
        ylab = ctypes.c_void_p
        self.eval_step_ = fn("eval_step", ctypes.c_float, [ctypes.c_void_p, F32P, ylab, F32P, ctypes.c_int64])
        self.train_step_ = fn("train_step", ctypes.c_float, [ctypes.c_void_p, F32P, ylab, ctypes.c_int64])
        self.set_lr_ = fn("set_lr", None, [ctypes.c_void_p, ctypes.c_float])
        self.param_ = fn("param", F32P, [ctypes.c_void_p, ctypes.c_char_p])
        self.grad_ = fn("grad", F32P, [ctypes.c_void_p, ctypes.c_char_p])
        self.save_ = fn("save", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p])
        self.load_ = fn("load", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p])
        self.num_params_ = fn("num_params", ctypes.c_int, [])
        self.param_info_ = fn("param_info", ctypes.POINTER(ParamInfo), [ctypes.c_int])
        self.m = self.create(max_batch)
        if not self.m:
            raise RuntimeError(f"{name}_create failed: {last_error(lib)}")
        self.params = {}
        for i in range(self.num_params_()):
            info = self.param_info_(i).contents
            self.params[info.name.decode()] = (tuple(info.shape[k] for k in range(info.rank)), bool(info.trainable))

    def _fn(self, suffix, res, args):
        f = getattr(self.lib, f"{self.name}_{suffix}")
        f.restype, f.argtypes = res, args
        return f

    def close(self):
        if self.m:
            self.free_(self.m)
            self.m = None

    def set_param(self, name, value):
        shape, _ = self.params[name]
        a = np.ascontiguousarray(np.asarray(value, dtype=np.float32).reshape(shape))
        ctypes.memmove(self.param_(self.m, name.encode()), a.ctypes.data, a.nbytes)

    def get(self, name, grad=False):
        shape, _ = self.params[name]
        p = (self.grad_ if grad else self.param_)(self.m, name.encode())
        if not p:
            return None
        n = int(np.prod(shape)) if shape else 1
        return np.ctypeslib.as_array(p, shape=(n,)).copy().reshape(shape)

    def forward(self, x, out_shape):
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(out_shape, dtype=np.float32)
        self.forward_(self.m, x.ctypes.data_as(F32P), out.ctypes.data_as(F32P), x.shape[0])
        return out

    def _label(self, y):
        y = np.ascontiguousarray(y, dtype=np.int32 if self.class_labels else np.float32)
        return y, ctypes.c_void_p(y.ctypes.data)

    def train_step(self, x, y):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y, yp = self._label(y)
        return self.train_step_(self.m, x.ctypes.data_as(F32P), yp, x.shape[0])

    def eval_step(self, x, y, out_shape=None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y, yp = self._label(y)
        out = np.zeros(out_shape, dtype=np.float32) if out_shape else None
        loss = self.eval_step_(self.m, x.ctypes.data_as(F32P), yp,
                               out.ctypes.data_as(F32P) if out is not None else None, x.shape[0])
        return loss, out

    def set_lr(self, lr):
        self.set_lr_(self.m, lr)

    def save(self, path):
        return self.save_(self.m, path.encode())

    def load(self, path):
        return self.load_(self.m, path.encode())


class Desc:
    """A row's description for the report, when the row is not an op case."""
    def __init__(self, text):
        self.text = text

    def describe(self):
        return self.text


def load_lib(path):
    return ctypes.CDLL(os.path.abspath(path))


def last_error(lib):
    try:
        f = lib.dl_last_error
        f.restype = ctypes.c_char_p
        return (f() or b"").decode()
    except AttributeError:
        return "?"


# ---- errors ---------------------------------------------------------------------
def rel_err(ours, ref):
    """max |ours - ref| / max(1, max |ref|): relative to the tensor's scale, absolute
    below 1 (so values near zero are not judged by their own tiny size)."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        if ours.size != ref.size:
            return float("inf")
        ours = ours.reshape(ref.shape)
    if ref.size == 0:
        return 0.0
    if not np.all(np.isfinite(ours)):
        return float("inf")
    return float(np.max(np.abs(ours - ref)) / max(1.0, float(np.max(np.abs(ref)))))


# ---- safetensors, without the safetensors package ----------------------------------
def st_write(path, tensors):
    """tensors: dict name -> array-like (written as F32, in sorted name order)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name].detach() if torch.is_tensor(tensors[name])
                                            else tensors[name], dtype="<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_read(path):
    """dict name -> torch.Tensor (F32 only, which is all dlnc writes); checks offsets."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    body = data[8 + hlen:]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise ValueError(f"{path}: {name}: dtype {meta['dtype']}, expected F32")
        a, b = meta["data_offsets"]
        n = int(np.prod(meta["shape"])) if meta["shape"] else 1
        if b - a != 4 * n or b > len(body):
            raise ValueError(f"{path}: {name}: bad data_offsets {a}..{b} for shape {meta['shape']}")
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype="<f4").copy().reshape(meta["shape"]))
    return out


def log(*a):
    print(*a, file=sys.stderr, flush=True)
