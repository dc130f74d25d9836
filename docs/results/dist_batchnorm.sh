#!/bin/sh
# docs/results/dist_batchnorm.sh — batch norm at P = 1 and P = 2 (docs/language.md,
# "Several processes or machines"): 30 steps of dist_batchnorm.dln, then the
# two checkpoints' running statistics side by side.
#   sh docs/results/dist_batchnorm.sh > docs/results/dist_batchnorm.log 2>&1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export DLNC_CACHE=${DLNC_CACHE:-$(mktemp -d)}
R=$(pwd); W=$(mktemp -d); ln -s /usr/share/datasets/fashion-mnist "$W/fm"
git log -1 --format='commit %h'; uptime
cd "$W" || exit 1
"$R/build/dlnc" run "$R/docs/results/dist_batchnorm.dln" --max-steps 30 --checkpoint p1.st | grep -E '^epoch|^done'
mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS -x DLNC_CACHE "$R/build/dlnc" run "$R/docs/results/dist_batchnorm.dln" \
  --max-steps 30 --checkpoint p2.st | grep -E '^epoch|^done'
/usr/bin/python3 - <<'PY'
import json, struct
import numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); d = b[8 + n:]
    return {k: np.frombuffer(d[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
            for k, v in h.items() if k != "__metadata__"}
a, b = load("p1.st"), load("p2.st")
for k in sorted(a):
    print("%-28s max |P2 - P1| %.4f   P1 %s   P2 %s" % (k, np.abs(a[k] - b[k]).max(), a[k][:4], b[k][:4]))
PY
rm -rf "$W"
