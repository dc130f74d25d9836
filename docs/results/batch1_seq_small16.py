"""Summarizes a log of batch1_seq_small16.sh: per (mode, workload) the median and the best
of the old and new builds over the rounds, and the median of the per-round new/old ratios.

    python3 docs/results/batch1_seq_small16.py docs/results/batch1_seq_small16.log
"""
import collections
import re
import statistics
import sys

runs = collections.defaultdict(dict)  # (mode, workload, round) -> {old: ms, new: ms}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) (\w+) (old|new) round(\d+) \w+=([0-9.]+)", line)
    if m:
        runs[(m[1], m[2], m[4])][m[3]] = float(m[5])
table = collections.defaultdict(lambda: {"old": [], "new": [], "ratio": []})
for (mode, w, _), v in runs.items():
    if "old" in v and "new" in v:
        t = table[(mode, w)]
        t["old"].append(v["old"]), t["new"].append(v["new"]), t["ratio"].append(v["new"] / v["old"])
print("| mode | workload | old median | new median | old best | new best | new/old (median of rounds) | rounds |")
print("|---|---|---|---|---|---|---|---|")
for (mode, w), t in sorted(table.items()):
    print("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.2f | %d |" % (
        mode, w, statistics.median(t["old"]), statistics.median(t["new"]), min(t["old"]), min(t["new"]),
        statistics.median(t["ratio"]), len(t["ratio"])))
