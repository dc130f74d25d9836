#!/usr/bin/python3
"""Every kernel of a generated C file is distinct, and names its .dln line.

Usage: kernels_distinct.py FILE.c...   (exit 1 and a list on failure)

A kernel is a `static` function whose name has the emitter's kernel form
(<model>_<graph>_k<id>_<ops>, or an epilogue's _ep<id>_run). Two kernels are
copies if their bodies agree once the comments starting a line are dropped
and every kernel name is masked: the emitter (compiler/emit_share.c) must
have defined such a body once and called it from every graph and every
model of the file. A convolution with an epilogue (a context type and a run
function calling other kernels) is left out of that comparison: its copies
differ only in names a text comparison cannot tell from real differences.
Every kernel's comment names a .dln position (file.dln:line:col), never
"(generated)" (an epilogue's run function names its convolution and group).
"""
import re
import sys

KERNEL = re.compile(r"^static (?:void|int) (\w+_(?:k|ep)\d+\w*)\(", re.M)
LOCATION = re.compile(r"\.dln:\d+:\d+")
EPILOGUE = re.compile(r"\b\w+_ep\d+\b")
NAMES = re.compile(r"\b\w+_(?:fwd|eval|train|gen\w*)_(?:k|ep)\d+\w*\b")


def kernels(text):
    """(name, comment before it, body) for every kernel definition."""
    for m in KERNEL.finditer(text):
        end = text.find("\n}\n", m.start())
        head = text.rfind("/*", 0, m.start())
        comment = text[head:m.start()] if head >= 0 and "*/" in text[head:m.start()] else ""
        yield m.group(1), comment, text[m.start():end + 3]


def key(body):
    # As the emitter compares: the comments that start a line describe one node of
    # one graph and are dropped; a comment inside the code says what the loop does.
    body = re.sub(r"^/\*.*?\*/\n?", "", body, flags=re.S | re.M)
    return NAMES.sub("K", body)


def main(paths):
    bad = []
    for path in paths:
        text = open(path).read()
        seen = {}
        n = 0
        for name, comment, body in kernels(text):
            n += 1
            if "(generated)" in comment or (not name.endswith("_run") and not LOCATION.search(comment)):
                bad.append(f"{path}: {name}'s comment names no .dln line: {comment.strip()[:120]!r}")
            # A convolution with an epilogue is one unit with its context type and
            # run function, whose callees differ by name only: not compared here.
            if EPILOGUE.search(body):
                continue
            k = key(body)
            if k in seen:
                bad.append(f"{path}: {name} repeats {seen[k]}")
            seen.setdefault(k, name)
        if n == 0:
            bad.append(f"{path}: no kernel found (has the emitter's naming changed?)")
        if "(generated)" in text:
            bad.append(f"{path}: a '(generated)' comment")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
