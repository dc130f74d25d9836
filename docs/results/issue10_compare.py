# ir_attrs.def (Issue 10): compare two snapshots made by issue10_snapshot.sh
# usage: python3 docs/results/issue10_compare.py BEFORE AFTER — every C/.h file byte-identical,
# IR dumps differing only in the attribute text between the inputs and " : type" (listed per op)
import os,re,sys
b,a=sys.argv[1],sys.argv[2]
bad=0; kinds={}
fa=set(os.listdir(a)); fb=set(os.listdir(b))
if fa!=fb: print("file sets differ", len(fa^fb), sorted(fa^fb)[:5]); bad=1
strip=re.compile(r'^(  %\d+ = \S+(?: \S+)?(?:,? %\d+)*)( .*?)?( : .*)$')
for f in sorted(fb&fa):
    x=open(os.path.join(b,f),errors='replace').read().split('\n'); y=open(os.path.join(a,f),errors='replace').read().split('\n')
    if x==y: continue
    if not (f.endswith('.ir') or f.endswith('.elab')) or len(x)!=len(y):
        print("DIFF", f); bad=1; continue
    for l1,l2 in zip(x,y):
        if l1==l2: continue
        m1=strip.match(l1); m2=strip.match(l2)
        if not m1 or not m2 or m1.group(1)!=m2.group(1) or m1.group(3)!=m2.group(3):
            print("BAD", f, l1, "|", l2); bad=1; continue
        op=m1.group(1).split()[2]
        kinds.setdefault(op,(m1.group(2),m2.group(2)))
for op,(o,n) in sorted(kinds.items()): print(f"{op:16} {o!s:40} -> {n}")
print("C files identical" if not bad else "PROBLEMS")
