"""detect.py — the runtime's detection scoring against a reference written
here in numpy, independently of the C:

  NMS        torchvision.ops.batched_nms: per class, by score (stable),
             drop a box whose IoU with a kept box of its class is > iou
  AP, mAP    pycocotools' COCOeval (default parameters, one area range, no
             crowd): per class and IoU threshold, detections by score
             (stable mergesort), each matched to the unmatched box of its
             image with the highest IoU >= t; precision made monotone from
             the right; read at np.linspace(0, 1, 101) with
             np.searchsorted(recall, r, side='left'); the mean over the
             classes with ground truth, at 0.5 and over 0.5:0.05:0.95

dlnc's side goes through the C: dl_nms, then dl_map_add per image and
dl_map_result. Cases are random images of 0-5 boxes of 4 classes, detected
with jitter, misses, duplicates and false positives at random scores.
"""
import ctypes

import numpy as np

from harness import Desc, load_lib

TOL = 1e-9
F32P = ctypes.POINTER(ctypes.c_float)
I32P = ctypes.POINTER(ctypes.c_int32)


class Det(ctypes.Structure):
    _fields_ = [("box", ctypes.c_float * 4), ("score", ctypes.c_float), ("cls", ctypes.c_int)]


class Tally(ctypes.Structure):
    _fields_ = [("C", ctypes.c_int64), ("images", ctypes.c_int64), ("dets", ctypes.c_void_p),
                ("det_img", ctypes.c_void_p), ("n_dets", ctypes.c_int64), ("cap_dets", ctypes.c_int64),
                ("gt", ctypes.c_void_p), ("gt_img", ctypes.c_void_p), ("gt_cls", ctypes.c_void_p),
                ("n_gt", ctypes.c_int64), ("cap_gt", ctypes.c_int64)]


def _bind(lib):
    lib.dl_nms.argtypes = [ctypes.POINTER(Det), ctypes.c_int64, ctypes.c_float]
    lib.dl_nms.restype = ctypes.c_int64
    lib.dl_map_add.argtypes = [ctypes.POINTER(Tally), ctypes.POINTER(Det), ctypes.c_int64, F32P, I32P, F32P,
                               ctypes.c_int64]
    lib.dl_map_result.argtypes = [ctypes.POINTER(Tally), ctypes.POINTER(ctypes.c_double),
                                  ctypes.POINTER(ctypes.c_double)]
    lib.dl_map_free.argtypes = [ctypes.POINTER(Tally)]


def iou(a, b):
    """IoU of boxes a [n, 4] and b [m, 4]: [n, m], in float32 as the C."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.where((w > 0) & (h > 0), w * h, np.float32(0))
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def ref_nms(boxes, scores, cls, thr):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        if all(not (cls[j] == cls[i] and iou(boxes[j:j + 1], boxes[i:i + 1])[0, 0] > thr) for j in keep):
            keep.append(i)
    return keep


def ref_map(dets, gts, C):
    """dets: (img, box, score, cls) list; gts: (img, box, cls) list."""
    thrs = np.linspace(0.5, 0.95, 10).astype(np.float32)
    rec_thrs = np.linspace(0, 1, 101)
    aps = []
    for c in range(C):
        d = [x for x in dets if x[3] == c]
        g = [x for x in gts if x[2] == c]
        if not g:
            continue
        order = np.argsort(-np.array([x[2] for x in d], dtype=np.float32), kind="mergesort")
        d = [d[i] for i in order]
        row = []
        for t in thrs:
            used = np.zeros(len(g), bool)
            tp = np.zeros(len(d))
            for i, (img, box, _, _) in enumerate(d):
                best, best_iou = -1, t
                for j, (gimg, gbox, _) in enumerate(g):
                    if used[j] or gimg != img:
                        continue
                    u = iou(np.array([box]), np.array([gbox]))[0, 0]
                    if u >= best_iou and (best < 0 or u > best_iou):
                        best, best_iou = j, u
                if best >= 0:
                    used[best] = True
                    tp[i] = 1
            ctp = np.cumsum(tp)
            rc = ctp / len(g)
            pr = ctp / np.arange(1, len(d) + 1)
            for i in range(len(pr) - 1, 0, -1):
                pr[i - 1] = max(pr[i - 1], pr[i])
            idx = np.searchsorted(rc, rec_thrs, side="left")
            q = np.array([pr[i] if i < len(pr) else 0.0 for i in idx])
            row.append(q.mean())
        aps.append(row)
    aps = np.array(aps)
    return aps[:, 0].mean(), aps.mean()


def random_set(rng, images, C):
    gts, dets = [], []
    for im in range(images):
        for _ in range(rng.integers(0, 6)):
            x, y = rng.uniform(0, 50, 2)
            w, h = rng.uniform(4, 20, 2)
            c = int(rng.integers(0, C))
            box = [x, y, x + w, y + h]
            gts.append((im, box, c))
            for _ in range(rng.integers(0, 3)):   # misses, hits and duplicates, jittered
                j = rng.normal(0, rng.choice([0.5, 2.0, 4.0]), 4)
                dets.append((im, list(np.array(box) + j), float(rng.random()), c if rng.random() < 0.9 else int(rng.integers(0, C))))
        for _ in range(rng.integers(0, 3)):       # false positives
            x, y = rng.uniform(0, 50, 2)
            dets.append((im, [x, y, x + 10, y + 10], float(rng.random()), int(rng.integers(0, C))))
    return gts, dets


def ours_map(lib, gts, dets, images, C):
    t = Tally(C=C)
    for im in range(images):
        d = [x for x in dets if x[0] == im]
        g = [x for x in gts if x[0] == im]
        arr = (Det * max(1, len(d)))(*[Det((ctypes.c_float * 4)(*x[1]), x[2], x[3]) for x in d])
        M = max(1, len(g))
        boxes = np.zeros((M, 4), np.float32)
        classes = np.full(M, -1, np.int32)
        mask = np.zeros(M, np.float32)
        for j, (_, b, c) in enumerate(g):
            boxes[j], classes[j], mask[j] = b, c, 1
        assert lib.dl_map_add(ctypes.byref(t), arr, len(d), boxes.ctypes.data_as(F32P), classes.ctypes.data_as(I32P),
                              mask.ctypes.data_as(F32P), M) == 0
    m50, m = ctypes.c_double(), ctypes.c_double()
    lib.dl_map_result(ctypes.byref(t), ctypes.byref(m50), ctypes.byref(m))
    lib.dl_map_free(ctypes.byref(t))
    return m50.value, m.value


def run(build):
    lib = load_lib(build.rt_shared)
    _bind(lib)
    rng = np.random.default_rng(0)
    groups = {}

    def add(group, text, err, tol=TOL):
        groups.setdefault(group, []).append(dict(case=Desc(text), fwd=err, grad=None, ok=err <= tol, detail=None))

    for n, thr in [(30, 0.5), (60, 0.3), (100, 0.7)]:
        boxes = rng.uniform(0, 40, (n, 2))
        boxes = np.concatenate([boxes, boxes + rng.uniform(5, 25, (n, 2))], 1).astype(np.float32)
        scores = rng.random(n).astype(np.float32)
        cls = rng.integers(0, 3, n)
        arr = (Det * n)(*[Det((ctypes.c_float * 4)(*boxes[i]), scores[i], int(cls[i])) for i in range(n)])
        k = lib.dl_nms(arr, n, thr)
        ours = [(tuple(arr[i].box), arr[i].cls) for i in range(k)]
        ref = [(tuple(boxes[i]), int(cls[i])) for i in ref_nms(boxes, scores, cls, thr)]
        add("detect nms", f"{n} boxes, 3 classes, iou {thr}", 0.0 if ours == ref else 1.0)
    for images, C in [(20, 4), (50, 4), (10, 2)]:
        gts, dets = random_set(rng, images, C)
        ours = np.array(ours_map(lib, gts, dets, images, C))
        ref = np.array(ref_map(dets, gts, C))
        add("detect mAP@0.5, mAP@0.5:0.95", f"{images} images, {len(gts)} boxes, {len(dets)} detections, {C} classes",
            float(np.max(np.abs(ours - ref))))
    return list(groups.items())
