#!/usr/bin/env python3
"""st_close.py A.st B.st TOL — exit 0 when two safetensors files hold the same
tensors, each element within TOL (absolute); prints the largest difference.
Plain Python (no numpy), for the data-parallel tests (dist.sh)."""
import json
import struct
import sys
from array import array


def load(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    head = json.loads(b[8:8 + n])
    data = b[8 + n:]
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        a = array("f")
        a.frombytes(data[lo:hi])
        out[k] = a
    return out


a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
if sorted(a) != sorted(b):
    sys.exit("different tensors: %s vs %s" % (sorted(a), sorted(b)))
worst, where = 0.0, ""
for k in a:
    if len(a[k]) != len(b[k]):
        sys.exit("%s: %d vs %d elements" % (k, len(a[k]), len(b[k])))
    d = max((abs(x - y) for x, y in zip(a[k], b[k])), default=0.0)
    if d > worst:
        worst, where = d, k
print("max |difference| %.3g (%s)" % (worst, where or "-"))
sys.exit(0 if worst <= tol else 1)
