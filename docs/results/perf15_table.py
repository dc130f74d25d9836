import re,sys,statistics as st
peak=float(sys.argv[2])
d={}
for line in open(sys.argv[1]):
    m=re.match(r'round=(\d+) (\w+) (.*)',line)
    if not m: continue
    kv=dict(x.split('=') for x in m.group(3).split())
    L=int(kv['layer'])
    for p in ('fwd','data','weight'):
        if p+'_ms' in kv: d.setdefault((L,p),{}).setdefault(m.group(2),[]).append(float(kv[p+'_ms'])); d[(L,p)]['kv']=kv
names={'fwd':'forward','data':'data gradient','weight':'weight gradient'}
print('| layer | calls | pass | base ms | GFLOP/s | % peak | perf15 ms | GFLOP/s | % peak | perf15/base |')
print('|---|---|---|---|---|---|---|---|---|---|')
for (L,p),v in sorted(d.items()):
    kv=v['kv']; g=float(kv['gflop'])
    b=min(v['base']); n=min(v['new'])
    desc=f"{kv['c']}→{kv['oc']}, {kv['h']}x{kv['w']}→{kv['oh']}x{kv['ow']}, {kv['kh']}x{kv['kw']} s{kv['sh']}"
    print(f"| {desc} | {kv[p+'_count']} | {names[p]} | {b:.4f} | {g/b*1e3:.1f} | {100*g/b*1e3/peak:.0f}% | {n:.4f} | {g/n*1e3:.1f} | {100*g/n*1e3/peak:.0f}% | {n/b:.3f} |")
