#!/bin/sh
# The PyTorch parity suite as a `make test` layer: dlnc against PyTorch
# (Debian's python3-torch, run by /usr/bin/python3). A missing torch is a
# failure, never a skip. Last line: "parity: N passed, N failed".
#   usage: tests/parity/run.sh [BUILD_DIR]
B=${1:-build}
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
  echo "parity: $PY not found (install python3-torch python3-numpy)"
  echo "parity: 0 passed, 1 failed"
  exit 1
fi
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} exec "$PY" "$(dirname "$0")/run.py" "$B"
