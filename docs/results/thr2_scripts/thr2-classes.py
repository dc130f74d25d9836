import re, sys
fmap = dict(l.split() for l in open("/tmp/thr2-logs/symfile.txt"))
cpu = {1: float(sys.argv[1]), 2: float(sys.argv[2])}; P = sys.argv[3] if len(sys.argv) > 3 else "2"
def cls(sym, kern):
    base = re.sub(r"\..*", "", sym)
    if kern: return "kernel (page faults, futex, scheduler)"
    if base.startswith("0x"): return "libgomp (barriers, waiting)"  # unresolved: all in libgomp.so (perf --sort dso)
    if base.startswith("resnet20_"): return "generated elementwise/optimizer (model C)"
    if re.match(r"(gomp_|GOMP_|do_spin|do_wait|futex)", base) or "gomp" in base: return "libgomp (barriers, waiting)"
    if re.match(r"(__memset|__memcpy|__memmove|memset|memcpy)", base): return "libc memset/memcpy"
    f = fmap.get(base, "?")
    if f == "?": return "other: " + base
    return f.replace("runtime/", "")
rows = {}
for t in (1, 2):
    tot = 0; c = {}
    for line in open(f"/tmp/thr2-logs/perf{P}_t{t}.syms"):
        m = re.match(r"\s*([\d.]+)%\s+(\d+)\s+\[(.)\]\s+(\S+)", line)
        if not m: continue
        n = int(m.group(2)); tot += n
        k = cls(m.group(4), m.group(3) == "k"); c[k] = c.get(k, 0) + n
    for k, n in c.items(): rows.setdefault(k, {})[t] = n / tot * cpu[t]
print("| class | 1 thread, CPU ms/step | 2 threads, CPU ms/step (both threads) | 2-thread / 1-thread CPU | wall scaling if alone (1-thread ms / (2-thread CPU ms / 2)) |")
print("|---|---|---|---|---|")
for k, v in sorted(rows.items(), key=lambda kv: -kv[1].get(1, 0)):
    a, b = v.get(1, 0), v.get(2, 0)
    if max(a, b) < 1.0: continue
    print(f"| {k} | {a:.1f} | {b:.1f} | {b / a if a else float('inf'):.2f} | {2 * a / b if b else float('inf'):.2f}x |")
