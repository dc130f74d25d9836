#!/usr/bin/python3
"""make_seeds.py — writes the reader harnesses' seed inputs to
tests/fuzz/corpus/<harness>/seed-*: a few tiny valid files of each format,
in the framing each harness expects (see the comment at the top of its .c).

    /usr/bin/python3 tests/fuzz/make_seeds.py

The output is checked in; rerun this only to change the seeds. Seeds are
valid on purpose: libFuzzer mutates them into the damaged files, and a valid
start reaches the code after the header checks. The compiler harness's seeds
are the .dln files already in the tree (tests/fuzz/run.sh gathers them).
"""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- safetensors: the harness loads w f32[2, 3] and b f32[3] (or m.w, m.b) --
def safetensors(tensors, metadata=None, order=None):
    """tensors: [(name, shape, floats)]; data laid out in `order` (names)."""
    order = order or [t[0] for t in tensors]
    by_name = {t[0]: t for t in tensors}
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in order:
        _, shape, values = by_name[name]
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + blob


W = ("w", [2, 3], [0.5, -1.0, 2.0, 0.0, 1e-3, 3.25])
B = ("b", [3], [1.0, 2.0, 3.0])
put("safetensors", "exact", safetensors([W, B]))
put("safetensors", "metadata", safetensors([W, B], metadata={"format": "pt"}))
put("safetensors", "reordered", safetensors([W, B], order=["b", "w"]))
put("safetensors", "extra", safetensors([W, B, ("extra", [1, 2], [7.0, 8.0])]))
put("safetensors", "scalar", safetensors([W, B, ("s", [], [4.0])]))
put("safetensors", "empty", safetensors([], metadata={"format": "pt"}))
put("safetensors", "prefixed", safetensors([("m.w", W[1], W[2]), ("m.b", B[1], B[2]), ("enc.x", [1], [0.0])]))


# ---- IDX: [u16 LE length of the image file][image file][label file] --------
def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def idx_pair(images, labels):
    return struct.pack("<H", len(images)) + images + labels


pixels = [(7 * i) % 256 for i in range(2 * 3 * 4)]
put("idx", "plain", idx_pair(idx([2, 3, 4], pixels), idx([2], [1, 0])))
put("idx", "gzip", idx_pair(gzip.compress(idx([2, 3, 4], pixels), mtime=0), gzip.compress(idx([2], [3, 9]), mtime=0)))
put("idx", "rank4", idx_pair(idx([2, 2, 3, 2], pixels), idx([2], [0, 1])))
put("idx", "rank2", idx_pair(idx([3, 5], range(15)), idx([3], [2, 2, 0])))


# ---- CSV: [option byte][text]; see fuzz_csv.c for the bits ------------------
def csv_opt(delim, classify, header, label):
    return bytes([delim | classify << 2 | header << 3 | label << 5])


put("csv", "classes", csv_opt(0, 1, 0, 0) + b"a,b,label\n0.5,1,0\n-2,3e2,1\n4,.5,2\n")
put("csv", "regression", csv_opt(1, 0, 1, 0) + b"1;2;0.25\n3;4;-1.5\n")
put("csv", "label_first_tab", csv_opt(2, 1, 0, 1) + b"1\t0.1\t0.2\r\n\r\n0\t0.3\t0.4\r\n")
put("csv", "spaces", csv_opt(3, 0, 2, 4) + b"x y t\n1 2 3\n4 5 6\n")

# ---- csv_columns: [options][columns][text]; see fuzz_csv_columns.c ----------
put("csv_columns", "two_i32", bytes([0x00 | 1 << 2 | 2 << 4, 2 | 1 << 3]) + b"a,b,label\n1,2.5,0\n-3,4,1\n")
put("csv_columns", "weight", bytes([1 << 2 | 1 << 3 | 2 << 4, 4]) + b"a,b,label,w,y\n1,2,0,0.5,1\n3,4,1,2,0\n")
put("csv_columns", "missing", bytes([0, 3]) + b"a,b,c\n1,2,3\n")
put("csv_columns", "repeat", bytes([1 << 2 | 2 << 4, 5 | 0xf8]) + b"b,a,label,w\n1,2,0,1\n")


# ---- CIFAR-10 test_batch.bin: records of 1 label byte + 3072 pixels ----------
def cifar_record(label, seed):
    return bytes([label]) + bytes((seed + 13 * i) % 256 for i in range(3072))


put("cifar", "one", cifar_record(3, 0))
put("cifar", "two", cifar_record(0, 1) + cifar_record(9, 2))


# ---- PNG: [channels byte][PNG file] ----------------------------------------
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, bit_depth, color_type, rows, extra=b""):
    """rows: the filtered scanlines' raw bytes, one bytes object per row."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


put("png", "gray", b"\x00" + png(2, 2, 8, 0, [b"\x00\xff", b"\x80\x40"]))
put("png", "rgb_as_gray", b"\x01" + png(3, 2, 8, 2, [bytes(range(9)), bytes(range(100, 109))]))
put("png", "rgba_as_rgb", b"\x02" + png(2, 1, 8, 6, [b"\x10\x20\x30\x80\xff\xff\xff\x00"]))
put("png", "palette_trns", b"\x03" + png(2, 2, 2, 3, [b"\x40", b"\x90"],
                                         chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
                                         + chunk(b"tRNS", b"\xff\x80")))
put("png", "gray16", b"\x00" + png(2, 1, 16, 0, [b"\x12\x34\xff\xff"]))
put("png", "gray_alpha", b"\x01" + png(1, 2, 8, 4, [b"\x80\x40", b"\xff\xff"]))
put("png", "bits1", b"\x00" + png(8, 1, 1, 0, [b"\xa5"]))


# ---- segment: [option byte][u16 LE length L][L bytes: image PNG][mask PNG]; see fuzz_segment.c ----
def png_interlaced(width, height, bit_depth, color_type, passes):
    """passes: the raw bytes of the Adam7 passes' scanlines, filter bytes included."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(passes))
            + chunk(b"IEND", b""))


def seg(opt, image, mask=None):
    """mask None: the same bytes are the image and the mask (length 0)."""
    return bytes([opt]) + struct.pack("<H", 0 if mask is None else len(image)) + image + (mask or b"")


IMG22 = png(2, 2, 8, 0, [b"\x10\x20", b"\x30\x40"])
IMG11 = png(1, 1, 8, 0, [b"\x05"])
put("segment", "gray_pair", seg(0, IMG22, png(2, 2, 8, 0, [b"\x00\x01", b"\x02\xff"])))
put("segment", "rgb_test", seg(6, png(2, 1, 8, 2, [bytes(range(6))]), png(2, 1, 8, 0, [b"\x01\x00"])))
put("segment", "same_bytes", seg(9, png(2, 2, 8, 0, [b"\x00\x01", b"\x01\x00"])))
put("segment", "mask_1bit", seg(0, png(8, 1, 8, 0, [bytes(8)]), png(8, 1, 1, 0, [b"\xa0"])))
put("segment", "mask_4bit_gama", seg(0, IMG22, png(2, 2, 4, 0, [b"\x12", b"\x3f"], chunk(b"gAMA", struct.pack(">I", 100000)))))
put("segment", "mask_color", seg(0, IMG11, png(1, 1, 8, 2, [b"\x01\x02\x03"])))
put("segment", "mask_16bit", seg(0, IMG11, png(1, 1, 16, 0, [b"\x00\x01"])))
put("segment", "mask_palette", seg(0, IMG11, png(1, 1, 8, 3, [b"\x00"], chunk(b"PLTE", bytes([1, 1, 1])))))
put("segment", "mask_interlaced", seg(0, IMG11, png_interlaced(1, 1, 8, 0, b"\x00\x02")))
put("segment", "mask_wrong_size", seg(0, IMG22, png(3, 2, 8, 0, [b"\x00\x01\x01", b"\x02\xff\x00"])))
put("segment", "mask_truncated", seg(0, IMG22, png(2, 2, 8, 0, [b"\x00\x01", b"\x02\xff"])[:-5]))

# ---- text: [option byte][token file / corpus / vocabulary]; see fuzz_text.c --
def text_opt(vocab, split, contiguous, seq):
    return bytes([vocab | split << 2 | contiguous << 4 | seq << 5])


put("text", "tokens", text_opt(0, 0, 0, 2) + b"3 1 4 1 5 9 2 6\n5 3 5 8 9 7 9\n")
put("text", "tokens_vocab_split", text_opt(2, 1, 1, 0) + b"0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1\n")
put("text", "corpus", text_opt(0, 1, 1, 1) + b"A fortune:\n%\nThe other one.\n%\n")
put("text", "vocab", text_opt(0, 0, 0, 0) + b"bytes:0a20216162")


# ---- graph: [nodes.csv] 0x00 [edges.csv]; see fuzz_graph.c ------------------
put("graph", "features", b"label,split,a,b\n0,1,0.5,1\n1,3,2,3\n0,2,1,1\n\0source,target\n0,1\n1,2\n")
put("graph", "edge_attr", b"label,split,a\n0,1,0.5\n1,3,2\n0,2,1\n\0source,target,w,d\n0,1,0.5,1\n1,2,-2,3e2\n")
put("graph", "identity", b"label,split\r\n0,1\r\n1,1\r\n2,3\r\n\0source,target\r\n0,1\r\n2, 1\r\n\r\n")

# ---- graphset: [graphs.csv] 0x00 [nodes.csv] 0x00 [edges.csv]; see fuzz_graphset.c ----
put("graphset", "two", b"label,split\n0,1\n1,3\n\0graph,f\n0,1\n0,2\n1,1\n1,0.5\n1,2\n\0source,target\n0,1\n2,3\n3,4\n4,2\n")
put("graphset", "edge_attr", b"label,split\n0,1\n1,3\n\0graph,f\n0,1\n0,2\n1,1\n1,0.5\n\0source,target,w\n0,1,0.5\n2,3,2\n")
put("graphset", "crlf", b"label,split\r\n1,1\r\n\0graph,a,b\r\n0,1,0\r\n0,0,1\r\n\0source,target\r\n1, 0\r\n\r\n")


# ---- history: [run.csv] (0x00 [run.steps.csv]); see fuzz_history.c ---------
put("history", "curves", b"epoch,train_loss,test_loss,test_acc,seconds\n1,2.3,2.1,0.31,0.5\n2,1.9,1.8,0.42,1.0\n"
    b"\0step,epoch,train_loss\n1,0.5,2.4\n2,1.0,2.2\n3,1.5,1.9\n")
put("history", "val", b"epoch,train_loss,val_loss,val_acc,seconds\n1,0.9,nan,0.5,0.1\n2,0.7,0.8,0.6,0.2\n3,0.5,0.6,0.7,0.3\n")
put("history", "confusion", b"true_class,pred_0,pred_1,pred_2\n0,5,1,0\n1,0,7,2\n2,1,0,9\n")
