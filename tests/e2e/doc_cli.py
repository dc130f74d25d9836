#!/usr/bin/env python3
"""Every dlnc command line the documentation shows, checked (docs/testing.md, "Command lines in
the docs", has the rules).

usage: doc_cli.py BUILD_DIR [--list]

Where the command lines are: the ```sh blocks of docs/language.md, the fenced blocks of
README.md, the man page's .EX blocks (docs/dlnc.1), and the inline `dlnc ...` code of
docs/language.md and README.md. What is checked:

  parse   (every command line of a block) dlnc's option parser takes the line as written: it is
          run with its model file replaced by a missing one and must fail on that file (status
          1), not on a usage error (status 2); `[...]` brackets are dropped, the line is cut at
          a pipe, a redirection or a `#` comment
  flags   (inline code, whose values are placeholders such as `--beam K`, and lines with `...`)
          every flag is one its subcommand's parser knows: `dlnc SUB FLAG` does not say "unknown
          option" nor "FLAG is an option of dlnc OTHER" (SUB not among those named); inline code naming a .dln (.csv) file and no placeholder is parsed too
  run     a ```sh block marked `<!-- doc-test: sh run -->` (language.md or README.md) is run
          for real in a temporary directory (samples/, tests/, runtime/, examples/ linked into
          it, and test0.pgm: Fashion-MNIST's first test image, an ankle boot), its commands in
          order, `dlnc` and `build/dlnc` being BUILD_DIR/dlnc; `dlnc run` gets `--max-steps 20`
          (or the marker's options: `sh run --max-steps 100`) unless it gives `--max-steps` or
          shows an error. A command is a `$ ` line, or in a block without
          prompts a line starting with a program (dlnc, cc, ./PROG, ...); the lines after it up
          to the next command or comment are its output. Output with `dlnc: error: ...` or
          `FILE:L:C: error: ...`: the command must fail with that first error; other output:
          each line must be printed (`...` matching anything); no output: it must succeed
  fragment
          a ```sh block marked `<!-- doc-test: sh fragment WHY -->` is not run (no dlnc line)

A ```sh block of docs/language.md with no dlnc line and no marker fails. Then the options:
every flag dlnc's parser accepts (the option strings of compiler/main.c and compiler/*_cmd.c)
is in `dlnc --help` (or `dlnc plot -h`), in the man page and in docs/language.md; every flag
of `dlnc --help`'s sections is accepted by the subcommand the section is for; every number of a
default `dlnc --help` gives (`(default 0.8)`) is in the man page's entry for that option; every
`--flag` the three documents name is dlnc's (mpirun's, pkg-config's and the linker's aside); every
flag of the man page's "Options of dlnc SUB" is accepted by SUB.
Prints `doc_cli: N checked, N failed`.
"""
import glob
import gzip
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doc_examples import blocks  # noqa: E402

SUBS = ("run", "sample", "search", "explain", "export", "plot")
MARK = re.compile(r"^<!-- doc-test: sh (\w+)\s*(.*?)\s*-->$", re.S)
MISSING = "/nonexistent-doc-cli/"
FASHION_TEST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
WITH_EQUALS = set()     # the options written --name=VALUE (main() reads them from the sources)


def fences(lines):
    """(line, tag, body, marker) of every fenced block: doc_examples.py's reading, fences
    indented in a list item included."""
    return blocks([l.lstrip() if l.lstrip().startswith("```") else l for l in lines])


def command_lines(body):
    """(offset in body, text) of each dlnc command line of a block: `\\` continuations joined,
    `$ ` prompts and `# ` comment prefixes dropped, `dlnc: ...` output lines left out."""
    out, i = [], 0
    while i < len(body):
        n, raw = i, body[i].strip()
        while raw.endswith("\\") and i + 1 < len(body):
            i += 1
            raw = raw[:-1] + " " + body[i].strip().lstrip("#").strip()
        i += 1
        text = re.sub(r"^(\$ |#\s*)", "", raw)
        if re.search(r"(^|[\s/])dlnc( |$)", text) and not re.match(r"^dlnc: ", text):
            out.append((n, text))
    return out


def argv_of(text):
    """The dlnc arguments of a command line: ['run', 'm.dln', ...], or None if none."""
    text = re.sub(r"\s#.*$|\s{2,}(\(|->).*$|\sprints\b.*$", "", text)   # a comment or an aside
    text = text.replace("[", " ").replace("]", " ")
    try:
        toks = shlex.split(text)
    except ValueError:
        return None
    for k, t in enumerate(toks):
        if t in ("|", ">", "2>", "&&", ";") or t.startswith((">", "2>")):
            toks = toks[:k]
            break
    for k, t in enumerate(toks):
        if t == "dlnc" or t.endswith("/dlnc"):
            args = toks[k + 1:]
            first = args[1:2] if args[:1] and args[0] in SUBS else args[:1]
            if first and not re.match(r"^(-|\.\.\.$|.*\.\w+$)", first[0]):
                return None      # prose: "dlnc run prints: ..."
            return args
    return None


def dlnc(exe, args):
    """(status, stderr) of dlnc with args."""
    p = subprocess.run([exe] + args, capture_output=True, text=True, errors="replace", timeout=60)
    return p.returncode, p.stderr


def check_parse(exe, args):
    """None if dlnc's parser takes args (model file replaced by a missing one)."""
    sub = args[0] if args and args[0] in SUBS else ""
    ext = ".csv" if sub == "plot" else ".dln"
    probe = [MISSING + os.path.basename(a) if a.endswith(ext) and not a.startswith("-") else a for a in args]
    if not any(a.startswith(MISSING) for a in probe):
        probe.append(MISSING + "m" + ext)
    rc, err = dlnc(exe, probe)
    if rc == 1 and MISSING in err:
        return None
    return f"dlnc {' '.join(shlex.quote(a) for a in probe)}: status {rc}: {err.strip()[:300]}"


def check_flags(exe, args, cache):
    """A message for each option of args its subcommand's parser does not know."""
    sub = args[0] if args and args[0] in SUBS else ""
    bad = []
    for a in args:
        if not re.match(r"^--?[a-z]", a) or a in ("-", "--"):
            continue
        flag = a if "=" not in a else a[:a.index("=") + 1] + "x"
        if flag + "=" in WITH_EQUALS:        # `--jit` named bare, as prose does
            flag += "=x"
        key = (sub, flag)
        if key not in cache:
            rc, err = dlnc(exe, ([sub] if sub else []) + [flag])
            # "FLAG is an option of dlnc A and dlnc B, not of dlnc C": of SUB if SUB is among them
            # (dlnc sample's image options: of "dlnc sample --grid/...", refused for its text)
            mis = re.search(r" is an option of (.*), not of ", err)
            cache[key] = "unknown option" not in err and (
                not mis or re.search(r"\bdlnc " + (sub or "FILE") + r"\b", mis.group(1)) is not None)
        if not cache[key]:
            bad.append(f"dlnc {sub} does not know {a}".replace("  ", " "))
    return bad


def error_line(expect):
    for l in expect:
        m = re.match(r"^\s*(?:\S+:\d+:\d+: |dlnc: )error: (.*)$", l)
        if m:
            return m.group(1)
    return None


COMMAND = re.compile(r"^(\$ |(\w+=\S+ )*(\S*/)?(dlnc|cc|mpirun|sh|python3|make)( |$)|\./)")


def run_steps(body):
    """(offset, text, expected output lines) of each command a run block runs, `\\`
    continuations joined. With `$ ` prompts, a command is a `$ ` line and the lines up to the
    next are its output; without, a command is a line starting with a program (dlnc, build/dlnc,
    cc, ./PROG, ...), and the lines after it that do not are its output. Comments are skipped."""
    prompts = any(l.startswith("$ ") for l in body)
    out, i = [], 0
    while i < len(body):
        n, raw = i, body[i].strip()
        i += 1
        if not raw or raw.startswith("#"):
            continue
        while raw.endswith("\\") and i < len(body):
            raw, i = raw[:-1] + " " + body[i].strip(), i + 1
        expect = []
        while i < len(body) and not (body[i].startswith("$ ") if prompts else COMMAND.match(body[i].strip())
                                     or body[i].lstrip().startswith("#")):
            expect.append(body[i])
            i += 1
        out.append((n, re.sub(r"^\$ ", "", raw), expect))
    return out


def run_block(exe, root, where, body, run_args):
    """The block's lines run in order in a fresh directory; a list of failures."""
    fails = []
    with tempfile.TemporaryDirectory(prefix="doc_cli") as d:
        for name in ("samples", "tests", "runtime", "examples"):
            os.symlink(os.path.join(root, name), os.path.join(d, name))
        with gzip.open(FASHION_TEST) as f:      # README's test0.pgm: the first test image, an ankle boot
            f.read(16)
            open(os.path.join(d, "test0.pgm"), "wb").write(b"P5\n28 28\n255\n" + f.read(784))
        for n, text, expect in run_steps(body):
            text = re.sub(r"\s#.*$", "", text)
            args = argv_of(text)
            env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
            if args is not None:
                if args and args[0] == "run" and "--max-steps" not in args and not error_line(expect):
                    args += run_args
                env.update(w.split("=", 1) for w in text.split("dlnc")[0].split() if "=" in w)
                p = subprocess.run([exe] + args, cwd=d, capture_output=True, text=True, errors="replace", env=env, timeout=90)
            else:
                p = subprocess.run(text, shell=True, cwd=d, capture_output=True, text=True, errors="replace", env=env, timeout=60)
            want = error_line(expect)
            if want:
                got = error_line(p.stderr.splitlines()) or ""
                pat = ".*".join(re.escape(x) for x in want.split("..."))
                if p.returncode == 0 or not re.match(pat, got):
                    fails.append(f"FAIL {where}+{n + 1} (run): {text}\n  status {p.returncode}, says: {got}\n"
                                 f"  the document shows: {want}")
            elif p.returncode != 0:
                fails.append(f"FAIL {where}+{n + 1} (run): {text}: status {p.returncode}\n{p.stderr.strip()[-600:]}")
                break
            else:
                got = (p.stdout + p.stderr).splitlines()
                for w in (l.strip() for l in expect if l.strip()):
                    pat = ".*".join(re.escape(x) for x in w.split("..."))
                    if not any(re.fullmatch(pat, g.strip()) for g in got):
                        fails.append(f"FAIL {where}+{n + 1} (run): {text}: the document shows '{w}', it printed:\n"
                                     + "\n".join(got[-10:]))
    return fails


def read_help(text):
    """`dlnc --help` read: ({section title: [flags]}, {flag: its line and the indented lines after it})."""
    sections, entries, title, cur = {}, {}, None, None
    for l in text.splitlines():
        m = re.match(r"^(\w[\w ]*options)\b|^usage: (dlnc plot)\b", l)   # dlnc plot -h: plot's
        f = re.match(r"^  (-{1,2}[a-z][\w-]*=?)", l)
        if m:
            title, cur = m.group(1) or "plot options", None
            sections[title] = []
        elif f:
            cur = f.group(1)
            entries[cur] = entries.get(cur, "") + " " + l
            if title:
                sections[title].append(cur)
        elif cur and l.startswith(" " * 22):
            entries[cur] += " " + l.strip()
        else:
            cur = None
    return sections, entries


OTHER_TOOLS = {"--hostfile", "--oversubscribe", "--whole-archive", "--no-whole-archive", "--showme", "--libs",
               "--static"}    # mpirun's, the linker's, pkg-config's
SECTION_SUB = {"options": "", "run options": "run", "build options": "run", "search options": "search",
               "export options": "export", "sample options": "sample", "explain options": "explain", "plot options": "plot"}


def main():
    exe = os.path.abspath(os.path.join(sys.argv[1] if len(sys.argv) > 1 else "build", "dlnc"))
    root = os.getcwd()
    failures, counts, cache = [], {}, {}
    src = "".join(open(f).read() for f in ["compiler/main.c"] + sorted(glob.glob("compiler/*_cmd.c")))
    parser = sorted(set(re.findall(r'strn?cmp\((?:a|argv\[\*?i\]), "(-{1,2}[a-z][\w-]*=?)"', src)))
    if len(parser) < 40:
        raise SystemExit("doc_cli.py: could not read the option strings of compiler/*.c")
    WITH_EQUALS.update(f for f in parser if f.endswith("="))

    def count(k):
        counts[k] = counts.get(k, 0) + 1

    # 1. fenced blocks
    sources = []
    for path in ("docs/language.md", "README.md"):
        lines = open(path).read().split("\n")
        for line, tag, body, mark in fences(lines):
            # language.md's other blocks: the `# dlnc ...` lines of their comments
            sources.append((f"{path}:{line}", tag, body, mark, path == "docs/language.md" and tag == "sh"))
    man = open("docs/dlnc.1").read().split("\n")
    for i, l in enumerate(man):
        if l.startswith(".EX"):
            j = i + 1
            while not man[j].startswith(".EE"):
                j += 1
            body = [re.sub(r"\\&|\\e$", lambda m: "" if m.group(0) == "\\&" else "\\", x).replace("\\-", "-")
                    .replace("\\e", "\\") for x in man[i + 1:j]]
            sources.append((f"docs/dlnc.1:{i + 1}", "sh", body, None, False))
    for where, tag, body, mark, must in sources:
        m = MARK.match(mark) if mark and mark.startswith("<!-- doc-test: sh") else None
        cmds = command_lines(body)
        if "--list" in sys.argv:
            print(f"{where}: {m.group(1) if m else 'parse'} ({len(cmds)} dlnc lines)")
        if m and m.group(1) == "fragment":
            count("sh fragment")
            continue
        if not cmds:
            if must:
                failures.append(f"FAIL {where}: a sh block with no dlnc line and no `<!-- doc-test: sh ... -->` marker")
            continue
        for n, text in cmds:
            args = argv_of(text)
            if args is None:
                continue
            if "..." in args:     # an elided line: its flags
                count("flags")
                failures += [f"FAIL {where}+{n + 1} (flags): {text}: {b}" for b in check_flags(exe, args, cache)]
                continue
            err = check_parse(exe, args)
            count("parse")
            if err:
                failures.append(f"FAIL {where}+{n + 1} (parse): {text}\n  {err}")
        if m and m.group(1) == "run":
            count("sh run")
            failures += run_block(exe, root, where, body, shlex.split(m.group(2)) or ["--max-steps", "20"])
        elif m:
            failures.append(f"FAIL {where}: unknown marker {mark!r}")
    # 2. inline code
    for path in ("docs/language.md", "README.md"):
        text, fence = [], False
        for l in open(path).read().split("\n"):
            if l.strip().startswith("```"):
                fence = not fence
            text.append("" if fence else l)
        for n, l in enumerate(text):
            for span in re.findall(r"`([^`]*\bdlnc [^`]*)`", l):
                args = argv_of(span)
                if not args:
                    continue
                count("flags")
                for b in check_flags(exe, args, cache):
                    failures.append(f"FAIL {path}:{n + 1} (flags): `{span}`: {b}")
                # a whole command with no placeholder (`--seed S`, `K`, `...`, `a|b`): parsed too
                if any(a.endswith((".dln", ".csv")) for a in args) and \
                        not any(re.match(r"^([A-Z]+|\.\.\.)$", a) or "|" in a for a in args):
                    count("parse")
                    err = check_parse(exe, args)
                    if err:
                        failures.append(f"FAIL {path}:{n + 1} (parse): `{span}`\n  {err}")
    # 3. every option documented, every documented option accepted
    helptext = subprocess.run([exe, "--help"], capture_output=True, text=True, errors="replace").stdout
    helptext += subprocess.run([exe, "plot", "-h"], capture_output=True, text=True, errors="replace").stdout
    sections, entries = read_help(helptext)
    mantext = re.sub(r"\\f[BIRP]", "", "\n".join(man).replace("\\-", "-"))
    lang = open("docs/language.md").read()
    for f in parser:
        bare = f.rstrip("=")
        pat = re.compile(r"(?<![\w-])" + re.escape(bare) + r"(?![\w-])")
        for name, text in (("dlnc --help", helptext), ("docs/dlnc.1", mantext), ("docs/language.md", lang)):
            count("option documented")
            if not pat.search(text):
                failures.append(f"FAIL {f}: dlnc accepts it, {name} does not mention it")
    # the usage lines of --help and the man page's SYNOPSIS
    for l in helptext.splitlines():
        m = re.match(r"^(?:usage: |\s+)(dlnc .*?)(?:\s{2,}.*)?$", l)
        if m and ("usage:" in l or l.lstrip().startswith("dlnc ")):
            args = argv_of(m.group(1).replace("|", " "))
            count("usage line")
            failures += [f"FAIL dlnc --help: {m.group(1)}: {b}" for b in check_flags(exe, args or [], cache)]
    synopsis = mantext[mantext.index(".SH SYNOPSIS"):mantext.index(".SH DESCRIPTION")]
    for part in synopsis.split(".SY ")[1:]:
        sub = part.split("\n")[0].strip('" ').split()[1:2]
        flags = re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", part)
        count("usage line")
        failures += [f"FAIL docs/dlnc.1 SYNOPSIS: {b}" for b in check_flags(exe, sub + flags, cache)]
    # no flag the docs name is one dlnc lacks (other programs' flags aside)
    known = {f.rstrip("=") for f in parser} | OTHER_TOOLS
    for name, text in (("docs/dlnc.1", mantext), ("docs/language.md", lang), ("README.md", open("README.md").read())):
        for n, l in enumerate(text.split("\n")):
            for f in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", l):
                count("flag named")
                if f not in known:
                    failures.append(f"FAIL {name}:{n + 1}: {f} is no option of dlnc")
    # the man page's "Options of dlnc SUB" flags are SUB's
    for m in re.finditer(r'^\.SS "Options of dlnc (\w+)"\n(.*?)(?=^\.S[SH] )', mantext, re.S | re.M):
        for f in sorted(set(re.findall(r"^\.TP\n\.B[IR]? (-{1,2}[a-z][\w-]*=?)", m.group(2), re.M))):
            count("man flag accepted")
            failures += [f"FAIL docs/dlnc.1, dlnc {m.group(1)}: {b}" for b in check_flags(exe, [m.group(1), f], cache)]
    for title, flags in sections.items():
        sub = SECTION_SUB.get(title)
        if sub is None:
            failures.append(f"FAIL dlnc --help: a section '{title}' doc_cli.py does not know")
            continue
        for f in flags:
            count("help flag accepted")
            failures += [f"FAIL dlnc --help, {title}: {b}" for b in check_flags(exe, [sub, f] if sub else [f], cache)]
    # the defaults --help gives are the man page's
    man_entries = {}
    for part in mantext.split("\n.TP\n")[1:]:
        m = re.search(r"(-{1,2}[a-z][\w-]*=?)", part.split("\n")[0])
        if m:
            man_entries[m.group(1)] = man_entries.get(m.group(1), "") + " " + part.split("\n.SS")[0]
    for f, text in sorted(entries.items()):
        for d in re.findall(r"default:? ([^;)]*)", text):
            for num in re.findall(r"(?<![\w.])-?\d[\d.e-]*", d):
                count("default")
                man_nums = [x.rstrip(".") for x in re.findall(r"(?<![\w.])-?\d[\d.e-]*", man_entries.get(f, ""))]
                if f in man_entries and num.rstrip(".") not in man_nums:
                    failures.append(f"FAIL {f}: dlnc --help says 'default {d.strip()}', the man page not {num}")
    for f in failures:
        print(f)
    print("doc_cli: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    print(f"doc_cli: {sum(counts.values())} checked, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
