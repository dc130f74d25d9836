#!/usr/bin/python3
"""tests/fuzz/fuzz.py — mutation fuzzing of the whole compiler.

Why token-level mutations: a random byte flip rarely gets past the parser, and
the parser was fuzzed on its own. The bugs hide behind it — in elaboration,
shape inference, autodiff, the passes and the emitter — so each mutant here is
a real program (a sample, a stdlib-based seed, a golden test) with one to a few
small, plausible edits: a number swapped for 0, -1 or something huge, an
identifier swapped for another one or a builtin, an argument dropped, doubled
or swapped, a shape or dtype changed, a call nested, a statement deleted.

Each mutant goes through `dlnc --check`, `dlnc --emit=ir --verify` and
`dlnc x.dln -o x.c`, and when that succeeds the C is compiled with
-Wall -Wextra -Werror. A finding is any sanitizer report, a signal, a hang, an
exit status other than 0/1, an "internal error", a failure with no error
message, an error without file:line:col, or C that does not compile. Findings
are deduplicated by (kind, first compiler frame or message shape) and written
to the output directory as <kind>-<n>.dln with a .log beside it.

    /usr/bin/python3 tests/fuzz/fuzz.py [-n 300] [--seed 1] [--dlnc build-asan/dlnc] [--out DIR]

Use a sanitizer build (make asan-test builds build-asan/dlnc). The exit status
is 1 when anything was found. Deterministic for a given --seed.
"""
import argparse
import concurrent.futures as cf
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TOKEN_RE = re.compile(r'''
    (?P<comment>\#[^\n]*)
  | (?P<string>"[^"\n]*")
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<nl>\n)
  | (?P<ws>[ \t\r]+)
  | (?P<punct>\|>|->|==|!=|<=|>=|\*\*|.)
''', re.X | re.S)

NUMBERS = ["0", "1", "-1", "2", "3", "7", "-3", "1000000", "4294967296", "99999999999999999999",
           "0.0", "0.5", "-0.5", "1e-30", "1e38", "1e400", "2147483647", "-2147483648"]
DTYPES = ["f32", "f64", "f16", "i32", "i64", "u8", "bool", "int", "float"]
OPERATORS = ["+", "-", "*", "/", "@", "|>", "**", "==", "<", "and", "or"]
KWARGS = ["stride", "pad", "groups", "axis", "dilation", "kernel", "keepdims", "start", "p",
          "momentum", "eps", "name", "use_bias", "out_channels", "perm", "shape"]
DTYPE_SET = set(DTYPES)
# Swapping a keyword mostly tests the parser, which has its own fuzzing.
KEYWORDS = {"block", "model", "train", "param", "buffer", "frozen", "return", "if", "else", "repeat", "in",
            "and", "or", "not", "true", "false", "int", "float", "bool", "str"}


def tokenize(text):
    return [(m.lastgroup, m.group()) for m in TOKEN_RE.finditer(text)]


def builtin_names():
    """Quoted identifiers of the elaborator's tables (builtins and their
    parameter names) plus the stdlib's block names."""
    names = set()
    for f in glob.glob(os.path.join(ROOT, "compiler", "elab*.c")):
        names.update(re.findall(r'\{"([a-z_][a-z0-9_]*)"', open(f).read()))
    for f in glob.glob(os.path.join(ROOT, "stdlib", "*.dln")):
        names.update(re.findall(r'^block\s+(\w+)', open(f).read(), re.M))
    return sorted(names)


def code_positions(toks, kind=None, value=None):
    return [i for i, (k, v) in enumerate(toks)
            if (kind is None or k == kind) and (value is None or v == value) and v not in KEYWORDS]


def matching(toks, i):
    """Index of the bracket closing the one at i, or None."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    open_, close, depth = toks[i][1], pairs[toks[i][1]], 0
    for j in range(i, len(toks)):
        if toks[j][1] == open_:
            depth += 1
        elif toks[j][1] == close:
            depth -= 1
            if depth == 0:
                return j
    return None


def arg_spans(toks, i):
    """Top-level comma-separated spans [(a, b)) inside the bracket at i."""
    j = matching(toks, i)
    if j is None or j == i + 1:
        return []
    spans, depth, start = [], 0, i + 1
    for k in range(i + 1, j):
        v = toks[k][1]
        if v in "([{":
            depth += 1
        elif v in ")]}":
            depth -= 1
        elif v == "," and depth == 0:
            spans.append((start, k))
            start = k + 1
    spans.append((start, j))
    return spans


class Mutator:
    def __init__(self, rng, builtins):
        self.rng = rng
        self.builtins = builtins

    def pick(self, seq):
        return self.rng.choice(seq) if seq else None

    # Each mutation edits toks in place and returns False when it did not apply.
    def m_number(self, toks):
        i = self.pick(code_positions(toks, "number"))
        if i is None:
            return False
        toks[i] = ("number", self.pick(NUMBERS))
        return True

    def m_ident_local(self, toks):
        ids = code_positions(toks, "ident")
        names = sorted({toks[i][1] for i in ids})
        i = self.pick(ids)
        if i is None:
            return False
        toks[i] = ("ident", self.pick(names))
        return True

    def m_ident_builtin(self, toks):
        i = self.pick(code_positions(toks, "ident"))
        if i is None:
            return False
        toks[i] = ("ident", self.pick(self.builtins))
        return True

    def brackets(self, toks, which="(["):
        return [i for i, (k, v) in enumerate(toks) if k == "punct" and v in which]

    def m_drop_arg(self, toks):
        i = self.pick(self.brackets(toks))
        spans = arg_spans(toks, i) if i is not None else []
        if not spans:
            return False
        a, b = self.pick(spans)
        if b < len(toks) and toks[b][1] == ",":
            b += 1
        elif a > 0 and toks[a - 1][1] == "," and a - 1 > i:
            a -= 1
        del toks[a:b]
        return True

    def m_dup_arg(self, toks):
        i = self.pick(self.brackets(toks))
        spans = arg_spans(toks, i) if i is not None else []
        if not spans:
            return False
        a, b = self.pick(spans)
        toks[b:b] = [("punct", ","), ("ws", " ")] + toks[a:b]
        return True

    def m_swap_args(self, toks):
        i = self.pick(self.brackets(toks))
        spans = arg_spans(toks, i) if i is not None else []
        if len(spans) < 2:
            return False
        (a1, b1), (a2, b2) = sorted(self.rng.sample(spans, 2))
        toks[a1:b2] = toks[a2:b2] + toks[b1:a2] + toks[a1:b1]
        return True

    def m_shape(self, toks):
        i = self.pick(self.brackets(toks, "["))
        spans = arg_spans(toks, i) if i is not None else []
        if not spans:
            return False
        a, b = self.pick(spans)
        choice = self.rng.randrange(4)
        if choice == 0:
            toks[a:b] = [("number", self.pick(["0", "1", "-1", "3", "5", "1000000007"]))]
        elif choice == 1:
            toks[a:b] = [("ident", self.pick(["N", "C", "H", "W", "K", "M"]))]
        elif choice == 2:
            toks[b:b] = [("punct", ","), ("ws", " "), ("number", self.pick(["1", "2", "0"]))]
        else:
            return self.m_drop_arg(toks)
        return True

    def m_dtype(self, toks):
        i = self.pick([i for i, (k, v) in enumerate(toks) if k == "ident" and v in DTYPE_SET])
        if i is None:
            return False
        toks[i] = ("ident", self.pick(DTYPES))
        return True

    def m_nest(self, toks):
        i = self.pick(code_positions(toks, "ident"))
        if i is None:
            return False
        f = self.pick(self.builtins)
        if self.rng.random() < 0.5:
            toks[i:i + 1] = [("ident", f), ("punct", "("), toks[i], ("punct", ")")]
        else:
            toks[i:i + 1] = [("ident", f), ("punct", "("), toks[i], ("punct", ","), ("ws", " "), toks[i],
                             ("punct", ")")]
        return True

    def m_kwarg(self, toks):
        i = self.pick([i for i in self.brackets(toks, "(") if i > 0 and toks[i - 1][0] == "ident"])
        j = matching(toks, i) if i is not None else None
        if j is None:
            return False
        value = self.pick(NUMBERS[:8] + ["true", "false", "[1, 2]", "[0, 1, 2, 3]", "\"x\""])
        sep = [] if j == i + 1 else [("punct", ","), ("ws", " ")]
        toks[j:j] = sep + [("ident", self.pick(KWARGS)), ("ws", " "), ("punct", "="), ("ws", " "),
                           ("number", value)]
        return True

    def m_operator(self, toks):
        i = self.pick([i for i, (k, v) in enumerate(toks) if k == "punct" and v in OPERATORS])
        if i is None:
            return False
        toks[i] = ("punct", self.pick(OPERATORS))
        return True

    def lines(self, toks):
        starts = [0] + [i + 1 for i, (k, _) in enumerate(toks) if k == "nl"]
        return [(a, b) for a, b in zip(starts, starts[1:] + [len(toks)]) if b > a]

    def m_del_line(self, toks):
        span = self.pick(self.lines(toks))
        if not span:
            return False
        del toks[span[0]:span[1]]
        return True

    def m_dup_line(self, toks):
        span = self.pick(self.lines(toks))
        if not span:
            return False
        toks[span[1]:span[1]] = toks[span[0]:span[1]]
        return True

    def m_del_token(self, toks):
        i = self.pick([i for i, (k, _) in enumerate(toks) if k not in ("ws", "nl", "comment")])
        if i is None:
            return False
        del toks[i]
        return True

    MUTATIONS = [("number", 4), ("ident_local", 3), ("ident_builtin", 3), ("drop_arg", 3), ("dup_arg", 2),
                 ("swap_args", 2), ("shape", 3), ("dtype", 2), ("nest", 2), ("kwarg", 3), ("operator", 1),
                 ("del_line", 2), ("dup_line", 1), ("del_token", 1)]

    def mutate(self, text):
        toks = tokenize(text)
        names, weights = zip(*self.MUTATIONS)
        applied = []
        count = 1
        while self.rng.random() < 0.25 and count < 4:
            count += 1
        for _ in range(count):
            for _attempt in range(10):
                m = self.rng.choices(names, weights)[0]
                if getattr(self, "m_" + m)(toks):
                    applied.append(m)
                    break
        return "".join(v for _, v in toks), applied


LOC_ERROR = re.compile(r"^[^:\s]+:\d+:\d+: error: ")
# Whole-file or whole-run conditions have no better position than the file.
# "too many errors" follows the errors it stopped after, each with its position.
NOLOC_OK = re.compile(r"^dlnc: error: ('.*' defines no model|cannot (open|read) |too many errors; stopping$)")
SAN_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer", "AddressSanitizer:DEADLYSIGNAL")
FRAME = re.compile(r"#\d+ 0x[0-9a-f]+ in (\S+) (\S*(?:compiler|runtime)/[^\s:]+:\d+)")


def classify(rc, err, timed_out):
    """(kind, signature) of a finding, or None when the run was fine."""
    if timed_out:
        return "hang", ""
    if any(m in err for m in SAN_MARKERS):
        frame = FRAME.search(err)
        ub = re.search(r"(\S+:\d+):\d+: runtime error: (\S+ \S+)", err)
        if ub:
            return "ubsan", ub.group(1) + " " + ub.group(2)
        kind = "leak" if "LeakSanitizer" in err else "asan"
        return kind, frame.group(1) + " " + frame.group(2) if frame else err[:80]
    if rc < 0:
        return "signal", str(-rc)
    if rc not in (0, 1):
        return "exit", str(rc)
    if "internal error" in err:
        m = re.search(r"internal error.*", err)
        return "internal", re.sub(r"\d+", "N", m.group(0))[:100]
    if rc == 1:
        # not the quoted source lines ("   3 | ..."), which may hold anything
        errors = [l for l in err.splitlines() if "error:" in l and not re.match(r"\s*\d* \|", l)]
        if not errors:
            return "silent", ""
        for l in errors:
            if not LOC_ERROR.match(l) and not NOLOC_OK.match(l):
                return "noloc", re.sub(r"'[^']*'", "'_'", re.sub(r"\d+", "N", l))[:100]
    return None


def run(cmd, cwd, timeout):
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:exitcode=99",
               LSAN_OPTIONS="exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stderr.decode("utf-8", "replace"), False
    except subprocess.TimeoutExpired:
        return 0, "", True


def check_one(dlnc, cc_flags, workdir, idx, text, timeout):
    """Run one mutant through the compiler; returns ([(kind, sig, mode, log)],
    whether `dlnc -o` accepted it)."""
    d = os.path.join(workdir, "m%d" % idx)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "x.dln"), "w") as f:
        f.write(text)
    found = []
    accepted = False
    modes = [("check", [dlnc, "--check", "x.dln"]),
             ("ir", [dlnc, "--emit=ir", "--verify", "x.dln"]),
             ("c", [dlnc, "x.dln", "-o", "x.c"])]
    for mode, cmd in modes:
        rc, err, to = run(cmd, d, timeout)
        bad = classify(rc, err, to)
        if bad:
            found.append((bad[0], bad[1], mode, " ".join(cmd[1:]) + "\n" + err))
            continue
        if mode == "c" and rc == 0:
            accepted = True
            bad = compile_c(cc_flags, d, timeout * 3)
            if bad:
                found.append((bad[0], bad[1], mode, bad[2]))
    subprocess.run(["rm", "-rf", d])
    return found, accepted


def compile_c(cc_flags, d, timeout):
    """d/x.c through cc: None, or the finding (kind, signature, log)."""
    cc = ["cc"] + cc_flags + ["-I" + os.path.join(ROOT, "runtime"), "-I.", "-c", "x.c", "-o", "x.o"]
    try:
        p = subprocess.run(cc, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "cc-hang", "", " ".join(cc)
    if p.returncode == 0:
        return None
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"(error|warning): .*", out)
    sig = re.sub(r"[‘'][^’']*[’']", "'_'", m.group(0)) if m else "cc %d" % p.returncode
    return "cc", sig[:100], " ".join(cc) + "\n" + out[:4000]


def add_common_args(ap, n, timeout, opt):
    """The options fuzz.py and mutate_dln.py share."""
    ap.add_argument("-n", type=int, default=n, help="number of mutants")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dlnc", default=os.path.join(ROOT, "build-asan", "dlnc"))
    ap.add_argument("--out", default=None, help="where findings go (default: a new temporary directory)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=timeout)
    ap.add_argument("--cflags", default="-std=c11 %s -fopenmp -Wall -Wextra -Werror" % opt)


def compiler_and_out(args, tool):
    """The compiler (absolute; exits if there is none) and the findings directory (made)."""
    dlnc = os.path.abspath(args.dlnc)
    if not os.access(dlnc, os.X_OK):
        sys.exit("%s: no compiler at %s (build one: make asan-test, or pass --dlnc)" % (tool, dlnc))
    out = args.out or tempfile.mkdtemp(prefix="dlnc_%s." % tool)
    os.makedirs(out, exist_ok=True)
    return dlnc, out


def seeds():
    files = sorted(glob.glob(os.path.join(ROOT, "samples", "*.dln")) +
                   glob.glob(os.path.join(ROOT, "tests", "fuzz", "seeds", "*.dln")) +
                   glob.glob(os.path.join(ROOT, "tests", "golden", "*.dln")))
    return [(os.path.relpath(f, ROOT), open(f).read()) for f in files]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap, 300, 60, "-O1")
    args = ap.parse_args()
    dlnc, out = compiler_and_out(args, "fuzz")
    rng = random.Random(args.seed)
    mut = Mutator(rng, builtin_names())
    corpus = seeds()
    mutants = []
    for i in range(args.n):
        # Seeds that compile reach the back end; golden files (already errors) less so.
        name, text = rng.choices(corpus, [1 if n.startswith("tests/golden") else 4 for n, _ in corpus])[0]
        mtext, applied = mut.mutate(text)
        mutants.append((i, name, applied, mtext))

    seen = {}
    work = tempfile.mkdtemp(prefix="dlnc_fuzz_work.")
    # A private copy: a rebuild of the compiler during a long run must not
    # turn into "Permission denied" findings halfway through.
    shutil.copy2(dlnc, os.path.join(work, "dlnc"))
    dlnc = os.path.join(work, "dlnc")
    counts = {"ok": 0, "accepted": 0}
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(check_one, dlnc, args.cflags.split(), work, i, t, args.timeout): (i, n, a, t)
                for i, n, a, t in mutants}
        for k, fut in enumerate(cf.as_completed(futs)):
            i, name, applied, text = futs[fut]
            found, accepted = fut.result()
            counts["accepted"] += accepted
            if not found:
                counts["ok"] += 1
            for kind, sig, mode, log in found:
                key = (kind, sig)
                counts[kind] = counts.get(kind, 0) + 1
                if key in seen:
                    continue
                seen[key] = i
                base = os.path.join(out, "%s-%d" % (kind, len(seen)))
                with open(base + ".dln", "w") as f:
                    f.write(text)
                with open(base + ".log", "w") as f:
                    f.write("seed file: %s\nmutations: %s\nmode: %s\n\n%s" % (name, " ".join(applied), mode, log))
                print("NEW %s [%s] from %s (%s) -> %s.dln" % (kind, sig, name, " ".join(applied), base), flush=True)
            if (k + 1) % 50 == 0:
                print("fuzz: %d/%d mutants run" % (k + 1, len(mutants)), flush=True)
    subprocess.run(["rm", "-rf", work])
    print("fuzz: %d mutants (%d compiled to C), %d clean, %d distinct findings %s; findings in %s"
          % (len(mutants), counts["accepted"], counts["ok"], len(seen),
             {k: v for k, v in counts.items() if k not in ("ok", "accepted")}, out))
    return 1 if seen else 0


if __name__ == "__main__":
    sys.exit(main())
