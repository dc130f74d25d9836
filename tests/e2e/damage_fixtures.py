#!/usr/bin/env python3
"""damage_fixtures.py DIR — tiny valid inputs for every data reader, the valid
files tests/e2e/damage.py damages (tests/e2e/damaged_readers.sh).

Deterministic: the same bytes on every run. Each reader gets its own
subdirectory with a model that reads it, so a variant only damages one file:
  idx/   fm/ (40 training, 20 test images of 28x28, gzipped IDX), m.dln
  csv/   c.csv (3 features, a class label), m.dln
  img/   png/a, png/b (4 grey 8x8 PNGs each), m.dln
  text/  corpus.txt, m.dln (characters)
  tok/   ids.txt, m.dln (token ids)
  graph/ g/nodes.csv, g/edges.csv, m.dln
  gset/  gs/graphs.csv, gs/nodes.csv, gs/edges.csv (6 graphs: paths and cycles), m.dln
         ge/ and m_ea.dln: the same with an edge feature column (graph/ too), read as edge_attr
  seg/   img/0-3.png, mask/0-3.png (class ids 0-2, 255), m.dln: images(..., masks = ...)
  cifar/ cb/data_batch_1..5.bin, cb/test_batch.bin (4 records each), m.dln
"""
import gzip
import os
import random
import struct
import sys
import zlib


def write(path, data, mode="wb"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def idx(rng, root, prefix, n):
    pixels = bytes(rng.randrange(256) for _ in range(n * 28 * 28))
    labels = bytes(rng.randrange(10) for _ in range(n))
    write(f"{root}/{prefix}-images-idx3-ubyte.gz", gzip.compress(struct.pack(">IIII", 0x803, n, 28, 28) + pixels, mtime=0))
    write(f"{root}/{prefix}-labels-idx1-ubyte.gz", gzip.compress(struct.pack(">II", 0x801, n) + labels, mtime=0))


def png_gray(rng, w, h, values=None):
    """An 8-bit gray PNG of random pixels, or of values(row, column)."""
    rows = b"".join(b"\0" + bytes(values(r, c) if values else rng.randrange(256) for c in range(w)) for r in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


TRAIN = """
train m {{
    data   = {data}
    loss   = cross_entropy(output, {label})
    epochs = 1
}}
"""


def main(out):
    rng = random.Random(20261207)
    idx(rng, f"{out}/idx/fm", "train", 40)
    idx(rng, f"{out}/idx/fm", "t10k", 20)
    write(f"{out}/idx/m.dln", ("model m(image: f32[N, 1, 28, 28]) -> f32[N, 10] {\n    return flatten(image) |> dense(10)\n}"
                               + TRAIN.format(data='fashion_mnist("fm", batch = 8)', label="label")).encode())

    rows = "".join("%.3f,%.3f,%.3f,%d\n" % (rng.random(), rng.random(), rng.random(), i % 3) for i in range(24))
    write(f"{out}/csv/c.csv", ("a,b,c,label\n" + rows).encode())
    write(f"{out}/csv/m.dln", ("model m(features: f32[N, 3]) -> f32[N, 3] {\n    return dense(features, 3)\n}"
                               + TRAIN.format(data='csv("c.csv", batch = 4, val_split = 0.25)', label="label")).encode())

    for cls in "ab":
        for i in range(4):
            write(f"{out}/img/png/{cls}/{i}.png", png_gray(rng, 8, 8))
    write(f"{out}/img/m.dln", ("model m(image: f32[N, 1, 8, 8]) -> f32[N, 2] {\n    return flatten(image) |> dense(2)\n}"
                               + TRAIN.format(data='image_folder("png", batch = 4)', label="label")).encode())

    words = ["the", "cat", "sat", "on", "a", "mat", "and", "slept"]
    write(f"{out}/text/corpus.txt", " ".join(rng.choice(words) for _ in range(400)).encode() + b"\n")
    write(f"{out}/text/m.dln", ("model m(tokens: i32[N, T]) -> f32[N, T, 32] {\n    return dense(embedding(tokens, 32, 8), 32)\n}"
                                + TRAIN.format(data='text("corpus.txt", batch = 4, seq_len = 16, val_split = 0.1)',
                                               label="targets")).encode())

    write(f"{out}/tok/ids.txt", "".join("%d%s" % ((i * 3 + i // 7) % 10, "\n" if i % 20 == 19 else " ")
                                       for i in range(2000)).encode())
    write(f"{out}/tok/m.dln", ("model m(tokens: i32[N, T]) -> f32[N, T, 10] {\n    return dense(embedding(tokens, 10, 8), 10)\n}"
                               + TRAIN.format(data='tokens("ids.txt", batch = 4, seq_len = 16, vocab = 10, val_split = 0.1)',
                                              label="targets")).encode())

    nodes = "label,split,f0,f1\n" + "".join("%d,%d,%.3f,%.3f\n" % (i % 2, 1 + i % 3, rng.random(), rng.random())
                                            for i in range(12))
    edges = "source,target\n" + "".join("%d,%d\n" % (i, (i + 1) % 12) for i in range(12))   # each edge once
    write(f"{out}/graph/g/nodes.csv", nodes.encode())
    write(f"{out}/graph/g/edges.csv", edges.encode())
    write(f"{out}/graph/m.dln", ("model m(features: f32[N, V, 2], src: i32[N, E], dst: i32[N, E]) -> f32[N, V, 2] {\n"
                                 "    return gcn_conv(features, src, dst, 2)\n}\n"
                                 "train m {\n    data   = graph(\"g\")\n    loss   = cross_entropy(output, label, mask = mask)\n"
                                 "    epochs = 1\n}\n").encode())

    # no rng here: the fixtures after this one keep their bytes
    graphs, gnodes, gedges, base = "label,split\n", "graph,f0\n", "source,target\n", 0
    for g in range(6):
        n, cyc = 3 + g % 2, g % 2
        graphs += "%d,%d\n" % (cyc, 1 + g % 3)
        gnodes += "".join("%d,%.2f\n" % (g, 0.5 + 0.1 * v) for v in range(n))
        gedges += "".join("%d,%d\n" % (base + v, base + v + 1) for v in range(n - 1))
        gedges += "%d,%d\n" % (base + n - 1, base) if cyc else ""
        base += n
    write(f"{out}/gset/gs/graphs.csv", graphs.encode())
    write(f"{out}/gset/gs/nodes.csv", gnodes.encode())
    write(f"{out}/gset/gs/edges.csv", gedges.encode())
    write(f"{out}/gset/m.dln", ("model m(features: f32[N, V, 1], src: i32[N, E], dst: i32[N, E], graph: i32[N, V]) "
                                "-> f32[N, 2, 2] {\n    h = gcn_conv(features, src, dst, 2)\n"
                                "    return scatter_add(h, expand(unsqueeze(graph, 2), [N, V, 2]), 2, axis = 1)\n}\n"
                                "train m {\n    data   = graphs(\"gs\", batch = 2)\n"
                                "    loss   = cross_entropy(output, label, mask = mask)\n    epochs = 1\n}\n").encode())

    # the same graphs with edge features (edge_attr), read by a model that takes them; no rng here either
    write(f"{out}/graph/ge/nodes.csv", nodes.encode())
    write(f"{out}/graph/ge/edges.csv", ("source,target,bond,w\n" + "".join(
        "%d,%d,%d,%.2f\n" % (i, (i + 1) % 12, i % 3, 0.1 * i - 0.5) for i in range(12))).encode())
    write(f"{out}/graph/m_ea.dln", ("model m(features: f32[N, V, 2], src: i32[N, E], dst: i32[N, E], edge_attr: f32[N, E, 2]) "
                                    "-> f32[N, V, 2] {\n    m = dense(concat([gather_nodes(features, src), edge_attr], axis = 2), 2)\n"
                                    "    return scatter_nodes(m, dst, V)\n}\n"
                                    "train m {\n    data   = graph(\"ge\")\n    loss   = cross_entropy(output, label, mask = mask)\n"
                                    "    epochs = 1\n}\n").encode())
    write(f"{out}/gset/ge/graphs.csv", graphs.encode())
    write(f"{out}/gset/ge/nodes.csv", gnodes.encode())
    write(f"{out}/gset/ge/edges.csv", "".join(line + (",bond\n" if k == 0 else ",%d\n" % (k % 4)) for k, line in
                                              enumerate(gedges.splitlines())).encode())
    write(f"{out}/gset/m_ea.dln", ("model m(features: f32[N, V, 1], src: i32[N, E], dst: i32[N, E], graph: i32[N, V], "
                                   "edge_attr: f32[N, E, 1]) -> f32[N, 2, 2] {\n"
                                   "    h = scatter_nodes(dense(concat([gather_nodes(features, src), edge_attr], axis = 2), 2), dst, V)\n"
                                   "    return scatter_add(h, expand(unsqueeze(graph, 2), [N, V, 2]), 2, axis = 1)\n}\n"
                                   "train m {\n    data   = graphs(\"ge\", batch = 2)\n"
                                   "    loss   = cross_entropy(output, label, mask = mask)\n    epochs = 1\n}\n").encode())

    # segmentation pairs for images(..., masks = ...): a generator of its own, so the fixtures after keep their bytes
    srng = random.Random(11)
    for i in range(4):
        write(f"{out}/seg/img/{i}.png", png_gray(srng, 8, 8))
        mask = png_gray(None, 8, 8, lambda r, c: (0, 1, 2, 255)[(r + c + i) % 4])   # class ids, 255 ignored
        write(f"{out}/seg/mask/{i}.png", mask)
    write(f"{out}/seg/m.dln", ("model m(image: f32[N, 1, 8, 8]) -> f32[N, 3, 8, 8] {\n    return conv2d(image, 3, 3, pad = 1)\n}\n"
                               "train m {\n    data   = images(\"img\", masks = \"mask\", batch = 2)\n"
                               "    loss   = cross_entropy(output, label, ignore_index = 255)\n    epochs = 1\n}\n").encode())

    for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
        write(f"{out}/cifar/cb/{name}", b"".join(bytes([i % 10]) + bytes(rng.randrange(256) for _ in range(3072))
                                                 for i in range(4)))
    write(f"{out}/cifar/m.dln", ("model m(image: f32[N, 3, 32, 32]) -> f32[N, 10] {\n    return flatten(image) |> dense(10)\n}"
                                 + TRAIN.format(data='cifar10("cb", batch = 4)', label="label")).encode())


if __name__ == "__main__":
    main(sys.argv[1])
