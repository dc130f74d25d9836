#!/usr/bin/python3
"""tests/fuzz/mutate_dln.py — damaged .dln sources thrown at `dlnc FILE -o FILE.c`.

fuzz.py makes plausible programs (token edits that keep them parseable); this
script makes damaged files, the kind a disk, an editor or a careless paste
produce: a byte flipped, the file cut at a token boundary, a token deleted,
doubled or swapped with its neighbour, a number made huge (1e308, 2^31, 2^63,
-0, 1e400, 300 digits), brackets nested 10000 deep, a 100 000-character
identifier or line, a NUL, invalid UTF-8, CRLF line ends, a BOM, a lone CR.

Every .dln of the repository is a seed: samples/, tests/ (golden, e2e, fuzz
seeds and regressions, parity), bench/workloads/, stdlib/, and the fenced
examples of docs/language.md (model, block and train sections). Each mutant goes through `dlnc x.dln -o
x.c` (5 s of CPU time, 20 s under ASan) and, when accepted, the C through `cc -Wall -Wextra
-Werror`. A finding is what fuzz.py counts (sanitizer report, signal, hang,
internal error, a failure with no message or without file:line:col, C that
does not compile). Deterministic for a given --seed.

    /usr/bin/python3 tests/fuzz/mutate_dln.py [-n 400] [--seed 1] [--dlnc build-asan/dlnc]
                                              [--budget SECONDS] [--out DIR]

--budget stops starting new mutants after that many seconds (the e2e layer
runs `-n 400 --budget 45`). `--numbers FILE...` sweeps instead: every number of
each FILE replaced by each of SWEEP (1e308, 2^31, 2^63 - 1, 2^63, -0, 0, -1,
2^32 + 1, 1e-50, 1e400) in turn. Exit status 1 when anything was found.
"""
import argparse
import concurrent.futures as cf
import glob
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz  # noqa: E402  (its classifier, lexer, options and C compile)

ROOT = fuzz.ROOT
# --numbers: the values every number of a file is replaced by, one at a time
SWEEP = ["1e308", "2147483648", "9223372036854775807", "9223372036854775808", "-0", "0", "-1", "4294967297",
         "1e-50", "1e400"]
HUGE = ["1e308", "1e400", "-0", "-0.0", "2147483648", "2147483647", "-2147483649", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775808",
        "0x7fffffff", "1" * 300, "0." + "0" * 400 + "1", "1e-400", "nan", "inf", "1e", "1.e5", "..5"]


def seeds():
    pats = ["samples/*.dln", "tests/*/*.dln", "tests/fuzz/seeds/*.dln", "tests/fuzz/regress/*.dln",
            "bench/workloads/*.dln", "stdlib/*.dln"]
    files = sorted({f for p in pats for f in glob.glob(os.path.join(ROOT, p))})
    out = [(os.path.relpath(f, ROOT), open(f, "rb").read()) for f in files]
    doc = open(os.path.join(ROOT, "docs", "language.md"), encoding="utf-8").read()
    # its fenced examples that start with a model, block or train section (not error transcripts)
    blocks = [b for b in re.findall(r"^```[a-z]*\n(.*?)^```", doc, re.M | re.S)
              if re.match(r"\s*(#[^\n]*\n\s*)*(model|block|train)\b", b)]
    out += [("docs/language.md#%d" % k, b.encode()) for k, b in enumerate(blocks)]
    return out


def tokens(data):
    """(start, end) spans of the non-blank tokens, from fuzz.py's lexer."""
    text = data.decode("utf-8", "replace")
    spans, at = [], 0
    for m in fuzz.TOKEN_RE.finditer(text):
        n = len(m.group().encode("utf-8", "replace"))
        if m.lastgroup not in ("ws", "nl"):
            spans.append((at, at + n, m.lastgroup))
        at += n
    return spans


class Damage:
    def __init__(self, rng):
        self.rng = rng

    def flip(self, d):
        if not d:
            return d
        i = self.rng.randrange(len(d))
        return d[:i] + bytes([d[i] ^ (1 << self.rng.randrange(8))]) + d[i + 1:]

    def cut_token(self, d):
        t = tokens(d)
        if not t:
            return d[:len(d) // 2]
        s, e, _ = self.rng.choice(t)
        return d[:self.rng.choice((s, e))]

    def del_token(self, d):
        t = tokens(d)
        if not t:
            return d
        s, e, _ = self.rng.choice(t)
        return d[:s] + d[e:]

    def dup_token(self, d):
        t = tokens(d)
        if not t:
            return d
        s, e, _ = self.rng.choice(t)
        return d[:e] + b" " + d[s:e] + d[e:]

    def swap_tokens(self, d):
        t = tokens(d)
        if len(t) < 2:
            return d
        i = self.rng.randrange(len(t) - 1)
        (s1, e1, _), (s2, e2, _) = t[i], t[i + 1]
        return d[:s1] + d[s2:e2] + d[e1:s2] + d[s1:e1] + d[e2:]

    def huge_number(self, d):
        nums = [x for x in tokens(d) if x[2] == "number"]
        if not nums:
            return d
        s, e, _ = self.rng.choice(nums)
        return d[:s] + self.rng.choice(HUGE).encode() + d[e:]

    def deep_nesting(self, d):
        t = [x for x in tokens(d) if x[2] in ("ident", "number")]
        if not t:
            return d
        s, e, _ = self.rng.choice(t)
        depth = self.rng.choice((200, 2000, 10000))
        o, c = self.rng.choice(((b"(", b")"), (b"[", b"]"), (b"-", b""), (b"(", b""), (b"{", b"}")))
        return d[:s] + o * depth + d[s:e] + c * depth + d[e:]

    def long_ident(self, d):
        ids = [x for x in tokens(d) if x[2] == "ident"]
        if not ids:
            return d
        s, e, _ = self.rng.choice(ids)
        return d[:s] + b"x" * self.rng.choice((256, 4096, 100000)) + d[e:]

    def long_line(self, d):
        i = d.find(b"\n", self.rng.randrange(len(d))) if d else -1
        i = len(d) if i < 0 else i
        filler = self.rng.choice((b" ", b"#", b"1+", b"x,"))
        return d[:i] + filler * (100000 // len(filler)) + d[i:]

    def insert_bytes(self, d):
        i = self.rng.randrange(len(d) + 1)
        junk = self.rng.choice((b"\0", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r", b"\t", b"\x1b",
                                b"\xe2\x80\xae", b"\"", b"#", b"\\", b"\x7f"))
        return d[:i] + junk + d[i:]

    def crlf(self, d):
        return d.replace(b"\n", b"\r\n")

    def bom(self, d):
        return b"\xef\xbb\xbf" + d

    KINDS = [("flip", 4), ("cut_token", 4), ("del_token", 4), ("dup_token", 3), ("swap_tokens", 3),
             ("huge_number", 4), ("deep_nesting", 1), ("long_ident", 1), ("long_line", 1), ("insert_bytes", 3),
             ("crlf", 1), ("bom", 1)]

    def mutate(self, d):
        names, weights = zip(*self.KINDS)
        applied = []
        for _ in range(1 if self.rng.random() < 0.7 else self.rng.randint(2, 4)):
            k = self.rng.choices(names, weights)[0]
            d = getattr(self, k)(d)
            applied.append(k)
        return d, applied


def run(cmd, cwd, cpu_seconds):
    """fuzz.run with the limit on CPU time (RLIMIT_CPU: SIGXCPU past it), so a
    loaded machine does not turn a slow run into a hang; the wall clock only
    backs it up (20x)."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=99", LSAN_OPTIONS="exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    lim = int(cpu_seconds + 0.999)
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=20 * cpu_seconds,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (lim, lim + 1)))
        err = p.stderr.decode("utf-8", "replace")
        return p.returncode, err, p.returncode == -signal.SIGXCPU
    except subprocess.TimeoutExpired:
        return 0, "", True


def check_one(dlnc, cflags, work, idx, data, timeout):
    d = os.path.join(work, "m%d" % idx)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "x.dln"), "wb") as f:
        f.write(data)
    found = []
    rc, err, to = run([dlnc, "x.dln", "-o", "x.c"], d, timeout)
    bad = fuzz.classify(rc, err, to)
    if bad:
        found.append((bad[0], bad[1], "dlnc x.dln -o x.c\n" + err[-6000:]))
    elif rc == 0:
        bad = fuzz.compile_c(cflags, d, 60)
        if bad:
            found.append(bad)
    shutil.rmtree(d, ignore_errors=True)
    return found, rc == 0 and not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # --timeout: CPU seconds per dlnc run (x4 for a sanitizer build, which runs that much slower)
    fuzz.add_common_args(ap, 400, 5, "-O0")
    ap.add_argument("--budget", type=float, default=0, help="seconds after which no new mutant starts (0: none)")
    ap.add_argument("--numbers", nargs="+", metavar="FILE.dln",
                    help="instead of random mutants: every number of these files replaced by each of SWEEP in turn")
    a = ap.parse_args()
    dlnc, out = fuzz.compiler_and_out(a, "mutate_dln")
    rng = random.Random(a.seed)
    dmg = Damage(rng)
    corpus = seeds()
    mutants = []
    for i in range(0 if a.numbers else a.n):
        name, data = rng.choice(corpus)
        m, applied = dmg.mutate(data)
        mutants.append((i, name, applied, m))
    for name in a.numbers or []:
        data = open(name, "rb").read()
        for s, e, _ in [t for t in tokens(data) if t[2] == "number"]:
            for v in SWEEP:   # each its own index: the index names the mutant's work directory
                mutants.append((len(mutants), name, ["number@%d=%s" % (s, v)], data[:s] + v.encode() + data[e:]))
    work = tempfile.mkdtemp(prefix="dlnc_mutate_work.")
    with open(dlnc, "rb") as f:
        if b"__asan_init" in f.read():
            a.timeout *= 4
    shutil.copy2(dlnc, os.path.join(work, "dlnc"))
    dlnc = os.path.join(work, "dlnc")
    start = time.monotonic()
    seen, counts, ran = {}, {"accepted": 0}, 0

    def job(m):
        if a.budget and time.monotonic() - start > a.budget:
            return None
        return check_one(dlnc, a.cflags.split(), work, m[0], m[3], a.timeout)

    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for (i, name, applied, data), res in zip(mutants, ex.map(job, mutants)):
            if res is None:
                continue
            ran += 1
            if ran % 250 == 0:
                print("mutate_dln: %d/%d mutants run" % (ran, len(mutants)), flush=True)
            found, accepted = res
            counts["accepted"] += accepted
            for kind, sig, log in found:
                counts[kind] = counts.get(kind, 0) + 1
                if (kind, sig) in seen:
                    continue
                seen[(kind, sig)] = i
                base = os.path.join(out, "%s-%d" % (kind, len(seen)))
                with open(base + ".dln", "wb") as f:
                    f.write(data)
                with open(base + ".log", "w") as f:
                    f.write("seed file: %s\nmutations: %s\n\n%s" % (name, " ".join(applied), log))
                print("NEW %s [%s] from %s (%s) -> %s.dln" % (kind, sig, name, " ".join(applied), base), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print("mutate_dln: %d mutants of %d seeds in %.0fs (seed %d), %d accepted and compiled as C, "
          "%d distinct findings %s; findings in %s"
          % (ran, len(corpus), time.monotonic() - start, a.seed, counts["accepted"], len(seen),
             {k: v for k, v in counts.items() if k != "accepted"}, out))
    return 1 if seen else 0


if __name__ == "__main__":
    sys.exit(main())
