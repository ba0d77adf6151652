"""Reader of the normalised-lines file that bench_runtime --export-lines writes:
"OCRL", int32 count, int32 height, count x int32 width, float32 pixels."""
import struct

import numpy as np


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"OCRL":
        raise ValueError(f"{path}: not a lines file written by bench_runtime --export-lines")
    count, height = struct.unpack_from("<ii", data, 4)
    widths = struct.unpack_from(f"<{count}i", data, 12)
    offset = 12 + 4 * count
    lines = []
    for w in widths:
        n = height * w
        lines.append(np.frombuffer(data, dtype="<f4", count=n, offset=offset).reshape(height, w))
        offset += 4 * n
    return lines
