"""metrics.py — the runtime's evaluation figures against their definitions,
written here from per-sample arrays in numpy (scikit-learn is not installed;
these are its formulas):

  macro precision/recall/F1  sklearn.metrics.precision_recall_fscore_support(
                             average='macro', zero_division=0): per class over
                             labels = unique(y_true ∪ y_pred), then the mean
  Wilson interval            (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
  mean IoU of masks          torchmetrics' / sklearn's jaccard, average='macro'
                             over {background, foreground}, pixels summed
                             over the whole set

dlnc's side goes through the C: dl_count_confusion on random logits, then
dl_macro_prf; dl_wilson_interval; dl_count_iou_image per image, then
dl_iou_figures. Cases include absent classes, a class never predicted and
empty masks.
"""
import ctypes

import numpy as np

from harness import Desc, load_lib

TOL = 1e-12
Z = 1.959963984540054
I64P = ctypes.POINTER(ctypes.c_int64)
F32P = ctypes.POINTER(ctypes.c_float)
D3 = ctypes.c_double * 3
D2 = ctypes.c_double * 2


def _bind(lib):
    lib.dl_count_confusion.argtypes = [F32P, ctypes.POINTER(ctypes.c_int32), ctypes.c_int64, ctypes.c_int, I64P]
    lib.dl_macro_prf.argtypes = [I64P, ctypes.c_int, D3]
    lib.dl_wilson_interval.argtypes = [ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(ctypes.c_double),
                                       ctypes.POINTER(ctypes.c_double)]
    lib.dl_count_iou_image.argtypes = [F32P, F32P, ctypes.c_int64, I64P]
    lib.dl_iou_figures.argtypes = [I64P, ctypes.c_int64, D2]


def ref_macro(y, p):
    labels = np.union1d(y, p)
    out = []
    for c in labels:
        tp = np.sum((y == c) & (p == c))
        pred, true = np.sum(p == c), np.sum(y == c)
        pr = tp / pred if pred else 0.0
        rc = tp / true if true else 0.0
        out.append((pr, rc, 2 * pr * rc / (pr + rc) if pr + rc else 0.0))
    return np.mean(np.array(out), axis=0)


def ours_macro(lib, logits, y, k):
    counts = np.zeros(k * k, dtype=np.int64)
    lg = np.ascontiguousarray(logits, dtype=np.float32)
    yy = np.ascontiguousarray(y, dtype=np.int32)
    lib.dl_count_confusion(lg.ctypes.data_as(F32P), yy.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), len(y), k,
                           counts.ctypes.data_as(I64P))
    prf = D3()
    lib.dl_macro_prf(counts.ctypes.data_as(I64P), k, prf)
    return np.array(list(prf))


def ref_wilson(k, n):
    p = k / n
    c = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    h = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, c - h), min(1.0, c + h)


def ref_mean_iou(pred, true):
    ious = []
    for c in (0, 1):
        inter, union = np.sum((pred == c) & (true == c)), np.sum((pred == c) | (true == c))
        if union:
            ious.append(inter / union)
    fg_union = np.sum(pred | true)
    return (np.sum(pred & true) / fg_union if fg_union else 1.0), np.mean(ious)


def ours_iou(lib, logits, target):
    n, per = logits.shape[0], logits[0].size
    counts = np.zeros(4 * n, dtype=np.int64)
    lg = np.ascontiguousarray(logits, dtype=np.float32).reshape(n, per)
    tg = np.ascontiguousarray(target, dtype=np.float32).reshape(n, per)
    for i in range(n):
        lib.dl_count_iou_image(lg[i].ctypes.data_as(F32P), tg[i].ctypes.data_as(F32P), per,
                               counts[4 * i:].ctypes.data_as(I64P))
    v = D2()
    lib.dl_iou_figures(counts.ctypes.data_as(I64P), n, v)
    return np.array(list(v))


def run(build):
    lib = load_lib(build.rt_shared)
    _bind(lib)
    rng = np.random.default_rng(0)
    groups = {}

    def add(group, text, err):
        groups.setdefault(group, []).append(dict(case=Desc(text), fwd=err, grad=None, ok=err <= TOL, detail=None))

    for n, k, absent in [(200, 3, None), (1000, 10, None), (57, 5, 4), (30, 6, 2), (500, 2, None)]:
        y = rng.integers(0, k, n)
        if absent is not None:
            y[y == absent] = 0               # a class no sample has
        logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
        if absent is not None:
            logits[:, absent] = -9           # ... and nothing predicts
        p = logits.argmax(axis=1)
        err = float(np.max(np.abs(ours_macro(lib, logits, y, k) - ref_macro(y, p))))
        add("metrics macro p/r/f1", f"{n} samples, {k} classes{'' if absent is None else f', class {absent} absent'}",
            err)
    for k, n in [(0, 10), (95, 100), (100, 100), (1, 3), (8012, 10000)]:
        lo, hi = ctypes.c_double(), ctypes.c_double()
        lib.dl_wilson_interval(k, n, ctypes.byref(lo), ctypes.byref(hi))
        rl, rh = ref_wilson(k, n)
        add("metrics wilson", f"{k} of {n}", max(abs(lo.value - rl), abs(hi.value - rh)))
    for n, shape, density in [(8, (1, 12, 12), 0.3), (5, (1, 7, 9), 0.0), (16, (2, 6, 6), 0.8)]:
        logits = rng.normal(size=(n,) + shape).astype(np.float32)
        target = (rng.random((n,) + shape) < density).astype(np.float32)
        ours = ours_iou(lib, logits, target)
        ref = np.array(ref_mean_iou(logits > 0, target > 0.5))
        add("metrics iou, mean_iou", f"{n} masks {shape}, {density:.0%} foreground", float(np.max(np.abs(ours - ref))))
    return list(groups.items())
