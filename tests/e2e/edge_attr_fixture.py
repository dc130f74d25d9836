"""tests/e2e/edge_attr_fixture.py DIR: tiny graphs whose classes only the edge
features tell (docs/language.md, "Edge features"), written at test time.

DIR/one/{nodes,edges}.csv: one graph for graph(path); 60 nodes on a ring plus
chords, all node features 1; each edge has two columns (bond, w); a node's
class is 1 when the sum of `w` over its edges is > 0.
DIR/many/{graphs,nodes,edges}.csv: 80 small graphs for graphs(path); a graph's
class is 1 when its edges' mean `bond` is > 0.
"""
import os
import random
import sys

root = sys.argv[1]
rnd = random.Random(7)


def write(path, header, rows):
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


os.makedirs(os.path.join(root, "one"), exist_ok=True)
V = 60
edges = {}
for v in range(V):
    edges[(v, (v + 1) % V)] = None
for _ in range(40):
    a, b = rnd.sample(range(V), 2)
    if (a, b) not in edges and (b, a) not in edges:
        edges[(a, b)] = None
rows, total = [], [0.0] * V
for a, b in edges:
    w = round(rnd.uniform(-1, 1), 3)
    rows.append((a, b, round(rnd.uniform(-1, 1), 3), w))
    total[a] += w
    total[b] += w
split = [1 if v < 36 else 2 if v < 48 else 3 for v in range(V)]
write(os.path.join(root, "one", "nodes.csv"), "label,split,one",
      [(int(total[v] > 0), split[v], 1) for v in range(V)])
write(os.path.join(root, "one", "edges.csv"), "source,target,bond,w", rows)

os.makedirs(os.path.join(root, "many"), exist_ok=True)
graphs, nodes, erows, start = [], [], [], 0
for g in range(80):
    n = rnd.randint(4, 7)
    cls = g % 2
    for _ in range(n):
        nodes.append((g, 1))
    for v in range(n):   # a ring: every node has edges
        bond = round(rnd.uniform(0.1, 1) * (1 if cls else -1), 3)
        erows.append((start + v, start + (v + 1) % n, bond, round(rnd.uniform(-1, 1), 3)))
    graphs.append((cls, 1 if g < 56 else 2 if g < 68 else 3))
    start += n
write(os.path.join(root, "many", "graphs.csv"), "label,split", graphs)
write(os.path.join(root, "many", "nodes.csv"), "graph,one", nodes)
write(os.path.join(root, "many", "edges.csv"), "source,target,bond,w", erows)
