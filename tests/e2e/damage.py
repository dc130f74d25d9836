#!/usr/bin/env python3
"""damage.py — throw deterministic damaged copies of one valid file at a reader.

    damage.py --dir TEMPLATE --target REL [--kind binary|text|gzip]
              [--output REL] [--timeout S] [--only NAME,...] -- COMMAND ARGS...

TEMPLATE is a directory holding everything COMMAND needs, with a valid file at
TEMPLATE/REL. For each variant a fresh copy of TEMPLATE is made, REL is
replaced by the variant and COMMAND runs with that copy as its working
directory (a `{}` in COMMAND becomes the copy's absolute path). Judged:

  - no signal, no hang (the FIFO variant has no writer: a reader that opens it
    blocking never returns), no sanitizer report on stderr;
  - status 1 with REL's file name on stderr for every variant that is not a
    valid file any more (truncated, zero-length, wrong magic, huge or zero size
    fields, a directory, /dev/null, a FIFO, a dangling symlink, ...);
  - status 0 or 1 for the variants that may still be valid (a bit flipped in
    the body of a format without a checksum, NaN in a text field some formats
    accept) — status 0 is reported as "accepted" so a reader of the table sees it;
  - status 0 for a symlink to the valid file;
  - /dev/zero read within the time limit and the memory bound (--mem-limit-mb,
    or ASan's max_allocation_size_mb): an error, not an endless read;
  - on failure no --output file, and no `*.tmp*` file, left in the copy, and
    the damaged file itself as it was (a refused --resume must not overwrite
    its checkpoint, even in part).

--random N --seed S replaces the fixed variants by N drawn from S: cuts at a
random length (must be refused) and 1-8 random bit flips anywhere or in the
first KB (may load), for
byte-level damage over many seeds (tests/e2e/damaged_readers.sh, DMG_RANDOM).

Every variant is a pure function of the valid file, so runs repeat. One line per
variant, then "damage REL: N variants, N refused, N accepted, N failed"; the
exit status is 1 if any variant failed.
"""
import argparse
import concurrent.futures
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile

# One of each kind of damage, for the e2e layer of make test; the full set runs alone or under ASan.
QUICK = {"zero-length", "truncated-half", "truncated-mid-line", "flip-magic-byte0", "u64le-0-huge", "u32be-4-huge",
         "payload-count-huge", "payload-truncated-half", "nan-field", "overlong-line", "nul-byte", "directory",
         "dev-zero", "fifo", "symlink-to-valid"}

SANITIZER = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehavior")


def flip(data, at, bit=0x10):
    at = min(max(at, 0), len(data) - 1)
    b = bytearray(data)
    b[at] ^= bit
    return bytes(b)


def put(data, at, word):
    b = bytearray(data)
    b[at:at + len(word)] = word
    return bytes(b)


def binary_variants(data):
    n = len(data)
    v = [("truncated-1", "fail", data[:1]), ("truncated-8", "fail", data[:8]), ("truncated-16", "fail", data[:16]),
         ("truncated-quarter", "fail", data[:n // 4]), ("truncated-half", "fail", data[:n // 2]),
         ("truncated-last-byte", "fail", data[:n - 1]),
         ("flip-magic-byte0", "fail", flip(data, 0, 0x80)), ("flip-byte1", "fail", flip(data, 1, 0x01)),
         ("flip-byte3", "fail", flip(data, 3, 0x04)),
         ("flip-body-middle", "any", flip(data, n // 2)), ("flip-body-end", "any", flip(data, n - 2)),
         ("u64le-0-huge", "fail", put(data, 0, b"\xff" * 7 + b"\x7f")),
         ("u64le-0-zero", "fail", put(data, 0, b"\0" * 8)),
         ("u32be-4-huge", "fail", put(data, 4, b"\x7f\xff\xff\xff")),
         ("u32be-4-zero", "fail", put(data, 4, b"\0\0\0\0")),
         ("u32be-8-huge", "any", put(data, 8, b"\xff\xff\xff\xff")),
         ("trailing-garbage", "any", data + b"\x00garbage\xff" * 4)]
    return v


def gzip_variants(data):
    """The compressed bytes damaged (the CRC and length catch those), and the
    payload damaged then compressed again (the reader's own checks)."""
    raw = gzip.decompress(data)
    # bytes 4-9 of a gzip header are its mtime and flags for the OS: any value is valid
    v = [(n, "fail" if n.startswith("flip-body") else "any" if n.startswith("u32be") else e, d)
         for n, e, d in binary_variants(data)]
    z = lambda d: gzip.compress(d, mtime=0)
    v += [("payload-truncated-header", "fail", z(raw[:6])), ("payload-truncated-half", "fail", z(raw[:len(raw) // 2])),
          ("payload-truncated-last-byte", "fail", z(raw[:-1])), ("payload-magic", "fail", z(flip(raw, 2, 0x01))),
          ("payload-count-huge", "fail", z(put(raw, 4, b"\x7f\xff\xff\xff"))),
          ("payload-count-zero", "fail", z(put(raw, 4, b"\0\0\0\0"))),
          ("payload-dim-huge", "fail", z(put(raw, 8, b"\x7f\xff\xff\xff")) if len(raw) > 12 else z(raw[:3])),
          ("payload-trailing", "fail", z(raw + b"\0" * 7))]
    return v


def text_variants(data):
    n = len(data)
    lines = data.split(b"\n")
    digits = [i for i, c in enumerate(data) if 0x30 <= c <= 0x39 and (i == 0 or data[i - 1] in b",; \t\n")]
    num_at = digits[len(digits) // 2] if digits else n // 2
    num_end = num_at
    while num_end < n and data[num_end] in b"0123456789.eE+-":
        num_end += 1
    v = [("truncated-1", "any", data[:1]), ("truncated-mid-line", "any", data[:n // 2]),
         ("truncated-last-byte", "any", data[:n - 1]),
         ("flip-byte0", "any", flip(data, 0, 0x80)), ("flip-body-middle", "any", flip(data, n // 2, 0x80)),
         ("nan-field", "any", data[:num_at] + b"nan" + data[num_end:]),
         ("inf-field", "any", data[:num_at] + b"inf" + data[num_end:]),
         ("huge-field", "any", data[:num_at] + b"1e999" + data[num_end:]),
         ("negative-field", "any", data[:num_at] + b"-1" + data[num_end:]),
         ("overlong-line", "any", b"\n".join(lines[:2] + [b"7" * (1 << 20)] + lines[2:])),
         ("invalid-utf8", "any", data[:n // 2] + b"\xff\xfe\xc3" + data[n // 2:]),
         ("nul-byte", "any", data[:n // 2] + b"\0" + data[n // 2:]),
         ("crlf", "any", data.replace(b"\n", b"\r\n")),
         ("no-final-newline", "any", data.rstrip(b"\n")),
         ("only-first-line", "any", lines[0] + b"\n")]
    return v


def random_variants(data, count, seed):
    """count variants drawn from seed (the same bytes for the same seed), in
    turn: a cut at a random length (refused: every binary reader here knows its
    size), 1 to 8 random bits flipped anywhere, and 1 to 8 flipped in the first
    KB, where a header keeps its sizes, names and offsets (both may load: no
    checksum). Half the cuts fall in the first KB too."""
    import random
    rng = random.Random(seed)
    n, v = len(data), []
    head = min(n, 1024)
    for i in range(count):
        if i % 3 == 0:
            cut = rng.randrange(head if rng.random() < 0.5 else n)
            v.append(("s%d-cut-%d" % (seed, cut), "fail", data[:cut]))
        else:
            b = bytearray(data)
            span = n if i % 3 == 1 else head
            spots = [(rng.randrange(span), 1 << rng.randrange(8)) for _ in range(rng.randint(1, 8))]
            for at, bit in spots:
                b[at] ^= bit
            v.append(("s%d-flip-%s" % (seed, "+".join("%d.%d" % (at, bit.bit_length() - 1) for at, bit in spots[:3])),
                      "any", bytes(b)))
    return v


def special_variants():
    """Things that are not a file with bytes in it."""
    return [("zero-length", "fail", b""), ("directory", "fail", "dir"), ("dev-null", "fail", "devnull"),
            ("dev-zero", "fail", "devzero"),
            ("fifo", "fail", "fifo"), ("dangling-symlink", "fail", "dangling"), ("missing", "fail", "missing"),
            ("symlink-to-valid", "pass", "symlink")]


def place(path, how, valid):
    if os.path.lexists(path):
        os.remove(path)
    if isinstance(how, bytes):
        with open(path, "wb") as f:
            f.write(how)
    elif how == "dir":
        os.mkdir(path)
    elif how == "devnull":
        os.symlink("/dev/null", path)
    elif how == "devzero":
        os.symlink("/dev/zero", path)
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "dangling":
        os.symlink(path + ".nowhere", path)
    elif how == "symlink":
        shutil.copyfile(valid, path + ".real")
        os.symlink(os.path.basename(path) + ".real", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--kind", choices=("binary", "text", "gzip"), default="binary")
    ap.add_argument("--output", help="a file the command writes, which a failure must not leave")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--only", help="comma-separated variant names")
    ap.add_argument("--may-pass", default="", help="variants this reader may accept (comma-separated): "
                    "e.g. an image folder skips entries that are not PNG files")
    ap.add_argument("--rebuilds", action="store_true",
                    help="every variant must give status 0: the file is a cache entry the command replaces "
                    "(dlnc run's model.so and its record), never loads when damaged and never trips over")
    ap.add_argument("--also-names", default="",
                    help="other names a message may give instead (comma-separated): the directory the source "
                    "was given, for a check made on the loaded data rather than in the reader")
    ap.add_argument("--mem-limit-mb", type=int, default=0,
                    help="address-space limit for the command (not under ASan, which reserves terabytes)")
    ap.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    ap.add_argument("--quick", action="store_true", help="the variants of QUICK only (make test's e2e layer)")
    ap.add_argument("--jobs", type=int, default=1, help="variants run at once")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="instead of the fixed variants, N random cuts and bit flips of the file (binary kinds)")
    ap.add_argument("--seed", type=int, default=1, help="--random's seed")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no COMMAND after --")
    if "/" in cmd[0] and os.path.exists(cmd[0]):   # the command runs in the copy: a relative path would break
        cmd[0] = os.path.abspath(cmd[0])
    valid = os.path.join(a.dir, a.target)
    with open(valid, "rb") as f:
        data = f.read()
    if a.random:
        variants = random_variants(data, a.random, a.seed)
    else:
        variants = {"binary": binary_variants, "text": text_variants, "gzip": gzip_variants}[a.kind](data)
    # a "damage" that leaves the bytes as they were (a size field already 0) proves nothing either way
    variants = [(n, "any" if h == data else e, h) for n, e, h in variants]
    if not a.random:
        variants += special_variants()
    if a.only or a.quick:
        keep = set(a.only.split(",")) if a.only else QUICK
        variants = [v for v in variants if v[0] in keep]
    may = set(a.may_pass.split(",")) - {""}
    variants = [(n, "any" if n in may else "pass" if a.rebuilds else e, h) for n, e, h in variants]
    name = os.path.basename(a.target)
    limit = a.mem_limit_mb << 20

    def bound():
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    counts = {"refused": 0, "accepted": 0, "failed": 0}
    scratch = tempfile.mkdtemp(prefix="damage.")
    try:
        def one(variant):
            vname, expect, how = variant
            work = os.path.join(scratch, vname)
            shutil.copytree(a.dir, work, symlinks=True)
            place(os.path.join(work, a.target), how, valid)
            argv = [w.replace("{}", work) for w in cmd]
            try:
                p = subprocess.run(argv, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, timeout=a.timeout,
                                   preexec_fn=bound)
                rc, err = p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
            except subprocess.TimeoutExpired as e:
                rc, err = "timeout", ((e.stdout or b"") + (e.stderr or b"")).decode("utf-8", "replace")
            why = []
            if rc == "timeout":
                why.append("hung (over %gs)" % a.timeout)
            elif rc < 0 or rc > 1:
                why.append("status %s" % rc)
            if any(s in err for s in SANITIZER):
                why.append("sanitizer report")
            if expect == "fail" and rc == 0:
                why.append("accepted")
            if expect == "pass" and rc != 0:
                why.append("refused a valid file")
            if rc == 1 and not any(k in err for k in [name] + [x for x in a.also_names.split(",") if x]):
                why.append("the message does not name %s" % name)
            if rc != 0 and a.output and os.path.lexists(os.path.join(work, a.output)):
                why.append("left %s" % a.output)
            target = os.path.join(work, a.target)
            if rc != 0 and isinstance(how, bytes) and not os.path.islink(target):
                # a refusal leaves the damaged file as it was (--resume rewrites its own checkpoint)
                try:
                    with open(target, "rb") as f:
                        if f.read() != how:
                            why.append("changed %s" % a.target)
                except OSError as e:
                    why.append("removed %s (%s)" % (a.target, e.strerror))
            if rc != 0:
                for root, _, files in os.walk(work):
                    why += ["left %s" % f for f in files if ".tmp" in f]
            shutil.rmtree(work, ignore_errors=True)
            return vname, rc, err, why

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            for vname, rc, err, why in pool.map(one, variants):
                first = next((l for l in err.splitlines() if name in l),
                             err.strip().splitlines()[-1] if err.strip() else "")
                if why:
                    counts["failed"] += 1
                    print("FAIL %-28s status %s: %s\n    %s" % (vname, rc, "; ".join(why),
                                                             err.strip()[-1500:].replace("\n", "\n    ")))
                else:
                    counts["refused" if rc == 1 else "accepted"] += 1
                    if not a.quiet:
                        print("ok   %-28s status %s  %s" % (vname, rc, first[:160]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("damage %s: %d variants, %d refused, %d accepted, %d failed"
          % (a.target, len(variants), counts["refused"], counts["accepted"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
