"""tests/e2e/segment_fixture.py DIR: a tiny segmentation set for images(path,
masks = ...) (docs/language.md, "Segmentation: images and masks"), written at
test time with zlib alone (no image library).

DIR/train/img/NNN.png: 16x16 RGB images, a dark background with a bright
square (class 1) and a mid-gray bar (class 2) at random places;
DIR/train/mask/NNN.png: 8-bit gray masks of the same names, pixel = class id,
the square's 1-pixel border 255 (ignored). DIR/test/{img,mask}: the same, fewer.
"""
import os
import random
import struct
import sys
import zlib


def png(path, w, h, channels, rows):
    """rows: h lists of w * channels bytes; an 8-bit gray (1) or RGB (3) PNG."""
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def sample(rnd, S=16):
    cls = [[0] * S for _ in range(S)]
    y, x, k = rnd.randint(0, S - 6), rnd.randint(0, S - 6), rnd.randint(4, 6)
    for i in range(y, y + k):
        for j in range(x, x + k):
            cls[i][j] = 255 if i in (y, y + k - 1) or j in (x, x + k - 1) else 1
    r = rnd.randint(0, S - 2)
    for j in range(S):
        if cls[r][j] == 0:
            cls[r][j] = 2
    img = []
    for i in range(S):
        row = []
        for j in range(S):
            c = cls[i][j]
            v = {0: 30, 1: 230, 2: 120, 255: 200}[c] + rnd.randint(-20, 20)
            row += [v, v, max(0, v - 10)]
        img.append(row)
    return img, cls


root = sys.argv[1]
rnd = random.Random(3)
for split, count in (("train", 48), ("test", 16)):
    for sub in ("img", "mask"):
        os.makedirs(os.path.join(root, split, sub), exist_ok=True)
    for n in range(count):
        img, cls = sample(rnd)
        png(os.path.join(root, split, "img", "%03d.png" % n), 16, 16, 3, img)
        png(os.path.join(root, split, "mask", "%03d.png" % n), 16, 16, 1, cls)
