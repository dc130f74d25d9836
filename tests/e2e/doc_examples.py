#!/usr/bin/env python3
"""Every fenced code block of docs/language.md, checked (docs/testing.md, "Examples in
docs/language.md", has the rules).

usage: doc_examples.py BUILD_DIR [--list] [--keep DIR]

A fence's tag says what it is: ```text, ```sh, ```python, ```c, ```grammar are not .dln and
are only counted. An untagged fence is .dln (or a diagnostic .dln prints) and is one of:

  diagnostics  every line is a diagnostic (`file:L:C: error: ...`, `dlnc: error: ...`, `hint:`,
               `note:`, a quoted source line or its caret): each `error:` message must be one
               the compiler prints, i.e. it appears verbatim in a tests/golden/*.err file or in
               the stderr of an `error` example of this document
  program      a `model` at the start of a line: dlnc compiles it, cc compiles its C with
               -Wall -Wextra -Werror
  error        marked `<!-- doc-test: error -->`: dlnc must fail, and its diagnostics (the file
               name replaced) must be exactly the next fenced block, which shows them
  body SIG [| PRELUDE]
               marked `<!-- doc-test: body SIG -->`: statements, wrapped as
               `model doc_body(SIG) { PRELUDE ... return LAST }` (LAST: the first name the last
               assignment binds; PRELUDE: statements the block assumes, e.g. `G = 3`) and
               compiled as a program
  prepend SRC / append SRC
               marked `<!-- doc-test: prepend SRC -->` (or append): SRC, .dln text, is put
               before (after) the block, and the whole is compiled as a program (e.g. the model
               a train section trains, or a model calling the blocks shown)
  fragment WHY marked `<!-- doc-test: fragment WHY -->`: not compiled (a grammar excerpt, a
               sketch with `...`); WHY says why

The marker is the last non-blank line before the fence. An untagged block that is none of these
fails the test. Prints a count per kind and `doc_examples: N checked, N failed`.
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

DOC = "docs/language.md"
NOT_DLN = {"text", "sh", "python", "c", "grammar"}
DIAG = re.compile(r"^(\S+:\d+:\d+: |dlnc: )?(error|hint|note|warning): |^\s*\d*\s*\|")
MARK = re.compile(r"^<!-- doc-test: (\w+)\s*(.*?)\s*-->$", re.S)
CFLAGS = ["-std=c11", "-O0", "-fopenmp", "-Wall", "-Wextra", "-Werror", "-Iruntime"]


def blocks(lines):
    """(line number of the fence, tag, body lines, marker text or None) of every fenced block."""
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise SystemExit(f"{DOC}:{i + 1}: a fence that is never closed")
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mark = None
        if k >= 0 and lines[k].rstrip().endswith("-->"):
            s = k
            while s > 0 and "<!--" not in lines[s]:
                s -= 1
            mark = "\n".join(lines[s:k + 1]).strip()
        yield i + 1, m.group(1), lines[i + 1:j], mark
        i = j + 1


def classify(tag, body, mark):
    if tag:
        return (tag, "") if tag in NOT_DLN else ("unclassified", f"unknown fence tag '{tag}'")
    if mark:
        m = MARK.match(mark)
        if m and m.group(1) in ("error", "body", "prepend", "append", "fragment"):
            return m.group(1), m.group(2).lstrip(": ")
        if mark.startswith("<!-- doc-test"):
            return "unclassified", f"unknown marker {mark!r}"
    text = [l for l in body if l.strip()]
    if text and all(DIAG.match(l) for l in text):
        return "diagnostics", ""
    if any(re.match(r"^model \w+\s*\(", l) for l in body):
        return "program", ""
    return "unclassified", "untagged, no `model`, no marker"


def last_binding(body):
    for l in reversed(body):
        m = re.match(r"^\s*(\w+)\s*(,\s*\w+\s*)*=[^=]", l)
        if m:
            return m.group(1)
    return None


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def compile_program(dlnc, src, d, n):
    path = os.path.join(d, f"ex{n}.dln")
    with open(path, "w") as f:
        f.write(src)
    rc, out = run([dlnc, path, "-o", os.path.join(d, f"ex{n}.c")])
    if rc != 0:
        return f"dlnc failed:\n{out}"
    rc, out = run(["cc", *CFLAGS, "-I" + d, "-c", os.path.join(d, f"ex{n}.c"),
                   "-o", os.path.join(d, f"ex{n}.o")])
    if rc != 0:
        return "the C does not compile with -Werror:\n" + "\n".join(out.splitlines()[:20])
    return None


def messages(lines):
    out = []
    for l in lines:
        m = re.match(r"^(?:\S+:\d+:\d+: |dlnc: )?error: (.*)$", l)
        if m:
            out.append(m.group(1))
    return out


def shape(msg):
    """A message up to its names and numbers: quoted names, numbers and paths masked."""
    msg = re.sub(r"'[^']*'", "'_'", msg)
    msg = re.sub(r"[\w./-]*/", "", msg)
    return re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "0", msg)


def anchors(lines):
    """GitHub's anchors of the document's headings (outside fences)."""
    out, fence = set(), False
    for l in lines:
        fence ^= l.startswith("```")
        m = re.match(r"^#+ (.*)$", l)
        if m and not fence:
            a = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            k, i = a, 1
            while k in out:
                k, i = f"{a}-{i}", i + 1
            out.add(k)
    return out


def names():
    """The language's names: the builtins (compiler/elab_builtins.c), then the stdlib blocks."""
    b = re.findall(r'^\s*\{"(\w+)", (?:X1|\{)', open("compiler/elab_builtins.c").read(), re.M)
    for f in sorted(os.listdir("stdlib")):
        if f.endswith(".dln"):
            b += re.findall(r"^block (\w+)\(", open(os.path.join("stdlib", f)).read(), re.M)
    if not {"relu", "zeros", "sort", "dense"} <= set(b):      # the table's layout changed: read it anew
        raise SystemExit("doc_examples.py: could not read the builtins of compiler/elab_builtins.c")
    return sorted(set(b))


def index_failures(lines):
    """Every link inside the document resolves; the index names every builtin and block."""
    doc, heads = "\n".join(lines), anchors(lines)
    out = [f"FAIL {DOC}: the link #{a} goes to no heading" for a in sorted(set(re.findall(r"\]\(#([^)]*)\)", doc)))
           if a not in heads]
    index = doc[doc.find("\n## Index of names\n"):]
    out += [f"FAIL {DOC}: '{n}' is not in the Index of names" for n in names() if f"[`{n}`](#" not in index]
    return out, len(names())


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    dlnc = os.path.abspath(os.path.join(build, "dlnc"))
    lines = open(DOC).read().split("\n")
    all_blocks = list(blocks(lines))
    known = set()
    for f in os.listdir("tests/golden"):
        if f.endswith(".err"):
            known.update(messages(open(os.path.join("tests/golden", f)).read().splitlines()))
    # the e2e scripts and unit tests check run-time errors with grep patterns and strings
    tested = ""
    for d in ("tests/e2e", "tests/unit"):
        for f in sorted(os.listdir(d)):
            if f.endswith((".sh", ".c", ".py")) and f != os.path.basename(__file__):
                tested += re.sub(r"\\\\?(.)", r"\1", open(os.path.join(d, f), errors="replace").read())
    counts, failures, diags, jobs = {}, [], [], []
    tested_shape = "\n".join(shape(l) for l in (tested + "\n" + "\n".join(known)).splitlines())
    # the quoted strings of the tests: a message a test checks a part of (20 characters or more)
    parts = {shape(q).strip(" ^$") for q in re.findall(r'"([^"\n]{20,})"', tested)}
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    with tempfile.TemporaryDirectory() as d:
        d = keep or d
        os.makedirs(d, exist_ok=True)
        for n, (line, tag, body, mark) in enumerate(all_blocks):
            kind, arg = classify(tag, body, mark)
            counts[kind] = counts.get(kind, 0) + 1
            where = f"{DOC}:{line}"
            if "--list" in sys.argv:
                print(f"{where}: {kind} {arg}".rstrip())
            src = "\n".join(body) + "\n"
            err = None
            if kind == "unclassified":
                err = arg
            elif kind == "diagnostics":
                diags.append((where, body))
            elif kind == "program":
                jobs.append((where, kind, src, n))
            elif kind == "body":
                ret = last_binding(body)
                if not ret:
                    err = "a body with no assignment to return"
                else:
                    sig, _, prelude = arg.partition(" | ")
                    jobs.append((where, kind, f"model doc_body({sig}) {{\n{prelude}\n{src}return {ret}\n}}\n", n))
            elif kind == "prepend":
                jobs.append((where, kind, arg + "\n" + src, n))
            elif kind == "append":
                jobs.append((where, kind, src + arg + "\n", n))
            elif kind == "error":
                nxt = next((b for b in all_blocks[n + 1:]), None)
                path = os.path.join(d, "m.dln")
                with open(path, "w") as f:
                    f.write(src)
                rc, out = run([dlnc, "m.dln", "-o", "m.c"], cwd=d)
                want = [l for l in (nxt[2] if nxt else []) if l.strip()]
                got = [re.sub(r"^m\.dln:", lambda _: "", l) for l in out.splitlines() if l.strip()]
                want = [re.sub(r"^\S+\.dln:", "", l) for l in want]
                if rc == 0:
                    err = "compiles, but the document shows an error"
                elif got != want:
                    err = "dlnc says:\n" + "\n".join(out.splitlines()) + \
                          "\nthe document shows:\n" + "\n".join(nxt[2] if nxt else [])
                else:
                    known.update(messages(out.splitlines()))
            if err:
                failures.append(f"FAIL {where} ({kind}): {err}")
        # the compilations, two at a time (the machine has two cores)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = pool.map(lambda j: (j[0], j[1], compile_program(dlnc, j[2], d, j[3])), jobs)
            failures += [f"FAIL {w} ({k}): {e}" for w, k, e in results if e]
        for where, body in diags:
            for msg in messages(body):
                msg = re.sub(r"\s{2,}\(.*\)$", "", msg)      # an aside after the message
                sm = shape(msg)
                if msg not in known and sm not in tested_shape and not any(len(q) >= 20 and q in sm for q in parts):
                    failures.append(f"FAIL {where} (diagnostics): no test shows the compiler saying: {msg}")
    more, n_names = index_failures(lines)
    failures += more
    for f in failures:
        print(f)
    print(f"doc_examples: {n_names} names in the index, every link to a heading")
    print("doc_examples: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    checked = sum(counts.values()) - sum(counts.get(k, 0) for k in NOT_DLN | {"fragment", "unclassified"})
    print(f"doc_examples: {checked} checked, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
