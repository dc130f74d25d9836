#!/usr/bin/env python3
"""samples/data/make_cycles.py — writes samples/data/cycles/, the graph
classification sample of `graphs(dir)` (docs/language.md, "Graph
classification"): 600 small graphs, half of them trees (class 0) and half a
tree plus one edge, which closes exactly one cycle (class 1). Both classes
draw their node counts (8 to 16) the same way, so the class is the structure,
not the size. Node features are TU's usual stand-in when a set has none: the
degree one-hot, capped at 4 (columns d1..d4; d1 is a leaf). 400 graphs train,
100 validate, 100 test. No download and no numpy: the standard library's
random with a fixed seed, so the files are the same on every machine.

    usage: python3 samples/data/make_cycles.py [OUT_DIR]   (default samples/data/cycles)
"""
import os
import random
import sys


def one_graph(rng, cyclic):
    n = rng.randint(8, 16)
    edges = set()
    for v in range(1, n):                       # a random tree: each node joins an earlier one
        u = rng.randrange(v)
        edges.add((u, v))
    if cyclic:                                  # one more edge between two nodes not yet joined
        while True:
            a, b = sorted(rng.sample(range(n), 2))
            if (a, b) not in edges:
                edges.add((a, b))
                break
    return n, sorted(edges)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "cycles")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(15)
    graphs = []
    for i in range(600):
        label = i % 2
        split = 1 if i < 400 else 2 if i < 500 else 3
        graphs.append((label, split) + one_graph(rng, label == 1))
    with open(os.path.join(out, "graphs.csv"), "w") as g, open(os.path.join(out, "nodes.csv"), "w") as nf, \
            open(os.path.join(out, "edges.csv"), "w") as ef:
        g.write("label,split\n")
        nf.write("graph,d1,d2,d3,d4\n")
        ef.write("source,target\n")
        base = 0
        for gi, (label, split, n, edges) in enumerate(graphs):
            g.write(f"{label},{split}\n")
            deg = [0] * n
            for a, b in edges:
                deg[a] += 1
                deg[b] += 1
                ef.write(f"{base + a},{base + b}\n")
            for v in range(n):
                onehot = ["0"] * 4
                onehot[min(deg[v], 4) - 1] = "1"
                nf.write(f"{gi}," + ",".join(onehot) + "\n")
            base += n


if __name__ == "__main__":
    main()
