"""g1_summary.py — medians and new/old ratios of the alternating pairs in a gpt_pairs.sh log
(cpu_ms, infer_ms or train_ms, whichever the section reports).
Usage: python3 docs/results/g1_summary.py docs/results/g1_batch1.log"""
import re
import statistics
import sys

data, cur = {}, None
for line in open(sys.argv[1]):
    if line.startswith('## '):
        cur = line[3:].split(':')[0]
        data[cur] = {'old': [], 'new': []}
        continue
    m = re.match(r'(.*) round (\d+) (old|new): (.*)', line)
    if not m or cur is None:
        continue
    fields = dict(f.split('=') for f in m.group(4).split())
    key = 'cpu_ms' if 'cpu_ms' in fields else 'train_ms' if float(fields.get('train_ms', 0)) > 0 else 'infer_ms'
    data[cur][m.group(3)].append(float(fields[key]))
for what, v in data.items():
    ratios = [b / a for a, b in zip(v['old'], v['new'])]
    print(f"{what}: old median {statistics.median(v['old']):.4f}, new median {statistics.median(v['new']):.4f} ms; "
          f"new/old per pair {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.3f}")
