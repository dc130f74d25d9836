"""A bounded busy loop on one core, for the benchmark's busy-core scenario.

Issue 15 found that with another process keeping a core busy, two OpenMP
threads made LeNet-5 training 15x slower than one. bench/run.py measures 1 vs
2 threads under `with busy_core():` — one spinning process, not pinned (the
scheduler places it, as it would another user's job), started and stopped by
the benchmark itself.

It can never outlive the benchmark: the spinner checks its own deadline
(`limit` seconds) on every iteration, and the kernel kills it when its parent
dies (PR_SET_PDEATHSIG), so neither a crash nor a Ctrl-C leaves it running.
"""
import contextlib
import ctypes
import os
import signal
import subprocess
import sys

_SPIN = "import time\nend = time.monotonic() + {limit}\nwhile time.monotonic() < end:\n    pass\n"


def _die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass  # the deadline alone still bounds it


@contextlib.contextmanager
def busy_core(limit=600):
    p = subprocess.Popen([sys.executable, "-c", _SPIN.format(limit=float(limit))], preexec_fn=_die_with_parent,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        yield p
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":  # a self-check: the spinner uses a CPU, stops at its deadline
    import time
    with busy_core(limit=1) as p:
        t0 = time.monotonic()
        p.wait(timeout=10)
        print(f"spinner stopped by its deadline after {time.monotonic() - t0:.1f} s, status {p.returncode}")
