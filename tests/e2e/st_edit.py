#!/usr/bin/python3
"""st_edit.py IN OUT meta KEY VALUE | value TENSOR INDEX FLOAT — a copy of the
safetensors file IN with one metadata string or one F32 element replaced: the
damage tests/e2e/damaged_ckpt.sh throws at the readers (standard library only)."""
import json
import struct
import sys


def main(src, dst, what, name, a, b=None):
    data = open(src, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = bytearray(data[8 + n:])
    if what == "meta":
        header["__metadata__"][name] = a
    else:
        begin = header[name]["data_offsets"][0] + 4 * int(a)
        body[begin:begin + 4] = struct.pack("<f", float(b))
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(body))


if __name__ == "__main__":
    main(*sys.argv[1:])
